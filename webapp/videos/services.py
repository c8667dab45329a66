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
from highlighter.render import reframe
from highlighter.track.prompt import Prompt, clip_box
from webapp.videos import dispatch, products, quotas, storage
from webapp.videos.models import JobStatus, Product, RenderJob, StoredObject, TrackJob, Video, video_prefix

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
    description: str | list[str],
    styles: list[str],
    aspects: list[str],
    motion: str = "default",
    auto_confirm: bool = False,
) -> Video:
    """Check, store and queue an uploaded video with its first tracking job and one render per aspect.

    ``description`` names the products, one a line (or a list of them); one tracking job follows
    them all. Tracking waits for the marketer to confirm the products on a few key frames, unless
    ``auto_confirm``. Nothing is stored or queued unless the file is a readable video that fits the
    owner's quotas (``QuotaExceeded`` otherwise); if storing fails half-way, what was stored is removed.
    """
    new_jobs = 1 + len(aspects)
    quotas.check(user=owner, new_bytes=uploaded_file.size, new_jobs=new_jobs)
    descriptions = products.parse_descriptions(description)
    prompts = [_prompt_or_error({"text": text}).to_dict() for text in descriptions]
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
            named = [products.new_product(video=video, name=text[: products.NAME_MAX]) for text in descriptions]
            track_job = TrackJob(video=video)
            track_job.set_products([{"id": p.slug, "prompt": prompt} for p, prompt in zip(named, prompts)])
            track_job.save()
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
        if not (x1 < x2 and y1 < y2):
            raise ValidationError("A box goes from its top-left corner to its bottom-right corner.")
        on = clip_box(x1, y1, x2, y2, width, height)
        if on is None:
            raise ValidationError(f"The box is outside the video ({width}x{height}): draw it around the product.")
        clean_boxes.append([*on, frame])
    return clean_points, clean_boxes


def _product_entry(entries: list[dict], product_id) -> dict:
    """The entry (``{"id", "prompt"}``) of product ``product_id`` (None: the first) of a version."""
    if product_id is None:
        return entries[0]
    for entry in entries:
        if entry["id"] == product_id:
            return entry
    raise ValidationError(f"This video has no product '{product_id}'. Reload the page and choose one of its products.")


def video_confirm(
    *,
    video: Video,
    frame: int | None = None,
    point: list | None = None,
    box: list | None = None,
    choices: dict | None = None,
) -> TrackJob:
    """The marketer confirmed the products: start tracking them.

    ``choices`` is ``{product id: {"frame", "box": [x1, y1, x2, y2]} or {"frame", "point": [x, y]}}``,
    a found or drawn box or a click for each product confirmed on a key frame; ``frame`` with ``box``
    or ``point`` is the first product's choice. A product without one goes by its description (or
    the click that added it). A second confirmation changes nothing. ``ValidationError`` for clicks
    or boxes off the video, or an unknown product.
    """
    job = video.current_track
    if job is None or job.kind != TrackJob.Kind.INITIAL:
        raise ValidationError("This video has no first tracking run to start.")
    if choices is None:
        choices = {}
    if not isinstance(choices, dict):
        raise ValidationError("Send the choices as {product id: {frame, box or point}}.")
    entries = job.product_prompts()
    if point is not None or box is not None:
        choices = {entries[0]["id"]: {"frame": frame, "point": point, "box": box}, **choices}
    for product_id, choice in choices.items():
        entry = _product_entry(entries, product_id)
        if not isinstance(choice, dict):
            raise ValidationError("A product's choice is {frame, box: [x1, y1, x2, y2]} or {frame, point: [x, y]}.")
        at = _frame_number(video, choice.get("frame"))
        pt, bx = choice.get("point"), choice.get("box")
        points, boxes = _clicks(video, at, [pt] if pt is not None else [], [bx] if bx is not None else [])
        entry["prompt"] = {**entry["prompt"], "points": points, "boxes": boxes}
        _prompt_or_error(entry["prompt"])
    with transaction.atomic():
        confirmed = Video.objects.filter(pk=video.pk, confirmed_at__isnull=True, status=Video.Status.READY).update(
            confirmed_at=timezone.now()
        )
        if not confirmed:
            return job
        job.set_products(entries)
        TrackJob.objects.filter(pk=job.pk).update(prompt=job.prompt, products=job.products)
        track_job_enqueue(job=job)
    return job


