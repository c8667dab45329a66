"""Reconciliation: where S3, the job rows and the broker disagree after a fault.

The workers recover what they can see (a claimed job whose worker died is re-sent by the sweeper in
``recovery.py``), but some damage is invisible to them:

- **orphans**: objects under ``users/`` that no row refers to (a video deleted while a job wrote to it,
  a job killed between its upload and its row update, an upload whose row was never committed);
- **missing files**: rows that refer to an object the bucket no longer has;
- **stuck work**: a video or job in a non-final state with no task for it in the broker, no worker
  reporting on it and no earlier step that will send one (e.g. the broker was down when the upload
  committed, or restarted without its queue).

``reconcile()`` lists all three; with ``fix=True`` it deletes the orphans and fails the rows with a
message the marketer can act on. ``manage.py reconcile [--fix]`` runs it. Anything younger than
``grace_seconds`` is left alone: an upload lands in S3 just before its row is committed, and a task is
sent just after.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.videos import services, storage
from webapp.videos.models import ACTIVE, JobStatus, QueuedTask, RenderJob, TrackJob, Video

LOST_INGEST = "Preparing this video stopped on our side and could not resume. Upload the video again."
LOST_PREVIEW = "Finding the product stopped on our side and could not resume. Upload the video again."
LOST_TRACK = "Tracking stopped on our side and could not resume. Upload the video again."
LOST_RENDER = "Rendering stopped on our side and could not resume. Choose this format again to render it."
MISSING_VIDEO = "This video's files were lost from our storage. Upload it again."
MISSING_TRACK = "This track's files were lost from our storage. Upload the video again to track it."
MISSING_RENDER = "This output's file was lost from our storage. Choose this format again to render it."


@dataclass(frozen=True)
class Missing:
    row: str  # "video", "track" or "render"
    id: str
    key: str


@dataclass(frozen=True)
class Stuck:
    work: str  # "ingest", "preview", "track" or "render"
    id: str
    status: str


@dataclass
class Report:
    orphans: list[str] = field(default_factory=list)  # S3 keys
    missing: list[Missing] = field(default_factory=list)
    stuck: list[Stuck] = field(default_factory=list)
    broker_checked: bool = True  # False: the broker keeps no record of delivered tasks; stuck not judged
    fixed: bool = False

    @property
    def clean(self) -> bool:
        return not (self.orphans or self.missing or self.stuck)

    def to_dict(self) -> dict:
        return {**asdict(self), "clean": self.clean}


def live_task_ids() -> set[str] | None:
    """The first argument (a video or job id) of every task waiting in the broker or delivered and not
    yet acknowledged; None for a broker other than Redis (the file broker forgets delivered tasks)."""
    import redis

    from workers.celery_app import TASK_QUEUES, app

    url = app.conf.broker_url
    if not url.startswith(("redis://", "rediss://")):
        return None
    transport = app.conf.broker_transport_options or {}
    steps = transport.get("priority_steps", [0, 3, 6, 9])
    client = redis.Redis.from_url(url)
    # kombu's Redis layout: one list per queue and priority step, and a hash of delivered messages.
    raw: list[bytes] = []
    for queue in set(TASK_QUEUES.values()):
        for step in steps:
            raw += client.lrange(f"{queue}\x06\x16{step}" if step else queue, 0, -1)
    raw += [json.dumps(json.loads(v)[0]).encode() for v in client.hvals(transport.get("unacked_key", "unacked"))]
    ids: set[str] = set()
    for message in raw:
        args, _kwargs, _embed = json.loads(base64.b64decode(json.loads(message)["body"]))
        if args:
            ids.add(str(args[0]))
    return ids


def _video_keys(video: Video) -> list[str]:
    keys = [video.original_key, video.mezzanine_key, video.proxy_key, video.thumbnail_key]
    keys += [f.get("thumbnail_key", "") for f in video.preview.get("frames", [])]
    return [k for k in keys if k]


def _track_keys(job: TrackJob) -> list[str]:
    return [k for k in [job.track_key, *job.exports.values()] if k]


def _stuck_work(videos: list[Video], tracks: list[TrackJob], renders: list[RenderJob], cutoff: datetime) -> list[Stuck]:
    """Active work no task will finish: nothing in the broker, no fresh heartbeat, no step before it
    that will send one. Work last touched after ``cutoff`` is not judged yet."""
    live = live_task_ids()
    if live is None:
        return []
    # Tasks the fair dispatcher holds until their owner's turn, or sent and not yet received: it sends
    # (or resends) them itself (webapp.videos.dispatch).
    live |= {str(pk) for pk in QueuedTask.objects.filter(finished_at=None, started_at=None).values_list("object_id", flat=True)}
    reporting = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)

    def idle(pk: uuid.UUID, since: datetime | None) -> bool:
        return str(pk) not in live and (since is None or since < min(cutoff, reporting))

    stuck: list[Stuck] = []
    by_id = {v.pk: v for v in videos}
    for v in videos:
        since = v.heartbeat_at or v.created_at
        if v.status in (Video.Status.UPLOADED, Video.Status.INGESTING) and idle(v.pk, since):
            stuck.append(Stuck("ingest", str(v.pk), v.status))
        elif v.status == Video.Status.READY and not v.confirmed_at and v.preview.get("status") == "running":
            if idle(v.pk, since):
                stuck.append(Stuck("preview", str(v.pk), "running"))
    done_tracks = {t.pk: t.status for t in tracks}
    for t in tracks:
        video = by_id[t.video_id]
        waiting = video.status in (Video.Status.UPLOADED, Video.Status.INGESTING) or (
            video.status == Video.Status.READY and t.kind == TrackJob.Kind.INITIAL and not video.confirmed_at
        )
        if t.status in ACTIVE and not waiting and idle(t.pk, t.heartbeat_at or t.created_at):
            stuck.append(Stuck("track", str(t.pk), t.status))
    for r in renders:
        waiting = done_tracks[r.track_job_id] in ACTIVE
        if r.status in ACTIVE and not waiting and idle(r.pk, r.heartbeat_at or r.created_at):
            stuck.append(Stuck("render", str(r.pk), r.status))
    return stuck


def reconcile(*, fix: bool = False, owner_id: int | None = None, grace_seconds: int | None = None) -> Report:
    """Compare the bucket, the rows and the broker for every user (or only ``owner_id``'s files and rows).

    ``grace_seconds`` (default ``JOB_STALE_SECONDS``): objects written and work touched more recently
    are not judged. With ``fix``: orphans are deleted; rows whose files are gone, and stuck work, are
    marked failed with a message saying what to do (and their file keys cleared), so a second pass
    finds nothing.
    """
    grace = settings.JOB_STALE_SECONDS if grace_seconds is None else grace_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    prefix = "users/" if owner_id is None else f"users/{owner_id}/"
    listed = storage.list_objects(prefix)  # before the rows: an object written meanwhile has its row too

    videos = Video.objects.all() if owner_id is None else Video.objects.filter(owner_id=owner_id)
    videos = list(videos)
    tracks = list(TrackJob.objects.filter(video__in=videos))
    renders = list(RenderJob.objects.filter(track_job__in=tracks))
    # A prefix with work under way may hold files its rows will name only when the work ends.
    video_of_track = {t.pk: t.video_id for t in tracks}
    active = {t.video_id for t in tracks if t.status in ACTIVE}
    active |= {video_of_track[r.track_job_id] for r in renders if r.status in ACTIVE}
    active |= {v.pk for v in videos if v.status in (Video.Status.UPLOADED, Video.Status.INGESTING)}
    active |= {v.pk for v in videos if v.preview.get("status") == "running"}
    busy = tuple(v.key_prefix for v in videos if v.pk in active)

    owners: dict[str, tuple[str, models.Model]] = {}
    for v in videos:
        owners.update((k, ("video", v)) for k in _video_keys(v))
    for t in tracks:
        owners.update((k, ("track", t)) for k in _track_keys(t))
    for r in renders:
        if r.output_key:
            owners[r.output_key] = ("render", r)

    report = Report()
    report.orphans = sorted(
        key
        for key, written in listed.items()
        if key not in owners and written < cutoff and not key.startswith(busy)
    )
    present = storage.list_objects(prefix)  # again: a file written between the first listing and the rows
    report.missing = [Missing(row, str(obj.pk), key) for key, (row, obj) in owners.items() if key not in present]
    report.stuck = _stuck_work(videos, tracks, renders, cutoff)
    report.broker_checked = live_task_ids() is not None
    if fix:
        _fix(report)
        report.fixed = True
    return report


_VIDEO_IN_KEY = re.compile(r"users/\d+/videos/([0-9a-f-]{36})/")


def _fail_jobs(model: type[TrackJob] | type[RenderJob], pk: str, error: str, **fields) -> None:
    model.objects.filter(pk=pk).exclude(status=JobStatus.CANCELLED).update(
        status=JobStatus.FAILED, error=error, finished_at=timezone.now(), **fields
    )
    if model is TrackJob:
        services.track_job_failed(job=TrackJob.objects.get(pk=pk), error=error)


def _fix(report: Report) -> None:
    storage.delete_keys(report.orphans)
    # The owners' storage quotas count what S3 holds: count again where files went or were found gone.
    for video_id in {m.group(1) for key in report.orphans if (m := _VIDEO_IN_KEY.match(key))}:
        services.video_storage_recount(object_id=video_id)
    for s in report.stuck:
        if s.work == "ingest":
            services.video_ingest_failed(video=Video.objects.get(pk=s.id), error=LOST_INGEST)
        elif s.work == "preview":
            Video.objects.filter(pk=s.id).update(preview={"status": "failed", "frames": [], "error": LOST_PREVIEW})
        elif s.work == "track":
            _fail_jobs(TrackJob, s.id, LOST_TRACK)
        else:
            _fail_jobs(RenderJob, s.id, LOST_RENDER)
    # After the stuck work: a lost file is the more precise explanation.
    for m in report.missing:
        if m.row == "video":
            video = Video.objects.get(pk=m.id)
            files = [f for f in ("original_key", "mezzanine_key", "proxy_key", "thumbnail_key") if getattr(video, f) == m.key]
            if files:
                services.video_ingest_failed(video=video, error=MISSING_VIDEO)
                Video.objects.filter(pk=m.id).update(**{f: "" for f in files})
            else:  # a key-frame thumbnail: only the preview is lost
                Video.objects.filter(pk=m.id).update(preview={"status": "failed", "frames": [], "error": MISSING_VIDEO})
        elif m.row == "track":
            _fail_jobs(TrackJob, m.id, MISSING_TRACK, track_key="", exports={})
        else:
            _fail_jobs(RenderJob, m.id, MISSING_RENDER, output_key="")
        services.video_storage_recount(object_id=m.id)
