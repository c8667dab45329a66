"""On a real worker process and the real broker: one account's fifty jobs do not hold up another
account's job queued after them by more than one job per worker, and what the jobs wrote counts
against their owners' storage."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from highlighter.trackfile import FrameTrack, Track
from tests.conftest import wait_for
from webapp.videos import services, storage
from webapp.videos.models import JobStatus, TrackJob, Video
from webapp.videos.quotas import usage

pytestmark = pytest.mark.django_db(transaction=True)


def _tracked_video(owner) -> TrackJob:
    """A video whose first track (ten small frames) is done and stored: editing it is a cheap job."""
    info = {"width": 64, "height": 48, "fps": 10.0, "frame_count": 10}
    video = Video.objects.create(
        owner=owner, title="v.mp4", original_key="-", original_size=1, status=Video.Status.READY, info=info,
        confirmed_at=timezone.now(),
    )  # fmt: skip
    mask = np.zeros((48, 64), bool)
    mask[10:30, 20:40] = True
    frames = [FrameTrack.from_mask(i, i / 10, mask, 0.9) for i in range(10)]
    track = Track(video=info, prompt={"text": "red"}, frames=frames, shots=[[0, 9]])
    key = f"{video.key_prefix}tracks/first.json"
    storage.put_bytes(track.to_json().encode(), key, content_type="application/json")
    job = TrackJob.objects.create(video=video, prompt={"text": "red"}, status=JobStatus.DONE, track_key=key)
    video.current_track = job
    video.save(update_fields=["current_track"])
    return job


def _queue_edits(parent: TrackJob, count: int) -> list[TrackJob]:
    """``count`` versions that mark frames 0-1 not in shot, queued in one transaction."""
    with transaction.atomic():
        jobs = [
            TrackJob.objects.create(
                video=parent.video, parent=parent, kind=TrackJob.Kind.HIDE, version=i + 2,
                correction={"start": 0, "end": 1}, prompt=parent.prompt,
            )  # fmt: skip
            for i in range(count)
        ]
        for job in jobs:
            services.track_edit_enqueue(job=job)
    return jobs


def test_another_owners_job_overtakes_a_fifty_job_backlog(alice, bob, celery_worker_process):
    alices = _queue_edits(_tracked_video(alice), 50)
    bob_queued_at = timezone.now()
    (bobs,) = _queue_edits(_tracked_video(bob), 1)

    wait_for(lambda: TrackJob.objects.filter(pk=bobs.pk, status=JobStatus.DONE).exists(), timeout=600, what="bob's job")
    bobs.refresh_from_db()
    started = [j.started_at for j in TrackJob.objects.filter(pk__in=[j.pk for j in alices], started_at__isnull=False)]
    ahead_of_bob = [t for t in started if bob_queued_at < t < bobs.started_at]
    assert len(ahead_of_bob) <= settings.JOB_SLOTS["cpu"]  # one per worker at most (the one worker here)
    # ... and alice's backlog goes on after it (first come, first served, bob's would have been last).
    wait_for(
        lambda: TrackJob.objects.filter(pk__in=[j.pk for j in alices], started_at__gt=bobs.started_at).exists(),
        timeout=120, what="alice's next job",
    )  # fmt: skip

    # Bob's files, written by the worker, count against his storage once the task has ended.
    prefix = bobs.video.key_prefix
    wait_for(
        lambda: usage(user=bob).stored_bytes == sum(len(storage.get_bytes(k)) for k in storage.list_keys(prefix)),
        timeout=60, what="bob's files to be counted",
    )  # fmt: skip

    for job in alices:  # leave the worker idle for the next test
        services.job_cancel(job=job)
    wait_for(
        lambda: not TrackJob.objects.filter(status=JobStatus.RUNNING).exists(), timeout=120, what="alice's jobs to stop"
    )
