"""The tracking evaluation: every tracker on every scenario, scored, and summarised per family.

    results = run_suite(["occlusion"], seeds=2, trackers=("framewise", "propagate", "memory"))

Each scenario is written to an H.264 file first and tracked through ``track_video`` exactly as a
worker would, so decoding, working resolution and the track file are part of what is measured.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from highlighter.eval.metrics import box_stability, false_visible, frame_scores, identity_switches, reacquisition_delays
from highlighter.eval.scenarios import FAMILIES, build, write_scenario
from highlighter.track import track_video
from highlighter.track.prompt import Prompt

TRACKERS = ("framewise", "propagate", "memory")


def score_track(track, truth) -> dict[str, Any]:
    """Every metric of one track against one scenario's truth."""
    scores = frame_scores(track, truth)
    absent = [not truth.mask(i).any() for i in range(truth.frame_count)]
    shown, n_absent = false_visible(track, truth)
    delays = reacquisition_delays(scores, absent, truth.shot_starts())
    stability = box_stability([f.box if f.visible else None for f in track.frames], truth.boxes)
    return {
        "jf": round(scores.jf, 4),
        "j": round(float(scores.j.mean()), 4),
        "f": round(float(scores.f.mean()), 4),
        "id_switches": identity_switches(track, truth),
        "false_visible": shown,
        "absent_frames": n_absent,
        "reacquisition_delays": delays,
        **{f"box_{k}": round(v, 4) for k, v in stability.items()},
    }


def run_suite(
    families: Sequence[str] = FAMILIES,
    seeds: int = 5,
    trackers: Sequence[str] = TRACKERS,
    *,
    width: int = 640,
    height: int = 360,
    first_seed: int = 0,
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """``{"families": {family: {tracker: summary}}, "videos": [per video and tracker rows]}``."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="highlighter-eval-") as tmp:
        for family in families:
            for seed in range(first_seed, first_seed + seeds):
                scenario = build(family, seed, width=width, height=height)
                path = Path(tmp) / f"{family}-{seed}.mp4"
                truth = write_scenario(path, scenario)
                prompt = Prompt.from_dict(scenario.prompt)
                for name in trackers:
                    started = time.monotonic()
                    track = track_video(path, prompt, backend=name)
                    seconds = time.monotonic() - started
                    row = {"family": family, "seed": seed, "tracker": name, **score_track(track, truth)}
                    row["fps"] = round(scenario.frame_count / seconds, 1)
                    rows.append(row)
                    if log:
                        log(f"{family} seed {seed} {name}: J&F {row['jf']:.3f} ids {row['id_switches']} "
                            f"false-visible {row['false_visible']}/{row['absent_frames']} "
                            f"delays {row['reacquisition_delays']} ({row['fps']} fps)")  # fmt: skip
                path.unlink()
    return {"families": summarise(rows), "videos": rows}


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for family in dict.fromkeys(r["family"] for r in rows):
        out[family] = {}
        for name in dict.fromkeys(r["tracker"] for r in rows):
            mine = [r for r in rows if r["family"] == family and r["tracker"] == name]
            if not mine:
                continue
            delays = [d for r in mine for d in r["reacquisition_delays"]]
            absent = sum(r["absent_frames"] for r in mine)
            out[family][name] = {
                "jf": round(float(np.mean([r["jf"] for r in mine])), 4),
                "j": round(float(np.mean([r["j"] for r in mine])), 4),
                "f": round(float(np.mean([r["f"] for r in mine])), 4),
                "id_switches": sum(r["id_switches"] for r in mine),
                "false_visible_rate": round(sum(r["false_visible"] for r in mine) / absent, 4) if absent else None,
                "max_reacquisition_delay": max(delays) if delays else None,
                "mean_reacquisition_delay": round(float(np.mean(delays)), 2) if delays else None,
                "box_centre": round(float(np.mean([r["box_centre"] for r in mine])), 4),
                "box_scale_ratio": round(float(np.mean([r["box_scale_ratio"] for r in mine])), 4),
                "box_fragment": round(float(np.mean([r["box_fragment"] for r in mine])), 4),
                "fps": round(float(np.mean([r["fps"] for r in mine])), 1),
                "videos": len(mine),
            }
    return out


def overall(families: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """Mean J&F over families, per tracker."""
    names = dict.fromkeys(n for f in families.values() for n in f)
    return {n: round(float(np.mean([f[n]["jf"] for f in families.values() if n in f])), 4) for n in names}
