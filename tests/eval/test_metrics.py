from __future__ import annotations

import numpy as np
import pytest

from highlighter.eval.metrics import (
    FrameScores,
    box_stability,
    boundary_f,
    boundary_tolerance,
    false_visible,
    frame_scores,
    identity_switches,
    mask_iou,
    reacquisition_delays,
    score_correlation,
)
from highlighter.trackfile import FrameTrack, Track


def square(h, w, x, y, size):
    m = np.zeros((h, w), bool)
    m[y : y + size, x : x + size] = True
    return m


class Truth:
    """Hand-made ground truth: a list of target masks and, per frame, the other objects' masks."""

    def __init__(self, masks, others=None):
        self.masks, self.others = masks, others or [[] for _ in masks]
        self.frame_count = len(masks)

    def mask(self, i):
        return self.masks[i]

    def other_masks(self, i):
        return self.others[i]


def track_of(masks):
    h, w = masks[0].shape
    return Track(
        video={"width": w, "height": h, "fps": 25.0, "frame_count": len(masks)},
        prompt={},
        frames=[FrameTrack.from_mask(i, i / 25, m, 1.0) for i, m in enumerate(masks)],
    )


@pytest.mark.parametrize(("h", "w", "pixels"), [(480, 854, 8), (360, 640, 6), (1080, 1920, 18), (10, 10, 1)])
def test_the_boundary_tolerance_is_davis_s(h, w, pixels):
    assert boundary_tolerance(h, w) == pixels


def test_j_is_one_when_both_masks_are_empty_and_zero_when_one_is():
    empty = np.zeros((20, 20), bool)
    assert mask_iou(empty, empty) == 1.0
    assert mask_iou(square(20, 20, 2, 2, 5), empty) == 0.0


def test_j_of_two_overlapping_squares():
    a, b = square(40, 40, 0, 0, 10), square(40, 40, 5, 0, 10)  # 50 shared of 150
    assert mask_iou(a, b) == pytest.approx(50 / 150)


def test_f_is_one_for_empty_pairs_and_zero_when_one_mask_is_empty():
    empty = np.zeros((60, 80), bool)
    assert boundary_f(empty, empty) == 1.0
    assert boundary_f(square(60, 80, 10, 10, 20), empty) == 0.0
    assert boundary_f(empty, square(60, 80, 10, 10, 20)) == 0.0


def test_f_forgives_a_shift_within_the_tolerance_and_not_beyond():
    h, w = 360, 640  # tolerance 6 px
    truth = square(h, w, 100, 100, 80)
    assert boundary_f(truth, truth) == 1.0
    assert boundary_f(square(h, w, 106, 100, 80), truth) == 1.0
    # Shifted 7 px: the two vertical edges miss (the horizontal ones still mostly match).
    shifted = boundary_f(square(h, w, 107, 100, 80), truth)
    assert 0.3 < shifted < 0.9
    assert boundary_f(square(h, w, 300, 200, 40), truth) == 0.0


def test_f_counts_a_boundary_on_the_frame_edge_like_davis():
    truth = square(50, 50, 30, 30, 20)  # touches the bottom-right corner
    assert boundary_f(truth, truth) == 1.0


def test_j_and_f_of_a_track():
    h, w = 60, 80
    truth = Truth([square(h, w, 10, 10, 20), np.zeros((h, w), bool)])
    perfect = frame_scores(track_of([square(h, w, 10, 10, 20), np.zeros((h, w), bool)]), truth)
    assert perfect.jf == 1.0
    missed = frame_scores(track_of([np.zeros((h, w), bool), square(h, w, 10, 10, 20)]), truth)
    assert missed.jf == 0.0


def test_identity_switches_count_frames_on_another_object():
    h, w = 40, 60
    target, other = square(h, w, 0, 0, 10), square(h, w, 30, 0, 10)
    truth = Truth([target] * 3, [[other]] * 3)
    track = track_of([target, other, target | square(h, w, 28, 0, 4)])
    assert identity_switches(track, truth) == 1


def test_false_visible_counts_frames_shown_while_the_target_is_absent():
    h, w = 20, 20
    empty = np.zeros((h, w), bool)
    truth = Truth([square(h, w, 0, 0, 5), empty, empty, empty])
    track = track_of([square(h, w, 0, 0, 5), empty, square(h, w, 3, 3, 4), empty])
    assert false_visible(track, truth) == (1, 3)


def test_reacquisition_delay_runs_from_the_return_to_the_first_good_frame():
    j = np.array([1, 1, 1, 1, 0.2, 0.4, 0.9, 1, 1, 1])
    absent = [False, False, True, True, False, False, False, False, False, False]
    assert reacquisition_delays(FrameScores(j, j), absent) == [2]
    # After a cut the product must be found again too; never found: the run's length.
    j2 = np.array([1, 1, 1, 0, 0, 0])
    assert reacquisition_delays(FrameScores(j2, j2), [False] * 6, shot_starts=[0, 3]) == [3]


