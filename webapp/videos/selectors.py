"""Reads: what a user may see, and the state of a video's work for its pages."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from highlighter.track.export import mask_outlines
from highlighter.trackfile import Track
from webapp.videos import storage
from webapp.videos.models import ACTIVE, JobStatus, Product, RenderJob, TrackJob, Video
from webapp.videos.products import colour_of, palette

# How much of the whole job each step is worth on the progress bar.
_WEIGHTS = {"ingest": 0.15, "track": 0.5, "render": 0.35}
MAX_CHUNK = 200  # frames per request of the frames API


def video_list(*, user: AbstractBaseUser) -> QuerySet[Video]:
    return (
        Video.objects.filter(owner=user)
        .select_related("current_track")
        .prefetch_related(Prefetch("track_jobs", queryset=TrackJob.objects.prefetch_related("render_jobs")), "products")
    )


def video_get(*, user: AbstractBaseUser, video_id) -> Video:
    """The user's video, or 404: another user's video does not exist for them."""
    video = video_list(user=user).filter(pk=video_id).first()
    if video is None:
        raise Http404("No such video.")
    return video


def product_get(*, user: AbstractBaseUser, video_id, product_id: str) -> Product:
    """A product of the user's video, or 404 (another user's video and its products do not exist for them)."""
    product = Product.objects.select_related("video__owner").filter(
        video__pk=video_id, video__owner=user, slug=product_id
    ).first()
    if product is None:
        raise Http404("No such product.")
    return product


def product_dict(*, product: Product) -> dict[str, Any]:
    return {"id": product.slug, "name": product.name, "colour": colour_of(product), "looks": product.looks}


SINGLE_PRODUCT_COLOUR = "#00e676"  # rare in product footage, easy to see over the video


def video_products(*, video: Video, job: TrackJob | None = None) -> list[dict[str, Any]]:
    """The products ``job`` (default: the current version) follows, in order, with their names,
    colours and prompts. A product without a row (a video from before several products) is named by
    its description."""
    job = job or video.current_track
    if job is None:
        return []
    rows = {p.slug: p for p in video.products.all()}
    colours = palette()
    items = []
    for position, entry in enumerate(job.product_prompts()):
        row = rows.get(entry["id"])
        prompt = entry["prompt"] or {}
        if row is not None:
            item = product_dict(product=row)
        else:
            name = str(prompt.get("text") or "").strip() or f"Product {position + 1}"
            item = {"id": entry["id"], "name": name, "colour": colours[position % len(colours)], "looks": ""}
        item["description"] = prompt.get("text", "")
        points, boxes = prompt.get("points") or [], prompt.get("boxes") or []  # [x, y, frame, +], [x1, y1, x2, y2, frame]
        item["clicked_frame"] = int(points[0][2]) if points else int(boxes[0][4]) if boxes else None
        items.append(item)
    if len(items) == 1:  # one product: the review overlay's colour as it always was (renders use each look's own)
        items[0]["colour"] = SINGLE_PRODUCT_COLOUR
    return items


def render_job_get(*, user: AbstractBaseUser, job_id) -> RenderJob:
    job = RenderJob.objects.select_related("track_job__video").filter(pk=job_id, track_job__video__owner=user).first()
    if job is None:
        raise Http404("No such render.")
    return job


def track_job_get(*, user: AbstractBaseUser, job_id) -> TrackJob:
    job = TrackJob.objects.select_related("video", "parent").filter(pk=job_id, video__owner=user).first()
    if job is None:
        raise Http404("No such track.")
    return job


def job_get(*, user: AbstractBaseUser, job_id) -> TrackJob | RenderJob:
    """A tracking or rendering job of the user's, or 404."""
    job = TrackJob.objects.filter(pk=job_id, video__owner=user).first()
    return job or render_job_get(user=user, job_id=job_id)


@functools.lru_cache(maxsize=8)
def _track_file(key: str) -> Track:
    # A track file never changes once written (a correction is a new file): parse it once per process.
    return Track.from_json(storage.get_bytes(key))


def track_file(*, job: TrackJob) -> Track:
    if job.status != JobStatus.DONE or not job.track_key:
        raise Http404("This track is not ready yet.")
    return _track_file(job.track_key)


