"""Tasks claim their job with a conditional update: a second delivery does nothing twice, and a job
whose worker died is taken over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from highlighter.trackfile import Track
from webapp.videos import services, storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video
from webapp.videos.uploads import uploaded_file_from_path
from workers import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded_video(alice, red_ball_video, django_capture_on_commit_callbacks):
    path, _ = red_ball_video
    upload = uploaded_file_from_path(path)
    with django_capture_on_commit_callbacks():  # keep the tasks out of the broker: we run them here
        video = services.video_create(
            owner=alice, uploaded_file=upload, description="the red ball", styles=["spotlight"], aspects=["9:16"],
            auto_confirm=True,
        )
    return video


def test_a_job_is_claimed_once():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("carol")
    video = Video.objects.create(owner=user, title="v.mp4", original_key="k", original_size=1)
    job = TrackJob.objects.create(video=video, prompt={"text": "red"})
    first, second = TrackJob.objects.get(pk=job.pk), TrackJob.objects.get(pk=job.pk)
    assert first.claim(stale_seconds=300) is True
    assert second.claim(stale_seconds=300) is False
    assert TrackJob.objects.get(pk=job.pk).attempts == 1


def test_a_job_whose_worker_died_is_taken_over():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("dave")
    video = Video.objects.create(owner=user, title="v.mp4", original_key="k", original_size=1)
    job = TrackJob.objects.create(video=video, prompt={"text": "red"})
    assert job.claim(stale_seconds=300)
    TrackJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert TrackJob.objects.get(pk=job.pk).claim(stale_seconds=300) is True
    assert TrackJob.objects.get(pk=job.pk).attempts == 2


def test_each_task_delivered_twice_does_its_work_once(uploaded_video, django_capture_on_commit_callbacks):
    video = uploaded_video
    with django_capture_on_commit_callbacks(execute=False):
        tasks.ingest_video.run(str(video.id))
    video.refresh_from_db()
    assert video.status == Video.Status.READY
    mezzanine = storage.get_bytes(video.mezzanine_key)
    with django_capture_on_commit_callbacks(execute=False) as again:
        tasks.ingest_video.run(str(video.id))  # redelivered
    assert again == [] and storage.get_bytes(video.mezzanine_key) == mezzanine

    job = TrackJob.objects.get(video=video)
    with django_capture_on_commit_callbacks(execute=False):
        tasks.track_video.run(str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 1
    finished_at = job.finished_at
    with django_capture_on_commit_callbacks(execute=False) as again:
        tasks.track_video.run(str(job.id))  # redelivered
    job.refresh_from_db()
    assert again == [] and job.attempts == 1 and job.finished_at == finished_at
    track = Track.from_json(storage.get_bytes(job.track_key))
    assert len(track.frames) == video.info["frame_count"]

    render = RenderJob.objects.get(track_job=job)
    tasks.render_video.run(str(render.id))
    tasks.render_video.run(str(render.id))  # redelivered
    render.refresh_from_db()
    assert render.status == JobStatus.DONE and render.attempts == 1
    assert storage.list_keys(f"{video.key_prefix}renders/") == [render.output_key]


def test_an_unreadable_video_fails_its_jobs_with_the_reason(uploaded_video):
    video = uploaded_video
    storage.put_bytes(b"not a video any more", video.original_key)
    tasks.ingest_video.run(str(video.id))
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and "not a video we can read" in video.error
    job = TrackJob.objects.get(video=video)
    assert job.status == JobStatus.FAILED and job.error == video.error
    assert RenderJob.objects.get(track_job=job).status == JobStatus.FAILED
