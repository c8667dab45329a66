"""``python -m highlighter eval``: the tracking evaluation on synthetic scenarios, as JSON.

    python -m highlighter eval --families occlusion,exit --seeds 5
    python -m highlighter eval --families multi --seeds 5 --table

Prints one JSON table per family (``{"family": ..., "trackers": {name: summary}}``), then an overall
line with the mean J&F over families per tracker. The multi-product families (``multi`` names them
all; ``highlighter.eval.multi``) are tracked by ``--modes``: ``joint`` (every product in one run) and
``independent`` (the one-product tracker once per product); their summaries hold each product's
scores and the errors between products. ``--table`` prints Markdown tables instead (one line per
product). ``--out`` also writes everything, per-video rows included, to a file. The overall line
(under the tables with ``--table``) and ``--out`` carry ``numerics`` (``highlighter.eval.numerics``):
figures compare seed for seed only between runs with the same fingerprint. Wire it in with
``add_eval_parser(subparsers)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_eval_parser(subparsers) -> argparse.ArgumentParser:
    from highlighter.eval.multi import MULTI_FAMILIES
    from highlighter.eval.scenarios import FAMILIES
    from highlighter.eval.suite import MODES, TRACKERS

    parser = subparsers.add_parser("eval", help="evaluate the trackers on synthetic scenarios (JSON)")
    parser.add_argument(
        "--families", default=",".join(FAMILIES),
        help=f"comma separated, from: {', '.join(FAMILIES)}; several products: {', '.join(MULTI_FAMILIES)} "
        "('multi' for all of those, 'all' for every family)",
    )  # fmt: skip
    parser.add_argument("--seeds", type=int, default=5, help="scenarios per family (seeds FIRST..FIRST+N-1)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="FIRST: e.g. 5 checks on seeds not used to tune (default 0)"
    )
    parser.add_argument("--trackers", default=",".join(TRACKERS), help="backends to compare, comma separated")
    parser.add_argument("--modes", default=",".join(MODES), help="how the multi-product families are tracked")
    parser.add_argument("--backend", default="auto", help="the backend of the multi-product families")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the scenario videos")
    parser.add_argument("--out", help="also write the full results (per video) to this JSON file")
    parser.add_argument("--table", action="store_true", help="print Markdown tables instead of JSON lines")
    parser.add_argument("--quiet", action="store_true", help="no per-video progress lines on stderr")
    parser.set_defaults(func=run_eval)
    return parser


def _families(spec: str) -> list[str]:
    from highlighter.eval.multi import MULTI_FAMILIES
    from highlighter.eval.scenarios import FAMILIES

    out: list[str] = []
    for name in (f.strip() for f in spec.split(",") if f.strip()):
        out += {"multi": list(MULTI_FAMILIES), "all": [*FAMILIES, *MULTI_FAMILIES]}.get(name, [name])
    return list(dict.fromkeys(out))


def run_eval(args: argparse.Namespace) -> int:
    from highlighter.eval.multi import MULTI_FAMILIES
    from highlighter.eval.numerics import numerics, numerics_line
    from highlighter.eval.scenarios import FAMILIES
    from highlighter.eval.suite import MODES, multi_table, overall, run_multi_suite, run_suite

    families = _families(args.families)
    unknown = [f for f in families if f not in FAMILIES and f not in MULTI_FAMILIES]
    if unknown:
        print(f"error: unknown families {unknown}; choose from {', '.join([*FAMILIES, *MULTI_FAMILIES])}, "
              "multi or all", file=sys.stderr)  # fmt: skip
        return 2
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        print(f"error: --modes takes some of {', '.join(MODES)}", file=sys.stderr)
        return 2
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"error: --size must be WIDTHxHEIGHT, like 640x360, not {args.size!r}", file=sys.stderr)
        return 2
    trackers = [t.strip() for t in args.trackers.split(",") if t.strip()]
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    single = [f for f in families if f in FAMILIES]
    multi = [f for f in families if f in MULTI_FAMILIES]
    results = {"families": {}, "videos": []}
    if single:
        results = run_suite(single, args.seeds, trackers, width=width, height=height, first_seed=args.first_seed, log=log)
    multi_results = {"families": {}, "videos": []}
    if multi:
        multi_results = run_multi_suite(
            multi, args.seeds, modes, backend=args.backend, width=width, height=height, first_seed=args.first_seed, log=log
        )
    if args.table:
        if single:
            print(_single_table(results["families"]) + "\n")
        if multi:
            print(multi_table(multi_results["families"]))
        print("\n" + numerics_line())
    else:
        for family, table in results["families"].items():
            print(json.dumps({"family": family, "trackers": table}))
        for family, table in multi_results["families"].items():
            print(json.dumps({"family": family, "products": len(next(iter(table.values()))["products"]), "trackers": table}))
        print(json.dumps({
            "overall_jf": overall(results["families"]), "overall_multi_jf": overall(multi_results["families"]), "numerics": numerics(),
        }))  # fmt: skip
    if args.out:
        everything = {
            "families": {**results["families"], **multi_results["families"]},
            "videos": [*results["videos"], *multi_results["videos"]],
            "numerics": numerics(),
        }
        Path(args.out).write_text(json.dumps(everything, indent=1))
    return 0


def _single_table(families: dict) -> str:
    names = list(dict.fromkeys(n for f in families.values() for n in f))
    lines = ["| family | " + " | ".join(f"{n} J&F" for n in names) + " | " + " | ".join(f"{n} id switches" for n in names)
             + " | " + " | ".join(f"{n} score rho" for n in names) + " | " + " | ".join(f"{n} confidently wrong" for n in names)
             + " | " + " | ".join(f"{n} hidden in view" for n in names) + " |",
             "|---" * (1 + 5 * len(names)) + "|"]  # fmt: skip
    for family, table in families.items():
        jf = " | ".join(f"{table[n]['jf']:.3f}" if n in table else "" for n in names)
        ids = " | ".join(str(table[n]["id_switches"]) if n in table else "" for n in names)
        rho = " | ".join(f"{table[n]['score_rho']:.2f}" if n in table and table[n].get("score_rho") is not None else "–" for n in names)
        # Frames, and their share of the family's frames: issue 10's bar is 2% on real footage.
        honest = [" | ".join(f"{table[n][k]} ({table[n][k] / max(1, table[n]['frames']):.1%})" if n in table else "" for n in names)
                  for k in ("confidently_wrong", "hidden_in_view")]  # fmt: skip
        lines.append(f"| {family} | {jf} | {ids} | {rho} | {honest[0]} | {honest[1]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the eval subcommand on its own (``python -m highlighter.eval.cli``)."""
    parser = argparse.ArgumentParser(prog="python -m highlighter.eval.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    add_eval_parser(sub)
    args = parser.parse_args(["eval", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
