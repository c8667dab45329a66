"""The multi-product families (two and three products in one video) and their per-product scoring."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from highlighter.eval.cli import main as eval_main
from highlighter.eval.metrics import cross_product_scores, mostly_on
from highlighter.eval.multi import MULTI_FAMILIES, build_multi, truth_of
from highlighter.eval.numerics import numerics
from highlighter.eval.suite import score_products, summarise_multi
from highlighter.track.prompt import Prompt
from highlighter.trackfile import FrameTrack, Track, TrackObject, mask_box

W, H = 320, 180


def _scenario(family, seed=1):
    return build_multi(family, seed, width=W, height=H)


def _repainted(scenario, k):
    """The same scenario with product ``k`` painted another colour in every shot it is in."""
    shots = []
    for s, shot in enumerate(scenario.shots):
        slot = scenario.placement[s][k]
        objects = list(shot.objects)
        if slot is not None:
            o = objects[slot]
            objects[slot] = replace(o, rgb=(0, 0, 0)) if hasattr(o, "rgb") else replace(o, colour="white")
        shots.append(replace(shot, objects=tuple(objects)))
    return replace(scenario, shots=tuple(shots), _bases={}, _still_masks={})


def _paint(scenario, k):
    s = scenario.shot_index(0)
    return scenario.shots[s].objects[scenario.placement[s][k]].fill_rgb()


def _shape(scenario, k):
    s = scenario.shot_index(0)
    return scenario.shots[s].objects[scenario.placement[s][k]].shape


# --- the scenes ------------------------------------------------------------------------------------


def test_every_family_is_deterministic_and_prompts_each_product_in_a_way_the_tracker_accepts():
    kinds = set()
    for family in MULTI_FAMILIES:
        a, b, c = _scenario(family, 3), _scenario(family, 3), _scenario(family, 4)
        assert a == b and a != c
        assert np.array_equal(a.render(20), b.render(20))
        assert len(a.products) in (2, 3)
        assert len({p.id for p in a.products}) == len(a.products) == len({p.name for p in a.products})
        for p in a.products:
            Prompt.from_dict(p.prompt)
            kinds.add(p.kind)
        assert a.prompt == a.products[0].prompt
    assert kinds == {"text", "box", "point"}


@pytest.mark.parametrize("family", MULTI_FAMILIES)
def test_each_product_s_truth_is_exactly_the_pixels_it_paints_and_no_pixel_has_two(family):
    scenario = _scenario(family)
    for k in range(len(scenario.products)):
        other = _repainted(scenario, k)
        for index in (0, scenario.frame_count // 3, scenario.frame_count - 1):
            changed = (scenario.render(index) != other.render(index)).any(axis=2)
            assert np.array_equal(changed, scenario.product_mask(index, k)), (k, index)
    for index in range(0, scenario.frame_count, 4):
        total = np.sum([scenario.product_mask(index, k) for k in range(len(scenario.products))], axis=0)
        assert total.max() <= 1


def test_the_truth_map_agrees_with_the_scenario():
    scenario = _scenario("trio")
    truth = truth_of(scenario)
    for index in (0, 60, 124):
        for k in range(3):
            assert np.array_equal(truth.product_mask(index, k), scenario.product_mask(index, k))
        others = truth.product(0).other_masks(index)
        assert not any((m & truth.product_mask(index, 0)).any() for m in others)
        assert any(np.array_equal(m, truth.product_mask(index, 1)) for m in others if truth.product_mask(index, 1).any())


def test_a_product_in_front_hides_part_of_the_one_behind_when_they_cross():
    for family in ("cross2", "samecolour2", "shelf2"):
        for seed in range(3):
            scenario = build_multi(family, seed)
            front = [p.role for p in scenario.products].index("in front")
            behind = 1 - front
            s = scenario.shots[0]
            whole = s.objects[scenario.placement[0][behind]]
            hidden = 0
            for i in range(scenario.frame_count):
                fp = whole.footprint(i / scenario.fps, scenario.width, scenario.height)
                hidden += int(fp is not None and fp[2].sum() > scenario.product_mask(i, behind).sum() + 20)
                assert not (scenario.product_mask(i, front) & scenario.product_mask(i, behind)).any()
            assert hidden >= 5, (family, seed)


def test_exit2_one_product_leaves_and_comes_back_while_the_other_stays_in_view():
    sides = set()
    for seed in range(5):
        scenario = build_multi("exit2", seed)
        present = [scenario.product_mask(i, 0).any() for i in range(scenario.frame_count)]
        assert all(scenario.product_mask(i, 1).any() for i in range(scenario.frame_count)), seed
        gone = present.index(False)
        back = present.index(True, gone)
        assert back - gone >= 25 and not any(present[gone:back]) and all(present[back:]), seed
        left_by_left = scenario.product_mask(gone - 1, 0)[:, 0].any()
        assert left_by_left == scenario.product_mask(back, 0)[:, -1].any(), seed  # back through the other side
        sides.add(left_by_left)
        same = _paint(scenario, 0) == _paint(scenario, 1)
        if same:  # the words cannot tell them apart: a box and a click
            assert {p.kind for p in scenario.products} == {"box", "point"} and _shape(scenario, 0) != _shape(scenario, 1)
    assert sides == {True, False}


def test_cut2_the_first_product_is_absent_for_the_whole_middle_shot_only():
    for seed in range(3):
        scenario = build_multi("cut2", seed)
        starts = [s.start for s in scenario.shots]
        assert len(starts) == 3 and starts[2] - starts[1] >= 1.5 * scenario.fps
        for i in range(scenario.frame_count):
            middle = starts[1] <= i < starts[2]
            assert scenario.product_mask(i, 0).any() != middle, (seed, i)
            assert scenario.product_mask(i, 1).any(), (seed, i)
        # A real cut: another background, and the second product elsewhere and bigger.
        a, b = scenario.render(starts[1] - 1).astype(int), scenario.render(starts[1]).astype(int)
        assert np.abs(a - b).mean() > 10
        assert scenario.product_mask(starts[1], 1).sum() > 1.3 * scenario.product_mask(starts[1] - 1, 1).sum()


@pytest.mark.parametrize("family", ["samecolour2", "shelf2", "trio"])
def test_lookalikes_share_their_paint_and_differ_in_shape_and_are_prompted_visually(family):
    for seed in range(3):
        scenario = build_multi(family, seed)
        assert _paint(scenario, 0) == _paint(scenario, 1) and _shape(scenario, 0) != _shape(scenario, 1)
        assert scenario.products[0].kind != "text" and scenario.products[1].kind != "text"
        for k in (0, 1):
            p = scenario.products[k].prompt
            mask = scenario.product_mask(0, k)
            if p.get("boxes"):
                x, y, w, h = mask_box(mask)
                assert p["boxes"] == [[x, y, x + w, y + h, 0]]
            else:
                ((x, y, frame, positive),) = p["points"]
                assert frame == 0 and positive and mask[int(y), int(x)]
    if family == "trio":
        assert _paint(scenario, 2) != _paint(scenario, 0) and scenario.products[2].kind == "text"


def test_cross2_products_differ_in_colour_and_the_first_is_named():
    for seed in range(5):
        scenario = build_multi("cross2", seed)
        assert _paint(scenario, 0) != _paint(scenario, 1)
        assert scenario.products[0].kind == "text"


# --- scoring ---------------------------------------------------------------------------------------


class Products:
    """Hand-made truth of several products: ``masks[i][k]`` is product ``k``'s mask on frame ``i``."""

    def __init__(self, masks):
        self.masks, self.frame_count = masks, len(masks)

    def product_masks(self, i):
        return self.masks[i]


