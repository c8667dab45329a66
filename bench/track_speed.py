"""Tracking speed and memory: the full tracker against the propagation-only baseline, in one run.

    .venv/bin/python bench/track_speed.py            # prints one JSON document

- ``throughput``: frames per second of ``memory`` and ``propagate`` on the same videos (640x360 and
  1920x1080 input, both analysed at the 480 px working resolution), and their time ratio: what
  the memories, motion prior and re-detection cost (target: under 1.5x).
- ``peak_memory``: peak resident memory of a fresh process tracking a 30 s and a 120 s video of the
  same scene (640x360); their ratio must stay under 1.2 (frames stream, nothing grows with length
  except the track's compact per-frame records).

Videos are synthetic ("smooth" family, prompted by description) written to a temporary folder.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from highlighter.eval.scenarios import build, write_scenario  # noqa: E402
from highlighter.track import track_video  # noqa: E402
from highlighter.track.prompt import Prompt  # noqa: E402

_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from highlighter.track import track_video
from highlighter.track.prompt import Prompt
started = time.monotonic()
track = track_video({path!r}, Prompt(text={text!r}), backend={backend!r})
print(len(track.frames), time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_video(folder: Path, name: str, width: int, height: int, seconds: float, seed: int = 0):
    scenario = build("smooth", seed, width=width, height=height)
    scenario = dataclasses.replace(scenario, frame_count=int(round(seconds * scenario.fps)), _bases={})
    path = folder / f"{name}.mp4"
    write_scenario(path, scenario)
    return path, scenario.prompt["text"], scenario.frame_count


def timed(path: Path, text: str, backend: str) -> float:
    started = time.monotonic()
    track_video(path, Prompt(text=text), backend=backend)
    return time.monotonic() - started


def peak_rss(path: Path, text: str, backend: str) -> dict:
    code = _CHILD.format(root=str(ROOT), path=str(path), text=text, backend=backend)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    frames, seconds, kib = int(out[0]), float(out[1]), int(out[2])
    return {"frames": frames, "seconds": round(seconds, 2), "peak_rss_mib": round(kib / 1024, 1)}


def main() -> int:
    result: dict = {"throughput": {}, "peak_memory": {}}
    with tempfile.TemporaryDirectory(prefix="highlighter-bench-") as tmp:
        folder = Path(tmp)
        for label, (w, h, seconds, seeds) in {"640x360": (640, 360, 5.0, (0, 1, 2)), "1920x1080": (1920, 1080, 4.0, (0,))}.items():
            videos = [make_video(folder, f"{label}-{s}", w, h, seconds, s) for s in seeds]
            frames = sum(v[2] for v in videos)
            # Interleave the two trackers video by video so that machine noise hits both alike.
            totals = {"memory": 0.0, "propagate": 0.0}
            for path, text, _ in videos:
                for backend in totals:
                    totals[backend] += timed(path, text, backend)
            result["throughput"][label] = {
                "frames": frames,
                "memory_fps": round(frames / totals["memory"], 1),
                "propagate_fps": round(frames / totals["propagate"], 1),
                "memory_over_propagate_time": round(totals["memory"] / totals["propagate"], 3),
            }
        short, text, _ = make_video(folder, "30s", 640, 360, 30.0)
        long, _, _ = make_video(folder, "120s", 640, 360, 120.0)
        a, b = peak_rss(short, text, "memory"), peak_rss(long, text, "memory")
        result["peak_memory"] = {"30s": a, "120s": b, "ratio_120s_over_30s": round(b["peak_rss_mib"] / a["peak_rss_mib"], 3)}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
