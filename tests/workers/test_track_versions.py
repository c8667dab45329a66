"""Track versions: the preview before tracking, a correction spliced into its parent, a stretch marked
not in shot; and the splice rule itself (highlighter.track.revise)."""

from __future__ import annotations

import copy

import pytest

from highlighter.trackfile import FrameTrack, Track
from highlighter.track.revise import hide_range, splice
from tests.conftest import truth_track
from webapp.videos import services, storage
from webapp.videos.models import JobStatus, TrackJob, Video
from webapp.videos.uploads import uploaded_file_from_path
from workers import tasks

pytestmark = pytest.mark.django_db


def _shifted(track: Track, frames: range, dx: float) -> Track:
    """A copy whose boxes on ``frames`` are moved ``dx`` px: a tracker that followed something else."""
    out = copy.deepcopy(track)
    for i in frames:
        f = out.frames[i]
        out.frames[i] = FrameTrack(f.index, f.time, True, 0.5, [f.box[0] + dx, *f.box[1:]], f.mask)
    return out


def test_a_splice_replaces_only_around_the_corrected_frame(red_ball_video):
    _, truth = red_ball_video
    right = truth_track(truth)
    wrong = _shifted(right, range(30, 50), 200)  # the previous version lost the ball on 30..49
    revised, (start, end) = splice(wrong, right, frame=40)
    assert (start, end) == (30, 49)
    assert [f.to_dict() for f in revised.frames] == [f.to_dict() for f in right.frames]
    # Frames outside the replaced stretch are the previous version's, byte for byte.
    untouched = _shifted(right, range(0, 10), 200)
    revised, (start, end) = splice(untouched, right, frame=40)
    assert (start, end) == (40, 40) and revised.frames[5].to_dict() == untouched.frames[5].to_dict()


def test_a_splice_never_crosses_an_earlier_correction(red_ball_video):
    _, truth = red_ball_video
    right = truth_track(truth)
    wrong = _shifted(right, range(30, 50), 200)
    _, (start, end) = splice(wrong, right, frame=40, anchors=[35, 45])
    assert (start, end) == (36, 44)


def test_hiding_a_stretch_keeps_the_rest(red_ball_video):
    _, truth = red_ball_video
    track = truth_track(truth)
    hidden = hide_range(track, start=10, end=12)
    assert [f.visible for f in hidden.frames[9:14]] == [True, False, False, False, True]


@pytest.fixture
def ingested_video(alice, red_ball_video, django_capture_on_commit_callbacks):
    path, _ = red_ball_video
    upload = uploaded_file_from_path(path)
    with django_capture_on_commit_callbacks():
        video = services.video_create(owner=alice, uploaded_file=upload, description="the red ball", styles=["spotlight"], aspects=[])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        tasks.ingest_video.run(str(video.id))
    video.refresh_from_db()
    assert video.status == Video.Status.READY and len(sent) == 1  # the preview, not the tracking
    return video


def test_the_preview_finds_the_product_on_key_frames(ingested_video, red_ball_video):
    _, truth = red_ball_video
    video = ingested_video
    tasks.preview_video.run(str(video.id))
    video.refresh_from_db()
    frames = video.preview["frames"]
    assert video.preview["status"] == "done" and len(frames) == 4
    assert all(storage.get_bytes(f["thumbnail_key"])[:2] == b"\xff\xd8" for f in frames)  # JPEGs
    found = [f for f in frames if f["box"]]
    assert found
    for f in found:  # boxes in pixels of the normalised video, on the ball
        x, y, w, h = f["box"]
        tx, ty, tw, th = truth.boxes[f["index"]]
        assert abs((x + w / 2) - (tx + tw / 2)) < tw and abs((y + h / 2) - (ty + th / 2)) < th
    assert TrackJob.objects.get(video=video).status == JobStatus.QUEUED  # nothing tracked yet


def test_a_correction_keeps_the_frames_before_and_replaces_those_after(
    ingested_video, red_ball_video, django_capture_on_commit_callbacks
):
    _, truth = red_ball_video
    video = ingested_video
    first = video.current_track
    # The previous version lost the ball from frame 40 on.
    lost = hide_range(truth_track(truth), start=40, end=truth.frame_count - 1)
    key = f"{video.key_prefix}tracks/lost.json"
    storage.put_bytes(lost.to_json().encode(), key)
    TrackJob.objects.filter(pk=first.pk).update(status=JobStatus.DONE, track_key=key)
    video.refresh_from_db()

    x, y, w, h = truth.boxes[40]
    with django_capture_on_commit_callbacks(execute=False):
        job = services.track_correct(video=video, frame=40, points=[[x + w / 2, y + h / 2, 1]], boxes=[])
    with django_capture_on_commit_callbacks(execute=True):
        tasks.track_video.run(str(job.id))
    job.refresh_from_db()
    video.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert video.current_track == job
    revised = Track.from_json(storage.get_bytes(job.track_key))
    assert [f.to_dict() for f in revised.frames[:40]] == [f.to_dict() for f in lost.frames[:40]]
    assert all(f.visible for f in revised.frames[40:])
    assert job.summary["revised"][0] == 40
    assert set(job.exports) == {"masks", "crop_path"}
    # Undo shows the version before again.
    services.track_undo(video=video)
    video.refresh_from_db()
    assert video.current_track == first


def test_a_cancelled_run_stops_at_its_next_report(ingested_video):
    video = ingested_video
    job = video.current_track
    services.video_confirm(video=video)
    TrackJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    tasks.track_video.run(str(job.id))  # the claim refuses a job cancelled before it started
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and not job.track_key
