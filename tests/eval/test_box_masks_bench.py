"""bench/box_masks.py on tiny generated clips in the real-footage layout (no shared data needed)."""

from __future__ import annotations

import json

import numpy as np

from bench import box_masks as bench
from highlighter.eval.footage import FootageClip


def test_every_nth_frame_s_truth_box_is_cut_by_each_method(make_footage):
    scores = bench.score_clip(FootageClip(make_footage("moving")), every=5)
    assert set(scores) == {"ours", "grabcut", "box", "click"}
    for method, s in scores.items():
        assert s["boxes"] == 5  # frames 0, 5, 10, 15 and 20 of 24
        assert abs(s["jf"] - (s["j"] + s["f"]) / 2) <= 1e-4  # each rounded on its own
    assert scores["box"]["j"] == 1.0 and scores["box"]["ms"] is None  # a square fills its own box
    assert scores["ours"]["j"] > 0.8 and scores["grabcut"]["j"] > 0.8 and scores["click"]["j"] > 0.8
    assert scores["ours"]["ms"] > 0 and scores["grabcut"]["ms"] > 0 and scores["click"]["ms"] > 0


def test_a_filled_box_covers_its_whole_pixels():
    mask = bench.box_filled((10, 12), [2.0, 3.0, 4.0, 5.0])
    assert mask.sum() == 20 and mask[3:8, 2:6].all()


def test_the_command_prints_rows_summaries_per_subset_and_a_table(make_footage, capsys):
    make_footage("moving")
    folder = make_footage("still", moving=False).parent
    assert bench.main([str(folder), "--every", "12", "--side", "64", "--table"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["every"] == 12 and report["side"] == 64
    assert {(r["clip"], r["method"]) for r in report["rows"]} == {(c, m) for c in ("moving", "still") for m in bench.METHODS}
    assert all(r["boxes"] == 2 for r in report["rows"])  # frames 0 and 12
    summary = report["summary"]["all"]
    assert summary["box"]["j"] == 1.0 and summary["ours"]["boxes"] == 4
    assert np.isclose(summary["ours"]["j"], np.mean([r["j"] for r in report["rows"] if r["method"] == "ours"]), atol=1e-4)
    assert set(report["split"].values()) <= {"tune", "check"}
    assert "| moving |" in err and "| still |" in err and "**mean of 2** | all |" in err


def test_an_unknown_clip_is_an_error_that_lists_the_clips(make_footage, capsys):
    folder = make_footage("moving").parent
    assert bench.main([str(folder), "--clips", "nope"]) == 2
    assert "moving" in capsys.readouterr().err
