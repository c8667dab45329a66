"""Writes: everything that changes videos and jobs goes through these functions."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone

from highlighter import media
from highlighter.errors import HighlighterError
from highlighter.track.prompt import Prompt
from webapp.videos import dispatch, quotas, storage
from webapp.videos.models import JobStatus, RenderJob, StoredObject, TrackJob, Video, video_prefix

log = logging.getLogger(__name__)

# The original's key ends with one of these, and it is stored with that type: the browser's name and
# Content-Type header are the uploader's word, so neither is passed on as it came.
ORIGINAL_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
}


def _extension(name: str) -> str:
    ext = Path(name).suffix.lower()
    return ext if ext in ORIGINAL_CONTENT_TYPES else ".bin"


def video_limits() -> media.Limits:
    """The largest video we take in (settings ``UPLOAD_MAX_*``), for the upload check and the ingest."""
    return media.Limits(
        max_side=settings.UPLOAD_MAX_SIDE,
        max_pixels=settings.UPLOAD_MAX_PIXELS,
        max_fps=settings.UPLOAD_MAX_FPS,
        max_seconds=settings.UPLOAD_MAX_SECONDS,
        max_frames=settings.UPLOAD_MAX_FRAMES,
    )


def video_check_upload(*, path: str) -> media.VideoInfo:
    """Probe an uploaded file before anything is stored; ``ValidationError`` says what is wrong."""
    limits = video_limits()
    try:
        info = media.probe(path)
        limits.check(info)  # before any decoding: a frame over the limits is never decoded here
        media.check_decodable(path, info, limits=limits)
    except HighlighterError as e:
        raise ValidationError(str(e)) from e
    return info


def video_create(
    *,
    owner: AbstractBaseUser,
    uploaded_file: UploadedFile,
    description: str,
    styles: list[str],
    aspects: list[str],
    motion: str = "default",
    auto_confirm: bool = False,
) -> Video:
    """Check, store and queue an uploaded video with its first tracking job and one render per aspect.

    Tracking waits for the marketer to confirm the product on a few key frames, unless
    ``auto_confirm``. Nothing is stored or queued unless the file is a readable video that fits the
    owner's quotas (``QuotaExceeded`` otherwise); if storing fails half-way, what was stored is removed.
    """
    new_jobs = 1 + len(aspects)
    quotas.check(user=owner, new_bytes=uploaded_file.size, new_jobs=new_jobs)
    try:
        prompt = Prompt(text=description.strip())
    except HighlighterError as e:
        raise ValidationError(str(e)) from e
    path = uploaded_file.temporary_file_path()
    info = video_check_upload(path=path)

    video_id = uuid.uuid4()
    extension = _extension(uploaded_file.name)
    key = f"{video_prefix(owner.pk, video_id)}original{extension}"
    # Upload before the transaction: a long transfer must not hold a database transaction open.
    storage.upload_file(path, key, content_type=ORIGINAL_CONTENT_TYPES.get(extension, "application/octet-stream"))
    try:
        with transaction.atomic():
            # Again, holding the account's lock: another upload may have taken the room meanwhile.
            quotas.check(user=owner, new_bytes=uploaded_file.size, new_jobs=new_jobs)
            video = Video(
                id=video_id,
                owner=owner,
                title=Path(uploaded_file.name).name[:255] or "video",
                original_key=key,
                original_size=uploaded_file.size,
                probe=info.to_dict(),
                confirmed_at=timezone.now() if auto_confirm else None,
            )
            video.full_clean()
            video.save()
            StoredObject.objects.create(video=video, key=key, size=uploaded_file.size)
            track_job = TrackJob.objects.create(video=video, prompt=prompt.to_dict())
            video.current_track = track_job
            video.save(update_fields=["current_track"])
            for aspect in aspects:
                RenderJob.objects.create(track_job=track_job, style=",".join(styles), aspect=aspect, motion=motion)
            video_enqueue_ingest(video=video)
    except Exception:
        storage.delete_prefix(video_prefix(owner.pk, video_id))
        raise
    return video


# Tasks wait for their owner's turn (``dispatch``), sent by name once the transaction commits, so that
# no worker looks for a row not yet committed, or rolled back. By name (``TASK_QUEUES``): the web never
# imports ``workers.tasks``, which calls these services.


def video_enqueue_ingest(*, video: Video) -> None:
    dispatch.enqueue(task="workers.tasks.ingest_video", object_id=video.id, video_id=video.id)


def track_job_enqueue(*, job: TrackJob) -> None:
    dispatch.enqueue(task="workers.tasks.track_video", object_id=job.id, video_id=job.video_id)


def track_edit_enqueue(*, job: TrackJob) -> None:
    dispatch.enqueue(task="workers.tasks.edit_track", object_id=job.id, video_id=job.video_id)


def render_job_enqueue(*, job: RenderJob) -> None:
    dispatch.enqueue(task="workers.tasks.render_video", object_id=job.id, video_id=job.track_job.video_id)


def video_enqueue_preview(*, video: Video) -> None:
    dispatch.enqueue(task="workers.tasks.preview_video", object_id=video.id, video_id=video.id)


def video_storage_recount(*, object_id: uuid.UUID | str) -> None:
    """Count what S3 holds under the prefix of a video (``object_id``: the video or one of its jobs)
    against its owner's storage quota.

    Workers call it when each task ends, so every file a task wrote counts, however it was written,
    and a file written twice counts once. A video deleted meanwhile counts nothing: its row is locked
    while the counts change, so a delete waits for them or they find it gone.
    """
    video = (
        Video.objects.filter(pk=object_id).first()
        or Video.objects.filter(track_jobs=object_id).first()
        or Video.objects.filter(track_jobs__render_jobs=object_id).first()
    )
    if video is None:
        return
    sizes = storage.object_sizes(video.key_prefix)  # outside the lock: a listing takes a while
    with transaction.atomic():
        if not Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first():
            return
        StoredObject.objects.filter(video=video).exclude(key__in=sizes).delete()
        StoredObject.objects.bulk_create(
            [StoredObject(video=video, key=key, size=size) for key, size in sizes.items()],
            update_conflicts=True, unique_fields=["key"], update_fields=["video", "size"],
        )  # fmt: skip


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
    """The video is ready: queue its tracking if the product is confirmed, else find it on key frames."""
    video.refresh_from_db(fields=["confirmed_at"])
    with transaction.atomic():
        if video.confirmed_at is None:
            Video.objects.filter(pk=video.pk).update(preview={"status": "running", "frames": [], "error": ""})
            video_enqueue_preview(video=video)
            return
        for job in TrackJob.objects.filter(video=video, status=JobStatus.QUEUED, cancel_requested=False):
            track_job_enqueue(job=job)


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what} must be a number.")
    return float(value)


def _frame_number(video: Video, frame) -> int:
    count = int(video.info.get("frame_count") or 0)
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < count:
        raise ValidationError(f"Choose a frame of this video: a whole number from 0 to {max(count - 1, 0)}.")
    return frame


def _clicks(video: Video, frame: int, points, boxes) -> tuple[list, list]:
    """Clicks ``[[x, y, positive]]`` and boxes ``[[x1, y1, x2, y2]]`` in pixels of the normalised video,
    checked to lie on it; ``ValidationError`` says what is wrong."""
    width, height = int(video.info.get("width") or 0), int(video.info.get("height") or 0)
    if not isinstance(points, list) or not isinstance(boxes, list):
        raise ValidationError("Send the clicks as a list of [x, y, positive] and the boxes as a list of [x1, y1, x2, y2].")
    if not points and not boxes:
        raise ValidationError("Click on the product, click on what is not the product, or draw a box around it.")
    clean_points, clean_boxes = [], []
    for p in points:
        if not isinstance(p, list) or len(p) not in (2, 3):
            raise ValidationError("A click is [x, y, positive], for example [320, 180, 1].")
        x, y = _number(p[0], "A click's x"), _number(p[1], "A click's y")
        if not (0 <= x < width and 0 <= y < height):
            raise ValidationError(f"The click {x:g},{y:g} is outside the video ({width}x{height}).")
        clean_points.append([x, y, frame, int(bool(p[2])) if len(p) == 3 else 1])
    for b in boxes:
        if not isinstance(b, list) or len(b) != 4:
            raise ValidationError("A box is [x1, y1, x2, y2], its top-left and bottom-right corners.")
        x1, y1, x2, y2 = (_number(v, "A box corner") for v in b)
        if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
            raise ValidationError(f"The box must go from its top-left to its bottom-right corner, inside {width}x{height}.")
        clean_boxes.append([x1, y1, x2, y2, frame])
    return clean_points, clean_boxes


def video_confirm(
    *, video: Video, frame: int | None = None, point: list | None = None, box: list | None = None
) -> TrackJob:
    """The marketer confirmed the product (a found or drawn ``box`` ``[x1, y1, x2, y2]``, or a click
    ``point`` ``[x, y]``, on ``frame``; nothing: go by the description): start tracking.

    A second confirmation changes nothing. ``ValidationError`` for clicks or boxes off the video.
    """
    job = video.current_track
    if job is None or job.kind != TrackJob.Kind.INITIAL:
        raise ValidationError("This video has no first tracking run to start.")
    prompt = dict(job.prompt)
    if point is not None or box is not None:
        frame = _frame_number(video, frame)
        points, boxes = _clicks(video, frame, [point] if point is not None else [], [box] if box is not None else [])
        prompt = {**prompt, "points": points, "boxes": boxes}
        _prompt_or_error(prompt)
    with transaction.atomic():
        confirmed = Video.objects.filter(pk=video.pk, confirmed_at__isnull=True, status=Video.Status.READY).update(
            confirmed_at=timezone.now()
        )
        if not confirmed:
            return job
        TrackJob.objects.filter(pk=job.pk).update(prompt=prompt)
        job.prompt = prompt
        track_job_enqueue(job=job)
    return job


def _prompt_or_error(prompt: dict) -> Prompt:
    try:
        return Prompt.from_dict(prompt)
    except HighlighterError as e:
        raise ValidationError(str(e)) from e


def _next_version(*, video: Video, parent: TrackJob, kind: str, correction: dict, prompt: dict) -> TrackJob:
    if parent.status != JobStatus.DONE:
        raise ValidationError("Wait until the track is ready before correcting it.")
    if TrackJob.objects.filter(video=video, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).exists():
        raise ValidationError("A correction is already running. Wait for it, or cancel it first.")
    quotas.check(user=video.owner, new_jobs=1)
    version = (TrackJob.objects.filter(video=video).aggregate(v=models.Max("version"))["v"] or 0) + 1
    job = TrackJob(
        video=video, parent=parent, kind=kind, version=version, correction=correction, prompt=prompt,
        backend=parent.backend,
    )  # fmt: skip
    job.full_clean()
    job.save()
    return job


def track_correct(*, video: Video, frame: int, points: list, boxes: list) -> TrackJob:
    """Re-track from ``frame`` with the marketer's clicks (``[x, y, positive]``) and boxes
    (``[x1, y1, x2, y2]``), pixels of the normalised video, as a new version of the current track.

    The re-run replaces the current version forwards and backwards from ``frame`` until the two agree
    (``highlighter.track.revise.splice``). ``ValidationError`` (nothing is created) for malformed
    input, a frame off the video, or while another correction runs.
    """
    parent = video.current_track
    if parent is None:
        raise ValidationError("This video has no track to correct yet.")
    frame = _frame_number(video, frame)
    new_points, new_boxes = _clicks(video, frame, points, boxes)
    prompt = {
        "text": parent.prompt.get("text", ""),
        "points": [*parent.prompt.get("points", []), *new_points],
        "boxes": [*parent.prompt.get("boxes", []), *new_boxes],
    }
    _prompt_or_error(prompt)
    correction = {"frame": frame, "points": [p[:2] + p[3:] for p in new_points], "boxes": [b[:4] for b in new_boxes]}
    with transaction.atomic():
        job = _next_version(video=video, parent=parent, kind=TrackJob.Kind.CORRECTION, correction=correction, prompt=prompt)
        track_job_enqueue(job=job)
    return job


def track_hide(*, video: Video, start: int, end: int) -> TrackJob:
    """Mark frames ``start..end`` (inclusive) "product not in shot", as a new version."""
    parent = video.current_track
    if parent is None:
        raise ValidationError("This video has no track to correct yet.")
    start, end = _frame_number(video, start), _frame_number(video, end)
    if end < start:
        raise ValidationError("The stretch must end after it starts.")
    with transaction.atomic():
        job = _next_version(
            video=video, parent=parent, kind=TrackJob.Kind.HIDE, correction={"start": start, "end": end},
            prompt=parent.prompt,
        )  # fmt: skip
        track_edit_enqueue(job=job)
    return job


def track_version_done(*, job: TrackJob) -> None:
    """A new version is ready: it becomes the one the marketer sees, and its waiting renders start."""
    with transaction.atomic():
        if job.kind != TrackJob.Kind.INITIAL:
            Video.objects.filter(pk=job.video_id).update(current_track=job)
        for render in job.render_jobs.filter(status=JobStatus.QUEUED):
            render_job_enqueue(job=render)


track_job_done = track_version_done


def track_job_failed(*, job: TrackJob, error: str) -> None:
    job.render_jobs.filter(status=JobStatus.QUEUED).update(status=JobStatus.FAILED, error=error)


def track_undo(*, video: Video) -> TrackJob:
    """Go back to the version before the current one; ``ValidationError`` at the first version."""
    current = video.current_track
    if current is None or current.parent_id is None:
        raise ValidationError("This is the first version of the track: there is nothing to undo.")
    Video.objects.filter(pk=video.pk, current_track=current).update(current_track=current.parent_id)
    video.refresh_from_db(fields=["current_track"])
    return video.current_track


def renders_create(*, video: Video, styles: list[str], aspects: list[str], motion: str = "default") -> list[RenderJob]:
    """One render per aspect of the current track version, each a separate job; no re-tracking."""
    track = video.current_track
    if track is None or track.status != JobStatus.DONE:
        raise ValidationError("Wait until the track is ready before rendering.")
    with transaction.atomic():
        quotas.check(user=video.owner, new_jobs=len(aspects))
        jobs = [
            RenderJob.objects.create(track_job=track, style=",".join(styles), aspect=aspect, motion=motion)
            for aspect in aspects
        ]
        for job in jobs:
            render_job_enqueue(job=job)
    return jobs


def job_cancel(*, job: TrackJob | RenderJob) -> None:
    """Stop a job: a queued one is cancelled now, a running one at its worker's next progress report
    (the next batch of frames). Renders waiting for a cancelled track are cancelled with it."""
    model = type(job)
    with transaction.atomic():
        model.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, cancel_requested=True, error="Cancelled.", finished_at=timezone.now()
        )
        model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
        if isinstance(job, TrackJob):
            job.render_jobs.filter(status=JobStatus.QUEUED).update(
                status=JobStatus.CANCELLED, error="Cancelled with its track.", finished_at=timezone.now()
            )
    job.refresh_from_db()


def video_delete(*, video: Video) -> None:
    """Remove a video, its jobs and every file under its prefix.

    Running jobs are asked to stop first; their workers find the rows gone at their next report.
    Its queued tasks go with it, and the slots its tasks held go to other tasks at once.
    """
    prefix = video.key_prefix
    TrackJob.objects.filter(video=video, status=JobStatus.RUNNING).update(cancel_requested=True)
    RenderJob.objects.filter(track_job__video=video, status=JobStatus.RUNNING).update(cancel_requested=True)
    video.delete()
    dispatch.run()
    storage.delete_prefix(prefix)
