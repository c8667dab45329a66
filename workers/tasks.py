"""Celery tasks: load the row, claim it, call the engine, store the results, report progress.

Each task is safe to deliver twice: the claim is a conditional update, so a second delivery finds the
job running (with a live heartbeat) or finished and returns. A delivery after a worker died finds the
heartbeat stale and takes the job over.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from highlighter import media
from highlighter.errors import Cancelled, HighlighterError
from highlighter.render import render_video as engine_render
from highlighter.track import track_video as engine_track
from highlighter.track.export import write_crop_path, write_mask_pngs
from highlighter.track.preview import find_product, key_frames
from highlighter.track.prompt import Prompt
from highlighter.track.revise import hide_range, splice
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


class OutOfWorkSpace(storage.StorageError):
    """The worker's scratch disk (``WORK_DIR``) is full. Like a storage outage it passes (other jobs
    finish and free their folders), so the job is released and retried rather than failed."""

    def __init__(self) -> None:
        super().__init__("Our servers ran out of working space for your video. Try again in a few minutes.")


def _out_of_space(error: BaseException | None) -> bool:
    """Whether ``error`` or anything that caused it is a full disk (ENOSPC, or ffmpeg saying so)."""
    while error is not None:
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left on device" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


@contextlib.contextmanager
def _work_dir() -> Iterator[str]:
    """A scratch folder for one task, removed after; a full disk inside it raises ``OutOfWorkSpace``."""
    try:
        Path(settings.WORK_DIR).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=settings.WORK_DIR) as tmp:
            yield tmp
    except Exception as e:
        if _out_of_space(e):
            raise OutOfWorkSpace() from e
        raise


def _heartbeat_video(video: Video) -> Callable[[float], None]:
    last = [0.0]

    def beat(_fraction: float) -> None:
        if time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            Video.objects.filter(pk=video.pk).update(heartbeat_at=timezone.now())

    return beat


def _discard_if_deleted(video: Video) -> bool:
    """True, after removing its files, when ``video`` was deleted while this task wrote under its prefix.

    Deleting a video removes the files it lists; a file this task uploaded after that listing would be
    left behind. Checking after the upload closes the gap: either that listing saw the file, or this
    check sees the row gone.
    """
    if Video.objects.filter(pk=video.pk).exists():
        return False
    storage.delete_prefix(video.key_prefix)
    return True


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
            info = media.normalise(
                original, mezzanine, limits=services.video_limits(), progress=_heartbeat_video(video)
            )
            media.make_proxy(mezzanine, proxy)
            media.write_jpeg(media.extract_frame(mezzanine, 0), thumb)
            prefix = video.key_prefix
            storage.upload_file(mezzanine, prefix + "video.mp4", content_type="video/mp4")
            storage.upload_file(proxy, prefix + "proxy.mp4", content_type="video/mp4")
            storage.upload_file(thumb, prefix + "thumbnail.jpg", content_type="image/jpeg")
            if _discard_if_deleted(video):
                return
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


def _store_track(job: TrackJob, track: Track, tmp: str, summary: dict) -> dict:
    """Upload a track version with its exports (PNG masks, 9:16 crop path); the job's done fields."""
    prefix = f"{job.video.key_prefix}tracks/{job.pk}"
    storage.put_bytes(track.to_json().encode(), f"{prefix}.json", content_type="application/json")
    masks, crop = Path(tmp) / "masks.zip", Path(tmp) / "crop.json"
    write_mask_pngs(track, masks)
    write_crop_path(track, crop, aspect="9:16")
    storage.upload_file(masks, f"{prefix}-masks.zip", content_type="application/zip")
    storage.upload_file(crop, f"{prefix}-crop-path.json", content_type="application/json")
    if _discard_if_deleted(job.video):
        raise Cancelled("The video was deleted.")
    return {
        "track_key": f"{prefix}.json",
        "exports": {"masks": f"{prefix}-masks.zip", "crop_path": f"{prefix}-crop-path.json"},
        "backend_used": str(track.meta.get("backend", "")),
        "summary": {"visible_fraction": round(track.visible_fraction(), 4), "frames": len(track.frames), **summary},
    }


