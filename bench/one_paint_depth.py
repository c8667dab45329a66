"""Two products of one paint in contact: which is in front, what the frame says of it, and what
knowing it would be worth.

    .venv/bin/python bench/one_paint_depth.py samecolour2,shelf2,trio --seeds 5 [--first-seed 5] [--oracle] [--size 640x360] [--fps 25]

Where two products of one paint overlap, the joint tracker shows the overlap as neither's (see
docs/tracking.md, "Several products of one paint"): the frame has no reliable trace of which one is
in front. This measures that, on the several-product families, with the tracker as it is:

- by default, one JSON line per frame of such a contact (the overlap of the two predicted shapes at
  least ``MIN_OVERLAP`` working pixels, the truth putting at least ``TRUTH_SHARE`` of it on one
  product), with two cues and the truth's answer. ``look``: each product's last whole view, moved
  along with its shape, against the frame over the overlap (mean of the largest channel
  difference; the lower is in front: ``JointTracker._in_front``'s cue). ``outline``: the colour
  gradient along each product's predicted outline where it runs inside the other's shape (the
  stronger is in front: the front product's edge shows there, the one behind has none). Then one
  line per family: how often each cue names the product in front.
- with ``--oracle``, the tracker given the truth's depth order for products of one paint (as the
  looks give it for two paints): per video, each product's J&F and frames on another product; then
  per family the means. The ceiling of any depth cue.

Each video is tracked once, as ``python -m highlighter eval --modes joint`` tracks it. The tracker's
internals are wrapped for the run (and restored), so this is a study, not a mode of the product.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from highlighter.eval.multi import MULTI_FAMILIES, MultiTruth, build_multi, write_multi  # noqa: E402
from highlighter.eval.suite import score_products, track_products  # noqa: E402
from highlighter.track import joint  # noqa: E402
from highlighter.track.parts import WorkFrame  # noqa: E402

MIN_OVERLAP = 20  # working pixels of the predicted shapes' overlap for a frame to count
TRUTH_SHARE = 0.6  # share of that overlap the truth must give one product for a frame to count


def _truth_at(truth: MultiTruth, k: int, frame: WorkFrame) -> np.ndarray:
    """Product ``k``'s true mask of ``frame`` at the working size."""
    h, w = frame.rgb.shape[:2]
    return cv2.resize(truth.product(k).mask(frame.index).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0


def _front_in_truth(truth: MultiTruth, i: int, j: int, frame: WorkFrame, both: np.ndarray) -> int | None:
    """The product the truth shows on at least ``TRUTH_SHARE`` of ``both``; None when neither."""
    counts = [int((_truth_at(truth, k, frame) & both).sum()) for k in (i, j)]
    n = int(both.sum())
    if counts[0] >= TRUTH_SHARE * n:
        return i
    if counts[1] >= TRUTH_SHARE * n:
        return j
    return None


def _cues(tracker: joint.JointTracker, frame: WorkFrame, i: int, j: int, predicted: dict) -> dict[str, dict[int, float | None]]:
    """Per cue, per product: ``look`` (lower: in front) and ``outline`` (higher: in front)."""
    both = predicted[i] & predicted[j]
    now = frame.rgb.astype(np.float32)
    look = {}
    for k in (i, j):
        moved = joint._translate(tracker._looks[k], tracker._offset.get(k, (0.0, 0.0))).astype(np.float32)
        look[k] = float(np.abs(moved[both] - now[both]).max(axis=1).mean())
    blur = cv2.GaussianBlur(now, (3, 3), 0)
    gx, gy = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3)
    # The strongest gradient within 2 px of the outline: a held shape is a pixel or two off.
    near = cv2.dilate(np.sqrt(gx**2 + gy**2).max(axis=2), np.ones((5, 5), np.uint8))
    outline = {}
    for k, other in ((i, j), (j, i)):
        m = predicted[k].astype(np.uint8)
        edge = (m - cv2.erode(m, np.ones((3, 3), np.uint8))) > 0
        inside = cv2.erode(predicted[other].astype(np.uint8), np.ones((7, 7), np.uint8)) > 0  # away from the blob's own outline
        run = edge & inside
        outline[k] = float(near[run].mean()) if run.any() else None
    return {"look": look, "outline": outline}


