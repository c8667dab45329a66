"""What the product's controller costs over bare SAM 2, and whether memory stays flat with length.

On the CPU with the tiny random-weight SAM 2 (and tiny OWLv2/CLIP), on one synthetic video:

1. time: the stock ``sam2`` video predictor's ``propagate_in_video`` from a mask on frame 0 (its
   frame loading in ``init_state`` is not counted) against ``track_video(backend="sam2")``: the
   whole controller (initialisation, Kalman prior, CLIP target memory, distractor scans,
   re-detection) over the streaming SAM 2 backend, decoding included. Also the streaming
   propagator alone (step + commit of the best candidate), to separate the two costs.
2. memory: peak resident memory of ``track_video(backend="sam2")`` on 300 and 1200 frames, each in
   a fresh process; the stock predictor's for comparison (it holds every frame).

    .venv/bin/python bench/sam2_overhead.py                # 300 frames timed, 300/1200 memory
    .venv/bin/python bench/sam2_overhead.py --quick        # 60 frames, 60/240 memory

Pass: time ratio under 1.3, memory ratio under 1.2. Random weights make the masks meaningless but
the work per frame real. OMP_NUM_THREADS=1 keeps the timings steady on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = dict(width=320, height=240, fps=25)


def make_video(folder: Path, frames: int) -> tuple[Path, list]:
    from highlighter.eval.synthetic import make_moving_object_video

    path = folder / f"clip-{frames}.mp4"
    truth = make_moving_object_video(path, seconds=frames / SIZE["fps"], colour="red", seed=4, audio=False, **SIZE)
    return path, truth.boxes


def environment(models_dir: Path, points: int) -> dict[str, str]:
    return {
        "HIGHLIGHTER_MODELS_DIR": str(models_dir),
        "HIGHLIGHTER_SAM2_MODEL": "sam2.1-hiera-tiny",
        "HIGHLIGHTER_DEVICE": "cpu",
        "HIGHLIGHTER_PROPOSER_POINTS": str(points) if points else "",
    }


class Clock:
    """Wall and CPU seconds (this process and its ffmpeg children): CPU time is the steadier number
    on a shared 2-core machine, since other work slows the wall clock, not the CPU time."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu() - self.cpu

    def report(self, frames: int) -> dict:
        return {"frames": frames, "seconds": round(self.wall, 2), "cpu_seconds": round(self.cpu, 2),
                "cpu_ms_per_frame": round(1000 * self.cpu / frames, 1)}  # fmt: skip


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def first_mask(path: Path, boxes: list):
    """The target's box on frame 0 as a mask (the stock loop and the tracker start from the same)."""
    import numpy as np

    x, y, w, h = (int(round(v)) for v in boxes[0])
    mask = np.zeros((SIZE["height"], SIZE["width"]), bool)
    mask[y : y + h, x : x + w] = True
    return mask


def stock_loop(models_dir: Path, path: Path, boxes: list) -> dict:
    """The sam2 package's own predictor on the same frames (JPEGs, as init_state wants them)."""
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from highlighter.media import iter_frames, write_jpeg

    folder = models_dir / "sam2.1-hiera-tiny"
    cfg = OmegaConf.load(folder / "config.yaml")
    cfg.model._target_ = "sam2.sam2_video_predictor.SAM2VideoPredictor"
    model = instantiate(cfg.model, _recursive_=True)
    model.load_state_dict(torch.load(folder / "model.pt", weights_only=True)["model"])
    model.eval()
    with tempfile.TemporaryDirectory() as jpegs:
        for i, rgb in enumerate(iter_frames(path)):
            write_jpeg(rgb, Path(jpegs) / f"{i:05d}.jpg", max_width=SIZE["width"], quality=95)
        with torch.inference_mode():
            state = model.init_state(jpegs)
            model.add_new_mask(state, 0, 1, first_mask(path, boxes))
            with Clock() as clock:
                count = sum(1 for _ in model.propagate_in_video(state))
    return clock.report(count)


