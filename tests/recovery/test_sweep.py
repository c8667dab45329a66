"""The stale-job sweep sends again exactly the work whose worker stopped reporting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video
from workers import recovery, tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple[str, str]] = []
    for name in ("ingest_video", "preview_video", "track_video", "render_video"):
        task = getattr(tasks, name)
        monkeypatch.setattr(task, "delay", lambda pk, _name=name: calls.append((_name, pk)))
    return calls


def _video(owner, **fields) -> Video:
    return Video.objects.create(owner=owner, title="v.mp4", original_key="k", original_size=1, **fields)


def test_it_resends_stale_running_work_and_leaves_live_work_alone(alice, sent):
    old, fresh = timezone.now() - timedelta(minutes=10), timezone.now()
    ingesting = _video(alice, status=Video.Status.INGESTING, heartbeat_at=old)
    _video(alice, status=Video.Status.INGESTING, heartbeat_at=fresh)
    previewing = _video(alice, status=Video.Status.READY, heartbeat_at=old, preview={"status": "running"})
    _video(alice, status=Video.Status.READY, heartbeat_at=old, preview={"status": "done"})
    ready = _video(alice, status=Video.Status.READY, heartbeat_at=fresh)
    stale_track = TrackJob.objects.create(video=ready, prompt={"text": "red"}, status=JobStatus.RUNNING, heartbeat_at=old)
    TrackJob.objects.create(video=ready, prompt={"text": "red"}, status=JobStatus.RUNNING, heartbeat_at=fresh)
    TrackJob.objects.create(video=ready, prompt={"text": "red"}, status=JobStatus.DONE, heartbeat_at=old)
    stale_render = RenderJob.objects.create(track_job=stale_track, status=JobStatus.RUNNING, heartbeat_at=old)

    resent = recovery.requeue_stale_jobs(stale_seconds=300)

    assert sorted(sent) == sorted([
        ("ingest_video", str(ingesting.pk)),
        ("preview_video", str(previewing.pk)),
        ("track_video", str(stale_track.pk)),
        ("render_video", str(stale_render.pk)),
    ])  # fmt: skip
    assert sorted(resent) == sorted(pk for _, pk in sent)


def test_a_resent_job_can_be_claimed_by_its_new_delivery(alice, sent):
    video = _video(alice, status=Video.Status.READY)
    job = TrackJob.objects.create(
        video=video, prompt={"text": "red"}, status=JobStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    recovery.requeue_stale_jobs(stale_seconds=300)
    assert sent == [("track_video", str(job.pk))]
    assert TrackJob.objects.get(pk=job.pk).claim(stale_seconds=300)
