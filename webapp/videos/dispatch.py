"""Fair dispatch: which task goes to the workers next.

Sent straight to the broker, tasks run first come first served, and one account's fifty uploads hold
up everyone else's. So ``enqueue`` only records a task (a ``QueuedTask`` row, in the caller's
transaction), and ``run`` sends tasks while a queue has fewer than ``JOB_SLOTS[queue]`` in flight,
taking owners in turn: the owner served longest ago (or never) first, that owner's oldest task first.
With one slot per worker process, another account's task waits behind at most one task per worker.

``run`` is called after each commit that queued something, after each task a worker ends, and by the
workers' periodic ``sweep``, which also resends tasks lost on the way (a broker restarted empty).

A task holds its slot from being sent until its video or job is no longer active, however that came
about (done, failed, cancelled, deleted): a worker killed mid-task keeps the slot while recovery
(``workers.recovery``) resends its job, and no slot is lost to a crash between a job's end and its
task's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from webapp.videos.models import ACTIVE, QueuedTask, RenderJob, TrackJob, Video

log = logging.getLogger(__name__)

# What each task is for, while it still needs its worker: the pks of its active videos or jobs.
ACTIVE_TARGETS: dict[str, Callable[[], models.QuerySet]] = {
    "workers.tasks.ingest_video": lambda: Video.objects.filter(
        status__in=(Video.Status.UPLOADED, Video.Status.INGESTING)
    ),
    "workers.tasks.preview_video": lambda: Video.objects.filter(
        status=Video.Status.READY, confirmed_at=None, preview__status="running"
    ),
    "workers.tasks.track_video": lambda: TrackJob.objects.filter(status__in=ACTIVE),
    "workers.tasks.edit_track": lambda: TrackJob.objects.filter(status__in=ACTIVE),
    "workers.tasks.render_video": lambda: RenderJob.objects.filter(status__in=ACTIVE),
}
FINISHED_KEPT = timedelta(days=1)  # how long an owner's last turn is remembered


def _task_queues() -> dict[str, str]:
    # Imported on first use, as the worker's app module sets Django up when it is imported.
    from workers.celery_app import TASK_QUEUES

    return TASK_QUEUES


def enqueue(*, task: str, object_id: uuid.UUID, video_id: uuid.UUID) -> None:
    """Queue worker task ``task`` for the row ``object_id`` (of video ``video_id``, whose owner's turn
    it waits for); it goes no further before this transaction commits. Queueing a task that is already
    queued changes nothing."""
    queue = _task_queues()[task]
    QueuedTask.objects.bulk_create(
        [QueuedTask(task=task, object_id=object_id, queue=queue, video_id=video_id)], ignore_conflicts=True
    )
    transaction.on_commit(lambda: run(queues=[queue]))


def started(*, task: str, object_id: str) -> None:
    """A worker received the task (``sweep`` resends those that never arrive)."""
    QueuedTask.objects.filter(task=task, object_id=object_id, finished_at=None, started_at=None).update(
        started_at=timezone.now()
    )


def run(*, queues: Iterable[str] | None = None) -> None:
    """Fill the free slots of ``queues`` (default: all), owners in turn."""
    for queue in queues or sorted(set(_task_queues().values())):
        with transaction.atomic():
            _lock(queue)
            _release_finished(queue)
            in_flight = QueuedTask.objects.filter(queue=queue, finished_at=None, sent_at__isnull=False).count()
            chosen = _take_turns(queue, settings.JOB_SLOTS.get(queue, 1) - in_flight)
            transaction.on_commit(lambda chosen=chosen: _send(chosen))


def sweep(*, stale_seconds: int | None = None) -> None:
    """Resend tasks sent ``stale_seconds`` ago that no worker received, forget turns older than a
    day, and fill free slots: nothing stays stranded after a restart of the broker or the web."""
    stale_seconds = settings.JOB_STALE_SECONDS if stale_seconds is None else stale_seconds
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_seconds)
    lost = QueuedTask.objects.filter(finished_at=None, started_at=None, sent_at__lt=cutoff)
    for row in lost:
        # Only the sweeper whose update lands resends it (several workers sweep).
        if QueuedTask.objects.filter(pk=row.pk, sent_at=row.sent_at, started_at=None).update(sent_at=now):
            log.warning("resending %s for %s: no worker received it", row.task, row.object_id)
            _send([row])
    QueuedTask.objects.filter(finished_at__lt=now - FINISHED_KEPT).delete()
    run()


def _lock(queue: str) -> None:
    """One dispatcher per queue at a time, across processes, until the transaction ends. (SQLite
    needs none: its transactions here take the database's write lock when they begin.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"highlighter.dispatch.{queue}"])


def _release_finished(queue: str) -> None:
    """Free the slots of sent tasks whose video or job no longer needs them."""
    now = timezone.now()
    holding = QueuedTask.objects.filter(queue=queue, finished_at=None, sent_at__isnull=False)
    for task, targets in ACTIVE_TARGETS.items():
        if _task_queues()[task] == queue:
            holding.filter(task=task).exclude(object_id__in=targets().values("pk")).update(finished_at=now)


def _take_turns(queue: str, free: int) -> list[QueuedTask]:
    """Mark up to ``free`` waiting tasks sent, one per owner in turn, owners served longest ago first."""
    waiting = QueuedTask.objects.filter(queue=queue, finished_at=None, sent_at=None)
    first_waiting = dict(
        waiting.order_by().values("video__owner").annotate(first=models.Min("pk")).values_list("video__owner", "first")
    )
    if free <= 0 or not first_waiting:
        return []
    last_served: dict[int, datetime] = dict(
        QueuedTask.objects.filter(queue=queue, sent_at__isnull=False, video__owner__in=first_waiting)
        .order_by()
        .values("video__owner")
        .annotate(last=models.Max("sent_at"))
        .values_list("video__owner", "last")
    )
    never = datetime.min.replace(tzinfo=dt_timezone.utc)
    chosen: list[QueuedTask] = []
    while len(chosen) < free and first_waiting:
        owner = min(first_waiting, key=lambda o: (last_served.get(o, never), first_waiting[o]))
        row = waiting.filter(video__owner=owner).order_by("pk").first()  # the rows chosen are sent: not waiting
        if row is None:  # this owner has nothing more waiting
            del first_waiting[owner]
            continue
        row.sent_at = last_served[owner] = timezone.now()
        QueuedTask.objects.filter(pk=row.pk).update(sent_at=row.sent_at)
        chosen.append(row)
    return chosen


def _send(rows: list[QueuedTask]) -> None:
    """Hand the tasks to the broker; one it cannot take now is resent by the next ``sweep``."""
    from workers.celery_app import app

    for row in rows:
        try:
            app.send_task(row.task, args=[str(row.object_id)], queue=row.queue)
        except OperationalError:
            log.exception("the broker refused %s for %s; the next sweep resends it", row.task, row.object_id)
