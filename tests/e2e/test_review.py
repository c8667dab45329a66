"""The review page in a real browser: the track drawn over the playing video, a click correction,
undo, cancel of a running job, and delete removing the files from S3."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from highlighter.trackfile import Track
from tests.conftest import wait_for
from tests.e2e.conftest import login, wait_for_js
from webapp.videos import services, storage
from webapp.videos.models import JobStatus, TrackJob, Video
from webapp.videos.uploads import uploaded_file_from_path

pytestmark = pytest.mark.django_db(transaction=True)


def _upload(owner, path: Path, *, aspects=()) -> Video:
    upload = uploaded_file_from_path(path)
    return services.video_create(
        owner=owner, uploaded_file=upload, description="the red ball", styles=["spotlight"], aspects=list(aspects),
        auto_confirm=True,
    )  # fmt: skip


def _wait_for_version(video: Video, version: int) -> TrackJob:
    def ready():
        job = TrackJob.objects.filter(video=video, version=version).first()
        if job and job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            pytest.fail(f"version {version}: {job.status} {job.error}")
        video.refresh_from_db()
        return job if job and job.status == JobStatus.DONE and video.current_track_id == job.pk else None

    return wait_for(ready, timeout=180, what=f"track version {version}")


@pytest.fixture
def tracked_video(alice, red_ball_video, celery_worker_process):
    path, _ = red_ball_video
    video = _upload(alice, Path(path))
    _wait_for_version(video, 1)
    video.refresh_from_db()
    return video


def _open_review(page, live_server, video):
    login(page, live_server)
    page.goto(f"{live_server.url}/videos/{video.id}/review/")
    wait_for_js(page, "document.querySelector('#review-video').readyState >= 2", timeout=30_000)
    page.wait_for_selector("#timeline[data-frames]")


def _show_frame(page, index: int) -> None:
    page.keyboard.press("Home")
    for _ in range(index // 10):
        page.keyboard.press("Shift+ArrowRight")
    for _ in range(index % 10):
        page.keyboard.press("ArrowRight")
    page.wait_for_selector(f"#overlay[data-frame='{index}'][data-drawn='1']", timeout=15_000)
    wait_for_js(page, "!document.querySelector('#review-video').seeking")


def _player_pixels(page) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(page.locator("#player").screenshot(), np.uint8), cv2.IMREAD_COLOR)


def test_the_review_page_draws_the_track_over_the_video_while_playing_and_scrubbing(
    live_server, page, tracked_video, red_ball_video
):
    _, truth = red_ball_video
    _open_review(page, live_server, tracked_video)

    # Keyboard steps and the overlay follow frame by frame.
    _show_frame(page, 30)
    with_overlay = _player_pixels(page)
    page.uncheck("#show-track")
    page.wait_for_selector("#overlay[data-drawn='0']")
    without = _player_pixels(page)
    page.check("#show-track")

    # The overlay's pixels sit on the ball of frame 30 and nowhere else.
    changed = np.abs(with_overlay.astype(int) - without.astype(int)).sum(axis=2) > 60
    height, width = changed.shape
    x, y, w, h = truth.boxes[30]
    sx, sy = width / truth.width, height / truth.height
    margin = 6
    inside = np.zeros_like(changed)
    inside[max(0, int(y * sy) - margin) : int((y + h) * sy) + margin, max(0, int(x * sx) - margin) : int((x + w) * sx) + margin] = True
    assert changed.sum() > 200, "nothing was drawn over the video"
    assert changed[inside].sum() / changed.sum() > 0.95, "the overlay is not on the product"

    # Scrubbing on the timeline shows the frame under the pointer.
    box = page.locator("#timeline").bounding_box()
    page.mouse.click(box["x"] + box["width"] * (60.5 / truth.frame_count), box["y"] + box["height"] / 2)
    page.wait_for_selector("#overlay[data-frame='60'][data-drawn='1']")

    # Playing: the drawn frame keeps up with the video's clock.
    page.keyboard.press("Home")
    page.keyboard.press(" ")
    wait_for_js(page, "document.querySelector('#review-video').currentTime > 1.0", timeout=15_000)
    drawn, expected = page.evaluate(
        "() => { const v = document.querySelector('#review-video'); v.pause();"
        " return [Number(document.querySelector('#overlay').dataset.frame), Math.floor(v.currentTime * 25)]; }"
    )
    assert abs(drawn - expected) <= 1
    page.wait_for_selector("#overlay[data-drawn='1']")


def test_a_click_correction_changes_the_track_from_that_frame_on_and_keeps_the_frames_before(
    live_server, page, tracked_video, red_ball_video
):
    _, truth = red_ball_video
    video = tracked_video
    # A version that lost the ball from frame 40 on, as a tracker might.
    services.track_hide(video=video, start=40, end=truth.frame_count - 1)
    lost_job = _wait_for_version(video, 2)
    lost = Track.from_json(storage.get_bytes(lost_job.track_key))

    _open_review(page, live_server, video)
    page.wait_for_selector("#versions li[data-version='2'].current")
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("Shift+ArrowRight")
    page.wait_for_selector("#overlay[data-frame='40'][data-drawn='hidden']")
    page.check("input[name=tool][value=positive]")
    x, y, w, h = truth.boxes[40]
    box = page.locator("#overlay").bounding_box()
    page.mouse.click(box["x"] + (x + w / 2) * box["width"] / truth.width, box["y"] + (y + h / 2) * box["height"] / truth.height)

    job = _wait_for_version(video, 3)
    revised = Track.from_json(storage.get_bytes(job.track_key))
    assert job.correction["frame"] == 40 and job.correction["points"][0][2] == 1
    assert [f.to_dict() for f in revised.frames[:40]] == [f.to_dict() for f in lost.frames[:40]]
    assert all(f.visible for f in revised.frames[40:])
    ious = []
    for i in range(40, truth.frame_count):
        predicted, expected = revised.mask(i), truth.mask(i)
        ious.append(np.logical_and(predicted, expected).sum() / max(1, np.logical_or(predicted, expected).sum()))
    assert float(np.mean(ious)) > 0.7
    # The page shows the new version, drawn on frame 40.
    page.wait_for_selector("#versions li[data-version='3'].current", timeout=15_000)
    page.wait_for_selector("#overlay[data-frame='40'][data-drawn='1']", timeout=15_000)


def test_undo_goes_back_to_the_version_before(live_server, page, tracked_video, red_ball_video):
    _, truth = red_ball_video
    video = tracked_video
    first = video.current_track
    services.track_hide(video=video, start=0, end=truth.frame_count - 1)
    _wait_for_version(video, 2)

    _open_review(page, live_server, video)
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#overlay[data-frame='1'][data-drawn='hidden']")
    page.click("#undo")
    page.wait_for_selector("#versions li[data-version='1'].current", timeout=15_000)
    page.wait_for_selector("#overlay[data-drawn='1']", timeout=15_000)
    video.refresh_from_db()
    assert video.current_track == first
    assert TrackJob.objects.filter(video=video).count() == 2  # the undone version stays, for the record


@pytest.fixture(scope="session")
def long_video(media_dir):
    from highlighter.eval.synthetic import make_moving_object_video

    path = media_dir / "long-red-ball.mp4"
    make_moving_object_video(path, width=640, height=360, fps=25, seconds=16.0, colour="red", seed=3)
    return path


def test_cancel_stops_a_running_tracking_job_at_its_next_frame_batch(live_server, page, alice, long_video, celery_worker_process):
    video = _upload(alice, long_video, aspects=["9:16"])
    login(page, live_server)
    page.goto(f"{live_server.url}/videos/{video.id}/")
    # Running, with frames counted and time left.
    wait_for_js(page, "document.querySelector('#detail').textContent.includes('Tracking: frame')", timeout=120_000)
    page.click("#cancel-job")
    page.wait_for_selector("#phase[data-phase=cancelled]", timeout=60_000)
    # The worker stops at its next progress report: the job ends cancelled, without a track.
    job = wait_for(
        lambda: TrackJob.objects.filter(video=video, status=JobStatus.CANCELLED).first(), timeout=30, what="the worker to stop"
    )
    assert job.status == JobStatus.CANCELLED and job.progress < 1.0 and not job.track_key
    assert job.render_jobs.get().status == JobStatus.CANCELLED


def test_deleting_a_video_removes_its_files_from_s3(live_server, page, alice, tracked_video):
    prefix = tracked_video.key_prefix
    assert len(storage.list_keys(prefix)) >= 5  # original, normalised, proxy, thumbnail, track and exports
    login(page, live_server)
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(f"tr[data-video='{tracked_video.id}']")
    assert row.locator("td.thumb img").count() == 1
    row.locator("form.delete-video button").click()
    page.wait_for_url("**/videos/")
    page.wait_for_selector(f"tr[data-video='{tracked_video.id}']", state="detached")
    assert not Video.objects.filter(pk=tracked_video.pk).exists()
    assert storage.list_keys(prefix) == []
