"""bench/common.py's MachineShare: what other processes took of the machine while a bench ran."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import common

# Spins until it has used ``SPIN`` CPU seconds of its own, then says so and waits to be killed:
# its time is then not yet in this process's reaped children, as another process's never is.
SPIN = 0.6
_BUSY = f"""
import sys, time
while time.process_time() < {SPIN}:
    pass
print("done", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(common._machine_busy_seconds() is None, reason="needs Linux /proc/stat")
def test_cpu_another_process_burns_during_the_run_is_counted_as_the_others():
    share = common.MachineShare()
    busy = subprocess.Popen([sys.executable, "-c", _BUSY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert busy.stdout is not None and busy.stdout.readline().strip() == "done"
        report = share.report()
    finally:
        busy.kill()
        busy.wait()
    assert report is not None
    # Its start-up (the interpreter) adds to the spin; clock ticks are 1/100 s.
    assert report["other_cpu_seconds"] >= SPIN - 0.05
    assert report["other_share"] == pytest.approx(report["other_cpu_seconds"] / (report["seconds"] * report["cpus"]), abs=0.01)


@pytest.mark.skipif(common._machine_busy_seconds() is None, reason="needs Linux /proc/stat")
def test_this_process_s_own_work_and_its_reaped_children_s_are_not_the_others(monkeypatch):
    readings = iter([100.0, 103.0])  # the machine's busy seconds at the start and at the report
    own = iter([10.0, 12.5])  # this process's and its reaped children's
    monkeypatch.setattr(common, "_machine_busy_seconds", lambda: next(readings))
    monkeypatch.setattr(common, "_own_cpu_seconds", lambda: next(own))
    monkeypatch.setattr(common.os, "cpu_count", lambda: 2)
    share = common.MachineShare()
    share._wall -= 2.0  # as if the run took 2 s
    report = share.report()
    assert report is not None
    assert report["other_cpu_seconds"] == 0.5 and report["cpus"] == 2
    assert report["other_share"] == pytest.approx(0.5 / (report["seconds"] * 2), abs=1e-3)
    assert report["contended"] is (report["other_share"] > common.CONTENDED_SHARE)


def test_a_contended_run_is_told_on_stderr_and_a_quiet_one_is_not(capsys):
    share = common.MachineShare()
    share.warn({"seconds": 10.0, "cpus": 2, "other_cpu_seconds": 9.0, "other_share": 0.45, "contended": True})
    assert "other processes used 45% of the 2 CPUs" in capsys.readouterr().err
    share.warn({"seconds": 10.0, "cpus": 2, "other_cpu_seconds": 0.2, "other_share": 0.01, "contended": False})
    share.warn(None)
    assert capsys.readouterr().err == ""


def test_without_proc_stat_there_is_no_report(monkeypatch):
    monkeypatch.setattr(common, "_machine_busy_seconds", lambda: None)
    assert common.MachineShare().report() is None
