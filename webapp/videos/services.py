"""Writes: everything that changes videos and jobs goes through these functions."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from highlighter import media
from highlighter.errors import HighlighterError
from highlighter.track.prompt import Prompt
from webapp.videos import storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video, video_prefix

log = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"}


def _extension(name: str) -> str:
    ext = Path(name).suffix.lower()
    return ext if ext in ALLOWED_EXTENSIONS else ".bin"


def video_check_upload(*, path: str) -> media.VideoInfo:
    """Probe an uploaded file before anything is stored; ``ValidationError`` says what is wrong."""
    try:
        info = media.probe(path)
        media.check_decodable(path, info)
    except HighlighterError as e:
        raise ValidationError(str(e)) from e
    return info


def video_create(
    *,
    owner: AbstractBaseUser,
    uploaded_file: UploadedFile,
    description: str,
    style: str,
    aspect: str,
) -> Video:
    """Check, store and queue an uploaded video with its first tracking and rendering jobs.

    Nothing is stored or queued unless the file is a readable video; if storing fails half-way,
    what was stored is removed.
    """
    try:
        prompt = Prompt(text=description.strip())
    except HighlighterError as e:
        raise ValidationError(str(e)) from e
    path = uploaded_file.temporary_file_path()
    info = video_check_upload(path=path)

    video_id = uuid.uuid4()
    key = f"{video_prefix(owner.pk, video_id)}original{_extension(uploaded_file.name)}"
    # Upload before the transaction: a long transfer must not hold a database transaction open.
    storage.upload_file(path, key, content_type=uploaded_file.content_type or "application/octet-stream")
    try:
        with transaction.atomic():
            video = Video(
                id=video_id,
                owner=owner,
                title=Path(uploaded_file.name).name[:255] or "video",
                original_key=key,
                original_size=uploaded_file.size,
                probe=info.to_dict(),
            )
            video.full_clean()
            video.save()
            track_job = TrackJob.objects.create(video=video, prompt=prompt.to_dict())
            RenderJob.objects.create(track_job=track_job, style=style, aspect=aspect)
            video_enqueue_ingest(video=video)
    except Exception:
        storage.delete_prefix(video_prefix(owner.pk, video_id))
        raise
    return video


def video_enqueue_ingest(*, video: Video) -> None:
    from workers.tasks import ingest_video

    ingest_video.delay_on_commit(str(video.id))


def track_job_enqueue(*, job: TrackJob) -> None:
    from workers.tasks import track_video

    track_video.delay_on_commit(str(job.id))


def render_job_enqueue(*, job: RenderJob) -> None:
    from workers.tasks import render_video

    render_video.delay_on_commit(str(job.id))


def video_ingest_failed(*, video: Video, error: str) -> None:
    """The video cannot be prepared: its waiting jobs fail with the same explanation."""
    with transaction.atomic():
        Video.objects.filter(pk=video.pk).update(status=Video.Status.FAILED, error=error)
        tracks = TrackJob.objects.filter(video=video, status=JobStatus.QUEUED)
        RenderJob.objects.filter(track_job__in=tracks, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED, error=error
        )
        tracks.update(status=JobStatus.FAILED, error=error)


def video_ingest_done(*, video: Video) -> None:
    """The video is ready: queue its waiting tracking jobs."""
    with transaction.atomic():
        for job in TrackJob.objects.filter(video=video, status=JobStatus.QUEUED):
            track_job_enqueue(job=job)


def track_job_done(*, job: TrackJob) -> None:
    """The track is ready: queue the renders that wait for it."""
    with transaction.atomic():
        for render in job.render_jobs.filter(status=JobStatus.QUEUED):
            render_job_enqueue(job=render)


def track_job_failed(*, job: TrackJob, error: str) -> None:
    job.render_jobs.filter(status=JobStatus.QUEUED).update(status=JobStatus.FAILED, error=error)


def video_delete(*, video: Video) -> None:
    """Remove a video, its jobs and every file under its prefix."""
    prefix = video.key_prefix
    video.delete()
    storage.delete_prefix(prefix)
