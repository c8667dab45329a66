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
from highlighter.render import ProductLook
from highlighter.render import render_video as engine_render
from highlighter.track import track_video as engine_track
from highlighter.track.export import write_crop_path, write_mask_pngs
from highlighter.track.preview import find_product, key_frames
from highlighter.track.prompt import Prompt
from highlighter.track.revise import hide_range, splice
from highlighter.trackfile import Track, TrackObject
from webapp.videos import services, storage
from webapp.videos.products import colour_of
from webapp.videos.models import FIRST_PRODUCT, Job, JobStatus, RenderJob, TrackJob, Video
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
    """Upload a track version with its exports (PNG masks, 9:16 crop path; each product's, named
    "masks-<id>" and "crop_path-<id>", when there are several); the job's done fields."""
    prefix = f"{job.video.key_prefix}tracks/{job.pk}"
    storage.put_bytes(track.to_json().encode(), f"{prefix}.json", content_type="application/json")
    several = len(track.objects) > 1
    exports = {}
    for o in track.objects:
        single = track.single(o.id) if several else track
        suffix = f"-{o.id}" if several else ""
        masks, crop = Path(tmp) / f"masks{suffix}.zip", Path(tmp) / f"crop{suffix}.json"
        write_mask_pngs(single, masks)
        write_crop_path(single, crop, aspect="9:16")
        storage.upload_file(masks, f"{prefix}{suffix}-masks.zip", content_type="application/zip")
        storage.upload_file(crop, f"{prefix}{suffix}-crop-path.json", content_type="application/json")
        exports |= {f"masks{suffix}": f"{prefix}{suffix}-masks.zip", f"crop_path{suffix}": f"{prefix}{suffix}-crop-path.json"}
    if _discard_if_deleted(job.video):
        raise Cancelled("The video was deleted.")
    summary = {"visible_fraction": round(track.visible_fraction(), 4), "frames": len(track.frames), **summary}
    if several:
        summary["products"] = {o.id: {"visible_fraction": round(o.visible_fraction(), 4)} for o in track.objects}
    return {
        "track_key": f"{prefix}.json",
        "exports": exports,
        "backend_used": str(track.meta.get("backend", "")),
        "summary": summary,
    }


def _version_finished(job: TrackJob) -> None:
    job = TrackJob.objects.select_related("video").filter(pk=job.pk).first()
    if job is None:  # the video was deleted while its track was made
        return
    if job.status == JobStatus.DONE:
        services.track_version_done(job=job)
    elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        services.track_job_failed(job=job, error=job.error)


def _only_first(ids: list[str]) -> bool:
    """Whether a track of these product ids is a one-product track as they were before several
    products: it is made, corrected and stored exactly as then."""
    return ids == [FIRST_PRODUCT]


def _track_products(path: Path, entries: list[dict], video: Video, *, backend: str, progress, exclude=None) -> Track:
    """Track the products ``entries`` (``[{"id", "prompt"}]``) of ``video`` in one run; with
    ``exclude`` (a track), the pixels of its other products are never given to them."""
    if _only_first([e["id"] for e in entries]) and exclude is None:
        return engine_track(path, Prompt.from_dict(entries[0]["prompt"]), backend=backend, progress=progress)
    from highlighter.track import Product as TrackedProduct  # the engine's several-object API

    names = video.product_names()
    tracked = [
        TrackedProduct(id=e["id"], name=names.get(e["id"]) or e["prompt"].get("text") or f"Product {e['id']}",
                       prompt=Prompt.from_dict(e["prompt"]))
        for e in entries
    ]  # fmt: skip
    if exclude is None:
        return engine_track(path, tracked, backend=backend, progress=progress)
    return engine_track(path, tracked, exclude=exclude, backend=backend, progress=progress)


