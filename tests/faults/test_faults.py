"""Faults in the middle of ingest, tracking and rendering, on real services and real workers.

Each scenario uploads a video through the web's service and injects its fault while a stage runs:
PostgreSQL, Redis or the S3 server restarted, the worker holding the task SIGKILLed, the work disk
filled, or the video deleted. Afterwards every job must have ended done (or, for a deleted video,
left nothing behind), with no file lost or written twice, and the reconciliation pass must find no
S3 object without its row and no row without its objects.
"""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.utils import InterfaceError, OperationalError

from highlighter.eval.synthetic import make_moving_object_video
from tests.faults.conftest import RESULTS, STALE_SECONDS
from webapp.videos import services, storage
from webapp.videos.models import ACTIVE, JobStatus, RenderJob, TrackJob, Video
from webapp.videos.uploads import uploaded_file_from_path
from workers import reconcile

pytestmark = pytest.mark.django_db(transaction=True)

STAGES = ("ingest", "track", "render")
QUEUE_OF = {"ingest": "cpu", "track": "gpu", "render": "cpu"}
OUTAGE_SECONDS = 4  # how long a restarted service stays down
FINISH_TIMEOUT = 900  # storage retries back off 5, 10, 20, ... s; a stale job waits STALE_SECONDS


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "red-ball.mp4"
    make_moving_object_video(path, width=480, height=270, fps=25, seconds=4.0, colour="red", seed=11)
    return path


def _db(query):
    """Run ``query`` through a database outage: reconnect until the server is back."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return query()
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _poll(predicate, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = _db(predicate)
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}.")


def _upload(owner, clip: Path) -> Video:
    return services.video_create(
        owner=owner, uploaded_file=uploaded_file_from_path(clip), description="the red ball", styles=["spotlight"],
        aspects=[RenderJob.SOURCE], auto_confirm=True,
    )  # fmt: skip


def _stage(video_id, stage: str) -> str:
    """"waiting", "running" (under way, past its first progress report) or "passed"."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return "passed"
    if stage == "ingest":
        running, ended = video.status == Video.Status.INGESTING, video.status in (Video.Status.READY, Video.Status.FAILED)
    else:
        jobs = TrackJob.objects.filter(video=video) if stage == "track" else RenderJob.objects.filter(track_job__video=video)
        job = jobs.first()
        running = job is not None and job.status == JobStatus.RUNNING and job.progress > 0.02
        ended = job is not None and job.status not in ACTIVE
    return "running" if running else "passed" if ended else "waiting"


def _reach(video: Video, stage: str) -> bool:
    """Wait until ``stage`` runs (True) or is already over (False: the fault comes too late for it)."""
    state = _poll(lambda: _stage(video.pk, stage) != "waiting" and _stage(video.pk, stage), timeout=600, what=stage)
    return state == "running"


def _finished(video_id) -> bool:
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.status in (Video.Status.UPLOADED, Video.Status.INGESTING):
        return False
    jobs = [*TrackJob.objects.filter(video=video), *RenderJob.objects.filter(track_job__video=video)]
    return video.status == Video.Status.FAILED or all(j.status not in ACTIVE for j in jobs)


def _outcome(fault: str, hits: dict[str, bool], video: Video) -> dict:
    """What the video and its jobs ended as, what is missing or extra in S3, and the reconciliation."""
    video.refresh_from_db()
    track = TrackJob.objects.get(video=video)
    render = RenderJob.objects.get(track_job=track)
    expected = {video.original_key, *(f"{video.key_prefix}{name}" for name in ("video.mp4", "proxy.mp4", "thumbnail.jpg"))}
    expected |= {f"{video.key_prefix}tracks/{track.pk}{end}" for end in (".json", "-masks.zip", "-crop-path.json")}
    expected.add(f"{video.key_prefix}renders/{render.pk}.mp4")
    listed = set(storage.list_keys(video.key_prefix))
    report = reconcile.reconcile(owner_id=video.owner_id, grace_seconds=-5)
    row = {
        "fault": fault,
        "hit": ",".join(stage for stage, hit in hits.items() if hit) or "-",
        "video": video.status,
        "track": f"{track.status} (attempts {track.attempts})",
        "render": f"{render.status} (attempts {render.attempts})",
        "error": video.error or track.error or render.error or "-",
        "lost": sorted(expected - listed) + [m.key for m in report.missing] or "nothing",
        "extra": sorted(listed - expected) + report.orphans or "nothing",
        "stuck": [s.work for s in report.stuck] or "none",
    }
    RESULTS.append(row)
    return row


