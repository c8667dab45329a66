"""Shared fixtures: a fixed cast of users, the real S3 server, a real Celery worker process.

`make test` starts SeaweedFS and sets the S3_*, DATABASE_URL and CELERY_BROKER_URL variables; the
worker process gets the same settings, pointed at the test database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER_NODE = f"test-{os.getpid()}@{socket.gethostname()}"  # the session worker's Celery node name
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around it
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _s3_reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def s3_bucket():
    """The real S3 server's bucket, emptied of earlier runs' objects."""
    from django.conf import settings

    from webapp.videos import storage

    if not _s3_reachable(settings.S3_ENDPOINT_URL):
        pytest.exit(f"No S3 server answers at {settings.S3_ENDPOINT_URL}. Run the tests with `make test`.", 2)
    storage.ensure_bucket()
    storage.delete_prefix("")
    return settings.S3_BUCKET


@pytest.fixture
def alice(django_user_model, s3_bucket):
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(django_user_model, s3_bucket):
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def red_ball_video(media_dir):
    """A 3 s 640x360 video of a red ball moving over a textured background, with audio and ground truth."""
    from highlighter.eval.synthetic import make_moving_object_video

    path = media_dir / "red-ball.mp4"
    truth = make_moving_object_video(path, width=640, height=360, fps=25, seconds=3.0, colour="red", seed=7)
    return path, truth


def _test_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("The worker-process tests need PostgreSQL (make test provides it).")
    user = s["USER"] or "postgres"
    return f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, s3_bucket):
    """A real Celery worker process on both queues, using the test database and the real broker."""
    from workers.celery_app import app

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    _purge_queues(app)
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, "DATABASE_URL": database_url, "JOB_STALE_SECONDS": os.environ.get("JOB_STALE_SECONDS", "300")}
    cmd = [
        sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
        "-Q", "gpu,cpu", "--pool", "solo", "--concurrency", "1", "-l", "INFO", "--without-heartbeat",
        "--without-gossip", "--without-mingle", "-n", WORKER_NODE,
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("The Celery worker did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    yield proc
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    print("--- worker log (tail) ---\n" + log_path.read_text(errors="replace")[-4000:])


def _purge_queues(app) -> None:
    """Drop the tasks waiting on both queues (``app.control.purge`` empties only the default one)."""
    from workers.celery_app import TASK_QUEUES

    with app.connection_for_write() as connection:
        for queue in sorted(set(TASK_QUEUES.values())):
            connection.default_channel.queue_purge(queue)


@pytest.fixture(autouse=True)
def _worker_idle_before_flush(request):
    """After a test that used the worker, wait until it is idle, before the database is flushed.

    A task the test left running (a retried ingest, a cancelled job finishing its batch) holds row
    locks; pytest-django's flush TRUNCATEs every table and deadlocks against it. Queued tasks are
    purged, since their rows are about to go. This fixture is declared after pytest-django's own
    autouse database fixture, so its teardown runs first.
    """
    yield
    if "celery_worker_process" not in request.fixturenames:
        return
    if request.getfixturevalue("celery_worker_process").poll() is not None:
        return  # the test stopped it; nothing holds a lock
    from workers.celery_app import app

    _purge_queues(app)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # The solo pool answers control messages only between tasks: no reply means it is busy.
        replies = app.control.inspect(destination=[WORKER_NODE], timeout=1.0).active() or {}
        if replies.get(WORKER_NODE) == []:
            return
        time.sleep(0.2)
    pytest.fail("The Celery worker was still busy 120 s after the test ended.")


def wait_for(predicate, *, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}.")


def truth_track(truth):
    """The synthetic ground truth as a Track: what a perfect tracker would have written."""
    from highlighter.trackfile import FrameTrack, Track

    frames = [FrameTrack.from_mask(i, i / truth.fps, truth.mask(i), 0.9) for i in range(truth.frame_count)]
    video = {"width": truth.width, "height": truth.height, "fps": truth.fps, "frame_count": truth.frame_count}
    return Track(video=video, prompt={"text": "the red ball"}, frames=frames, shots=[[0, truth.frame_count - 1]])


@pytest.fixture
def reviewed_video(alice, red_ball_video):
    """Alice's ingested, confirmed video whose first track (the ground truth) is done and stored in S3.

    No worker is involved: rows and files are made directly, so web tests stay fast.
    """
    from django.utils import timezone

    from webapp.videos import storage
    from webapp.videos.models import JobStatus, TrackJob, Video

    _, truth = red_ball_video
    info = {"width": truth.width, "height": truth.height, "fps": truth.fps, "frame_count": truth.frame_count}
    video = Video.objects.create(
        owner=alice, title="red-ball.mp4", original_key="k", original_size=1, status=Video.Status.READY, info=info,
        confirmed_at=timezone.now(),
    )  # fmt: skip
    key = f"{video.key_prefix}tracks/first.json"
    storage.put_bytes(truth_track(truth).to_json().encode(), key, content_type="application/json")
    job = TrackJob.objects.create(
        video=video, prompt={"text": "the red ball", "points": [], "boxes": []}, status=JobStatus.DONE, track_key=key
    )
    video.current_track = job
    video.save(update_fields=["current_track"])
    return video
