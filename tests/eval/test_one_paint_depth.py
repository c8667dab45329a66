"""bench/one_paint_depth.py: contacts of two products of one paint, the cues of which is in front, the
truth's depth as a ceiling."""

from __future__ import annotations

import json

from bench import one_paint_depth as bench
from highlighter.eval.multi import build_multi
from highlighter.track.joint import JointTracker


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
    video, summary = (line for line in _lines(capsys))
    assert video["seed"] == 0 and len(video["jf"]) == 2 and all(0.0 <= x <= 1.0 for x in video["jf"])
    assert summary["summary"]["jf"] == video["jf"] and summary["summary"]["oracle"] is True