def _assert_done_and_whole(row: dict) -> None:
    assert (row["video"], row["track"].split()[0], row["render"].split()[0]) == ("ready", "done", "done"), row
    assert row["lost"] == "nothing" and row["extra"] == "nothing" and row["stuck"] == "none", row


def _restart(services, name: str) -> None:
    stop, start = {
        "postgres": (services.stop_postgres, services.start_postgres),
        "redis": (services.stop_redis, services.start_redis),
        "s3": (services.stop_s3, services.start_s3),
    }[name]
    stop()
    time.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for a result
    start()


@pytest.mark.parametrize("fault", ["postgres", "redis", "s3", "worker"])
def test_a_restart_or_a_killed_worker_in_each_stage_loses_nothing(fault, alice, clip, crew, private_services):
    video = _upload(alice, clip)
    hits = {}
    for stage in STAGES:
        hits[stage] = _reach(video, stage)
        if fault == "worker":
            crew.workers[QUEUE_OF[stage]].kill()
            crew.replace(QUEUE_OF[stage])
        else:
            _restart(private_services, fault)
    _poll(lambda: _finished(video.pk), timeout=FINISH_TIMEOUT, what="the jobs to end", interval=0.5)
    _assert_done_and_whole(_outcome(f"{fault} restarted" if fault != "worker" else "worker SIGKILLed", hits, video))


def _fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until its disk is full; returns the filler file."""
    filler = folder / "filler"
    chunk = b"\0" * 1024**2
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


def _released_or_over(video_id, stage: str, attempts_before: int) -> bool:
    """The job gave its work back after the disk filled (it will retry), or its stage is over."""
    if _stage(video_id, stage) == "passed":
        return True
    if stage == "ingest":
        return Video.objects.filter(pk=video_id, status=Video.Status.UPLOADED).exists()
    jobs = TrackJob.objects.filter(video_id=video_id) if stage == "track" else RenderJob.objects.filter(track_job__video_id=video_id)
    return jobs.filter(status=JobStatus.QUEUED, attempts__gte=attempts_before).exists()


@pytest.mark.parametrize("stage", STAGES)
def test_a_full_work_disk_in_a_stage_is_retried_once_there_is_room(stage, alice, clip, crew, work_disk):
    video = _upload(alice, clip)
    hit = _reach(video, stage)
    filler = _fill(work_disk)
    try:
        _poll(lambda: _released_or_over(video.pk, stage, 1), timeout=300, what="the job to notice the full disk")
    finally:
        filler.unlink()
    _poll(lambda: _finished(video.pk), timeout=FINISH_TIMEOUT, what="the jobs to end", interval=0.5)
    _assert_done_and_whole(_outcome("work disk full", {stage: hit}, video))


@pytest.mark.parametrize("stage", STAGES)
def test_a_video_deleted_while_a_job_runs_leaves_nothing(stage, alice, clip, crew):
    video = _upload(alice, clip)
    hit = _reach(video, stage)
    services.video_delete(video=Video.objects.get(pk=video.pk))
    _poll(lambda: not crew.busy(), timeout=STALE_SECONDS * 20, what="the workers to let go of the deleted video")
    left = storage.list_keys(video.key_prefix)
    report = reconcile.reconcile(owner_id=alice.pk, grace_seconds=-5)
    RESULTS.append({
        "fault": "video deleted", "hit": stage if hit else "-", "video": "deleted", "track": "deleted",
        "render": "deleted", "error": "-", "lost": "nothing", "extra": left + report.orphans or "nothing",
        "stuck": [s.work for s in report.stuck] or "none",
    })  # fmt: skip
    assert left == [] and report.clean, report
    assert not TrackJob.objects.filter(video_id=video.pk).exists()