def _prompt_or_error(prompt: dict) -> Prompt:
    try:
        return Prompt.from_dict(prompt)
    except HighlighterError as e:
        raise ValidationError(str(e)) from e


def _next_version(
    *, video: Video, parent: TrackJob, kind: str, correction: dict, products: list[dict]
) -> TrackJob:
    """A new version of ``parent`` following ``products`` (``[{"id", "prompt"}]``), not yet queued."""
    if parent.status != JobStatus.DONE:
        raise ValidationError("Wait until the track is ready before correcting it.")
    if TrackJob.objects.filter(video=video, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).exists():
        raise ValidationError("A correction is already running. Wait for it, or cancel it first.")
    quotas.check(user=video.owner, new_jobs=1)
    version = (TrackJob.objects.filter(video=video).aggregate(v=models.Max("version"))["v"] or 0) + 1
    job = TrackJob(video=video, parent=parent, kind=kind, version=version, correction=correction, backend=parent.backend)
    job.set_products(products)
    job.full_clean()
    job.save()
    return job


def _for_product(correction: dict, entries: list[dict], entry: dict) -> dict:
    """``correction`` saying which product it changes; rows of a video that only ever had its first
    product stay as they were before several products."""
    if len(entries) > 1 or entry["id"] != products.FIRST_PRODUCT:
        return {**correction, "product": entry["id"]}
    return correction


def track_correct(*, video: Video, frame: int, points: list, boxes: list, product: str | None = None) -> TrackJob:
    """Re-track ``product`` (its id; None: the first) from ``frame`` with the marketer's clicks
    (``[x, y, positive]``) and boxes (``[x1, y1, x2, y2]``), pixels of the normalised video, as a new
    version of the current track. The other products' tracks are left as they are.

    The re-run replaces that product's track forwards and backwards from ``frame`` until the two
    agree (``highlighter.track.revise.splice``). ``ValidationError`` (nothing is created) for
    malformed input, a frame off the video, an unknown product, or while another correction runs.
    """
    parent = video.current_track
    if parent is None:
        raise ValidationError("This video has no track to correct yet.")
    frame = _frame_number(video, frame)
    new_points, new_boxes = _clicks(video, frame, points, boxes)
    entries = parent.product_prompts()
    entry = _product_entry(entries, product)
    prompt = entry["prompt"]
    entry["prompt"] = {
        "text": prompt.get("text", ""),
        "points": [*prompt.get("points", []), *new_points],
        "boxes": [*prompt.get("boxes", []), *new_boxes],
    }
    _prompt_or_error(entry["prompt"])
    correction = {"frame": frame, "points": [p[:2] + p[3:] for p in new_points], "boxes": [b[:4] for b in new_boxes]}
    correction = _for_product(correction, entries, entry)
    with transaction.atomic():
        job = _next_version(
            video=video, parent=parent, kind=TrackJob.Kind.CORRECTION, correction=correction, products=entries
        )
        track_job_enqueue(job=job)
    return job


def track_hide(*, video: Video, start: int, end: int, product: str | None = None) -> TrackJob:
    """Mark frames ``start..end`` (inclusive) "``product`` not in shot" (None: the first), as a new version."""
    parent = video.current_track
    if parent is None:
        raise ValidationError("This video has no track to correct yet.")
    start, end = _frame_number(video, start), _frame_number(video, end)
    if end < start:
        raise ValidationError("The stretch must end after it starts.")
    entries = parent.product_prompts()
    correction = _for_product({"start": start, "end": end}, entries, _product_entry(entries, product))
    with transaction.atomic():
        job = _next_version(video=video, parent=parent, kind=TrackJob.Kind.HIDE, correction=correction, products=entries)
        track_edit_enqueue(job=job)
    return job


# --- products ------------------------------------------------------------------------------------
# Before the marketer confirms, the first run has not started: adding or removing a product edits
# it. After, each change is a new version of the track (undo goes back), made by a worker.


def _locked_video(video: Video) -> Video:
    """``video`` reloaded under its row lock: product ids and the first run's products change one
    request at a time."""
    locked = Video.objects.select_for_update().filter(pk=video.pk).first()
    if locked is None:
        raise ValidationError("This video was deleted.")
    return locked