def _square(x, y, size=10, h=40, w=80):
    m = np.zeros((h, w), bool)
    m[y : y + size, x : x + size] = True
    return m


def _track(per_object, ids=("a", "b")):
    h, w = per_object[0][0].shape
    objects = [
        TrackObject(oid, oid, {}, [FrameTrack.from_mask(i, i / 25, m, 1.0) for i, m in enumerate(masks)])
        for oid, masks in zip(ids, per_object)
    ]
    return Track(video={"width": w, "height": h, "fps": 25.0, "frame_count": len(per_object[0])}, objects=objects)


def _two_products(n=10):
    a = [_square(5 + i, 10) for i in range(n)]
    b = [_square(60 - i, 20) for i in range(n)]
    return a, b, Products([[x, y] for x, y in zip(a, b)])


def test_a_perfect_track_has_no_cross_product_error():
    a, b, truth = _two_products()
    scores = cross_product_scores(_track([a, b]), truth)
    assert scores.on_other == [[], []] and scores.swaps == [] and scores.double_pixels == 0


def test_a_swap_is_counted_once_and_each_frame_lies_on_the_other_product():
    a, b, truth = _two_products()
    swapped = _track([a[:4] + b[4:], b[:4] + a[4:]])
    scores = cross_product_scores(swapped, truth)
    assert scores.swaps == [(4, 0, 1)] and scores.swap_frames == 6
    assert scores.on_other == [[(i, 1) for i in range(4, 10)], [(i, 0) for i in range(4, 10)]]
    assert scores.double_pixels == 0  # exchanged, not shared


