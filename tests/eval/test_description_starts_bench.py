"""bench/description_starts.py: the start of a description against the truth, per scenario."""

from __future__ import annotations

import json

from bench import description_starts as bench


def test_it_prints_each_description_start_and_a_summary_and_skips_box_prompts(capsys):
    assert bench.main(["--families", "smooth,exit", "--seeds", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (row,) = lines[:-1]  # exit is prompted by a box: no row
    assert row["family"] == "smooth" and row["seed"] == 0 and row["prompt"].startswith("the ")
    assert row["iou"] > 0.9 and row["area"] > 0
    assert lines[-1] == {"summary": {"smooth": {"seeds": 1, "wrong": 0, "mean_iou": row["iou"]}}}
