"""Reads: what a user may see, and the state of a video's work for its page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from webapp.videos import storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video

# How much of the whole job each step is worth on the progress bar.
_WEIGHTS = {"ingest": 0.15, "track": 0.5, "render": 0.35}


def video_list(*, user: AbstractBaseUser) -> QuerySet[Video]:
    return Video.objects.filter(owner=user).prefetch_related(
        Prefetch("track_jobs", queryset=TrackJob.objects.prefetch_related("render_jobs"))
    )


def video_get(*, user: AbstractBaseUser, video_id) -> Video:
    """The user's video, or 404: another user's video does not exist for them."""
    video = video_list(user=user).filter(pk=video_id).first()
    if video is None:
        raise Http404("No such video.")
    return video


def render_job_get(*, user: AbstractBaseUser, job_id) -> RenderJob:
    job = RenderJob.objects.select_related("track_job__video").filter(pk=job_id, track_job__video__owner=user).first()
    if job is None:
        raise Http404("No such render.")
    return job


def _job_dict(job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "status": job.status,
        "stage": job.stage,
        "progress": round(job.progress, 4),
        "error": job.error,
    }


def video_state(*, video: Video) -> dict[str, Any]:
    """Everything the job page shows and polls: statuses, progress, errors, and links when done."""
    track = video.track_jobs.all()[0] if video.track_jobs.all() else None
    renders = list(track.render_jobs.all()) if track else []

    ingest_done = video.status == Video.Status.READY
    overall = _WEIGHTS["ingest"] * (1.0 if ingest_done else 0.0)
    if track:
        overall += _WEIGHTS["track"] * (1.0 if track.status == JobStatus.DONE else track.progress)
    if renders:
        overall += _WEIGHTS["render"] * sum(
            1.0 if r.status == JobStatus.DONE else r.progress for r in renders
        ) / len(renders)

    failed = video.status == Video.Status.FAILED or any(
        j.status in (JobStatus.FAILED, JobStatus.CANCELLED) for j in [track, *renders] if j
    )
    done = bool(renders) and all(r.status == JobStatus.DONE for r in renders)
    if failed:
        phase = "failed"
        message = video.error or next((j.error for j in [track, *renders] if j and j.error), "")
    elif done:
        phase, message = "done", "Your video is ready."
    elif not ingest_done:
        phase, message = "preparing", "Preparing your video"
    elif track and track.status != JobStatus.DONE:
        phase, message = "tracking", "Finding and following the product"
    else:
        phase, message = "rendering", "Rendering the highlight"

    render_items = []
    for r in renders:
        item = _job_dict(r) | {"style": r.style, "aspect": r.aspect, "download_name": r.download_name}
        if r.status == JobStatus.DONE and r.output_key:
            item["play_url"] = storage.presigned_url(r.output_key, content_type="video/mp4")
        render_items.append(item)
    return {
        "video": {"id": str(video.id), "title": video.title, "status": video.status, "error": video.error},
        "phase": phase,
        "message": message,
        "progress": round(min(overall, 1.0) if not done else 1.0, 4),
        "track": _job_dict(track) | {"backend": track.backend_used, "summary": track.summary} if track else None,
        "renders": render_items,
    }
