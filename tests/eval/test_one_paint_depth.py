"""bench/one_paint_depth.py: contacts of two products of one paint, the cues of which is in front, the
truth's depth as a ceiling."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from bench import one_paint_depth as bench
from highlighter.eval.multi import build_multi
from highlighter.track.joint import JointTracker
from highlighter.track.parts import WorkFrame


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_counted_contact_frame_names_the_truth_s_front_product_and_both_cues(capsys):
    before = (JointTracker._resolve, JointTracker._one_paint, JointTracker._in_front)
    assert bench.main(["samecolour2", "--seeds", "1", "--size", "160x96", "--fps", "10"]) == 0
    assert (JointTracker._resolve, JointTracker._one_paint, JointTracker._in_front) == before  # restored
    lines = _lines(capsys)
    rows, summary = lines[:-1], lines[-1]["summary"]
    assert rows, "the two products of one paint cross twice: some frames must be counted"
    frames = build_multi("samecolour2", 0, width=160, height=96, fps=10.0).frame_count
    for row in rows:
        assert row["family"] == "samecolour2" and row["seed"] == 0 and 0 < row["frame"] < frames
        assert row["front"] in row["pair"] and row["overlap"] >= bench.MIN_OVERLAP
        assert set(row["look"]) == set(row["outline"]) == {str(k) for k in row["pair"]}
    assert summary["frames"] == len(rows)
    for cue in ("look", "outline"):
        assert sum(summary[cue].values()) == len(rows)


def test_the_oracle_scores_every_product_and_restores_the_tracker(capsys):
    before = (JointTracker._resolve, JointTracker._one_paint, JointTracker._in_front)
    assert bench.main(["samecolour2", "--seeds", "1", "--size", "160x96", "--fps", "10", "--oracle"]) == 0
    assert (JointTracker._resolve, JointTracker._one_paint, JointTracker._in_front) == before
    video, summary = _lines(capsys)
    assert video["seed"] == 0 and len(video["jf"]) == 2 and all(0.0 <= x <= 1.0 for x in video["jf"])
    assert summary["summary"]["jf"] == video["jf"] and summary["summary"]["oracle"] is True


def test_the_oracle_treats_a_pair_of_one_paint_as_two_paints_with_the_truth_s_front_in_front():
    h, w = 20, 30
    left, right = np.zeros((h, w), bool), np.zeros((h, w), bool)
    left[5:15, 2:16], right[5:15, 12:28] = True, True  # both shapes hold columns 12-15
    both = left & right
    for front, masks in ((0, {0: left, 1: right & ~left}), (1, {0: left & ~right, 1: right})):
        truth = SimpleNamespace(product=lambda k, masks=masks: SimpleNamespace(mask=lambda index, k=k, masks=masks: masks[k]))
        tracker = SimpleNamespace(_paint={(0, 1): True})  # judged a pair of one paint
        frame = WorkFrame(7, np.zeros((h, w, 3), np.uint8))
        with bench._wrapped(truth, oracle=True, rows=[]):
            assert JointTracker._one_paint(tracker, 0, 1) is False  # so _resolve gives the overlap to one of them
            assert JointTracker._in_front(tracker, frame, 0, 1, both, {}, {}) == front


def test_a_cue_is_right_when_it_names_the_truth_s_front_product():
    row = {"pair": [0, 1], "front": 1, "look": {0: 9.0, 1: 3.0}, "outline": {0: 40.0, 1: 12.0}}
    assert bench._right(row, "look") is True  # the lower look error is in front
    assert bench._right(row, "outline") is False  # the stronger outline is in front
    assert bench._right({**row, "outline": {0: None, 1: 12.0}}, "outline") is None