def streaming_loop(models_dir: Path, path: Path, boxes: list) -> dict:
    """The streaming propagator alone: decode, step, commit SAM 2's best candidate."""
    from highlighter.media import probe
    from highlighter.models.loading import Runtime, load_sam2
    from highlighter.models.sam2_video import Sam2Frames, Sam2Propagator
    from highlighter.models.settings import ModelSettings
    from highlighter.track.frames import FrameSource

    settings = ModelSettings.from_env()
    runtime = Runtime.from_settings(settings)
    frames = Sam2Frames(load_sam2(settings, runtime), runtime)
    propagator = Sam2Propagator(frames)
    info = probe(path)
    count = 0
    with Clock() as clock:
        for frame in FrameSource(path, info, (info.width, info.height)).forward():
            count += 1
            if frame.index == 0:
                propagator.reset(frame, first_mask(path, boxes))
                continue
            candidates = propagator.step(frame)
            best = max(candidates, key=lambda c: c.quality, default=None)
            propagator.commit(frame, best.mask if best is not None else None)
    return clock.report(count)


def controller_run(path: Path, boxes: list) -> dict:
    from highlighter.models.loading import Runtime, load_embedder, load_sam2
    from highlighter.models.settings import ModelSettings
    from highlighter.track import track_video
    from highlighter.track.prompt import PointPrompt, Prompt

    # A warm worker: the models are built once per process, before its first job (the stock loop's
    # model build is not timed either).
    settings = ModelSettings.from_env()
    runtime = Runtime.from_settings(settings)
    load_sam2(settings, runtime), load_embedder(settings, runtime)
    x, y, w, h = boxes[0]
    with Clock() as clock:
        track = track_video(path, Prompt(points=(PointPrompt(x + w / 2, y + h / 2, 0),)), backend="sam2")
    return {
        **clock.report(len(track.frames)),
        "visible_fraction": round(track.visible_fraction(), 3),
        "events": len(track.meta.get("events", [])),
    }


def child(mode: str, models_dir: Path, path: Path) -> None:
    """One measurement in this fresh process; prints JSON with the peak resident memory."""
    import torch

    torch.set_num_threads(1)
    boxes = json.loads(Path(str(path) + ".boxes.json").read_text())
    result = {"stock": stock_loop, "streaming": streaming_loop}.get(mode)
    out = result(models_dir, path, boxes) if result else controller_run(path, boxes)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


def measure(mode: str, models_dir: Path, path: Path, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--models", str(models_dir), "--video", str(path)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} on {path.name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 frames timed, 60/240 for memory")
    parser.add_argument("--points", type=int, default=0, help="SAM 2 proposal grid, N x N (default: the tracker's, 1 per 64 px)")
    parser.add_argument("--child")
    parser.add_argument("--models", type=Path)
    parser.add_argument("--video", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.models, args.video)
        return 0

    from highlighter.models.testing import write_random_models

    short, long = (60, 240) if args.quick else (300, 1200)
    with tempfile.TemporaryDirectory(prefix="sam2-bench-") as tmp:
        tmp = Path(tmp)
        write_random_models(tmp / "models")
        env = environment(tmp / "models", args.points)
        videos = {}
        for n in (short, long):
            path, boxes = make_video(tmp, n)
            Path(str(path) + ".boxes.json").write_text(json.dumps(boxes))
            videos[n] = path
        report = {"cpu_threads": os.environ.get("OMP_NUM_THREADS"), "proposer_points": args.points or "default (image_size / 64)", "runs": {}}
        for mode in ("stock", "streaming", "controller"):
            for n in (short, long):
                report["runs"][f"{mode}-{n}"] = r = measure(mode, tmp / "models", videos[n], env)
                print(f"{mode:>10} {n:>5} frames: {r['cpu_ms_per_frame']:6.1f} CPU ms/frame ({r['seconds']} s wall), "
                      f"peak RSS {r['peak_rss_mb']:7.1f} MB", file=sys.stderr)  # fmt: skip
        runs = report["runs"]

        def ratio(mode: str) -> float:
            return round(runs[f"{mode}-{short}"]["cpu_ms_per_frame"] / runs[f"stock-{short}"]["cpu_ms_per_frame"], 3)

        report["time_ratio_controller_vs_stock"] = ratio("controller")
        report["time_ratio_streaming_vs_stock"] = ratio("streaming")
        report["memory_ratio_controller"] = round(runs[f"controller-{long}"]["peak_rss_mb"] / runs[f"controller-{short}"]["peak_rss_mb"], 3)
        report["memory_ratio_stock"] = round(runs[f"stock-{long}"]["peak_rss_mb"] / runs[f"stock-{short}"]["peak_rss_mb"], 3)
        report["pass"] = report["time_ratio_controller_vs_stock"] < 1.3 and report["memory_ratio_controller"] < 1.2
        print(json.dumps(report, indent=2))
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