def track_overview(*, job: TrackJob) -> dict[str, Any]:
    """What the review timeline needs for every frame, without masks: visibility and confidence, of
    the first product at the top level and of each product under ``objects`` (a row each)."""
    track = track_file(job=job)
    known = {p["id"]: p for p in video_products(video=job.video, job=job)}
    objects = []
    for o in track.objects:
        about = known.get(o.id, {"name": o.name, "colour": palette()[len(objects) % len(palette())]})
        objects.append({
            "id": o.id, "name": about["name"], "colour": about["colour"],
            "visible": [int(f.visible) for f in o.frames], "scores": [round(float(f.score), 3) for f in o.frames],
            "anchors": sorted(job.anchors(o.id)),
            "revised": job.summary.get("revised") if job.changed_product == o.id else None,
        })  # fmt: skip
    return {
        "id": str(job.id),
        "version": job.version,
        "kind": job.kind,
        "video": track.video,
        "frame_count": len(track.frames),
        "visible": [int(f.visible) for f in track.frames],
        "scores": [round(float(f.score), 3) for f in track.frames],
        "shots": track.shots,
        "anchors": sorted(job.anchors()),
        "revised": job.summary.get("revised"),
        "frames_url": reverse("track-frames", args=[job.id]),
        "objects": objects,
    }


def _frame_dict(f) -> dict[str, Any]:
    item: dict[str, Any] = {"index": f.index, "time": round(f.time, 6), "visible": f.visible, "score": round(f.score, 4)}
    if f.visible:
        item["box"] = f.box
        item["outlines"] = mask_outlines(f.mask) if f.mask else []
    return item


def track_frames(*, job: TrackJob, start: int, count: int) -> dict[str, Any]:
    """Frames ``start .. start+count-1`` with their box and mask outlines (polygons ``[[x, y], ...]``,
    pixels of the normalised video): the first product's at the top level, and with several
    products each one's under ``objects`` (``{id: {...}}``). ``count`` is capped at ``MAX_CHUNK``."""
    track = track_file(job=job)
    end = min(len(track.frames), start + min(count, MAX_CHUNK))
    frames = []
    for i in range(start, end):
        item = _frame_dict(track.frames[i])
        if len(track.objects) > 1:
            item["objects"] = {track.objects[0].id: dict(item)} | {
                o.id: _frame_dict(o.frames[i]) for o in track.objects[1:] if i < len(o.frames)
            }
        frames.append(item)
    return {"track": str(job.id), "start": start, "count": len(frames), "frame_count": len(track.frames), "frames": frames}


def _eta_seconds(job) -> float | None:
    if job.status != JobStatus.RUNNING or not job.started_at or job.progress < 0.02:
        return None
    elapsed = (timezone.now() - job.started_at).total_seconds()
    return round(elapsed * (1 - job.progress) / job.progress, 1)


def _job_dict(job, frame_count: int = 0) -> dict[str, Any]:
    data = {
        "id": str(job.id),
        "status": job.status,
        "stage": job.stage,
        "progress": round(job.progress, 4),
        "error": job.error,
        "eta_seconds": _eta_seconds(job),
        "cancel_requested": job.cancel_requested,
        "cancel_url": reverse("job-cancel", args=[job.id]) if job.status in ACTIVE else None,
    }
    if frame_count:
        data["frames_total"] = frame_count
        data["frames_done"] = frame_count if job.status == JobStatus.DONE else int(job.progress * frame_count)
    return data


def _render_dict(r: RenderJob, frame_count: int) -> dict[str, Any]:
    item = _job_dict(r, frame_count) | {
        "style": r.style,
        "aspect": r.aspect,
        "motion": r.motion,
        "focus": r.focus,
        "focus_ranges": r.focus_ranges,
        "version": r.track_job.version,
        "download_name": r.download_name,
        "download_url": reverse("render-download", args=[r.id]),
    }
    if r.status == JobStatus.DONE and r.output_key:
        item["play_url"] = storage.presigned_url(r.output_key, content_type="video/mp4")
    return item


def _track_dict(t: TrackJob, frame_count: int) -> dict[str, Any]:
    data = _job_dict(t, frame_count) | {
        "version": t.version,
        "kind": t.kind,
        "parent": str(t.parent_id) if t.parent_id else None,
        "correction": t.correction,
        "backend": t.backend_used,
        "summary": t.summary,
    }
    if t.status == JobStatus.DONE and t.track_key:
        data["overview_url"] = reverse("track-overview", args=[t.id])
        data["downloads"] = {
            kind: reverse("track-download", args=[t.id, kind]) for kind in ("json", *t.exports) if "-" not in kind
        }
        # Several products: each one's masks and crop path ("masks-<id>", "crop_path-<id>").
        data["product_downloads"] = {
            pid: {kind: reverse("product-track-download", args=[t.id, pid, kind])
                  for kind in ("masks", "crop_path") if f"{kind}-{pid}" in t.exports}
            for pid in t.product_ids if f"masks-{pid}" in t.exports
        }  # fmt: skip
    return data


