"""Celery tasks: load the row, claim it, call the engine, store the results, report progress.

Each task is safe to deliver twice: the claim is a conditional update, so a second delivery finds the
job running (with a live heartbeat) or finished and returns. A delivery after a worker died finds the
heartbeat stale and takes the job over.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from highlighter import media
from highlighter.errors import Cancelled, HighlighterError
from highlighter.render import render_video as engine_render
from highlighter.track import track_video as engine_track
from highlighter.track.prompt import Prompt
from highlighter.trackfile import Track
from webapp.videos import services, storage
from webapp.videos.models import Job, JobStatus, RenderJob, TrackJob, Video
from workers.celery_app import app

log = logging.getLogger(__name__)

STORAGE_RETRIES = 5
INTERNAL_ERROR = "Something went wrong on our side while {what}. Try again; if it happens again, contact support."


class ProgressReporter:
    """A progress callback for the engine: maps 0..1 into ``[start, end]`` of the job and writes it
    at most every ``interval`` seconds. Raises ``Cancelled`` when the job was cancelled meanwhile."""

    def __init__(self, job: Job, stage: str, *, start: float = 0.0, end: float = 1.0, interval: float = 0.5):
        self.job, self.stage, self.start, self.end, self.interval = job, stage, start, end, interval
        self._last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and fraction < 1.0:
            return
        self._last = now
        if not self.job.report(stage=self.stage, progress=self.start + (self.end - self.start) * fraction):
            raise Cancelled("The job was cancelled.")


def _work_dir() -> tempfile.TemporaryDirectory:
    Path(settings.WORK_DIR).mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=settings.WORK_DIR)


def _heartbeat_video(video: Video) -> Callable[[float], None]:
    last = [0.0]

    def beat(_fraction: float) -> None:
        if time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            Video.objects.filter(pk=video.pk).update(heartbeat_at=timezone.now())

    return beat


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def ingest_video(self, video_id: str) -> None:
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.claim_ingest(stale_seconds=settings.JOB_STALE_SECONDS):
        return
    try:
        with _work_dir() as tmp:
            original = Path(tmp) / "original"
            mezzanine, proxy, thumb = Path(tmp) / "video.mp4", Path(tmp) / "proxy.mp4", Path(tmp) / "thumb.jpg"
            storage.download_file(video.original_key, original)
            info = media.normalise(original, mezzanine, progress=_heartbeat_video(video))
            media.make_proxy(mezzanine, proxy)
            media.write_jpeg(media.extract_frame(mezzanine, 0), thumb)
            prefix = video.key_prefix
            storage.upload_file(mezzanine, prefix + "video.mp4", content_type="video/mp4")
            storage.upload_file(proxy, prefix + "proxy.mp4", content_type="video/mp4")
            storage.upload_file(thumb, prefix + "thumbnail.jpg", content_type="image/jpeg")
    except HighlighterError as e:
        services.video_ingest_failed(video=video, error=str(e))
        return
    except storage.StorageError as e:
        Video.objects.filter(pk=video.pk).update(status=Video.Status.UPLOADED)
        if self.request.retries >= STORAGE_RETRIES:
            services.video_ingest_failed(video=video, error=str(e))
            return
        raise self.retry(countdown=2**self.request.retries * 5) from e
    except Exception:
        log.exception("ingest of video %s failed", video_id)
        services.video_ingest_failed(video=video, error=INTERNAL_ERROR.format(what="preparing your video"))
        return
    Video.objects.filter(pk=video.pk).update(
        status=Video.Status.READY,
        info=info.to_dict(),
        mezzanine_key=prefix + "video.mp4",
        proxy_key=prefix + "proxy.mp4",
        thumbnail_key=prefix + "thumbnail.jpg",
        heartbeat_at=timezone.now(),
    )
    services.video_ingest_done(video=video)


def _run_job(task, job: Job, what: str, work: Callable[[], dict]) -> None:
    """Run ``work`` for a claimed job and end it: done with the fields ``work`` returns, failed with
    a message for the marketer, cancelled, or released for a retry when storage is out."""
    try:
        fields = work()
    except Cancelled:
        job.finish(status=JobStatus.CANCELLED, error="Cancelled.")
        return
    except HighlighterError as e:
        job.finish(status=JobStatus.FAILED, error=str(e))
        return
    except storage.StorageError as e:
        if task.request.retries >= STORAGE_RETRIES:
            job.finish(status=JobStatus.FAILED, error=str(e))
            return
        job.release()
        raise task.retry(countdown=2**task.request.retries * 5) from e
    except Exception:
        log.exception("%s %s failed", type(job).__name__, job.pk)
        job.finish(status=JobStatus.FAILED, error=INTERNAL_ERROR.format(what=what))
        return
    job.finish(status=JobStatus.DONE, **fields)


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def track_video(self, job_id: str) -> None:
    job = TrackJob.objects.select_related("video").filter(pk=job_id).first()
    if job is None or not job.claim(stale_seconds=settings.JOB_STALE_SECONDS):
        return

    def work() -> dict:
        video = job.video
        with _work_dir() as tmp:
            path = Path(tmp) / "video.mp4"
            job.report(stage="downloading", progress=0.0)
            storage.download_file(video.mezzanine_key, path)
            started = time.monotonic()
            track = engine_track(
                path,
                Prompt.from_dict(job.prompt),
                backend=job.backend if job.backend != "auto" else settings.TRACK_BACKEND,
                progress=ProgressReporter(job, "tracking"),
            )
            seconds = time.monotonic() - started
            key = f"{video.key_prefix}tracks/{job.pk}.json"
            storage.put_bytes(track.to_json().encode(), key, content_type="application/json")
        return {
            "track_key": key,
            "backend_used": str(track.meta.get("backend", "")),
            "summary": {
                "visible_fraction": round(track.visible_fraction(), 4),
                "frames": len(track.frames),
                "seconds": round(seconds, 2),
                "fps": round(len(track.frames) / seconds, 2) if seconds else None,
            },
        }

    _run_job(self, job, "tracking the product", work)
    job.refresh_from_db()
    if job.status == JobStatus.DONE:
        services.track_job_done(job=job)
    elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        services.track_job_failed(job=job, error=job.error)


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def render_video(self, job_id: str) -> None:
    job = RenderJob.objects.select_related("track_job__video").filter(pk=job_id).first()
    if job is None or not job.claim(stale_seconds=settings.JOB_STALE_SECONDS):
        return

    def work() -> dict:
        video = job.track_job.video
        with _work_dir() as tmp:
            path, out = Path(tmp) / "video.mp4", Path(tmp) / "out.mp4"
            job.report(stage="downloading", progress=0.0)
            storage.download_file(video.mezzanine_key, path)
            track = Track.from_json(storage.get_bytes(job.track_job.track_key))
            info = engine_render(
                path,
                track,
                out,
                styles=tuple(job.style.split(",")),
                aspect=None if job.aspect == RenderJob.Aspect.SOURCE else job.aspect,
                progress=ProgressReporter(job, "rendering"),
            )
            key = f"{video.key_prefix}renders/{job.pk}.mp4"
            storage.upload_file(out, key, content_type="video/mp4")
        return {"output_key": key, "output_info": info.to_dict()}

    _run_job(self, job, "rendering your video", work)
