"""Descriptions on busy frames: the product of the named colour, not a poster, a stripe or a shelf."""

from __future__ import annotations

import numpy as np
import pytest

from highlighter.eval.scenarios import build, write_scenario
from highlighter.media import probe
from highlighter.track.embedding import AppearanceEmbedder
from highlighter.track.frames import FrameSource
from highlighter.track.grounding import CueGrounder, object_factor
from highlighter.track.initialise import find_initial_target
from highlighter.track.parts import Candidate
from highlighter.track.prompt import Prompt
from highlighter.track.proposals import ColourSegmentProposer


def region(h=180, w=320, **boxes):
    mask = np.zeros((h, w), bool)
    for x, y, bw, bh in boxes.values():
        mask[y : y + bh, x : x + bw] = True
    return Candidate.from_mask(mask)


def test_an_object_scores_above_a_stripe_a_ragged_patch_and_a_cut_poster():
    product = object_factor(region(product=(100, 60, 40, 30)))
    shelf_edge = object_factor(region(edge=(40, 100, 200, 6)))
    # A ball merged with a diagonal stripe of its colour: far from its convex hull.
    mask = np.zeros((180, 320), bool)
    for i in range(200):
        mask[40 + i // 2 : 46 + i // 2, 40 + i] = True
    mask[80:110, 150:180] = True
    merged = object_factor(Candidate.from_mask(mask))
    poster = object_factor(region(poster=(0, 20, 60, 80)))  # cut by the frame's left edge
    assert product == pytest.approx(1.0)
    assert shelf_edge < 0.5 and merged < 0.5 and poster < product


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_colour_word_finds_the_product_among_posters_and_stripes_of_its_colour(tmp_path, seed):
    scenario = build("clutter", seed)
    path = tmp_path / "clutter.mp4"
    truth = write_scenario(path, scenario)
    info = probe(path)
    source = FrameSource(path, info, (info.width, info.height))
    grounder = CueGrounder(Prompt.from_dict(scenario.prompt), (1.0, 1.0))
    init = find_initial_target(source, info.frame_count, ColourSegmentProposer(), grounder, AppearanceEmbedder())
    true = truth.mask(init.frame.index)
    iou = (init.candidate.mask & true).sum() / (init.candidate.mask | true).sum()
    assert iou > 0.9
