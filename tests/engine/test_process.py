"""highlighter.process: every ffmpeg runs in its own process group, under a time limit that counts
only the time spent waiting on it, and is killed whole on timeout, error or cancel."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from highlighter import process

# A command that starts a child of its own (in its group), prints the child's pid and hangs.
FAMILY = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen(['sleep', '600'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_gone(pid: int) -> bool:
    for _ in range(100):
        if _gone(pid):
            return True
        time.sleep(0.05)
    return False


def test_the_time_limit_grows_with_the_video():
    assert process.time_limit(0) == process.BASE_SECONDS
    assert process.time_limit(10) == process.BASE_SECONDS + 10 * process.SECONDS_PER_SECOND


def test_run_kills_the_whole_group_on_timeout():
    with pytest.raises(subprocess.TimeoutExpired) as info:
        process.run([sys.executable, "-c", FAMILY], timeout=2)
    # The child's pid was printed before the timeout; killing the group took it too.
    assert _wait_gone(int(info.value.output or b"0"))


def test_a_process_that_keeps_us_waiting_too_long_is_killed_with_its_children():
    proc = process.Process([sys.executable, "-c", FAMILY], timeout=1.0, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with proc.waiting():
        grandchild = int(proc.stdout.readline())
        proc.stdout.read()  # blocks until the watchdog kills the group
    assert proc.wait() != 0 and proc.timed_out
    assert _wait_gone(grandchild)


def test_time_not_spent_waiting_does_not_count():
    # cat waits for its input; the caller is busy elsewhere meanwhile, so cat is not the one being slow.
    proc = process.Process(["cat"], timeout=0.5, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait() == 0 and not proc.timed_out


def test_kill_ends_the_whole_group():
    proc = process.Process([sys.executable, "-c", FAMILY], timeout=60, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    proc.kill()
    assert proc.poll() is not None and _wait_gone(grandchild)
    assert os.getpgid(os.getpid()) != proc.popen.pid  # it never shared our group
