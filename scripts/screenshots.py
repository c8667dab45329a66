#!/usr/bin/env python
"""Screenshots of the product's pages for docs/, taken in headless Chromium from a running instance.

    make run                                   # in another terminal
    .venv/bin/python scripts/screenshots.py --password "$(grep DEMO_PASSWORD var/local.env | cut -d= -f2)"

Writes docs/upload-page.png, docs/library-page.png and docs/job-page.png (the newest video's page).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(f"{args.url}/accounts/login/")
        page.fill("input[name=username]", args.username)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/videos/")
        page.screenshot(path=args.out / "library-page.png")
        page.goto(f"{args.url}/videos/new/")
        page.screenshot(path=args.out / "upload-page.png")
        page.goto(f"{args.url}/videos/")
        page.click("table.videos a >> nth=0")
        page.wait_for_selector("#phase[data-phase=done], #phase[data-phase=failed]", timeout=300_000)
        page.wait_for_function("!document.querySelector('#results video') || document.querySelector('#results video').readyState >= 2")
        page.evaluate("(() => { const v = document.querySelector('#results video'); if (v) v.currentTime = 1.5; })()")
        page.wait_for_timeout(500)
        page.screenshot(path=args.out / "job-page.png", full_page=True)
        browser.close()
    print(f"Screenshots written to {args.out}")


if __name__ == "__main__":
    main()
