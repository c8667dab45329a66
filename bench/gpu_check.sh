#!/usr/bin/env bash
# One prepared check for a GPU machine (nothing is downloaded):
#   full-size SAM 2.1 hiera-tiny and hiera-large with random weights, written to a models folder in
#   the layout `models fetch` writes and loaded by the worker's code; a synthetic 1080p clip of 600
#   frames; for each size, with and without torch.compile of the image encoder:
#     - the streaming SAM 2 propagator alone (step + commit the best candidate),
#     - the whole controller (track_video, backend sam2, box prompt; eager only),
#   printing frames per second and peak GPU memory, one JSON line per run, then a summary table.
#
#   bash bench/gpu_check.sh                 # on the GPU machine (about 6 to 8 minutes on an H100)
#   bash bench/gpu_check.sh --cpu-dry-run   # tiny sizes, 12 frames, on the CPU: checks the script
#
# Environment: SIZES="tiny large", COMPILE="0 1", FRAMES=600, PY=.venv/bin/python,
# HIGHLIGHTER_PROPOSER_POINTS (default 16).
# Random weights make the masks meaningless (the controller may lose and re-detect the target, which
# costs proposal passes); the propagator-alone numbers are SAM 2's own speed under this code.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MODE=${1:-gpu}
case "$MODE" in gpu|--cpu-dry-run) ;; *) echo "usage: $0 [--cpu-dry-run]" >&2; exit 2 ;; esac
export PYTHONUNBUFFERED=1
if [ "$MODE" = --cpu-dry-run ]; then
  # Small enough for 2 shared cores: one thread, 12 frames (the tiny models propose on a 4 x 4 grid).
  export OMP_NUM_THREADS=1 FRAMES=${FRAMES:-12}
fi
export SIZES=${SIZES:-tiny large} COMPILE=${COMPILE:-0 1}

exec "$PY" - "$MODE" <<'PYTHON'
import json, os, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, os.getcwd())
import torch

dry = sys.argv[1] == "--cpu-dry-run"
if not dry and not torch.cuda.is_available():
    sys.exit("No GPU visible to torch: run this on the GPU machine, or use --cpu-dry-run here.")
frames_n = int(os.environ.get("FRAMES", 12 if dry else 600))
width, height = (320, 180) if dry else (1920, 1080)
sizes = os.environ["SIZES"].split()
compiles = [c == "1" for c in os.environ["COMPILE"].split()] if not dry else [False]
device = "cpu" if dry else "cuda"

from highlighter.eval.synthetic import make_moving_object_video
from highlighter.media import probe
from highlighter.models import loading
from highlighter.models.loading import Runtime, load_sam2
from highlighter.models.sam2_video import Sam2Frames, Sam2Propagator
from highlighter.models.settings import ModelSettings
from highlighter.models.testing import write_random_models
from highlighter.track import track_video
from highlighter.track.frames import FrameSource, work_size
from highlighter.track.prompt import BoxPrompt, Prompt

if not dry:
    print(json.dumps({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                      "bf16": torch.cuda.is_bf16_supported()}), flush=True)
tmp = Path(tempfile.mkdtemp(prefix="gpu-check-"))
started = time.time()
truth = make_moving_object_video(tmp / "clip.mp4", width=width, height=height, fps=30,
                                 seconds=frames_n / 30, colour="red", seed=3, audio=False)
video = tmp / "clip.mp4"
info = probe(video)
print(json.dumps({"clip": f"{info.width}x{info.height}", "frames": info.frame_count,
                  "made_in_s": round(time.time() - started, 1)}), flush=True)


def peak_reset():
    if device == "cuda":
        torch.cuda.synchronize(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()


def peak_mb():
    if device == "cuda":
        torch.cuda.synchronize()
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return None


def propagate_only(settings):
    runtime = Runtime.from_settings(settings)
    frames = Sam2Frames(load_sam2(settings, runtime), runtime)
    size = work_size(info, 640)
    source = FrameSource(video, info, size)
    x, y, w, h = truth.boxes[0]
    sx, sy = size[0] / info.width, size[1] / info.height
    import numpy as np
    mask = np.zeros(size[::-1], bool)
    mask[int(y * sy): int((y + h) * sy), int(x * sx): int((x + w) * sx)] = True
    propagator = Sam2Propagator(frames)
    warm_until = 10  # compilation and cuDNN autotuning happen on the first frames: not timed
    count, t0 = 0, None
    for frame in source.forward():
        if frame.index == 0:
            propagator.reset(frame, mask)
            continue
        best = max(propagator.step(frame), key=lambda c: c.quality, default=None)
        propagator.commit(frame, best.mask if best else None)
        if frame.index == warm_until:
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        elif frame.index > warm_until:
            count += 1
    if device == "cuda":
        torch.cuda.synchronize()
    return count / (time.perf_counter() - t0), runtime


def controller(settings):
    for k, v in {"HIGHLIGHTER_MODELS_DIR": str(settings.models_dir), "HIGHLIGHTER_SAM2_MODEL": settings.sam2,
                 "HIGHLIGHTER_DEVICE": device, "HIGHLIGHTER_COMPILE": "0"}.items():
        os.environ[k] = v
    x, y, w, h = truth.boxes[0]
    track = track_video(video, Prompt(boxes=(BoxPrompt(x, y, x + w, y + h, 0),)), backend="sam2")
    return track


results = []
shared = None
for size_name in sizes:
    name = f"sam2.1-hiera-{size_name}"
    t0 = time.time()
    folder = tmp / f"models-{size_name}"
    settings = write_random_models(folder, size="tiny" if dry else "full", sam2=name)
    settings = settings.with_(device=device)
    print(json.dumps({"wrote": name, "seconds": round(time.time() - t0, 1)}), flush=True)
    for compiled in compiles:
        loading.clear_caches()
        peak_reset()
        t0 = time.time()
        fps, runtime = propagate_only(settings.with_(compile=compiled))
        row = {"model": name, "run": "propagator", "compile": compiled, "fps": round(fps, 1),
               "peak_gpu_mb": peak_mb(), "precision": str(runtime.autocast or "float32").replace("torch.", ""),
               "wall_s": round(time.time() - t0, 1)}
        results.append(row); print(json.dumps(row), flush=True)
    loading.clear_caches()
    peak_reset()
    t0 = time.time()
    track = controller(settings)
    row = {"model": name, "run": "controller", "compile": False,
           "fps": track.meta.get("frames_per_second"), "peak_gpu_mb": peak_mb(),
           "visible_fraction": round(track.visible_fraction(), 3), "events": len(track.meta.get("events", [])),
           "wall_s": round(time.time() - t0, 1)}
    results.append(row); print(json.dumps(row), flush=True)

print("\nmodel                 run         compile   fps    peak GPU MB")
for r in results:
    print(f"{r['model']:<21} {r['run']:<11} {str(r['compile']):<8} {r['fps']!s:>6}  {r['peak_gpu_mb']!s:>10}")
print(f"total {round(time.time() - started)} s")
PYTHON
