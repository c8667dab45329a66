"""Tracking speed and memory: the full tracker against the propagation-only baseline, in one run.

    .venv/bin/python bench/track_speed.py                       # prints one JSON document
    .venv/bin/python bench/track_speed.py --only two_products   # one section (its JSON alone)

``startup_seconds``: the process's one-time start (imports, the network's weights), paid on a tiny
clip before anything is timed (``bench/common.py``), so the first timed run does not count it.

- ``throughput``: frames per second of ``memory`` and ``propagate`` on the same videos (640x360 and
  1920x1080 input, both analysed at the 480 px working resolution), and their time ratio: what
  the memories, motion prior and re-detection cost. The first target was under 1.5x; the full
  tracker has cost 1.4-2.1x since its lookalike scans and re-detection search the whole frame
  (docs/tracking.md, "Speed"), and no issue sets a bar on it now.
- ``two_products``: the same videos (640x360) tracked with their two products (the target and the
  product of another colour) in one run, against each product alone: ``two_over_one_time`` is the
  two-product run's time over the mean of the two one-product runs (target: at most 1.6x); CPU
  seconds of this process are given too (the decoder runs in its own process), as a check that the
  wall-clock figure is not machine noise. Each frame is decoded once for both (``decoded_frames``).
- ``peak_memory``: peak resident memory of a fresh process tracking a 30 s and a 120 s video of the
  same scene (640x360); their ratio must stay under 1.2 (frames stream, nothing grows with length
  except the track's compact per-frame records).
- ``machine``: what other processes took of the CPUs during the timed work (``bench/common.py``,
  ``MachineShare``); with ``"contended": true`` (and a warning on stderr) the run's timings are
  not comparable, its ratios included: another CPU-heavy process slows the two sides differently.
- ``numerics``: the CPU and how its libraries round (``highlighter.eval.numerics``).

Videos are synthetic ("smooth" family, prompted by description) written to a temporary folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import MachineShare, warm_up  # noqa: E402
from highlighter.eval.numerics import numerics  # noqa: E402
from highlighter.eval.scenarios import build, write_scenario  # noqa: E402
from highlighter.track import Product, track_video  # noqa: E402
from highlighter.track.prompt import Prompt  # noqa: E402
from highlighter.trackfile import Track  # noqa: E402

_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from highlighter.track import track_video
from highlighter.track.prompt import Prompt
started = time.monotonic()
track = track_video({path!r}, Prompt(text={text!r}), backend={backend!r})
print(len(track.frames), time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_video(folder: Path, name: str, width: int, height: int, seconds: float, seed: int = 0, *, second: bool = False):
    """A "smooth" scenario video: ``(path, the target's description, frame count)``, and with
    ``second`` the description of its other product (another colour, the same shape) too."""
    scenario = build("smooth", seed, width=width, height=height)
    scenario = dataclasses.replace(scenario, frame_count=int(round(seconds * scenario.fps)), _bases={})
    path = folder / f"{name}.mp4"
    write_scenario(path, scenario)
    if not second:
        return path, scenario.prompt["text"], scenario.frame_count
    other = scenario.shots[0].objects[0]  # the product of another colour
    noun = scenario.prompt["text"].rsplit(" ", 1)[-1]
    return path, scenario.prompt["text"], scenario.frame_count, f"the {other.colour} {noun}"


def _timed_track(path: Path, prompt: Prompt | list[Product], backend: str = "memory") -> tuple[Track, float, float]:
    """``(track, wall-clock seconds, this process's CPU seconds)`` of one run."""
    started, cpu = time.monotonic(), time.process_time()
    track = track_video(path, prompt, backend=backend)
    return track, time.monotonic() - started, time.process_time() - cpu


def two_products(videos: list[tuple[Path, str, int, str]]) -> dict:
    """Each video's two products alone and together, interleaved video by video: the first
    product alone, both together, the second alone, so that the two runs alone bracket the run
    together in time and a machine that speeds up or slows down over the section weighs on both
    sides alike (these machines drift by a fifth within minutes)."""
    alone = together = cpu_alone = cpu_together = 0.0
    frames = decoded = 0
    for path, first, count, second in videos:
        _, wall_a, cpu_a = _timed_track(path, Prompt(text=first))
        track, wall, cpu = _timed_track(
            path, [Product("a", first, Prompt(text=first)), Product("b", second, Prompt(text=second))]
        )
        _, wall_b, cpu_b = _timed_track(path, Prompt(text=second))
        alone += (wall_a + wall_b) / 2
        cpu_alone += (cpu_a + cpu_b) / 2
        together += wall
        cpu_together += cpu
        frames += count
        decoded += track.meta.get("decoded_frames", 0)
    return {
        "frames": frames,
        "one_product_seconds": round(alone, 2),
        "two_products_seconds": round(together, 2),
        "two_over_one_time": round(together / alone, 3),
        "one_product_cpu_seconds": round(cpu_alone, 2),
        "two_products_cpu_seconds": round(cpu_together, 2),
        "two_over_one_cpu": round(cpu_together / cpu_alone, 3),
        "decoded_frames": decoded,
    }


def throughput(folder: Path) -> dict:
    """``memory`` against ``propagate`` at two input sizes, interleaved video by video so that
    machine noise hits both alike."""
    out = {}
    for label, (w, h, seconds, seeds) in {"640x360": (640, 360, 5.0, (0, 1, 2)), "1920x1080": (1920, 1080, 4.0, (0,))}.items():
        videos = [make_video(folder, f"{label}-{s}", w, h, seconds, s) for s in seeds]
        frames = sum(v[2] for v in videos)
        totals = {"memory": 0.0, "propagate": 0.0}
        for path, text, _ in videos:
            for backend in totals:
                totals[backend] += _timed_track(path, Prompt(text=text), backend)[1]
        out[label] = {
            "frames": frames,
            "memory_fps": round(frames / totals["memory"], 1),
            "propagate_fps": round(frames / totals["propagate"], 1),
            "memory_over_propagate_time": round(totals["memory"] / totals["propagate"], 3),
        }
    return out


def peak_rss(path: Path, text: str, backend: str) -> dict:
    code = _CHILD.format(root=str(ROOT), path=str(path), text=text, backend=backend)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    frames, seconds, kib = int(out[0]), float(out[1]), int(out[2])
    return {"frames": frames, "seconds": round(seconds, 2), "peak_rss_mib": round(kib / 1024, 1)}


SECTIONS = ("throughput", "two_products", "peak_memory")


def main() -> int:
    parser = argparse.ArgumentParser(description="Tracking speed and memory (module docstring).")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    only = parser.parse_args().only or SECTIONS
    # Imports and weights are paid once per process, before anything is timed: else the first
    # timed run (a one-product run, or ``memory`` against ``propagate``) would count them.
    result: dict = {"startup_seconds": round(warm_up(track_video, "memory"), 2)}
    machine = MachineShare()
    with tempfile.TemporaryDirectory(prefix="highlighter-bench-") as tmp:
        folder = Path(tmp)
        if "throughput" in only:
            result["throughput"] = throughput(folder)
        if "two_products" in only:
            result["two_products"] = two_products([make_video(folder, f"two-{s}", 640, 360, 5.0, s, second=True) for s in (0, 1, 2)])
        if "peak_memory" in only:
            short, text, _ = make_video(folder, "30s", 640, 360, 30.0)
            long, _, _ = make_video(folder, "120s", 640, 360, 120.0)
            a, b = peak_rss(short, text, "memory"), peak_rss(long, text, "memory")
            result["peak_memory"] = {"30s": a, "120s": b, "ratio_120s_over_30s": round(b["peak_rss_mib"] / a["peak_rss_mib"], 3)}
    result["machine"] = machine.report()
    machine.warn(result["machine"])
    result["numerics"] = numerics()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