def _revise(job: TrackJob, path: Path, entries: list[dict], *, backend: str, progress) -> tuple[Track, dict]:
    """A correction or an added product: that product alone is tracked again (the others' pixels
    excluded) and spliced into, or added to, the parent version; the other products are untouched."""
    previous = Track.from_json(storage.get_bytes(job.parent.track_key))
    product = job.changed_product
    entry = next(e for e in entries if e["id"] == product)
    if job.kind == TrackJob.Kind.ADD:
        rerun = _track_products(path, [entry], job.video, backend=backend, progress=progress, exclude=previous)
        added = rerun.object(product)
        objects = [*previous.objects, TrackObject(product, added.name, added.prompt, added.frames, added.meta)]
        track = Track(previous.video, shots=previous.shots, meta=previous.meta, objects=objects)
        return track, {"revised": [0, len(track.frames) - 1]}
    frame = int(job.correction["frame"])
    anchors = [a for a in job.anchors(product) if a != frame]
    if _only_first(previous.ids):
        rerun = _track_products(path, [entry], job.video, backend=backend, progress=progress)
        track, revised = splice(previous, rerun, frame=frame, anchors=anchors)
    else:
        rerun = _track_products(path, [entry], job.video, backend=backend, progress=progress, exclude=previous)
        track, revised = splice(previous, rerun, frame=frame, anchors=anchors, object_id=product)
    return track, {"revised": list(revised)}


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def track_video(self, job_id: str) -> None:
    """Track a video: the first run, or a correction re-run spliced into its parent version."""
    job = TrackJob.objects.select_related("video", "parent").filter(pk=job_id).first()
    if job is not None and job.kind in EDITS:  # e.g. re-sent by the stale-job sweeper
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
            backend = job.backend if job.backend != "auto" else settings.TRACK_BACKEND
            progress = ProgressReporter(job, "tracking", end=0.95)
            entries = job.product_prompts()
            started = time.monotonic()
            if job.kind == TrackJob.Kind.INITIAL:
                # One run follows every product, each frame decoded once.
                track = _track_products(path, entries, video, backend=backend, progress=progress)
                summary = {}
            else:
                track, summary = _revise(job, path, entries, backend=backend, progress=progress)
            seconds = time.monotonic() - started
            summary |= {"seconds": round(seconds, 2), "fps": round(len(track.frames) / seconds, 2) if seconds else None}
            job.report(stage="saving", progress=0.97)
            return _store_track(job, track, tmp, summary)

    _run_job(self, job, "tracking the product", work)
    _version_finished(job)


EDITS = (TrackJob.Kind.HIDE, TrackJob.Kind.REMOVE)  # versions made without re-tracking (``edit_track``)


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def edit_track(self, job_id: str) -> None:
    """A version made by editing its parent without re-tracking: a stretch marked not in shot, or a
    product removed."""
    job = TrackJob.objects.select_related("video", "parent").filter(pk=job_id).first()
    if job is None or not job.claim(stale_seconds=settings.JOB_STALE_SECONDS):
        return

    def work() -> dict:
        previous = Track.from_json(storage.get_bytes(job.parent.track_key))
        product = job.changed_product
        if job.kind == TrackJob.Kind.REMOVE:
            objects = [o for o in previous.objects if o.id != product]
            track = Track(previous.video, shots=previous.shots, meta=previous.meta, objects=objects)
            summary = {}
        else:
            start, end = int(job.correction["start"]), int(job.correction["end"])
            if _only_first(previous.ids):
                track = hide_range(previous, start=start, end=end)
            else:
                track = hide_range(previous, start=start, end=end, object_id=product)
            summary = {"revised": [start, end]}
        with _work_dir() as tmp:
            return _store_track(job, track, tmp, summary)

    _run_job(self, job, "editing the track", work)
    _version_finished(job)


