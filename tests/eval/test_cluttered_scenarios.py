"""The cluttered families: a shop wall of posters, stripes and shelves over a real photo, and drifting light."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from highlighter.eval.scenarios import build
from highlighter.eval.synthetic import hue_distance
from highlighter.track.colour import COLOUR_WORDS, colour_word
from highlighter.trackfile import mask_box

CLUTTERED = ("clutter", "clutterbox", "photo")
SHOPS = ("clutter", "clutterbox")


def _repainted(scenario, *, target=None, fixture=None):
    """The same scenario with the target, or fixture number ``fixture``, painted black."""
    shot = scenario.shots[0]
    if target is not None:
        objects = tuple(replace(o, rgb=(0, 0, 0)) if i == shot.target else o for i, o in enumerate(shot.objects))
        shot = replace(shot, objects=objects)
    if fixture is not None:
        fixtures = tuple(replace(f, rgb=(0, 0, 0)) if i == fixture else f for i, f in enumerate(shot.fixtures))
        shot = replace(shot, backdrop=replace(shot.backdrop, fixtures=fixtures))
    return replace(scenario, shots=(shot,), _bases={}, _still_masks={})


def _fixture_mask(fixture, w, h):
    m = np.zeros((h, w), bool)
    fp = fixture.footprint(0.0, w, h)
    if fp is not None:
        m[fp[0], fp[1]] = fp[2]
    return m


def _mean_hue(frame, mask) -> float:
    """Circular mean hue of the masked pixels, in degrees."""
    hue = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)[mask][:, 0].astype(np.float64) * (math.pi / 90)
    return math.degrees(math.atan2(np.sin(hue).mean(), np.cos(hue).mean())) % 360


@pytest.mark.parametrize("family", CLUTTERED)
def test_the_target_mask_is_exactly_the_pixels_the_target_paints(family):
    # Painting the target black changes exactly its visible pixels: noise and lighting are the same.
    scenario = build(family, 1, width=320, height=180)
    black = _repainted(scenario, target=True)
    for index in (0, scenario.frame_count // 3, scenario.frame_count - 1):
        changed = (scenario.render(index) != black.render(index)).any(axis=2)
        assert changed.any() and np.array_equal(changed, scenario.mask(index))


@pytest.mark.parametrize("family", SHOPS)
def test_a_fixture_s_mask_is_exactly_the_pixels_it_paints(family):
    scenario = build(family, 2, width=320, height=180)
    fixtures = scenario.shots[0].fixtures
    paint = scenario.shots[0].objects[scenario.shots[0].target].rgb
    poster = next(i for i, f in enumerate(fixtures) if f.rgb == paint and f.shape == "rect")
    index = scenario.frame_count // 2
    changed = (scenario.render(index) != _repainted(scenario, fixture=poster).render(index)).any(axis=2)
    assert changed.any() and np.array_equal(changed, scenario.other_masks(index)[poster])


def test_the_box_prompt_is_the_target_s_true_box_on_frame_0():
    for seed in range(4):
        scenario = build("clutterbox", seed)
        x, y, w, h = mask_box(scenario.mask(0))
        assert scenario.prompt == {"text": "", "boxes": [[x, y, x + w, y + h, 0]]}


def test_the_point_prompt_lies_on_the_target():
    for seed in range(4):
        scenario = build("photo", seed)
        ((x, y, frame, positive),) = scenario.prompt["points"]
        assert frame == 0 and positive and scenario.mask(0)[int(y), int(x)]
        assert not scenario.prompt["text"]


def test_the_colour_word_covers_the_product_as_rendered_on_frame_0():
    for seed in range(5):
        scenario = build("clutter", seed)
        word = colour_word(scenario.prompt["text"])
        hsv = cv2.cvtColor(scenario.render(0), cv2.COLOR_RGB2HSV)
        covered = COLOUR_WORDS[word].mask(hsv)[scenario.mask(0)] > 0
        assert covered.mean() >= 0.99, (seed, word, covered.mean())


@pytest.mark.parametrize("family", SHOPS)
def test_the_shop_has_the_product_s_colour_and_near_colours_but_only_on_large_or_thin_things(family):
    for seed in range(5):
        scenario = build(family, seed)
        shot = scenario.shots[0]
        product = shot.objects[shot.target]
        w, h = scenario.width, scenario.height
        same = [f for f in shot.fixtures if f.rgb == product.rgb]
        near = [f for f in shot.fixtures if 10 <= hue_distance(f.rgb, product.rgb) <= 25]
        assert same and len(near) >= 2, seed
        largest = max(scenario.mask(i).sum() for i in range(0, scenario.frame_count, 5))
        for f in same:  # a poster several times the product's size, or a stripe
            _, _, rx, ry = f.geometry(0.0, w)
            assert _fixture_mask(f, w, h).sum() >= 1.5 * largest or max(rx, ry) >= 8 * min(rx, ry), seed


@pytest.mark.parametrize("family", SHOPS)
def test_some_fixtures_of_the_product_s_colours_are_cut_by_the_frame_edge(family):
    for seed in range(5):
        scenario = build(family, seed)
        shot = scenario.shots[0]
        w, h = scenario.width, scenario.height
        cut = []
        for f in shot.fixtures:
            cx, cy, rx, ry = f.geometry(0.0, w)
            m = _fixture_mask(f, w, h)
            edge = m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any()
            # Even a turned stripe's far end lies beyond its own half-length's reach of the frame.
            beyond = cx - rx < 0 or cx + rx > w or cy - ry < 0 or cy + ry > h
            if m.any() and edge and beyond:
                cut.append(f)
        product = shot.objects[shot.target]
        assert any(hue_distance(f.rgb, product.rgb) <= 25 for f in cut), seed
        assert len(cut) >= 3, seed  # shelves, posters at the sides, the stripe


@pytest.mark.parametrize("family", SHOPS)
def test_on_frame_0_the_product_stands_apart_from_its_colour(family):
    for seed in range(5):
        scenario = build(family, seed)
        shot = scenario.shots[0]
        product = shot.objects[shot.target]
        halo = cv2.dilate(scenario.mask(0).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        for f in shot.fixtures:
            if hue_distance(f.rgb, product.rgb) <= 25:
                assert not (halo & _fixture_mask(f, scenario.width, scenario.height)).any(), seed


def test_clutterbox_has_a_same_paint_lookalike_of_another_shape_that_crosses_the_product():
    depths = set()
    for seed in range(6):
        scenario = build("clutterbox", seed)
        shot = scenario.shots[0]
        (lookalike,) = [o for i, o in enumerate(shot.objects) if i != shot.target]
        product = shot.objects[shot.target]
        assert lookalike.rgb == product.rgb and lookalike.shape != product.shape
        depths.add(shot.target)  # 0: the lookalike passes in front, 1: behind
        t = [i / scenario.fps for i in range(scenario.frame_count)]
        overlaps = [
            (abs(product.geometry(s, 0)[0] - lookalike.geometry(s, 0)[0]) < product.radius[0] + lookalike.radius[0])
            for s in t
        ]
        assert sum(overlaps) >= 10, seed
    assert depths == {0, 1}


def test_the_light_turns_the_product_s_hue_between_first_and_last_frame():
    for seed in range(5):
        scenario = build("photo", seed)
        last = scenario.frame_count - 1
        first_hue = _mean_hue(scenario.render(0), scenario.mask(0))
        last_hue = _mean_hue(scenario.render(last), scenario.mask(last))
        turn = abs(first_hue - last_hue)
        assert min(turn, 360 - turn) >= 12, seed


def test_the_photo_family_has_a_near_colour_lookalike_and_a_moving_camera():
    scenario = build("photo", 0)
    shot = scenario.shots[0]
    (near,) = [o for i, o in enumerate(shot.objects) if i != shot.target]
    assert 10 <= hue_distance(near.fill_rgb(), shot.objects[shot.target].fill_rgb()) <= 25
    assert len({k[1:] for k in shot.camera.keys}) > 1