def video_state(*, video: Video) -> dict[str, Any]:
    """Everything the video's pages show and poll: statuses, progress, errors, and links when done."""
    tracks = list(video.track_jobs.all())  # newest first
    for t in tracks:  # the prefetched rows know their parents: no query per render for its name
        t.video = video
        for r in t.render_jobs.all():
            r.track_job = t
    current = next((t for t in tracks if t.pk == video.current_track_id), None)
    initial = next((t for t in tracks if t.kind == TrackJob.Kind.INITIAL), None)
    working = next((t for t in tracks if t.status in ACTIVE), None)
    renders = sorted((r for t in tracks for r in t.render_jobs.all()), key=lambda r: r.created_at, reverse=True)
    # The first run's renders decide "done" for the upload; later renders show on their own.
    first_renders = [r for r in renders if initial and r.track_job_id == initial.pk]
    frame_count = int(video.info.get("frame_count") or 0)
    products = video_products(video=video)
    several = len(products) > 1
    the_product = "the products" if several else "the product"

    ingest_done = video.status == Video.Status.READY
    overall = _WEIGHTS["ingest"] * (1.0 if ingest_done else 0.0)
    if initial:
        overall += _WEIGHTS["track"] * (1.0 if initial.status == JobStatus.DONE else initial.progress)
    if first_renders:
        overall += _WEIGHTS["render"] * sum(
            1.0 if r.status == JobStatus.DONE else r.progress for r in first_renders
        ) / len(first_renders)

    first_jobs = [j for j in [initial, *first_renders] if j]
    cancelled = any(j.status == JobStatus.CANCELLED for j in first_jobs)
    failed = video.status == Video.Status.FAILED or any(j.status == JobStatus.FAILED for j in first_jobs)
    track_done = bool(current and current.status == JobStatus.DONE)
    done = track_done and (not first_renders or all(r.status != JobStatus.QUEUED and r.status != JobStatus.RUNNING for r in first_renders))
    if failed:
        phase = "failed"
        message = video.error or next((j.error for j in first_jobs if j.error), "")
    elif cancelled and not track_done:
        phase, message = "cancelled", "Cancelled. Upload the video again to start over."
    elif done:
        phase, message = "done", "Your video is ready."
    elif not ingest_done:
        phase, message = "preparing", "Preparing your video"
    elif video.confirmed_at is None:
        phase = "confirm"
        if video.preview.get("status") == "done" and several:
            message = "Are these the products? Confirm each one, or click the right one, then start tracking."
        elif video.preview.get("status") == "done":
            message = "Is this the product? Confirm it, or click the right one."
        elif video.preview.get("status") == "failed":
            message = f"Click {the_product} on one of these frames, or draw a box around each."
        else:
            message = f"Looking for {the_product} on a few frames"
    elif not track_done:
        phase, message = "tracking", f"Finding and following {the_product}"
    else:
        phase, message = "rendering", "Rendering the highlight"

    preview = []
    first = products[0]["id"] if products else None
    for item in video.preview.get("frames", []):
        preview.append({k: v for k, v in item.items() if k != "thumbnail_key"} | {
            "thumbnail_url": storage.presigned_url(item["thumbnail_key"], content_type="image/jpeg"),
            # where each product was found: previews from before several products found the first
            "boxes": item.get("boxes") or {first: item.get("box")},
        })  # fmt: skip
    return {
        "video": {
            "id": str(video.id),
            "title": video.title,
            "status": video.status,
            "error": video.error,
            "width": video.info.get("width"),
            "height": video.info.get("height"),
            "fps": video.info.get("fps"),
            "frame_count": frame_count,
            "confirmed": video.confirmed_at is not None,
        },
        "phase": phase,
        "message": message,
        "products": products,
        "product_names": video.product_names(),  # every product ever named, for the versions' history
        "progress": round(min(overall, 1.0) if not done else 1.0, 4),
        "preview": {
            "status": video.preview.get("status", ""), "error": video.preview.get("error", ""), "frames": preview,
            "errors": video.preview.get("errors", {}),
        },  # fmt: skip
        "track": _track_dict(current, frame_count) if current else None,
        "working": _track_dict(working, frame_count) if working and working is not current else None,
        "versions": [
            {"id": str(t.id), "version": t.version, "kind": t.kind, "status": t.status, "correction": t.correction,
             "current": t.pk == video.current_track_id}
            for t in tracks
        ],  # fmt: skip
        "can_undo": bool(current and current.parent_id and not working),
        "renders": [_render_dict(r, frame_count) for r in renders],
    }