def _locked_version(video: Video) -> tuple[Video, TrackJob]:
    """``_locked_video`` and its current track version; ``ValidationError`` before the first one."""
    video = _locked_video(video)
    if video.current_track is None:
        raise ValidationError("This video has no track yet: wait until it is prepared.")
    return video, video.current_track


def product_add(*, video: Video, frame, point: list | None = None, box: list | None = None, name=None) -> Product:
    """A new product of ``video``, shown by a click ``point`` ``[x, y]`` or a ``box``
    ``[x1, y1, x2, y2]`` on ``frame`` (pixels of the normalised video), named ``name`` or "Product N".

    Before the confirmation it joins the first run; after, a new version tracks it alone, the other
    products' pixels excluded, and adds it to the current track. ``ValidationError`` for a click off
    the video, too many products, a name taken, or while another change runs.
    """
    if (point is None) == (box is None):
        raise ValidationError("Click on the new product, or draw a box around it, on one frame.")
    at = _frame_number(video, frame)
    points, boxes = _clicks(video, at, [point] if point is not None else [], [box] if box is not None else [])
    prompt = _prompt_or_error({"text": "", "points": points, "boxes": boxes}).to_dict()
    with transaction.atomic():
        video, current = _locked_version(video)
        entries = current.product_prompts()
        ids = [e["id"] for e in entries]
        if len(entries) >= products.MAX_PRODUCTS:
            raise ValidationError(f"A video can have at most {products.MAX_PRODUCTS} products. Remove one first.")
        if name is None or (isinstance(name, str) and not name.strip()):
            name = products.default_name(video=video, product_ids=ids)
        name = products.clean_name(name, video=video, product_ids=ids)
        confirming = current.kind == TrackJob.Kind.INITIAL and video.confirmed_at is None
        if not confirming and (current.status != JobStatus.DONE or not current.track_key):
            raise ValidationError("Wait until the track is ready before adding a product.")
        product = products.new_product(video=video, name=name)
        entries.append({"id": product.slug, "prompt": prompt})
        if confirming:
            current.set_products(entries)
            current.save(update_fields=["products", "prompt"])
        else:
            correction = {"frame": at, "points": [p[:2] + p[3:] for p in points], "boxes": [b[:4] for b in boxes],
                          "product": product.slug}  # fmt: skip
            job = _next_version(video=video, parent=current, kind=TrackJob.Kind.ADD, correction=correction, products=entries)
            track_job_enqueue(job=job)
    return product


def product_rename(*, video: Video, product_id: str, name=None, colour=None) -> Product:
    """Rename a product of ``video``, or give it another colour (``#rrggbb``), or both: file names and
    callout labels use the new name, the review page and later renders (its outline, glow, label) the
    new colour, from now on (no re-tracking). ``ValidationError`` for an empty or too long name, one
    another product has, or a colour that is not ``#rrggbb``."""
    if name is None and colour is None:
        raise ValidationError("Give the product a name or a colour (#rrggbb).")
    with transaction.atomic():
        video = _locked_video(video)
        product = Product.objects.filter(video=video, slug=product_id).first()
        if product is None:
            raise ValidationError(f"This video has no product '{product_id}'.")
        fields = []
        if name is not None:
            ids = video.current_track.product_ids if video.current_track else [product.slug]
            product.name = products.clean_name(name, video=video, product_ids=ids, product_id=product.slug)
            fields.append("name")
        if colour is not None:
            product.colour = products.clean_colour(colour)
            fields.append("colour")
        product.full_clean()
        product.save(update_fields=fields)
    return product


def product_remove(*, video: Video, product_id: str) -> TrackJob:
    """Remove a product from ``video``: from the first run before the confirmation, else as a new
    version without it (undo brings it back). ``ValidationError`` for its last product, or while
    another change runs."""
    with transaction.atomic():
        video, current = _locked_version(video)
        entries = current.product_prompts()
        entry = _product_entry(entries, product_id)
        if len(entries) == 1:
            raise ValidationError("A video needs at least one product to highlight: add another before removing this one.")
        rest = [e for e in entries if e is not entry]
        if current.kind == TrackJob.Kind.INITIAL and video.confirmed_at is None:
            current.set_products(rest)
            current.save(update_fields=["products", "prompt"])
            return current
        job = _next_version(
            video=video, parent=current, kind=TrackJob.Kind.REMOVE, correction={"product": entry["id"]}, products=rest
        )
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


