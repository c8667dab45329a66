"""The full tracker against the baselines on small scenario videos (the full table is `highlighter eval`)."""

from __future__ import annotations

import pytest

from highlighter.eval.scenarios import build, write_scenario
from highlighter.eval.suite import score_track
from highlighter.track import track_video
from highlighter.track.prompt import Prompt


@pytest.fixture(scope="module")
def scenario_video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    made = {}

    def make(family: str, seed: int):
        if (family, seed) not in made:
            scenario = build(family, seed)  # the evaluation's own size, 640x360
            made[family, seed] = (folder / f"{family}-{seed}.mp4", write_scenario(folder / f"{family}-{seed}.mp4", scenario))
        return made[family, seed]

    return make


def run(make, family, seed, backend):
    path, truth = make(family, seed)
    track = track_video(path, Prompt.from_dict(truth.scenario.prompt), backend=backend)
    return track, score_track(track, truth)


def test_it_finds_the_product_again_after_an_occlusion(scenario_video):
    track, full = run(scenario_video, "occlusion", 0, "memory")
    _, propagated = run(scenario_video, "occlusion", 0, "propagate")
    assert full["jf"] > propagated["jf"] + 0.1
    assert full["reacquisition_delays"] and max(full["reacquisition_delays"]) <= 10
    assert full["false_visible"] <= 0.02 * full["absent_frames"]
    assert track.meta["backend"] == "memory" and any(e == "found" for _, e in track.meta["events"])


def test_it_does_not_jump_to_a_same_coloured_lookalike(scenario_video):
    # The rectangle turns while an ellipse of its colour crosses behind it, twice. The tracker keeps
    # to the rectangle, though after the crossings it holds only the part it is sure of.
    _, full = run(scenario_video, "samecolour", 1, "memory")
    assert full["id_switches"] == 0 and full["jf"] > 0.7


def test_it_comes_back_with_the_product_not_its_lookalike_after_an_exit(scenario_video):
    _, full = run(scenario_video, "exit", 0, "memory")
    assert full["id_switches"] == 0
    assert full["false_visible"] <= 0.02 * full["absent_frames"]
    assert max(full["reacquisition_delays"]) <= 10


def test_it_refinds_the_product_after_a_cut(scenario_video):
    track, full = run(scenario_video, "cut", 0, "memory")
    assert len(track.shots) == 2
    assert full["jf"] > 0.85 and max(full["reacquisition_delays"]) <= 10


def test_a_description_starts_from_the_best_key_frame_and_tracks_both_ways(scenario_video):
    track, full = run(scenario_video, "crossing", 0, "memory")
    assert track.meta["init_frame"] > 0  # so frames before it were tracked backwards
    assert all(f.index == i for i, f in enumerate(track.frames))
    assert full["jf"] > 0.8