def test_a_mask_lying_mostly_on_another_product_is_counted_and_its_pixels_are_doubled():
    a, b, truth = _two_products()
    # Product a's track jumps onto b for frames 3..5 (b is tracked right): no swap, but 3 frames on another.
    drift = [b[i] if 3 <= i <= 5 else a[i] for i in range(10)]
    scores = cross_product_scores(_track([drift, b]), truth)
    assert scores.on_other == [[(3, 1), (4, 1), (5, 1)], []] and scores.swaps == []
    assert scores.double_pixels == 3 * 100 and scores.double_frames == 3


def test_half_a_mask_on_another_product_is_not_mostly_on_it():
    target, other = _square(0, 0, 10), _square(5, 0, 10)
    pred = target | other  # 150 px, 100 on the other: mostly
    assert mostly_on(pred, [other]) == 0
    half = _square(0, 0, 10) | _square(10, 0, 10)  # 200 px, exactly 100 on the other: not more than half
    assert mostly_on(half, [_square(10, 0, 10)]) is None
    assert mostly_on(np.zeros((40, 80), bool), [other]) is None


def _truth_track(truth, scenario, *, override=None):
    """A track built from the truth (a perfect tracker); ``override[k](i)`` replaces product k's mask."""
    override = override or {}
    objects = []
    for k, p in enumerate(scenario.products):
        masks = [override[k](i) if k in override else truth.product_mask(i, k) for i in range(truth.frame_count)]
        frames = [FrameTrack.from_mask(i, i / scenario.fps, m, 0.9) for i, m in enumerate(masks)]
        objects.append(TrackObject(p.id, p.name, p.prompt, frames))
    video = {"width": scenario.width, "height": scenario.height, "fps": scenario.fps, "frame_count": scenario.frame_count}
    return Track(video=video, shots=[[0, scenario.frame_count - 1]], objects=objects)


def test_score_products_gives_a_perfect_track_full_marks_and_catches_a_swap_after_the_cut():
    scenario = build_multi("cut2", 0, width=160, height=90)
    truth = truth_of(scenario)
    perfect = score_products(_truth_track(truth, scenario), truth)
    assert perfect["jf"] == 1.0 and perfect["on_other_frames"] == 0 and perfect["swaps"] == 0
    assert [p["jf"] for p in perfect["products"]] == [1.0, 1.0]
    # After the last cut, the two tracks are exchanged: each product follows the other.
    last = scenario.shots[2].start
    swap = {
        0: lambda i: truth.product_mask(i, 1) if i >= last else truth.product_mask(i, 0),
        1: lambda i: truth.product_mask(i, 0) if i >= last else truth.product_mask(i, 1),
    }
    bad = score_products(_truth_track(truth, scenario, override=swap), truth)
    assert bad["swaps"] == 1 and bad["swaps_at"] == [[last, "p1", "p2"]]
    assert bad["on_other_frames"] == 2 * (scenario.frame_count - last)
    assert bad["products"][0]["on_other_at"] == [[last, scenario.frame_count - 1, "p2"]]
    assert all(p["jf"] < 0.9 for p in bad["products"]) and bad["double_pixels"] == 0
    summary = summarise_multi([{"family": "cut2", "seed": 0, "tracker": "joint", "seconds": 1.0, "fps": 150.0, **bad}])
    assert summary["cut2"]["joint"]["passes"] is False and summary["cut2"]["joint"]["swaps"] == 1
    assert set(summary["cut2"]["joint"]["products"]) == {"p1", "p2"}


