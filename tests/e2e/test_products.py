"""Two products in a real browser (Chromium through Playwright, the real worker, S3 and PostgreSQL):
upload with two descriptions, confirm both, correct one on the review page (the other's track does
not change), rename it, render both highlighted with the camera switching between them (on its own,
then by the time ranges chosen on the page), download, and check the files with ffprobe and their frames."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from highlighter.trackfile import Track
from tests.conftest import wait_for
from tests.e2e.conftest import confirm_each_product, login, wait_for_js
from tests.e2e.scenes import HEIGHT, WIDTH, centre, write_two_products
from webapp.videos import services, storage
from webapp.videos.models import JobStatus, Product, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = 5.0


@pytest.fixture(scope="session")
def two_products_video(media_dir):
    path = media_dir / "red-box-blue-ball.mp4"
    return path, write_two_products(path, seconds=SECONDS)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def _version(video: Video, version: int) -> TrackJob:
    def ready():
        job = TrackJob.objects.filter(video=video, version=version).first()
        if job and job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            pytest.fail(f"version {version}: {job.status} {job.error}")
        video.refresh_from_db()
        return job if job and job.status == JobStatus.DONE and video.current_track_id == job.pk else None

    return wait_for(ready, timeout=300, what=f"track version {version}")


def _track(job: TrackJob) -> Track:
    return Track.from_json(storage.get_bytes(job.track_key))


def _click_on_frame(page, selector: str, x: float, y: float) -> None:
    """Click the element at video pixel ``(x, y)`` (the element shows the whole frame)."""
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + x * box["width"] / WIDTH, box["y"] + y * box["height"] / HEIGHT)


def _download(page, render: RenderJob, folder: Path) -> Path:
    """The render's file, downloaded through its link on the page once it is ready, under the name
    the browser suggests."""
    link = page.locator(f"[data-render='{render.id}'] a.download")
    link.wait_for(timeout=300_000)
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    saved = folder / download.suggested_filename
    download.save_as(saved)
    return saved


def _colour_fractions(path: Path, seconds: float) -> tuple[float, float]:
    """The fractions of the output frame at ``seconds`` that are the red box's and the blue ball's paint."""
    png = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds:.2f}", "-i", str(path), "-frames:v", "1", "-f", "image2pipe",
         "-vcodec", "png", "-"], capture_output=True, check=True,
    ).stdout  # fmt: skip
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).astype(int)
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    red = (r > 140) & (g < 80) & (b < 80)  # the box's paint (205, 30, 35), shaded
    blue = (b > 140) & (r < 80) & (g < 110)  # the ball's (35, 70, 200)
    return float(red.mean()), float(blue.mean())


def test_two_products_uploaded_confirmed_corrected_one_at_a_time_and_rendered_with_focus(
    live_server, page, alice, two_products_video, celery_worker_process, tmp_path
):
    path, scene = two_products_video
    login(page, live_server)

    # Upload with two descriptions: the second in a box added by "Add another product".
    page.goto(f"{live_server.url}/videos/new/")
    page.set_input_files("input[type=file]", str(path))
    page.fill("#description-0", "the red box")
    page.click("#add-product")
    page.fill("#description-1", "the blue ball")
    page.uncheck("input[name=aspect][value='9:16']")
    page.check("input[name=aspect][value='source']")  # the upload's own render: cheap, at the source size
    page.click("#upload-button")
    page.wait_for_url("**/videos/*-*/", timeout=60_000)
    video = Video.objects.get(owner=alice)
    assert [p.name for p in video.products.all()] == ["the red box", "the blue ball"]

    # Confirm both on the key frames: a found box where the description found it, else a click.
    page.wait_for_selector("#phase[data-phase=confirm]", timeout=60_000)
    confirm_each_product(page, scene)
    page.click("#confirm-text")  # "Start tracking the 2 products"
    first = _version(video, 1)
    assert [len(p["prompt"]["boxes"]) + len(p["prompt"]["points"]) for p in first.product_prompts()] == [1, 1]
    v1 = _track(first)
    assert v1.ids == ["1", "2"] and not v1.overlaps()
    for k, product in enumerate(v1.ids):
        ious = [_iou(v1.mask(i, product), scene.object_mask(scene.objects[k], i)) for i in range(0, scene.frame_count, 5)]
        assert float(np.mean(ious)) > 0.6, f"product {product} was not followed: {np.mean(ious):.2f}"

    # A version that lost the ball from frame 60 on, as a tracker might; the marketer fixes it with a click.
    services.track_hide(video=video, start=60, end=scene.frame_count - 1, product="2")
    lost = _track(_version(video, 2))
    page.goto(f"{live_server.url}/videos/{video.id}/review/")
    wait_for_js(page, "document.querySelector('#review-video').readyState >= 2", timeout=30_000)
    page.wait_for_selector("#timeline[data-rows='2']")
    page.wait_for_selector("#versions li[data-version='2'].current")
    # Both products drawn, each in its own colour; a row each on the timeline.
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    page.wait_for_selector("#overlay[data-frame='10'][data-drawn='1'][data-visible='1,2']", timeout=15_000)
    colours = page.evaluate("[...document.querySelectorAll('#review-products .swatch')].map((s) => getComputedStyle(s).backgroundColor)")
    assert len(set(colours)) == 2
    # Choose the ball, then click it on frame 70, where version 2 lost it.
    page.check("#review-products li[data-product='2'] input[type=radio]")
    page.wait_for_selector("#timeline[data-chosen='2']")
    for _ in range(6):
        page.keyboard.press("Shift+ArrowRight")
    page.wait_for_selector("#overlay[data-frame='70'][data-drawn='1'][data-visible='1']", timeout=15_000)
    wait_for_js(page, "!document.querySelector('#review-video').seeking")
    page.check("input[name=tool][value=positive]")
    _click_on_frame(page, "#overlay", *centre(scene, 1, 70))
    corrected = _version(video, 3)
    assert corrected.correction["product"] == "2" and corrected.correction["frame"] == 70
    v3 = _track(corrected)
    # The other product's track did not change, frame for frame.
    assert [f.to_dict() for f in v3.object("1").frames] == [f.to_dict() for f in lost.object("1").frames]
    assert [f.to_dict() for f in v3.object("1").frames] == [f.to_dict() for f in v1.object("1").frames]
    # The corrected one is back on the ball from frame 70, and unchanged before the stretch it replaced.
    assert [f.to_dict() for f in v3.object("2").frames[:60]] == [f.to_dict() for f in lost.object("2").frames[:60]]
    ious = [_iou(v3.mask(i, "2"), scene.object_mask(scene.objects[1], i)) for i in range(70, scene.frame_count)]
    assert float(np.mean(ious)) > 0.6
    page.wait_for_selector("#versions li[data-version='3'].current", timeout=15_000)

    # Rename the ball on the review page: the download's name says the new name.
    name = page.locator("#review-products li[data-product='2'] .product-name")
    name.fill("Blue ball")
    name.press("Enter")
    wait_for(lambda: Product.objects.get(video=video, slug="2").name == "Blue ball", timeout=10, what="the rename")

    # Remove the box, then undo: a version of the ball alone, then both again.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#review-products li[data-product='1'] .remove-product")
    _version(video, 4)
    page.wait_for_selector("#timeline[data-rows='1']", timeout=15_000)
    assert page.locator("#review-products li[data-product='1']").count() == 0
    page.click("#undo")
    page.wait_for_selector("#versions li[data-version='3'].current", timeout=15_000)
    page.wait_for_selector("#timeline[data-rows='2']", timeout=15_000)
    page.wait_for_selector("#review-products li[data-product='1']")

    # Render 9:16 with both highlighted (spotlight and an outline each in its colour), focus auto.
    for box in page.locator("#render-form input[name=aspect]").all():
        box.uncheck()
    page.check("#render-form input[name=aspect][value='9:16']")
    page.check("#render-form input[name=style][value=outline]")
    assert page.locator("#product-looks").is_visible() and page.input_value("#focus") == "auto"
    page.click("#render")
    render = wait_for(lambda: RenderJob.objects.filter(track_job=corrected).first(), timeout=30, what="the render job")
    assert render.style == "spotlight,outline" and render.focus == "auto" and render.looks == {}
    saved = _download(page, render, tmp_path)
    assert saved.name == "red-box-blue-ball-the-red-box+blue-ball-spotlight+outline-9x16-v3.mp4"

    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", str(saved)],
        capture_output=True, text=True, check=True,
    ).stdout)  # fmt: skip
    video_stream = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert video_stream["codec_name"] == "h264" and (video_stream["width"], video_stream["height"]) == (1080, 1920)
    assert int(video_stream["nb_read_frames"]) == scene.frame_count
    assert any(s["codec_type"] == "audio" for s in probe["streams"])  # the source's sound is kept
    assert abs(float(probe["format"]["duration"]) - SECONDS) <= 0.1
    # The camera switched focus: the box fills the window early on, the ball at the end.
    red, blue = _colour_fractions(saved, 0.4)
    assert red > 0.08 and blue < 0.005, (red, blue)
    red, blue = _colour_fractions(saved, SECONDS - 0.4)
    assert blue > 0.08 and red < 0.005, (red, blue)

    # Render again with the camera chosen by time range, the other way round: the ball to 1.5 s,
    # then the box. A range added after another starts where it ends and runs to its shot's end.
    page.select_option("#focus", "ranges")
    first_range = "#focus-range-list li:nth-child(1)"
    page.wait_for_selector(first_range)
    page.click(f"{first_range} .whole-shot")  # the video is one shot
    assert page.input_value(f"{first_range} .range-start") == "0"
    assert page.input_value(f"{first_range} .range-end") == f"{SECONDS:g}"
    page.fill(f"{first_range} .range-start", "0")
    page.fill(f"{first_range} .range-end", "1.5")
    page.select_option(f"{first_range} .range-product", "2")
    page.click("#add-focus-range")
    second_range = "#focus-range-list li:nth-child(2)"
    assert page.input_value(f"{second_range} .range-start") == "1.5"
    assert page.input_value(f"{second_range} .range-end") == f"{SECONDS:g}"
    page.select_option(f"{second_range} .range-product", "1")
    page.click("#render")
    timed = wait_for(lambda: RenderJob.objects.filter(track_job=corrected).exclude(pk=render.pk).first(), timeout=30,
                     what="the render job by time range")  # fmt: skip
    assert timed.focus == "auto" and timed.focus_ranges == [[0.0, 1.5, "2"], [1.5, SECONDS, "1"]]
    saved = _download(page, timed, tmp_path)
    assert saved.name == "red-box-blue-ball-the-red-box+blue-ball-spotlight+outline-focus-by-time-9x16-v3.mp4"
    red, blue = _colour_fractions(saved, 1.2)  # the ball, small still, and no box
    assert blue > 0.02 and red < 0.005, (red, blue)
    red, blue = _colour_fractions(saved, SECONDS - 0.4)  # the box, shrunk, and no ball
    assert red > 0.02 and blue < 0.005, (red, blue)