@app.task(bind=True, max_retries=STORAGE_RETRIES)
def preview_video(self, video_id: str) -> None:
    """Before tracking: where each product's description finds it on a few key frames, as thumbnails.

    ``video.preview["frames"]`` holds one item per key frame: its thumbnail, ``boxes`` and ``scores``
    (``{product id: [x, y, w, h] or None}``), and ``box``/``score``, the first product's.
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.confirmed_at is not None or video.preview.get("status") == "done":
        return
    track = video.current_track
    entries = track.product_prompts() if track else []
    described = [(e["id"], e["prompt"].get("text", "")) for e in entries if e["prompt"].get("text", "").strip()]
    try:
        with _work_dir() as tmp:
            proxy = Path(tmp) / "proxy.mp4"
            storage.download_file(video.proxy_key, proxy)
            found, errors = {}, {}
            for product, text in described:
                try:
                    found[product] = find_product(proxy, text, backend=settings.PREVIEW_BACKEND)
                except HighlighterError as e:
                    errors[product] = str(e)  # not found: the marketer clicks this product
            guesses = next(iter(found.values()), None) or key_frames(proxy)
            # The proxy is smaller than the normalised video the track lives in: scale the boxes up.
            scale = video.info["width"] / guesses[0].image.shape[1] if guesses else 1.0
            frames = []
            for n, guess in enumerate(guesses):
                thumb = Path(tmp) / f"key-{guess.index}.jpg"
                media.write_jpeg(guess.image, thumb)
                key = f"{video.key_prefix}preview/{guess.index}.jpg"
                storage.upload_file(thumb, key, content_type="image/jpeg")
                boxes, scores = {}, {}
                for product, found_guesses in found.items():
                    g = found_guesses[n]
                    boxes[product] = [round(v * scale, 1) for v in g.box] if g.box else None
                    scores[product] = round(g.score, 3)
                first = entries[0]["id"] if entries else None
                frames.append({"index": guess.index, "time": round(guess.time, 3), "thumbnail_key": key,
                               "box": boxes.get(first), "score": scores.get(first, 0.0),
                               "boxes": boxes, "scores": scores})  # fmt: skip
            error = next(iter(errors.values()), "")
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
    anything = any(box for f in frames for box in f["boxes"].values())
    Video.objects.filter(pk=video.pk).update(
        preview={"status": "done" if anything else "failed", "frames": frames, "error": error, "errors": errors}
    )


def _render_options(job: RenderJob, track: Track) -> dict:
    """The engine's keyword arguments for this render; options an older engine lacks are left out.

    Several products: each one's looks (``job.looks``, else ``job.style``) in its colour, the one the
    review page draws it in, and what the camera follows: the marketer's time ranges
    (``job.focus_ranges``, the engine's choice outside them), else ``job.focus`` ("auto": the
    engine's choice, the product most in view; "all"; a product's id).
    """
    options = {
        "styles": tuple(job.style.split(",")),
        "aspect": None if job.aspect == RenderJob.SOURCE else job.aspect,
        "motion": job.motion,
    }
    if len(track.objects) > 1:
        rows = {p.slug: p for p in job.track_job.video.products.all()}
        options["products"] = {
            o.id: ProductLook(
                styles=tuple(job.looks.get(o.id, job.style).split(",")),
                colour=colour_of(rows[o.id]) if o.id in rows else None,
            )
            for o in track.objects
        }
        if job.focus_ranges:
            options["focus"] = [(float(start), float(end), str(key)) for start, end, key in job.focus_ranges]
        else:
            options["focus"] = None if job.focus == "auto" else job.focus
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
            names = video.product_names()  # renamed since it was tracked: callout labels say the new name
            for o in track.objects:
                o.name = names.get(o.id, o.name)
            info = engine_render(
                path, track, out, progress=ProgressReporter(job, "rendering"), **_render_options(job, track)
            )
            key = f"{video.key_prefix}renders/{job.pk}.mp4"
            storage.upload_file(out, key, content_type="video/mp4")
            if _discard_if_deleted(video):
                raise Cancelled("The video was deleted.")
        return {"output_key": key, "output_info": info.to_dict()}

    _run_job(self, job, "rendering your video", work)
