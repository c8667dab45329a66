"""The Celery application. Two queues: ``gpu`` for tracking, ``cpu`` for ingest and rendering."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Every task by the name it is sent by, and its queue. The web sends tasks by these names
# (webapp.videos.services) and never imports workers.tasks, which calls the web's services.
TASK_QUEUES = {
    "workers.tasks.ingest_video": "cpu",
    "workers.tasks.preview_video": "cpu",
    "workers.tasks.track_video": "gpu",
    "workers.tasks.edit_track": "cpu",
    "workers.tasks.render_video": "cpu",
}

# The worker imports the tasks when it starts; a process that only sends them (the web) never does.
app = Celery("highlighter", include=["workers.tasks"])
app.conf.update(
    broker_url=settings.CELERY_BROKER_URL,
    task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
    task_default_queue="cpu",
    # A job is acknowledged only when it finished, and goes back to the queue if its worker dies,
    # so a killed worker loses nothing; the job rows' conditional claims keep the work single.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if settings.CELERY_BROKER_URL.startswith("filesystem://"):
    folder = str(settings.BROKER_FOLDER)
    os.makedirs(folder, exist_ok=True)
    app.conf.broker_transport_options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "processed_folder": os.path.join(folder, "processed"),
        # Without this, broadcast control messages land in ./control of the working directory.
        "control_folder": os.path.join(folder, "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacknowledged task after this long: above the longest job, or long jobs run twice.
    app.conf.broker_transport_options = {"visibility_timeout": settings.JOB_VISIBILITY_TIMEOUT}


@worker_ready.connect
def _recover_stale_jobs(**_kwargs) -> None:
    """Jobs whose worker died (killed, restarted, machine lost) are picked up again; see recovery.py."""
    from webapp.videos import dispatch
    from workers.recovery import requeue_stale_jobs, start_sweeper

    requeue_stale_jobs()
    dispatch.sweep()  # and tasks queued while no worker ran, or lost by a broker that restarted empty
    start_sweeper()


# Fair dispatch (webapp.videos.dispatch): a task's end frees its slot for the next owner's task.
@task_prerun.connect
def _task_received(sender=None, args=(), **_kwargs) -> None:
    from webapp.videos import dispatch

    dispatch.started(task=sender.name, object_id=args[0])


@task_postrun.connect
def _next_task(**_kwargs) -> None:
    from webapp.videos import dispatch

    dispatch.run()


@task_postrun.connect
def _count_stored_files(sender=None, args=(), **_kwargs) -> None:
    """Whatever the task wrote to S3 counts against its owner's storage quota (webapp.videos.quotas)."""
    from webapp.videos import services

    services.video_storage_recount(object_id=args[0])