def renders_create(
    *,
    video: Video,
    styles: list[str],
    aspects: list[str],
    motion: str = "default",
    looks: dict[str, list[str]] | None = None,
    focus: str = "auto",
    focus_ranges: list | None = None,
) -> list[RenderJob]:
    """One render per aspect of the current track version, each a separate job; no re-tracking.

    ``styles`` are the looks of every product, except those ``looks`` gives their own
    (``{product id: [look, ...]}``, checked by the form). ``focus`` is what the reframe camera
    follows: "auto" (the product most in view), "all" (every product in frame while they fit) or a
    product's id; ``focus_ranges`` (``[[start_s, end_s, product id or "all"], ...]``, with ``focus``
    "auto" outside them) chooses it by time instead. ``ValidationError`` for a product the track
    lacks, or ranges that overlap, run past the video or do not make sense.
    """
    track = video.current_track
    if track is None or track.status != JobStatus.DONE:
        raise ValidationError("Wait until the track is ready before rendering.")
    ids = track.product_ids
    names = video.product_names()
    ranges = _focus_ranges(video, focus_ranges or [])
    if ranges and focus != "auto":
        raise ValidationError("Choose one product for the whole video or time ranges, not both.")
    chosen = [key for _, _, key in ranges] + ([focus] if focus != "auto" else [])
    for product_id in [*(looks or {}), *(key for key in chosen if key != "all")]:
        if product_id not in ids:
            raise ValidationError(f"This video has no product '{product_id}'. Reload the page and choose again.")
    style = ",".join(styles)
    own = {pid: ",".join(v) for pid, v in (looks or {}).items() if ",".join(v) != style}
    if len(ids) < 2:  # one product: its looks are the render's, and the camera follows it
        style, own, focus, ranges = own.get(ids[0], style), {}, "auto", []
    for pid in own:
        if not own[pid]:
            raise ValidationError(f"Choose at least one look for {names.get(pid, 'each product')}.")
    with transaction.atomic():
        quotas.check(user=video.owner, new_jobs=len(aspects))
        jobs = [
            RenderJob.objects.create(
                track_job=track, style=style, aspect=aspect, motion=motion, looks=own, focus=focus,
                focus_ranges=[list(r) for r in ranges],
            )
            for aspect in aspects
        ]
        for pid, chosen in (looks or {}).items():  # the render form's defaults next time
            Product.objects.filter(video=video, slug=pid).update(looks=",".join(chosen))
        for job in jobs:
            render_job_enqueue(job=job)
    return jobs


MAX_FOCUS_RANGES = 100  # more time ranges than a marketer sets by hand: a client's mistake


def _focus_ranges(video: Video, items: list) -> list[tuple[float, float, str]]:
    """A render's focus ranges checked (``reframe.focus_ranges``: numbers, order, no overlap) and
    within the video, in time order; ``ValidationError`` with what to fix."""
    if not isinstance(items, list) or len(items) > MAX_FOCUS_RANGES:
        raise ValidationError(f"The focus ranges are a list of at most {MAX_FOCUS_RANGES} [start seconds, end seconds, product].")
    try:
        ranges = reframe.focus_ranges(items)
    except reframe.FocusError as error:
        raise ValidationError(str(error)) from None
    fps = float(video.info.get("fps") or 0.0)
    frames = int(video.info.get("frame_count") or 0)
    duration = float(video.info.get("duration") or (frames / fps if fps > 0 else 0.0))
    slack = 1.0 / fps if fps > 0 else 0.05  # a time typed to the hundredth may round past the last frame
    for start_s, end_s, _ in ranges:
        if duration > 0 and end_s > duration + slack:
            raise ValidationError(f"The focus range {start_s:g}-{end_s:g} s ends after the video does ({duration:.1f} s).")
    return ranges


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

    The video's row is locked before any row under it. A worker counting its files holds that lock
    while it changes their rows (``video_storage_recount``); a delete that took those rows first and
    then waited for the video's row would deadlock with it.
    """
    prefix = video.key_prefix
    with transaction.atomic():
        if Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first() is not None:
            TrackJob.objects.filter(video=video, status=JobStatus.RUNNING).update(cancel_requested=True)
            RenderJob.objects.filter(track_job__video=video, status=JobStatus.RUNNING).update(cancel_requested=True)
            video.delete()
    dispatch.run()
    storage.delete_prefix(prefix)
