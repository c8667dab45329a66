"""The web sends the workers' tasks by name, on their queues, once the transaction commits. It never
imports ``workers.tasks`` (which calls the web's services), so the two import one way only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.videos import services
from webapp.videos.models import RenderJob, TrackJob, Video

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_side_never_imports_the_worker_tasks():
    # A fresh interpreter: in this one, other tests have imported workers.tasks already.
    code = (
        "import sys, django\n"
        "django.setup()\n"
        "import webapp.urls, webapp.videos.services, workers.celery_app  # the app the web sends through\n"
        "assert 'workers.tasks' not in sys.modules, 'the web side imported workers.tasks'\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_task_name_is_a_task_of_the_worker_with_a_queue():
    from workers import tasks  # noqa: F401  (registers the tasks, as the worker does when it starts)
    from workers.celery_app import TASK_QUEUES, app

    assert set(TASK_QUEUES) == {name for name in app.tasks if name.startswith("workers.")}
    assert TASK_QUEUES["workers.tasks.track_video"] == "gpu"


@pytest.mark.django_db
def test_each_enqueue_sends_its_task_by_name_on_its_queue_after_the_commit(
    alice, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from workers.celery_app import app

    settings.JOB_SLOTS = {"cpu": 10, "gpu": 10}  # room for all: the turns are tests/web/test_fair_dispatch.py's
    sent: list[tuple[str, list[str], str]] = []
    monkeypatch.setattr(app, "send_task", lambda name, *, args, queue: sent.append((name, args, queue)))
    video = Video.objects.create(owner=alice, title="v.mp4", original_key="k", original_size=1)
    track = TrackJob.objects.create(video=video, prompt={"text": "red"})
    render = RenderJob.objects.create(track_job=track)

    with django_capture_on_commit_callbacks(execute=True):
        services.video_enqueue_ingest(video=video)
        services.video_enqueue_preview(video=video)
        services.track_job_enqueue(job=track)
        services.track_edit_enqueue(job=track)
        services.render_job_enqueue(job=render)
        assert sent == []  # nothing before the commit

    assert sorted(sent) == sorted([
        ("workers.tasks.ingest_video", [str(video.id)], "cpu"),
        ("workers.tasks.preview_video", [str(video.id)], "cpu"),
        ("workers.tasks.track_video", [str(track.id)], "gpu"),
        ("workers.tasks.edit_track", [str(track.id)], "cpu"),
        ("workers.tasks.render_video", [str(render.id)], "cpu"),
    ])  # fmt: skip
