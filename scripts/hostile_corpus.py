"""The hostile-upload corpus: write it, or run it through the real upload path and print a table.

    .venv/bin/python scripts/hostile_corpus.py OUTDIR     # write the files (highlighter.eval.hostile)
    .venv/bin/python scripts/hostile_corpus.py --report   # run tests/hostile (scripts/test.sh), print
                                                          # each file, what happened and how long it took

``--report`` starts what ``make test`` starts (its S3 server, PostgreSQL, Redis, a worker); the
``S3_TEST_PORT``, ``TEST_DATABASE_URL`` and ``TEST_CELERY_BROKER_URL`` variables pass through.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write(out_dir: Path) -> None:
    from highlighter.eval.hostile import write_corpus

    for entry, path in write_corpus(out_dir):
        print(f"{path}\t{entry.expect}\t{entry.what}")


def report() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rows_path = Path(tmp) / "rows.json"
        env = {**os.environ, "HOSTILE_REPORT": str(rows_path)}
        code = subprocess.call([str(ROOT / "scripts" / "test.sh"), "tests/hostile", "-q"], cwd=ROOT, env=env)
        rows = json.loads(rows_path.read_text()) if rows_path.exists() else []
    print("\n| File | What it is | What happened | Seconds |\n|---|---|---|---:|")
    for row in rows:
        outcome = row["outcome"].replace("|", "/")
        print(f"| `{row['file']}` | {row['what']} | {outcome} | {row['seconds']:.1f} |")
    if rows:
        total = sum(row["seconds"] for row in rows)
        accepted = sum(row["outcome"].startswith("accepted") for row in rows)
        print(f"\n{len(rows)} files: {accepted} accepted, {len(rows) - accepted} refused, {total:.0f} s in all.")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", nargs="?", type=Path, help="where to write the corpus")
    parser.add_argument("--report", action="store_true", help="run the corpus through the upload path")
    args = parser.parse_args()
    if args.report:
        return report()
    if args.out_dir is None:
        parser.error("give OUTDIR, or --report")
    write(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