def test_box_stability_of_a_perfect_and_a_jittery_track():
    truth = [[10.0, 10.0, 20.0, 20.0]] * 4
    assert box_stability(truth, truth) == {"fragment": 0.0, "centre": 0.0, "scale_ratio": 0.0}
    jitter = [[10.0, 10.0, 20, 20], [12.0, 10.0, 20, 20], [10.0, 10.0, 20, 20], None]
    s = box_stability(jitter, truth)
    assert s["fragment"] == pytest.approx(1 / 3)
    assert s["centre"] == pytest.approx(np.std([0, 0.1, 0]))
    assert s["scale_ratio"] == 0.0


def test_score_correlation_ranks_the_scores_against_the_frames_j():
    js = [0.9, 0.8, 0.5, 0.2]
    assert score_correlation([0.9, 0.7, 0.3, 0.2], js) == pytest.approx(1.0)  # the worst mask scores lowest
    assert score_correlation([0.2, 0.3, 0.7, 0.9], js) == pytest.approx(-1.0)  # the worse, the higher
    # Only the order counts: one swapped pair of neighbours out of four frames gives 1 - 6 * 2 / 60.
    assert score_correlation([0.99, 0.98, 0.1, 0.2], js) == pytest.approx(0.8)
    assert score_correlation([0.5, 0.5, 0.5, 0.5], js) is None  # one score for all frames
    assert score_correlation([0.9, 0.8, 0.7], [1.0, 1.0, 1.0]) is None  # every mask as good
    assert score_correlation([0.9, 0.8], [0.9, 0.1]) is None  # too few frames


def test_the_suite_reports_how_the_score_follows_j_over_the_frames_shown():
    from highlighter.eval.suite import score_track  # the suite's own row for a video
    from highlighter.trackfile import mask_box

    class SceneTruth(Truth):
        boxes = property(lambda self: [mask_box(m) for m in self.masks])

        def shot_starts(self):
            return [0]

    truth = SceneTruth([square(40, 40, 8, 8, 20) for _ in range(6)])

    def track_with(scores):
        masks = []
        for k in range(6):  # each frame's mask loses three more rows of the square; the last is hidden
            m = truth.mask(k).copy()
            m[8 : 8 + 3 * k] = False
            masks.append(m if k < 5 else np.zeros_like(m))
        track = track_of(masks)
        for f, score in zip(track.frames, scores):
            f.score = score
        return track

    # The hidden frame's score goes against the shown frames' order: counted, it would break it.
    assert score_track(track_with([0.9, 0.8, 0.7, 0.6, 0.5, 1.0]), truth)["score_rho"] == 1.0
    assert score_track(track_with([0.5, 0.6, 0.7, 0.8, 0.9, 0.0]), truth)["score_rho"] == -1.0
    assert score_track(track_of(truth.masks), truth)["score_rho"] is None  # every frame perfect


def test_the_suite_table_gives_each_tracker_s_score_rho_and_a_dash_where_it_is_undefined():
    from highlighter.eval.cli import _single_table

    honest = {"confidently_wrong": 2, "hidden_in_view": 0, "frames": 400}
    table = _single_table({
        "smooth": {"memory": {"jf": 0.98, "id_switches": 0, "score_rho": 0.671, **honest},
                   "propagate": {"jf": 0.96, "id_switches": 1, "score_rho": None, **honest, "hidden_in_view": 9}},
    })  # fmt: skip
    header, rule, row = table.splitlines()
    assert "| memory score rho | propagate score rho |" in header and rule.count("|---") == 11
    assert header.endswith("| memory hidden in view | propagate hidden in view |")
    assert row == "| smooth | 0.980 | 0.960 | 0 | 1 | 0.67 | – | 2 (0.5%) | 2 (0.5%) | 0 (0.0%) | 9 (2.2%) |"


def test_the_suite_counts_confidently_wrong_frames_and_frames_hidden_with_the_target_in_view():
    from highlighter.eval.suite import score_track, summarise
    from highlighter.trackfile import mask_box

    class SceneTruth(Truth):
        boxes = property(lambda self: [mask_box(m) for m in self.masks])

        def shot_starts(self):
            return [0]

    # The target in the middle on frames 0-4, then cut by the frame's left edge on frame 5.
    truth = SceneTruth([square(40, 40, 15, 15, 10) for _ in range(5)] + [square(40, 40, 0, 15, 6)])
    elsewhere = square(40, 40, 28, 2, 10)  # a mask on something else: J 0
    masks = [truth.mask(0), elsewhere, elsewhere, np.zeros((40, 40), bool), truth.mask(4), np.zeros((40, 40), bool)]
    track = track_of(masks)
    for f, score in zip(track.frames, [0.9, 0.85, 0.5, 0.0, 0.9, 0.0]):
        f.score = score
    row = score_track(track, truth)
    # Frame 1 vouches for a wrong mask, frame 2 is wrong but says it is unsure; frame 3 hides a
    # target in plain view, frame 5 one the frame edge cuts (fairly taken for leaving).
    assert (row["confidently_wrong"], row["hidden_in_view"], row["frames"]) == (1, 1, 6)
    family = summarise([{"family": "f", "tracker": "memory", "fps": 10.0, **row}] * 2)["f"]["memory"]
    assert (family["confidently_wrong"], family["hidden_in_view"], family["frames"]) == (2, 2, 12)
