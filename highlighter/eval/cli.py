"""``python -m highlighter eval``: the tracking evaluation on synthetic scenarios, as JSON.

    python -m highlighter eval --families occlusion,exit --seeds 5

Prints one JSON table per family (``{"family": ..., "trackers": {name: summary}}``), then an overall
line with the mean J&F over families per tracker. ``--out`` also writes everything, per-video rows
included, to a file. Wire it in with ``add_eval_parser(subparsers)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_eval_parser(subparsers) -> argparse.ArgumentParser:
    from highlighter.eval.scenarios import FAMILIES
    from highlighter.eval.suite import TRACKERS

    parser = subparsers.add_parser("eval", help="evaluate the trackers on synthetic scenarios (JSON)")
    parser.add_argument("--families", default=",".join(FAMILIES), help=f"comma separated, from: {', '.join(FAMILIES)}")
    parser.add_argument("--seeds", type=int, default=5, help="scenarios per family (seeds 0..N-1)")
    parser.add_argument("--trackers", default=",".join(TRACKERS), help="backends to compare, comma separated")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the scenario videos")
    parser.add_argument("--out", help="also write the full results (per video) to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no per-video progress lines on stderr")
    parser.set_defaults(func=run_eval)
    return parser


def run_eval(args: argparse.Namespace) -> int:
    from highlighter.eval.scenarios import FAMILIES
    from highlighter.eval.suite import overall, run_suite

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        print(f"error: unknown families {unknown}; choose from {', '.join(FAMILIES)}", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    trackers = [t.strip() for t in args.trackers.split(",") if t.strip()]
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    results = run_suite(families, args.seeds, trackers, width=width, height=height, log=log)
    for family, table in results["families"].items():
        print(json.dumps({"family": family, "trackers": table}))
    print(json.dumps({"overall_jf": overall(results["families"])}))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the eval subcommand on its own (``python -m highlighter.eval.cli``)."""
    parser = argparse.ArgumentParser(prog="python -m highlighter.eval.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    add_eval_parser(sub)
    args = parser.parse_args(["eval", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
