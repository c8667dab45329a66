"""A marketer in a real browser (Chromium through Playwright): log in, upload, confirm the product
found on a key frame, watch the progress, play the result and download it."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import login, wait_for_js

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_marketer_uploads_confirms_watches_plays_and_downloads(
    live_server, page, alice, red_ball_video, celery_worker_process, tmp_path
):
    path, _ = red_ball_video
    page.goto(f"{live_server.url}/videos/")
    assert "/accounts/login/" in page.url
    login(page, live_server)

    page.click("text=New video")
    page.set_input_files("input[type=file]", str(path))
    page.fill("input[name=description]", "the red ball")
    page.click("#upload-button")
    page.wait_for_url("**/videos/*-*/", timeout=60_000)

    # Before tracking, the product the description found is shown on key frames; the marketer confirms one.
    page.wait_for_selector("#phase[data-phase=confirm]", timeout=60_000)
    found = page.locator(".key-frame:has(.found-box)").first
    found.wait_for(timeout=120_000)
    frame = int(found.get_attribute("data-frame"))
    found.locator("button.confirm-found").click()
    page.wait_for_selector("#phase[data-phase=tracking], #phase[data-phase=rendering], #phase[data-phase=done]")
    from webapp.videos.models import Video

    track = Video.objects.get(owner=alice).current_track
    assert track.prompt["boxes"] and track.prompt["boxes"][0][4] == frame

    # The progress bar moves without a reload, and the page says when the video is ready.
    page.wait_for_selector("#phase[data-phase=done]", timeout=300_000)
    assert page.inner_text("#progress .label") == "100%"

    video = page.locator("#results video")
    video.wait_for()
    wait_for_js(page, "document.querySelector('#results video').readyState >= 2", timeout=30_000)
    page.evaluate("document.querySelector('#results video').play()")
    wait_for_js(page, "document.querySelector('#results video').currentTime > 0.3", timeout=30_000)
    size = page.evaluate("[document.querySelector('#results video').videoWidth, document.querySelector('#results video').videoHeight]")
    assert size == [1080, 1920]

    with page.expect_download() as download_info:
        page.click("a.download")
    download = download_info.value
    assert download.suggested_filename == "red-ball-spotlight-9x16.mp4"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    codec = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0", str(saved)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert codec == "h264"


def test_a_non_video_upload_shows_the_reason_on_the_page(live_server, page, alice, media_dir):
    notes = media_dir / "notes.mp4"
    notes.write_text("not a video\n" * 100)
    login(page, live_server)
    page.goto(f"{live_server.url}/videos/new/")
    page.set_input_files("input[type=file]", str(notes))
    page.fill("input[name=description]", "the red ball")
    page.click("#upload-button")
    error = page.locator('.error[data-field="file"]')
    error.wait_for(state="visible")
    assert "not a video we can read" in error.inner_text()