def _version_finished(job: TrackJob) -> None:
    job = TrackJob.objects.select_related("video").filter(pk=job.pk).first()
    if job is None:  # the video was deleted while its track was made
        return
    if job.status == JobStatus.DONE:
        services.track_version_done(job=job)
    elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        services.track_job_failed(job=job, error=job.error)


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def track_video(self, job_id: str) -> None:
    """Track a video: the first run, or a correction re-run spliced into its parent version."""
    job = TrackJob.objects.select_related("video", "parent").filter(pk=job_id).first()
    if job is not None and job.kind == TrackJob.Kind.HIDE:  # e.g. re-sent by the stale-job sweeper
        edit_track.run(job_id)
        return
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
                progress=ProgressReporter(job, "tracking", end=0.95),
            )
            seconds = time.monotonic() - started
            summary = {"seconds": round(seconds, 2), "fps": round(len(track.frames) / seconds, 2) if seconds else None}
            if job.kind == TrackJob.Kind.CORRECTION:
                previous = Track.from_json(storage.get_bytes(job.parent.track_key))
                frame = int(job.correction["frame"])
                anchors = [a for a in job.anchors() if a != frame]
                track, revised = splice(previous, track, frame=frame, anchors=anchors)
                summary["revised"] = list(revised)
            job.report(stage="saving", progress=0.97)
            return _store_track(job, track, tmp, summary)

    _run_job(self, job, "tracking the product", work)
    _version_finished(job)


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def edit_track(self, job_id: str) -> None:
    """A version made by editing its parent without re-tracking: a stretch marked not in shot."""
    job = TrackJob.objects.select_related("video", "parent").filter(pk=job_id).first()
    if job is None or not job.claim(stale_seconds=settings.JOB_STALE_SECONDS):
        return

    def work() -> dict:
        previous = Track.from_json(storage.get_bytes(job.parent.track_key))
        track = hide_range(previous, start=int(job.correction["start"]), end=int(job.correction["end"]))
        with _work_dir() as tmp:
            return _store_track(job, track, tmp, {"revised": [job.correction["start"], job.correction["end"]]})

    _run_job(self, job, "editing the track", work)
    _version_finished(job)


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def preview_video(self, video_id: str) -> None:
    """Before tracking: where the description finds the product on a few key frames, as thumbnails."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.confirmed_at is not None or video.preview.get("status") == "done":
        return
    track = video.current_track
    text = track.prompt.get("text", "") if track else ""
    try:
        with _work_dir() as tmp:
            proxy = Path(tmp) / "proxy.mp4"
            storage.download_file(video.proxy_key, proxy)
            try:
                guesses = find_product(proxy, text, backend=settings.PREVIEW_BACKEND)
                error = ""
            except HighlighterError as e:
                guesses = key_frames(proxy)  # no guesses: the marketer clicks the product
                error = str(e)
            # The proxy is smaller than the normalised video the track lives in: scale the boxes up.
            scale = video.info["width"] / guesses[0].image.shape[1] if guesses else 1.0
            frames = []
            for guess in guesses:
                thumb = Path(tmp) / f"key-{guess.index}.jpg"
                media.write_jpeg(guess.image, thumb)
                key = f"{video.key_prefix}preview/{guess.index}.jpg"
                storage.upload_file(thumb, key, content_type="image/jpeg")
                box = [round(v * scale, 1) for v in guess.box] if guess.box else None
                frames.append({"index": guess.index, "time": round(guess.time, 3), "thumbnail_key": key,
                               "box": box, "score": round(guess.score, 3)})  # fmt: skip
            if _discard_if_deleted(video):
                return
    except storage.StorageError as e:
        if self.request.retries >= STORAGE_RETRIES:
            Video.objects.filter(pk=video.pk).update(preview={"status": "failed", "frames": [], "error": str(e)})
            return
        raise self.retry(countdown=2**self.request.retries * 5) from e
    except Exception:
        log.exception("preview of video %s failed", video_id)
        error = INTERNAL_ERROR.format(what="looking for the product")
        Video.objects.filter(pk=video.pk).update(preview={"status": "failed", "frames": [], "error": error})
        return
    found = any(f["box"] for f in frames)
    Video.objects.filter(pk=video.pk).update(
        preview={"status": "done" if found else "failed", "frames": frames, "error": error}
    )


def _render_options(job: RenderJob) -> dict:
    """The engine's keyword arguments for this render; options an older engine lacks are left out."""
    options = {
        "styles": tuple(job.style.split(",")),
        "aspect": None if job.aspect == RenderJob.SOURCE else job.aspect,
        "motion": job.motion,
    }
    accepted = inspect.signature(engine_render).parameters
    return {k: v for k, v in options.items() if k in accepted}


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
            info = engine_render(path, track, out, progress=ProgressReporter(job, "rendering"), **_render_options(job))
            key = f"{video.key_prefix}renders/{job.pk}.mp4"
            storage.upload_file(out, key, content_type="video/mp4")
            if _discard_if_deleted(video):
                raise Cancelled("The video was deleted.")
        return {"output_key": key, "output_info": info.to_dict()}

    _run_job(self, job, "rendering your video", work)
