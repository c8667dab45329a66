"""``python -m highlighter models fetch|check``: install the model weights once, see what is there.

    python -m highlighter models fetch                      # the configured SAM 2, detector, embedder
    python -m highlighter models fetch --sam2 sam2.1-hiera-large
    python -m highlighter models check                      # exit 0 when all three are installed
    python -m highlighter models check --load               # ... and load them on the worker's device

The folder is ``HIGHLIGHTER_MODELS_DIR`` (or ``--dir``); the names default to the
``HIGHLIGHTER_*_MODEL`` variables. Wired into ``highlighter.cli`` with ``add_models_parser``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from highlighter.models.catalog import CATALOG
from highlighter.models.settings import ModelSettings
from highlighter.models.store import fetch, inspect


def add_models_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``models`` (with ``fetch`` and ``check``) to the ``python -m highlighter`` parser."""
    models = subparsers.add_parser("models", help="fetch the tracking models once, or check what is installed")
    sub = models.add_subparsers(dest="models_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dir", type=Path, help="the models folder (default: HIGHLIGHTER_MODELS_DIR)")
        for role in ("sam2", "detector", "embedder"):
            names = sorted(s.name for s in CATALOG.values() if s.role == role)
            p.add_argument(f"--{role}", metavar="NAME", help=f"one of {', '.join(names)}")

    f = sub.add_parser("fetch", help="download the chosen models into the models folder (needs internet)")
    common(f)
    f.add_argument("--only", choices=("sam2", "detector", "embedder"), action="append", help="fetch only this part")
    f.add_argument("--force", action="store_true", help="download again even when installed")
    f.set_defaults(func=_fetch)

    c = sub.add_parser("check", help="say which models are installed; exit 1 when one is missing")
    common(c)
    c.add_argument("--load", action="store_true", help="also load each model on the configured device")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.set_defaults(func=_check)
    return models


def _settings(args: argparse.Namespace) -> ModelSettings:
    settings = ModelSettings.from_env()
    changes = {role: getattr(args, role) for role in ("sam2", "detector", "embedder") if getattr(args, role)}
    if args.dir:
        changes["models_dir"] = args.dir
    return settings.with_(**changes)


def _fetch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    roles = tuple(args.only or ("sam2", "detector", "embedder"))
    try:
        written = fetch(settings, roles=roles, force=args.force)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for folder in written:
        print(f"fetched {folder}")
    return _check(argparse.Namespace(**{**vars(args), "load": False, "json": False}))


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rows = inspect(settings)
    loaded: dict[str, str] = {}
    if args.load and all(r.present for r in rows):
        loaded = _load_all(settings)
    if args.json:
        print(json.dumps({
            "models_dir": str(settings.models_dir),
            "models": [
                {"role": r.role, "name": r.name, "present": r.present, "bytes": r.size_bytes, "source": r.source,
                 **({"loaded": loaded[r.role]} if r.role in loaded else {})}
                for r in rows
            ],
        }, indent=2))  # fmt: skip
    else:
        print(f"models folder: {settings.models_dir}")
        for r in rows:
            state = f"installed, {r.size_bytes / 1e6:.1f} MB, from {r.source}" if r.present else "MISSING"
            extra = f"; loaded on {loaded[r.role]}" if r.role in loaded else ""
            print(f"  {r.role:<9} {r.name:<24} {state}{extra}")
        if not all(r.present for r in rows):
            print("Run 'python -m highlighter models fetch' on a machine with internet to install the missing ones.")
    return 0 if all(r.present for r in rows) else 1


def _load_all(settings: ModelSettings) -> dict[str, str]:
    from highlighter.models.loading import Runtime, load_detector, load_embedder, load_sam2

    runtime = Runtime.from_settings(settings)
    load_sam2(settings, runtime)
    load_detector(settings, runtime)
    load_embedder(settings, runtime)
    where = f"{runtime.device} ({str(runtime.autocast or 'float32').replace('torch.', '')})"
    return {"sam2": where, "detector": where, "embedder": where}
