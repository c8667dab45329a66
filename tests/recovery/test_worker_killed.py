"""A worker killed half-way through a job: nothing is lost, a new worker finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from highlighter.eval.synthetic import make_moving_object_video
from highlighter.media import probe
from tests.conftest import ROOT, _test_database_url, wait_for
from highlighter.track import track_video
from highlighter.track.prompt import Prompt
from webapp.videos import storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video
from workers import tasks
from workers.celery_app import app

pytestmark = pytest.mark.django_db(transaction=True)

# Its own broker database, so the suite's shared worker cannot take this test's tasks.
BROKER = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0] + "/13"


def _start_worker(log: Path, stale_seconds: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": BROKER,
           "JOB_STALE_SECONDS": str(stale_seconds)}  # fmt: skip
    cmd = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "gpu,cpu", "--pool", "solo",
           "-l", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{log.stem}@%h"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: b"ready." in log.read_bytes() or proc.poll() is not None, timeout=60, what="a worker")
    assert proc.poll() is None, log.read_text()
    return proc


def test_a_job_survives_its_worker_being_killed(alice, tmp_path):
    # A video already ingested and tracked; only its render is left to do.
    path = tmp_path / "long.mp4"
    make_moving_object_video(path, width=640, height=360, fps=25, seconds=8.0, colour="red", seed=3)
    video = Video.objects.create(owner=alice, title="long.mp4", original_key="-", original_size=1, status="ready")
    video.mezzanine_key = f"{video.key_prefix}video.mp4"
    video.save(update_fields=["mezzanine_key"])
    storage.upload_file(path, video.mezzanine_key)
    track_job = TrackJob.objects.create(video=video, prompt={"text": "red"}, status=JobStatus.DONE)
    track_job.track_key = f"{video.key_prefix}track.json"
    track_job.save(update_fields=["track_key"])
    storage.put_bytes(track_video(path, Prompt(text="red")).to_json().encode(), track_job.track_key)
    render = RenderJob.objects.create(track_job=track_job, style="spotlight", aspect="9:16")

    redis.Redis.from_url(BROKER).flushdb()  # no task left over from an earlier run
    first = _start_worker(tmp_path / "first.log", stale_seconds=3)
    try:
        with app.connection_for_write(BROKER) as connection:
            tasks.render_video.apply_async(args=[str(render.id)], connection=connection)
        wait_for(
            lambda: RenderJob.objects.filter(pk=render.pk, status=JobStatus.RUNNING, progress__gt=0.15).exists(),
            timeout=120,
            what="the render to be under way:\n" + (tmp_path / "first.log").read_text()[-3000:],
        )
    finally:
        first.send_signal(signal.SIGKILL)  # no warning, no clean-up: as when a machine dies
        first.wait()
    render.refresh_from_db()
    assert render.status == JobStatus.RUNNING and render.attempts == 1

    second = _start_worker(tmp_path / "second.log", stale_seconds=3)
    try:
        wait_for(
            lambda: RenderJob.objects.filter(pk=render.pk, status=JobStatus.DONE).exists(),
            timeout=180,
            what="the second worker to finish the render",
        )
    finally:
        second.terminate()
        second.wait(30)
        redis.Redis.from_url(BROKER).flushdb()
    render.refresh_from_db()
    assert render.attempts == 2
    out = tmp_path / "out.mp4"
    storage.download_file(render.output_key, out)
    info = probe(out, count_frames=True)
    assert (info.width, info.height, info.frame_count) == (1080, 1920, 200)
    assert "re-queued 1 job" in (tmp_path / "second.log").read_text()
