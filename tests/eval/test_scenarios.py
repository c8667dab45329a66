from __future__ import annotations

import numpy as np
import pytest

from highlighter.eval.scenarios import FAMILIES, build
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
