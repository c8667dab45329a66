"""Videos and the jobs that track and render them.

Status changes are conditional updates (``claim``), so a task delivered twice finds its job already
claimed or done and does nothing. Files live in S3; rows hold their keys.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

# A product's id in the track file (``highlighter.trackfile``): safe in file names and URLs.
PRODUCT_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
FIRST_PRODUCT = "1"  # the id a one-product track file has always had


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobQuerySet(models.QuerySet):
    def claimable(self, stale_before):
        """Queued jobs, and running ones whose worker stopped reporting (it died)."""
        return self.filter(
            models.Q(status=JobStatus.QUEUED)
            | models.Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before)
        )


class Job(models.Model):
    """What every unit of work has: a status, a stage, progress and an error for the marketer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)  # 0..1 of the current job
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    def claim(self, *, stale_seconds: int) -> bool:
        """Take this job for the calling worker; False when another delivery already has it or it ended."""
        now = timezone.now()
        claimed = (
            type(self)
            .objects.claimable(now - timedelta(seconds=stale_seconds))
            .filter(pk=self.pk, cancel_requested=False)
            .update(
                status=JobStatus.RUNNING,
                started_at=now,
                heartbeat_at=now,
                progress=0.0,
                error="",
                attempts=models.F("attempts") + 1,
            )
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def report(self, *, stage: str, progress: float) -> bool:
        """Record progress while running; False when the job was cancelled meanwhile."""
        updated = (
            type(self)
            .objects.filter(pk=self.pk, status=JobStatus.RUNNING, cancel_requested=False)
            .update(stage=stage, progress=max(0.0, min(1.0, progress)), heartbeat_at=timezone.now())
        )
        self.stage, self.progress = stage, progress
        return bool(updated)

    def release(self) -> None:
        """Give a running job back to the queue (its task will be retried, e.g. after a storage outage)."""
        type(self).objects.filter(pk=self.pk, status=JobStatus.RUNNING).update(status=JobStatus.QUEUED)

    def finish(self, *, status: str, error: str = "", **fields) -> None:
        """End a running job. Only the worker that holds it (status running) can."""
        now = timezone.now()
        values = {"status": status, "error": error, "finished_at": now, "heartbeat_at": now, **fields}
        if status == JobStatus.DONE:
            values.update(progress=1.0, stage="done")
        type(self).objects.filter(pk=self.pk, status=JobStatus.RUNNING).update(**values)
        try:
            self.refresh_from_db()
        except type(self).DoesNotExist:  # its video was deleted meanwhile: nothing left to update
            self.status = status


class Video(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        INGESTING = "ingesting", "Preparing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    title = models.CharField(max_length=255)  # the uploaded file's name, for display and downloads
    original_key = models.CharField(max_length=512)
    original_size = models.BigIntegerField()
    mezzanine_key = models.CharField(max_length=512, blank=True)
    proxy_key = models.CharField(max_length=512, blank=True)
    thumbnail_key = models.CharField(max_length=512, blank=True)
    probe = models.JSONField(default=dict, blank=True)  # highlighter.media.VideoInfo of the original
    info = models.JSONField(default=dict, blank=True)  # VideoInfo of the normalised video
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # last sign of life of its ingest
    # Before the expensive run: where the description found the product on a few key frames,
    # {"status": "running" | "done" | "failed", "frames": [{"index", "time", "thumbnail_key", "box",
    # "score"}], "error"}; boxes [x, y, w, h] in pixels of the normalised video. Tracking waits for
    # ``confirmed_at`` (set at upload when the marketer chose to start straight away).
    preview = models.JSONField(default=dict, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The track version the marketer reviews and renders; undo points it back to its parent.
    current_track = models.ForeignKey(
        "TrackJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def claim_ingest(self, *, stale_seconds: int) -> bool:
        """Take this video's ingest for the calling worker (see ``Job.claim``)."""
        now = timezone.now()
        claimed = (
            Video.objects.filter(pk=self.pk)
            .filter(
                models.Q(status=Video.Status.UPLOADED)
                | models.Q(status=Video.Status.INGESTING, heartbeat_at__lt=now - timedelta(seconds=stale_seconds))
            )
            .update(status=Video.Status.INGESTING, heartbeat_at=now, error="")
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    @property
    def key_prefix(self) -> str:
        return video_prefix(self.owner_id, self.id)

    def product_names(self) -> dict[str, str]:
        """``{product id: name}`` of every product ever named in this video (prefetched by the selectors)."""
        return {p.slug: p.name for p in self.products.all()}


def file_name_part(name: str) -> str:
    """A product's name as part of a file name: ``"The red bag!"`` -> ``the-red-bag``."""
    return slugify(name, allow_unicode=True)[:40].strip("-") or "product"


def video_prefix(owner_id: int, video_id: uuid.UUID) -> str:
    """Every file of a video lives under this S3 prefix, itself under the owner's."""
    return f"users/{owner_id}/videos/{video_id}/"


class Product(models.Model):
    """A product the marketer named in a video: its name (file names, the callout label), colour (its
    overlay on the review page and its outline in renders) and default looks.

    Which products a track version follows, with their prompts, is the version's own record
    (``TrackJob.products``); a product removed from the current version keeps its row, so undoing
    the removal brings it back under the same name and colour.
    """

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="products")
    slug = models.CharField(max_length=40, validators=[RegexValidator(rf"^{PRODUCT_ID.pattern}\Z")])  # the track file's object id
    name = models.CharField(max_length=200)
    colour = models.CharField(max_length=7, blank=True)  # "#rrggbb"; blank: the palette's for its position
    looks = models.CharField(max_length=200, blank=True)  # the render form's default looks, comma-separated
    position = models.PositiveSmallIntegerField(default=0)  # the order the marketer named them in
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "created_at"]
        constraints = [models.UniqueConstraint(fields=["video", "slug"], name="one_product_id_per_video")]

    def __str__(self) -> str:
        return self.name


class TrackJob(Job):
    """One version of a video's track: the first run, or a change of its ``parent``."""

    class Kind(models.TextChoices):
        INITIAL = "initial", "First run"
        CORRECTION = "correction", "Click or box"
        HIDE = "hide", "Not in shot"
        ADD = "add", "Product added"
        REMOVE = "remove", "Product removed"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="track_jobs")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INITIAL)
    version = models.PositiveIntegerField(default=1)
    # What this version changed: {"frame", "points": [[x, y, positive]], "boxes": [[x1, y1, x2, y2]]}
    # for a correction or an added product, {"start", "end"} (inclusive frames) for a stretch marked
    # not in shot, nothing for a removed product; with "product": the id of the product it changed.
    correction = models.JSONField(default=dict, blank=True)
    prompt = models.JSONField()  # the first product's Prompt.to_dict(), corrections included
    # Every product this version follows, in order: [{"id", "prompt"}]. Empty in rows from before
    # several products: they follow one, id "1", with ``prompt`` (see ``product_prompts``).
    products = models.JSONField(default=list, blank=True)
    backend = models.CharField(max_length=32, default="auto")  # asked for
    backend_used = models.CharField(max_length=32, blank=True)  # what actually ran
    track_key = models.CharField(max_length=512, blank=True)
    exports = models.JSONField(default=dict, blank=True)  # {"masks": key, "crop_path": key}
    summary = models.JSONField(default=dict, blank=True)  # visible fraction, timings, revised frames

    class Meta:
        ordering = ["-created_at"]

    def product_prompts(self) -> list[dict]:
        """``[{"id", "prompt"}]`` of the products this version follows, the first one first."""
        return [dict(p) for p in self.products] if self.products else [{"id": FIRST_PRODUCT, "prompt": self.prompt}]

    def set_products(self, products: list[dict]) -> None:
        """Record ``products`` (``[{"id", "prompt"}]``); ``prompt`` stays the first one's, for readers
        that know of one product only."""
        self.products = [{"id": p["id"], "prompt": p["prompt"]} for p in products]
        self.prompt = self.products[0]["prompt"]

    @property
    def product_ids(self) -> list[str]:
        return [p["id"] for p in self.product_prompts()]

    @property
    def changed_product(self) -> str:
        """The id of the product this version changed: its correction's, or its only product's."""
        return str(self.correction.get("product") or self.product_prompts()[0]["id"])

    def anchors(self, product: str | None = None) -> list[int]:
        """Frames fixed by this version's corrections and its ancestors' (of ``product`` alone, when
        given): re-runs keep them."""
        frames, job = [], self
        while job is not None:
            if job.kind == TrackJob.Kind.CORRECTION and "frame" in job.correction:
                if product is None or job.changed_product == product:
                    frames.append(int(job.correction["frame"]))
            job = job.parent
        return frames


class RenderJob(Job):
    """One output of one track version. The choices come from ``highlighter.render.presets``
    (validated by the forms), so the engine's tables are the only list of looks and presets."""

    SOURCE = "source"  # aspect: keep the video's own framing

    track_job = models.ForeignKey(TrackJob, on_delete=models.CASCADE, related_name="render_jobs")
    style = models.CharField(max_length=200, default="spotlight")  # looks, comma-separated, applied in order
    aspect = models.CharField(max_length=16, default="9:16")  # "W:H" or "source"
    motion = models.CharField(max_length=16, default="default")  # the reframe camera's motion preset
    # With several products: {product id: "look,look"} for those whose looks differ from ``style``,
    # and what the reframe camera follows: "auto" (the product most in view, per shot), "all" (every
    # product in frame while they fit) or a product's id; or the marketer's time ranges
    # ``[[start_s, end_s, product id or "all"], ...]`` (``focus`` is then "auto": the camera's choice
    # outside them).
    looks = models.JSONField(default=dict, blank=True)
    focus = models.CharField(max_length=40, default="auto")
    focus_ranges = models.JSONField(default=list, blank=True)
    output_key = models.CharField(max_length=512, blank=True)
    output_info = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def download_name(self) -> str:
        """``clip-spotlight-9x16.mp4``; with several products their names too:
        ``clip-red-bag+white-sneakers-spotlight-9x16.mp4``, or each with its looks when they differ, and
        the camera's focus when it is chosen (``-focus-white-sneakers``, ``-focus-all``, ``-focus-by-time``)."""
        video = self.track_job.video
        stem = video.title.rsplit(".", 1)[0] or "video"
        aspect = self.aspect.replace(":", "x")
        version = f"-v{self.track_job.version}" if self.track_job.version > 1 else ""
        ids = self.track_job.product_ids
        if len(ids) < 2:
            return f"{stem}-{self.style.replace(',', '+')}-{aspect}{version}.mp4"
        names = video.product_names()
        name = lambda pid: file_name_part(names.get(pid, f"product-{pid}"))  # noqa: E731
        looks = [self.looks.get(pid, self.style) for pid in ids]
        if len(set(looks)) == 1:
            what = "+".join(name(pid) for pid in ids) + "-" + looks[0].replace(",", "+")
        else:
            what = "+".join(f"{name(pid)}-{look.replace(',', '+')}" for pid, look in zip(ids, looks))
        focus = ""
        if self.focus_ranges:
            focus = "-focus-by-time"
        elif self.focus in ids:
            focus = f"-focus-{name(self.focus)}"
        elif self.focus == "all":
            focus = "-focus-all"
        return f"{stem}-{what}{focus}-{aspect}{version}.mp4"


class StoredObject(models.Model):
    """A file in S3 under a video's prefix and its size: what counts against the owner's storage quota
    (``USER_STORAGE_QUOTA_BYTES``). One row per key, so a file written again (a retried task) replaces
    its size instead of adding to it; deleting the video deletes its rows, which frees the space."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="stored_objects")
    key = models.CharField(max_length=512, unique=True)
    size = models.BigIntegerField()  # bytes
    created_at = models.DateTimeField(default=timezone.now)


class QueuedTask(models.Model):
    """A worker task for a video or job, waiting for its turn on its queue or holding a slot there.

    Tasks are not sent straight to the broker, where they would run first come first served:
    ``webapp.videos.dispatch`` sends them a few at a time, taking owners in turn (see there).
    """

    task = models.CharField(max_length=64)  # the task's name, a key of workers.celery_app.TASK_QUEUES
    object_id = models.UUIDField()  # the video or job the task is for, its only argument
    queue = models.CharField(max_length=16)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+")  # deleting it withdraws its tasks
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)  # given a slot and sent to the broker
    started_at = models.DateTimeField(null=True, blank=True)  # a worker received it
    finished_at = models.DateTimeField(null=True, blank=True)  # its video or job no longer needs the slot

    class Meta:
        indexes = [models.Index(fields=["queue", "finished_at", "sent_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "object_id"], condition=models.Q(finished_at__isnull=True), name="one_open_task_per_object"
            )
        ]
