"""A box's or a click's mask on real footage, over many prompts: our cuts against plain GrabCut and the box itself.

    .venv/bin/python bench/box_masks.py /work/shared/data/real-footage [--every 5] [--clips blackswan,dog]
        [--side 320] [--iterations 5] [--table]

The tracker's start is one box a clip, so the real-footage bench judges the box's cut on ten draws.
This judges it alone, on many: for every ``--every``-th frame of each clip folder (the layout of
``highlighter.eval.footage``) whose truth mask is not empty, the truth mask's tight box is cut by

- ``ours``: ``segment.mask_from_box`` with the ImageNet features, as a box prompt is cut (on the
  frame at the video's own size);
- ``grabcut``: the same without the features (GrabCut from the whole box, then the stray colours
  left out), as each box of a click is cut;
- ``box``: the box filled, the baseline a cut must beat;
- ``click``: ``segment.mask_from_click`` at the truth's deepest point (``footage.deepest_point``,
  where interactive segmentation's benchmarks put the first click), as a click prompt is cut.

Per clip and method: ``boxes`` (prompts), mean ``j`` (mask IoU), ``f`` (DAVIS boundary F), ``jf`` and ``ms``
per box (the cut's own time, decoding excluded; None for ``box``). ``--side`` and ``--iterations``
give ``ours`` and ``grabcut`` another working size for GrabCut's crop (``segment.CUT_SIDE``) or
another number of its iterations. Summaries are means over clips, for all clips and for the "tune"
and "check" subsets of ``highlighter.eval.footage.split``. Prints JSON on stdout; ``--table`` also
prints a markdown table on stderr.

A better cut here need not track better: the tracker's J depends on one box a clip, and on what
propagation makes of its mask (docs/tracking.md, "A box's cut at a larger size").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from highlighter.eval.footage import FootageClip, deepest_point, select_clips  # noqa: E402
from highlighter.eval.metrics import boundary_f, mask_iou  # noqa: E402
from highlighter.media import iter_frames  # noqa: E402
from highlighter.track.features import ImageNetFeatures  # noqa: E402
from highlighter.track.segment import CUT_SIDE, mask_from_box, mask_from_click  # noqa: E402
from highlighter.trackfile import mask_box  # noqa: E402

METHODS = ("ours", "grabcut", "box", "click")


def box_filled(shape: tuple[int, int], box: list[float]) -> np.ndarray:
    """The ``[x, y, w, h]`` box (whole pixels, as the truth's tight box is) filled, as a bool mask."""
    x, y, w, h = (int(round(v)) for v in box)
    out = np.zeros(shape, bool)
    out[y : y + h, x : x + w] = True
    return out


def score_clip(
    clip: FootageClip, *, every: int, side: int = CUT_SIDE, iterations: int = 5, features: ImageNetFeatures | None = None
) -> dict[str, dict[str, Any]]:
    """``{method: {"boxes", "j", "f", "jf", "ms"}}`` over every ``every``-th frame of ``clip`` whose
    truth is not empty, in one streaming pass over its frames."""
    features = features or ImageNetFeatures()
    js: dict[str, list[float]] = {m: [] for m in METHODS}
    fs: dict[str, list[float]] = {m: [] for m in METHODS}
    seconds = dict.fromkeys(METHODS, 0.0)
    with closing(iter_frames(clip.video)) as frames:
        for i, frame in enumerate(frames):
            if i >= clip.frame_count:
                break
            if i % every:
                continue
            truth = clip.mask(i)
            box = mask_box(truth)
            if box is None:
                continue
            for method in METHODS:
                began = time.monotonic()
                if method == "box":
                    mask = box_filled(truth.shape, box)
                elif method == "click":
                    x, y = deepest_point(truth)
                    mask = mask_from_click(frame, x, y, features=features)
                    seconds[method] += time.monotonic() - began
                else:
                    seen = features if method == "ours" else None
                    mask = mask_from_box(frame, box, features=seen, side=side, iterations=iterations)
                    seconds[method] += time.monotonic() - began
                js[method].append(mask_iou(mask, truth))
                fs[method].append(boundary_f(mask, truth))
    out = {}
    for method in METHODS:
        n = len(js[method])
        j, f = (float(np.mean(v)) if n else 0.0 for v in (js[method], fs[method]))
        out[method] = {"boxes": n, "j": round(j, 4), "f": round(f, 4), "jf": round((j + f) / 2, 4),
                       "ms": round(1000 * seconds[method] / n, 1) if n and method != "box" else None}  # fmt: skip
    return out


def summarise(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per method: means over the clips of J, F, J&F and ms per prompt, and the prompts in all."""
    rows = list(rows)
    out: dict[str, Any] = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method and r["boxes"]]
        if not mine:
            continue
        ms = [r["ms"] for r in mine if r["ms"] is not None]
        out[method] = {
            "clips": len(mine),
            "boxes": sum(r["boxes"] for r in mine),
            **{k: round(float(np.mean([r[k] for r in mine])), 4) for k in ("j", "f", "jf")},
            "ms": round(float(np.mean(ms)), 1) if ms else None,
        }
    return out


def markdown_table(rows: list[dict[str, Any]], summaries: dict[str, dict[str, Any]]) -> str:
    lines = ["| clip | split | boxes | J | F | ms a box | J GrabCut | ms GrabCut | J box | J click | ms click |", "|---" * 11 + "|"]

    def line(label: str, subset: str, by: dict[str, dict[str, Any]]) -> str:
        ours, grab, box, click = (by.get(m, {}) for m in METHODS)
        cells = [str(ours.get("boxes", 0))] + [_cell(ours.get(k)) for k in ("j", "f")] + [_cell(ours.get("ms"), 0)]
        cells += [_cell(grab.get("j")), _cell(grab.get("ms"), 0), _cell(box.get("j")), _cell(click.get("j")), _cell(click.get("ms"), 0)]
        return f"| {label} | {subset} | " + " | ".join(cells) + " |"

    by_clip: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_clip.setdefault(r["clip"], {})[r["method"]] = r
    for clip, by in by_clip.items():
        lines.append(line(clip, by["ours"]["split"], by))
    for subset, summary in summaries.items():
        if summary:
            lines.append(line(f"**mean of {summary['ours']['clips']}**", subset, summary))
    return "\n".join(lines)


def _cell(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/box_masks.py", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder of clip folders (NAME/video.mp4 + NAME/masks/00000.png...)")
    parser.add_argument("--clips", help="comma separated clip names (default: every clip in the folder)")
    parser.add_argument("--every", type=int, default=5, help="cut the truth's box on every N-th frame (default 5)")
    parser.add_argument("--side", type=int, default=CUT_SIDE, help=f"GrabCut's working long side in px (default {CUT_SIDE})")
    parser.add_argument("--iterations", type=int, default=5, help="GrabCut's iterations (default 5)")
    parser.add_argument("--table", action="store_true", help="also print a markdown table on stderr")
    args = parser.parse_args(argv)
    if args.every < 1 or args.side < 16 or args.iterations < 1:
        parser.error("--every and --iterations must be at least 1, --side at least 16")

    try:
        clips, subsets = select_clips(args.folder, args.clips)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    features = ImageNetFeatures()
    rows: list[dict[str, Any]] = []
    for clip in clips:
        scores = score_clip(clip, every=args.every, side=args.side, iterations=args.iterations, features=features)
        rows += [{"clip": clip.name, "split": subsets[clip.name], "method": m, **scores[m]} for m in METHODS]
        figures = " | ".join(f"{m} J {scores[m]['j']:.3f}" for m in METHODS)
        print(f"{clip.name} ({subsets[clip.name]}, {scores['ours']['boxes']} boxes): {figures}", file=sys.stderr, flush=True)
    summaries = {
        "all": summarise(rows),
        "tune": summarise(r for r in rows if r["split"] == "tune"),
        "check": summarise(r for r in rows if r["split"] == "check"),
    }
    print(json.dumps({"folder": str(args.folder), "every": args.every, "side": args.side, "iterations": args.iterations,
                      "split": subsets, "rows": rows, "summary": summaries}, indent=1))  # fmt: skip
    if args.table:
        print(markdown_table(rows, summaries), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