def test_score_products_refuses_a_track_without_every_product():
    scenario = build_multi("cross2", 0, width=160, height=90)
    truth = truth_of(scenario)
    track = _truth_track(truth, scenario).single("p1")
    with pytest.raises(Exception, match="p2"):
        score_products(track, truth)


# --- the command line ------------------------------------------------------------------------------


def test_the_cli_tracks_a_two_product_family_and_reports_each_product(tmp_path, capsys):
    out = tmp_path / "eval.json"
    code = eval_main(["--families", "exit2", "--seeds", "1", "--size", "192x108", "--modes", "joint,independent",
                      "--backend", "memory", "--quiet", "--out", str(out)])  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    family = lines[0]
    assert family["family"] == "exit2" and family["products"] == 2
    assert set(family["trackers"]) == {"joint", "independent"}
    for summary in family["trackers"].values():
        assert set(summary["products"]) == {"p1", "p2"}
        for key in ("jf", "min_product_jf", "on_other_frames", "swaps", "double_pixels", "passes"):
            assert key in summary
        for p in summary["products"].values():
            assert 0.0 <= p["jf"] <= 1.0
    assert family["trackers"]["joint"]["double_pixels"] == 0  # a pixel belongs to at most one product
    rows = json.loads(out.read_text())["videos"]
    assert [r["tracker"] for r in rows] == ["joint", "independent"]
    assert all([p["id"] for p in r["products"]] == ["p1", "p2"] for r in rows)
    assert set(lines[-1]["overall_multi_jf"]) == {"joint", "independent"}
    # Which rounding the figures came from (highlighter.eval.numerics), on the line and in the file.
    assert lines[-1]["numerics"] == json.loads(out.read_text())["numerics"] == numerics()


def test_the_table_has_a_line_per_product_and_one_per_family():
    from highlighter.eval.suite import multi_table

    product = {"role": "r", "prompts": {"box": 1}, "j": 0.9, "f": 0.9, "jf": 0.9, "min_jf": 0.9, "on_other_frames": 0,
               "confidently_wrong": 2, "hidden_in_view": 5}  # fmt: skip
    summary = {"jf": 0.9, "min_product_jf": 0.9, "products": {"p1": product, "p2": product}, "on_other_frames": 3,
               "swaps": 1, "double_pixels": 7, "passes": False}  # fmt: skip
    table = multi_table({"cross2": {"joint": summary}}).splitlines()
    assert len(table) == 2 + 3 and table[2].startswith("| cross2 | joint | p1 |")
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert table[2].endswith("| 0 | | | 2 | 5 |")  # the product's own honesty counts
    assert "FAILS" in table[-1] and table[-1].endswith("| 3 | 1 | 7 | 4 | 10 |")  # summed over the products


def test_the_cli_refuses_an_unknown_family_or_mode(capsys):
    assert eval_main(["--families", "cross3"]) == 2
    assert "unknown families" in capsys.readouterr().err
    assert eval_main(["--families", "multi", "--modes", "together"]) == 2
    assert "--modes" in capsys.readouterr().err


# --- the contact sheet -----------------------------------------------------------------------------


def test_the_products_sheet_tints_each_product_in_its_own_colour(tmp_path):
    from highlighter.eval import track_sheet as sheet
    from highlighter.eval.multi import write_multi

    scenario = build_multi("cross2", 0, width=160, height=90)
    truth = write_multi(tmp_path / "clip.mp4", scenario)
    track = _truth_track(truth, scenario)
    image = sheet.build_products_sheet(tmp_path / "clip.mp4", track, title="t", frames=[0, 60], notes=["n"])
    tile_h = round(90 * sheet.TILE_WIDTH / 160)
    header = 36 + 22 * 2
    picture = np.asarray(image)[header + sheet.CAPTION : header + sheet.CAPTION + tile_h, sheet.GAP : sheet.GAP + sheet.TILE_WIDTH]
    scale = sheet.TILE_WIDTH / 160
    for k in range(2):
        ys, xs = np.nonzero(truth.product_mask(0, k))
        y, x = int(ys.mean() * scale), int(xs.mean() * scale)
        painted = np.array(scenario.render(0)[int(ys.mean()), int(xs.mean())], float)
        expected = painted * (1 - sheet.TINT) + np.array(sheet.PRODUCT_RGB[k]) * sheet.TINT
        assert np.abs(picture[y, x].astype(float) - expected).max() < 40, k
