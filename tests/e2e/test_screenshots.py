"""Screenshots of the upload, confirm, review and library pages for docs/screenshots/, taken in the
browser tests' setting (real worker, S3 and Chromium), with one product and with two. Runs only when
SCREENSHOTS_DIR is set; see scripts/screenshots.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import confirm_each_product, login, wait_for_js
from tests.e2e.scenes import write_two_products

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("SCREENSHOTS_DIR"), reason="set SCREENSHOTS_DIR to take screenshots"),
]


def test_take_screenshots(live_server, browser, alice, red_ball_video, celery_worker_process):
    out = Path(os.environ["SCREENSHOTS_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    path, _ = red_ball_video
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, live_server)

    page.goto(f"{live_server.url}/videos/new/")
    page.set_input_files("input[type=file]", str(path))
    page.fill("input[name=description]", "the red ball")
    page.check("input[name=aspect][value='1:1']")
    page.screenshot(path=out / "upload-page.png", full_page=True)
    page.click("#upload-button")
    page.wait_for_url("**/videos/*-*/", timeout=60_000)

    page.locator(".key-frame:has(.found-box)").first.wait_for(timeout=120_000)
    wait_for_js(page, "[...document.querySelectorAll('.key-frame img')].every((i) => i.complete)")
    page.screenshot(path=out / "confirm-page.png", full_page=True)
    page.locator(".key-frame:has(.found-box) button.confirm-found").first.click()
    page.wait_for_selector("#phase[data-phase=done]", timeout=300_000)
    wait_for_js(page, "[...document.querySelectorAll('#results video')].every((v) => v.readyState >= 1)")
    page.screenshot(path=out / "job-page.png", full_page=True)

    page.click("#review-link")
    wait_for_js(page, "document.querySelector('#review-video').readyState >= 2", timeout=30_000)
    page.wait_for_selector("#timeline[data-frames]")
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("Shift+ArrowRight")
    page.wait_for_selector("#overlay[data-frame='40'][data-drawn='1']", timeout=15_000)
    page.screenshot(path=out / "review-page.png", full_page=True)

    page.goto(f"{live_server.url}/videos/")
    page.wait_for_selector("td.thumb img")
    wait_for_js(page, "[...document.querySelectorAll('td.thumb img')].every((i) => i.complete)")
    page.screenshot(path=out / "library-page.png", full_page=True)
    context.close()


def test_take_screenshots_of_two_products(live_server, browser, alice, media_dir, celery_worker_process):
    out = Path(os.environ["SCREENSHOTS_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    path = media_dir / "red-box-blue-ball.mp4"
    scene = write_two_products(path, seconds=5.0)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, live_server)

    page.goto(f"{live_server.url}/videos/new/")
    page.set_input_files("input[type=file]", str(path))
    page.fill("#description-0", "the red box")
    page.click("#add-product")
    page.fill("#description-1", "the blue ball")
    page.screenshot(path=out / "upload-two-products.png", full_page=True)
    page.click("#upload-button")
    page.wait_for_url("**/videos/*-*/", timeout=60_000)

    page.wait_for_selector("#phase[data-phase=confirm]", timeout=60_000)
    page.locator(".key-frame").first.wait_for(timeout=180_000)
    wait_for_js(page, "[...document.querySelectorAll('.key-frame img')].every((i) => i.complete)")
    page.screenshot(path=out / "confirm-two-products.png", full_page=True)
    confirm_each_product(page, scene)
    page.click("#confirm-text")
    page.wait_for_selector("#phase[data-phase=done]", timeout=400_000)

    page.click("#review-link")
    wait_for_js(page, "document.querySelector('#review-video').readyState >= 2", timeout=30_000)
    page.wait_for_selector("#timeline[data-rows='2']")
    page.check("#review-products li[data-product='2'] input[type=radio]")
    page.keyboard.press("Home")
    for _ in range(6):
        page.keyboard.press("Shift+ArrowRight")
    page.wait_for_selector("#overlay[data-frame='60'][data-drawn='1'][data-visible='1,2']", timeout=15_000)
    page.uncheck("#render-form #same-looks")
    page.check("#render-form input[name=looks-2][value=outline]")
    # The camera by time range: the box to 2.4 s (the playhead), then the ball.
    page.select_option("#focus", "ranges")
    page.fill("#focus-range-list li:nth-child(1) .range-start", "0")
    page.fill("#focus-range-list li:nth-child(1) .range-end", "2.4")
    page.click("#add-focus-range")
    page.select_option("#focus-range-list li:nth-child(2) .range-product", "2")
    page.screenshot(path=out / "review-two-products.png", full_page=True)
    context.close()
