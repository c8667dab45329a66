"""One synthetic scenario tracked as the evaluation tracks it, frame by frame: where a track goes wrong.

    .venv/bin/python bench/scenario_frames.py clutterbox 4 [--tracker memory] [--size 640x360] [--below 0.5]
    .venv/bin/python bench/scenario_frames.py trio 1 [--mode joint]

The suite (``python -m highlighter eval``) gives a video's means and counts; this gives what they
are made of, for one family and seed: one JSON line per frame (per product and frame for the
several-product families, with ``"product"``), from ``highlighter.eval.suite.frame_rows``: J, F,
visible, score, the track's area against the truth's, its pixels on the target and on the other
object it covers most (``other``: that object's index among the scenario's other objects), and
``identity_switch``. Then one summary line, ``{"summary": ...}``: the suite's own row for the video
(``score_track``, or ``score_products`` with each product's ``on_other_at`` runs). ``--below J``
prints only the frames under that J and the identity-switch frames (the summary always).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from highlighter.eval.multi import MULTI_FAMILIES, build_multi, write_multi  # noqa: E402
from highlighter.eval.scenarios import FAMILIES, build, write_scenario  # noqa: E402
from highlighter.eval.suite import MODES, frame_rows, score_products, score_track, track_products  # noqa: E402
from highlighter.track import track_video  # noqa: E402
from highlighter.track.prompt import Prompt  # noqa: E402


def frames_of(
    family: str, seed: int, *, tracker: str, mode: str, width: int, height: int, tmp: Path
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(per-frame rows, the suite's row for the video)`` of ``family`` seed ``seed``."""
    path = tmp / f"{family}-{seed}.mp4"
    if family in MULTI_FAMILIES:
        scenario = build_multi(family, seed, width=width, height=height)
        truth = write_multi(path, scenario)
        track = track_products(path, scenario, mode, backend=tracker)
        rows = [
            {"product": spec.id, **row}
            for k, spec in enumerate(truth.products)
            for row in frame_rows(track.single(spec.id), truth.product(k))
        ]
        return rows, score_products(track, truth)
    single = build(family, seed, width=width, height=height)
    truth = write_scenario(path, single)
    track = track_video(path, Prompt.from_dict(single.prompt), backend=tracker)
    return frame_rows(track, truth), score_track(track, truth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", help=f"one of {', '.join(FAMILIES + MULTI_FAMILIES)}")
    parser.add_argument("seed", type=int)
    parser.add_argument("--tracker", default=None,
                        help="the backend (default: memory for one product, auto for several)")  # fmt: skip
    parser.add_argument("--mode", default="joint", choices=MODES, help="how several products are tracked")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the scenario video (the suite's default)")
    parser.add_argument("--below", type=float, default=None, help="print only frames under this J, and identity switches")
    args = parser.parse_args(argv)
    if args.family not in FAMILIES + MULTI_FAMILIES:
        parser.error(f"unknown family {args.family!r}; expected one of {', '.join(FAMILIES + MULTI_FAMILIES)}")
    width, height = (int(v) for v in args.size.lower().split("x"))
    tracker = args.tracker or ("auto" if args.family in MULTI_FAMILIES else "memory")
    with tempfile.TemporaryDirectory(prefix="highlighter-frames-") as tmp:
        rows, summary = frames_of(
            args.family, args.seed, tracker=tracker, mode=args.mode, width=width, height=height, tmp=Path(tmp)
        )  # fmt: skip
    for row in rows:
        if args.below is None or row["j"] < args.below or row["identity_switch"]:
            print(json.dumps(row))
    print(json.dumps({"summary": {"family": args.family, "seed": args.seed, "tracker": tracker, **summary}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
