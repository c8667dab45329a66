from __future__ import annotations

import numpy as np
import pytest

from highlighter.eval.scenarios import FAMILIES, PathObject, build
from highlighter.track.prompt import Prompt


def test_every_family_is_deterministic_for_a_seed():
    for family in FAMILIES:
        a, b, c = build(family, 3, width=320, height=180), build(family, 3, width=320, height=180), build(family, 4, width=320, height=180)
        assert a == b and a != c
        assert np.array_equal(a.render(20), b.render(20))
        Prompt.from_dict(a.prompt)  # a prompt the tracker accepts


@pytest.mark.parametrize("family", ["smooth", "crossing", "samecolour", "occlusion", "exit", "cut"])
def test_the_target_mask_is_exactly_its_visible_pixels(family):
    scenario = build(family, 1, width=320, height=180)
    index = scenario.frame_count // 3
    frame = scenario.render(index).astype(int)
    target = scenario.shot_of(index).objects[scenario.shot_of(index).target]
    colour = np.array(target.fill_rgb())
    mask = scenario.mask(index)
    if mask.any():
        # Shading changes brightness by at most 12%: every target pixel is close to its paint.
        assert np.abs(frame[mask] - colour).max() <= 0.13 * colour.max() + 6


def test_occlusion_hides_the_target_for_about_a_second():
    scenario = build("occlusion", 0)
    hidden = [not scenario.mask(i).any() for i in range(scenario.frame_count)]
    assert 0.7 * 25 <= sum(hidden) <= 1.3 * 25


def test_exit_comes_back_through_the_other_side():
    scenario = build("exit", 2)
    boxes = [scenario.mask(i) for i in range(scenario.frame_count)]
    present = [m.any() for m in boxes]
    gone = present.index(False)
    back = present.index(True, gone)
    assert back - gone >= 25
    assert boxes[gone - 1][:, 0].any() and boxes[back][:, -1].any()  # left by the left, back by the right
    assert scenario.prompt["boxes"] and not scenario.prompt["text"]


def test_a_cut_changes_background_and_position():
    scenario = build("cut", 0)
    start = scenario.shots[1].start
    before, after = scenario.render(start - 1), scenario.render(start)
    assert np.abs(before.astype(int) - after.astype(int)).mean() > 10
    ys0, ys1 = np.nonzero(scenario.mask(start - 1))[0], np.nonzero(scenario.mask(start))[0]
    assert abs(ys0.mean() - ys1.mean()) > 0.2 * scenario.height


def test_samecolour_has_a_lookalike_of_the_same_paint_and_another_shape():
    scenario = build("samecolour", 0)
    lookalike, target = scenario.shots[0].objects
    assert lookalike.fill_rgb() == target.fill_rgb() and lookalike.shape != target.shape
    assert not scenario.prompt["text"]


def test_samecolour_products_turn_in_the_hand():
    for seed in range(5):
        scenario = build("samecolour", seed)
        lookalike, target = scenario.shots[0].objects
        end = scenario.frame_count / scenario.fps
        assert target.angle(0.0) == 0.0 and 30 <= abs(target.angle(end)) <= 50
        assert 30 <= abs(lookalike.angle(end)) <= 50
        # Turning keeps the product's size: only its outline's orientation changes.
        upright = PathObject(target.rgb, target.shape, target.radius, target.keys)
        area = lambda o: o.footprint(end, scenario.width, scenario.height)[2].sum()  # noqa: E731
        assert area(target) == pytest.approx(area(upright), rel=0.03)


def test_a_quarter_turn_swaps_a_rectangle_s_sides():
    turned = PathObject((200, 30, 30), "rect", (20.0, 8.0), ((0.0, 50.0, 40.0, 1.0),), turns=((0.0, 90.0),))
    swapped = PathObject((200, 30, 30), "rect", (8.0, 20.0), ((0.0, 50.0, 40.0, 1.0),))
    a, b = turned.footprint(0.0, 100, 80), swapped.footprint(0.0, 100, 80)
    full = np.zeros((2, 80, 100), bool)
    full[0][a[0], a[1]], full[1][b[0], b[1]] = a[2], b[2]
    assert np.array_equal(full[0], full[1])