@contextmanager
def _wrapped(truth: MultiTruth, *, oracle: bool, rows: list[dict[str, Any]]) -> Iterator[None]:
    """``JointTracker`` for one video: its contacts of one paint logged into ``rows``, or (``oracle``)
    decided by the truth's depth order."""
    cls = joint.JointTracker
    saved = cls._resolve, cls._one_paint, cls._in_front

    def resolve(self, frame, decisions, controllers, predicted=None, contacts=()):
        for i, j in contacts if predicted else ():
            if i not in predicted or j not in predicted or decisions[i].mask is None or decisions[j].mask is None:
                continue
            if not saved[1](self, i, j) or i not in self._looks or j not in self._looks:
                continue
            both = predicted[i] & predicted[j]
            if int(both.sum()) < MIN_OVERLAP:
                continue
            front = _front_in_truth(truth, i, j, frame, both)
            if front is not None:
                rows.append({"frame": frame.index, "pair": [i, j], "overlap": int(both.sum()), "front": front, **_cues(self, frame, i, j, predicted)})
        return saved[0](self, frame, decisions, controllers, predicted, contacts)

    def one_paint(self, i, j):
        saved[1](self, i, j)  # still judged: the held shapes' fit (``_register``) reads it
        return False

    def in_front(self, frame, i, j, both, decisions, controllers):
        if not self._paint.get((i, j)):
            return saved[2](self, frame, i, j, both, decisions, controllers)
        counts = [int((_truth_at(truth, k, frame) & both).sum()) for k in (i, j)]
        return i if counts[0] >= counts[1] else j

    if oracle:
        cls._one_paint, cls._in_front = one_paint, in_front
    else:
        cls._resolve = resolve
    try:
        yield
    finally:
        cls._resolve, cls._one_paint, cls._in_front = saved


def _right(row: dict[str, Any], cue: str) -> bool | None:
    i, j = row["pair"]
    a, b = row[cue][i], row[cue][j]
    if a is None or b is None or a == b:
        return None
    guess = (i if a < b else j) if cue == "look" else (i if a > b else j)
    return guess == row["front"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", help=f"comma separated, of {', '.join(MULTI_FAMILIES)}")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--oracle", action="store_true", help="track with the truth's depth order for products of one paint")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the scenario videos (the suite's default)")
    parser.add_argument("--fps", type=float, default=25.0, help="frames per second of the scenario videos (the suite's default)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    families = [f for f in args.families.split(",") if f]
    unknown = [f for f in families if f not in MULTI_FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; expected some of {', '.join(MULTI_FAMILIES)}")
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            videos, frames = [], []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                scenario = build_multi(family, seed, width=width, height=height, fps=args.fps)
                path = Path(tmp) / f"{family}-{seed}.mp4"
                truth = write_multi(path, scenario)
                rows: list[dict[str, Any]] = []
                with _wrapped(truth, oracle=args.oracle, rows=rows):
                    track = track_products(path, scenario, "joint")
                if args.oracle:
                    scored = score_products(track, truth)
                    video = {"family": family, "seed": seed, "jf": [p["jf"] for p in scored["products"]], "on_other_frames": scored["on_other_frames"]}
                    videos.append(video)
                    print(json.dumps(video), flush=True)
                for row in rows:
                    print(json.dumps({"family": family, "seed": seed, **row}), flush=True)
                frames += rows
            if args.oracle:
                jf = np.array([v["jf"] for v in videos])
                summary = {"jf": [round(float(x), 4) for x in jf.mean(axis=0)], "on_other_frames": sum(v["on_other_frames"] for v in videos)}
            else:
                summary = {"frames": len(frames)}
                for cue in ("look", "outline"):
                    said = [_right(r, cue) for r in frames]
                    summary[cue] = {"right": said.count(True), "wrong": said.count(False), "undecided": said.count(None)}
            print(json.dumps({"summary": {"family": family, "seeds": [args.first_seed, args.first_seed + args.seeds - 1], "oracle": args.oracle, **summary}}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
