"""Every page works under the Content-Security-Policy, and the browser reports no violation: login,
upload, confirm, job, review and library, with a real worker, S3 and Chromium."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, wait_for_js

pytestmark = pytest.mark.django_db(transaction=True)

# Each page records what the browser refuses, besides the console line Chromium writes for it.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));
"""


def test_every_page_works_without_a_policy_violation(live_server, page, alice, red_ball_video, celery_worker_process):
    path, _ = red_ball_video
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.context.add_init_script(RECORD_VIOLATIONS)
    visited = []

    def assert_clean(name: str) -> None:
        visited.append(name)
        violations = page.evaluate("window.__cspViolations")
        assert violations == [] and console == [], f"on the {name} page: {violations} {console}"

    page.goto(f"{live_server.url}/accounts/login/")
    assert_clean("login")
    login(page, live_server)

    page.goto(f"{live_server.url}/videos/new/")
    page.set_input_files("input[type=file]", str(path))
    page.fill("input[name=description]", "the red ball")
    assert_clean("upload")
    page.click("#upload-button")
    page.wait_for_url("**/videos/*-*/", timeout=60_000)

    # Confirm: key frames are presigned S3 images (img-src), the found box is placed by script.
    page.locator(".key-frame:has(.found-box)").first.wait_for(timeout=120_000)
    wait_for_js(page, "[...document.querySelectorAll('.key-frame img')].every((i) => i.complete && i.naturalWidth)")
    assert_clean("confirm")
    page.locator(".key-frame:has(.found-box) button.confirm-found").first.click()

    # Job: outputs play from presigned S3 URLs (media-src).
    page.wait_for_selector("#phase[data-phase=done]", timeout=300_000)
    wait_for_js(page, "[...document.querySelectorAll('#results video')].every((v) => v.readyState >= 1)")
    assert page.locator("#progress .bar").evaluate("(bar) => bar.style.width").endswith("%")  # set by script
    assert_clean("job")

    page.click("#review-link")
    wait_for_js(page, "document.querySelector('#review-video').readyState >= 2", timeout=30_000)
    page.wait_for_selector("#timeline[data-frames]")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#overlay[data-frame='1']:is([data-drawn='1'], [data-drawn='hidden'])", timeout=15_000)
    assert_clean("review")

    # Library: thumbnails from S3; delete still asks first (its question moved from onsubmit to script).
    page.goto(f"{live_server.url}/videos/")
    wait_for_js(page, "[...document.querySelectorAll('td.thumb img')].every((i) => i.complete && i.naturalWidth)")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.locator("form.delete-video button").first.click()
    assert questions and questions[0].startswith("Delete red-ball.mp4")
    assert page.locator("form.delete-video").count() == 1
    assert_clean("library")
    assert visited == ["login", "upload", "confirm", "job", "review", "library"]
