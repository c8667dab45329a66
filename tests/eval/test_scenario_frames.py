"""bench/scenario_frames.py and ``suite.frame_rows``: a scenario's track frame by frame."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import scenario_frames as bench
from highlighter.eval.metrics import identity_switches
from highlighter.eval.multi import build_multi
from highlighter.eval.scenarios import build
from highlighter.eval.suite import frame_rows
from tests.eval.test_metrics import Truth, square, track_of


def test_frame_rows_say_which_frames_are_on_another_object_and_which_object():
    h, w = 40, 60
    target, first, second = square(h, w, 0, 0, 10), square(h, w, 20, 0, 10), square(h, w, 40, 0, 10)
    truth = Truth([target] * 4, [[first, second]] * 4)
    empty = np.zeros((h, w), bool)
    track = track_of([target, second, target | square(h, w, 18, 0, 4), empty])
    rows = frame_rows(track, truth)
    assert [r["frame"] for r in rows] == [0, 1, 2, 3]
    assert rows[0] == {**rows[0], "j": 1.0, "on_target": 100, "on_other": 0, "other": None, "identity_switch": False}
    # Wholly on the second other object: that object, and an identity switch.
    assert rows[1] == {**rows[1], "j": 0.0, "on_target": 0, "on_other": 100, "other": 1, "identity_switch": True}
    # The target and a little of the first other object: not a switch.
    assert rows[2] == {**rows[2], "on_target": 100, "on_other": 8, "other": 0, "identity_switch": False}
    assert rows[2]["area"] == 116 and rows[2]["truth_area"] == 100 and rows[2]["j"] == pytest.approx(100 / 116, abs=1e-4)
    assert rows[3] == {**rows[3], "j": 0.0, "area": 0, "on_other": 0, "other": None, "identity_switch": False}
    assert sum(r["identity_switch"] for r in rows) == identity_switches(track, truth) == 1


def test_it_prints_every_frame_of_a_scenario_and_the_suite_s_row_for_it(capsys):
    assert bench.main(["smooth", "0", "--tracker", "propagate", "--size", "160x96"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows, summary = lines[:-1], lines[-1]["summary"]
    assert [r["frame"] for r in rows] == list(range(build("smooth", 0, width=160, height=96).frame_count))
    assert summary["family"] == "smooth" and summary["seed"] == 0 and summary["tracker"] == "propagate"
    # The rows are what the suite's figures are made of.
    assert np.mean([r["j"] for r in rows]) == pytest.approx(summary["j"], abs=1e-3)
    assert np.mean([r["f"] for r in rows]) == pytest.approx(summary["f"], abs=1e-3)
    assert sum(r["identity_switch"] for r in rows) == summary["id_switches"]
    assert rows[0]["j"] > 0.8 and rows[0]["visible"]


def test_several_products_get_rows_per_product(capsys):
    assert bench.main(["cross2", "0", "--size", "160x96", "--below", "1.01"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows, summary = lines[:-1], lines[-1]["summary"]
    scenario = build_multi("cross2", 0, width=160, height=96)
    ids = [p["id"] for p in summary["products"]]
    assert len(ids) == 2 and summary["tracker"] == "auto"
    for pid, product in zip(ids, summary["products"]):
        mine = [r for r in rows if r["product"] == pid]
        assert [r["frame"] for r in mine] == list(range(scenario.frame_count))
        assert np.mean([r["j"] for r in mine]) == pytest.approx(product["j"], abs=1e-3)


def test_below_keeps_the_frames_under_the_bar_and_the_identity_switches(capsys, monkeypatch):
    rows = [
        {"frame": 0, "j": 0.95, "identity_switch": False},
        {"frame": 1, "j": 0.40, "identity_switch": False},
        {"frame": 2, "j": 0.70, "identity_switch": True},
        {"frame": 3, "j": 0.90, "identity_switch": False},
    ]
    monkeypatch.setattr(bench, "frames_of", lambda *a, **k: (rows, {"jf": 0.7}))
    assert bench.main(["smooth", "0", "--below", "0.5"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["frame"] for r in lines[:-1]] == [1, 2]
    assert lines[-1] == {"summary": {"family": "smooth", "seed": 0, "tracker": "memory", "jf": 0.7}}


def test_an_unknown_family_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        bench.main(["nosuch", "0"])
    assert "unknown family 'nosuch'" in capsys.readouterr().err
