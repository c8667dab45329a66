"""What the benches share: paying a process's one-time start before anything is timed, and
saying when other processes took a share of the machine while a bench ran."""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from highlighter.eval.synthetic import make_moving_object_video
from highlighter.track.prompt import BoxPrompt, Prompt
from highlighter.trackfile import mask_box


def warm_up(track: Callable[..., Any], backend: str) -> float:
    """Seconds to ``track`` (``track_video``) a tiny generated clip (10 frames, 160x120) from a box,
    with ``backend``: the one-time start a worker process pays before its first video (importing
    torch and the tracker, loading the network's weights), paid here so that no timed run counts it."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="highlighter-warm-up-") as tmp:
        path = Path(tmp) / "warm-up.mp4"
        truth = make_moving_object_video(path, width=160, height=120, seconds=0.4, audio=False)
        box = mask_box(truth.mask(0))
        assert box is not None
        x, y, w, h = (int(v) for v in box)
        track(path, Prompt(boxes=(BoxPrompt(x, y, x + w, y + h, 0),)), backend=backend)
    return time.monotonic() - started


CONTENDED_SHARE = 0.1  # other processes using more than this share of all CPUs make a run's timings suspect


class MachineShare:
    """How much CPU other processes used while a bench ran (Linux ``/proc/stat``).

    The benches time the tracker against a baseline in the same run, so steady noise cancels in
    their ratios; a second CPU-heavy process does not: on 2 cores, torch's and OpenCV's threads
    then take turns with it and every figure of the run is off (the real-footage bench fell from
    about 10 fps to 1.6 beside ``track_speed.py``). Start one before the timed work and put its
    ``report()`` in the bench's JSON. Other processes' CPU time is the machine's busy time
    (hypervisor steal included: another machine on the same host) less this process's and its
    reaped children's."""

    def __init__(self) -> None:
        self._wall, self._busy, self._own = time.monotonic(), _machine_busy_seconds(), _own_cpu_seconds()

    def report(self) -> dict[str, Any] | None:
        """``{"seconds", "cpus", "other_cpu_seconds", "other_share", "contended"}`` since this
        was made; None where ``/proc/stat`` cannot be read."""
        busy = _machine_busy_seconds()
        if busy is None or self._busy is None:
            return None
        wall = time.monotonic() - self._wall
        others = max(0.0, (busy - self._busy) - (_own_cpu_seconds() - self._own))
        cpus = os.cpu_count() or 1
        share = others / max(wall * cpus, 1e-9)
        return {
            "seconds": round(wall, 2),
            "cpus": cpus,
            "other_cpu_seconds": round(others, 2),
            "other_share": round(share, 3),
            "contended": share > CONTENDED_SHARE,
        }

    def warn(self, report: dict[str, Any] | None) -> None:
        """A line on stderr when ``report`` says other processes took a fair share of the machine."""
        if report is not None and report["contended"]:
            print(
                f"warning: other processes used {report['other_share']:.0%} of the {report['cpus']} CPUs during this run "
                f"({report['other_cpu_seconds']} CPU s in {report['seconds']} s): its timings are not comparable; "
                "run it again on a quiet machine",
                file=sys.stderr,
            )


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processors spent busy since boot (all but idle and I/O wait), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
