"""A video deleted while its job finishes: the job notices and removes what it wrote, nothing is left in S3."""

from __future__ import annotations

import pytest

from tests.conftest import truth_track
from webapp.videos import services, storage
from webapp.videos.models import RenderJob, TrackJob, Video
from workers import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingested(reviewed_video, red_ball_video):
    """The reviewed video with its normalised file in S3, as ingest leaves it."""
    path, _ = red_ball_video
    reviewed_video.mezzanine_key = f"{reviewed_video.key_prefix}video.mp4"
    reviewed_video.save(update_fields=["mezzanine_key"])
    storage.upload_file(path, reviewed_video.mezzanine_key, content_type="video/mp4")
    return reviewed_video


def _deleted_after(engine_call, video: Video):
    """``engine_call`` that deletes ``video`` once the engine is done: the delete lands after the job's
    last progress report and before its upload, the moment the job cannot see it coming."""

    def call(*args, **kwargs):
        result = engine_call(*args, **kwargs)
        services.video_delete(video=Video.objects.get(pk=video.pk))
        return result

    return call


def test_a_render_finishing_after_its_video_was_deleted_leaves_no_file(ingested, monkeypatch):
    render = RenderJob.objects.create(track_job=ingested.current_track, style="box", aspect=RenderJob.SOURCE)
    monkeypatch.setattr(tasks, "engine_render", _deleted_after(tasks.engine_render, ingested))

    tasks.render_video.run(str(render.pk))

    assert storage.list_keys(ingested.key_prefix) == []
    assert not RenderJob.objects.filter(pk=render.pk).exists()


def test_a_track_finishing_after_its_video_was_deleted_leaves_no_file(ingested, red_ball_video, monkeypatch):
    _, truth = red_ball_video
    job = TrackJob.objects.create(video=ingested, prompt={"text": "the red ball"})
    monkeypatch.setattr(tasks, "engine_track", _deleted_after(lambda *a, **k: truth_track(truth), ingested))

    tasks.track_video.run(str(job.pk))

    assert storage.list_keys(ingested.key_prefix) == []
    assert not TrackJob.objects.filter(pk=job.pk).exists()
