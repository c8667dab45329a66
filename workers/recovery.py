"""Recover work whose worker died.

Tasks are acknowledged late, but a broker only redelivers an unacknowledged task after its visibility
timeout (hours, so long jobs are not run twice), and the local file broker never does. So each worker
also sweeps: a job still marked running whose heartbeat is older than ``JOB_STALE_SECONDS`` lost its
worker, and its task is sent again. The task's conditional claim takes the job over; if two sweepers
race, the conditional heartbeat bump below lets only one of them send it.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)


def requeue_stale_jobs(*, stale_seconds: int | None = None) -> list[str]:
    """Send again the task of every job (and ingest) whose worker stopped reporting; returns their ids."""
    from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video
    from workers import tasks

    stale_seconds = settings.JOB_STALE_SECONDS if stale_seconds is None else stale_seconds
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_seconds)
    sent: list[str] = []
    candidates = [
        (Video, {"status": Video.Status.INGESTING}, tasks.ingest_video),
        # The key-frame preview before confirmation has no job row; its video's heartbeat stands in.
        (Video, {"status": Video.Status.READY, "confirmed_at": None, "preview__status": "running"}, tasks.preview_video),
        (TrackJob, {"status": JobStatus.RUNNING}, tasks.track_video),
        (RenderJob, {"status": JobStatus.RUNNING}, tasks.render_video),
    ]
    for model, running, task in candidates:
        for pk, beat in model.objects.filter(heartbeat_at__lt=cutoff, **running).values_list("pk", "heartbeat_at"):
            # Claim the right to resend: only the sweeper whose update lands sends the task.
            if model.objects.filter(pk=pk, heartbeat_at=beat).update(heartbeat_at=cutoff + timedelta(microseconds=1)):
                task.delay(str(pk))
                sent.append(str(pk))
    if sent:
        log.warning("re-queued %d job(s) whose worker stopped reporting: %s", len(sent), ", ".join(sent))
    return sent


def start_sweeper(*, interval: float | None = None) -> threading.Thread:
    """Sweep in a daemon thread every ``interval`` seconds (default: half the staleness limit), and let the
    dispatcher resend lost tasks and fill free slots (``webapp.videos.dispatch.sweep``)."""
    from webapp.videos import dispatch

    interval = interval or max(1.0, settings.JOB_STALE_SECONDS / 2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                requeue_stale_jobs()
                dispatch.sweep()
            except Exception:  # a database or broker hiccup must not kill the sweeper
                log.exception("stale-job sweep failed")
            finally:
                close_old_connections()

    thread = threading.Thread(target=loop, name="stale-job-sweeper", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
