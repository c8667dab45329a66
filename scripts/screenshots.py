#!/usr/bin/env python
"""Screenshots of the product's pages for docs/screenshots/: upload, confirm, job, review and library,
with one product (``*-page.png``) and with two (``*-two-products.png``).

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png

It runs tests/e2e/test_screenshots.py through `make test` (the same throwaway S3 server, database,
real Celery worker and headless Chromium as the browser tests), so it needs no running instance.
Pass-through environment: S3_TEST_PORT, TEST_DATABASE_URL, TEST_CELERY_BROKER_URL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    env = {**os.environ, "SCREENSHOTS_DIR": str(args.out.resolve())}
    code = subprocess.call(["make", "test", "ARGS=tests/e2e/test_screenshots.py -q"], cwd=ROOT, env=env)
    if code == 0:
        print(f"Screenshots written to {args.out}")
    sys.exit(code)


if __name__ == "__main__":
    main()
