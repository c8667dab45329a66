"""Per-account limits: the bytes an account keeps in S3 and the jobs it has queued or running.

Checked before anything is stored or queued, so one account cannot fill the bucket or the queue for
everyone. Sizes are counted where files are written (``StoredObject`` rows, one per S3 key); a
deleted video takes its rows with it and frees its space.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction

from webapp.videos.models import ACTIVE, RenderJob, StoredObject, TrackJob


class QuotaExceeded(ValidationError):
    """A limit of the account would be crossed; the message says which, the usage, and what to do."""


def format_size(size: int) -> str:
    """Bytes for people: ``3.2 GB``, ``640 MB``, ``12 KB`` (powers of 1024, as the upload limit)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size / 1024:.0f} KB"


@dataclass(frozen=True)
class Usage:
    stored_bytes: int
    quota_bytes: int
    active_jobs: int
    jobs_max: int

    @property
    def summary(self) -> str:
        """e.g. "3.2 GB of 20 GB used, 2 of 20 jobs queued or running"."""
        return (
            f"{format_size(self.stored_bytes)} of {format_size(self.quota_bytes)} used, "
            f"{self.active_jobs} of {self.jobs_max} jobs queued or running"
        )


def usage(*, user: AbstractBaseUser) -> Usage:
    stored = StoredObject.objects.filter(video__owner=user).aggregate(total=models.Sum("size"))["total"] or 0
    jobs = (
        TrackJob.objects.filter(video__owner=user, status__in=ACTIVE).count()
        + RenderJob.objects.filter(track_job__video__owner=user, status__in=ACTIVE).count()
    )
    return Usage(stored, settings.USER_STORAGE_QUOTA_BYTES, jobs, settings.USER_ACTIVE_JOBS_MAX)


def check(*, user: AbstractBaseUser, new_bytes: int = 0, new_jobs: int = 0) -> Usage:
    """Raise ``QuotaExceeded`` unless ``new_bytes`` more stored and ``new_jobs`` more queued fit.

    Inside a transaction, call it in the transaction that stores or queues: it locks the account's
    row, so two requests at once cannot both take the last room.
    """
    with transaction.atomic():
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        now = usage(user=user)
    if now.stored_bytes + new_bytes > now.quota_bytes or now.stored_bytes >= now.quota_bytes:
        used = f"{format_size(now.stored_bytes)} of your {format_size(now.quota_bytes)} are used"
        what = f"This video ({format_size(new_bytes)}) does not fit" if new_bytes else "Your storage is full"
        raise QuotaExceeded(f"{what}: {used}. Delete videos you no longer need from your library, then try again.")
    if now.active_jobs + new_jobs > now.jobs_max:
        raise QuotaExceeded(
            f"You have {now.active_jobs} of your {now.jobs_max} jobs queued or running, "
            f"and this needs {new_jobs} more. "
            "Wait for some to finish, or cancel the ones you no longer need, then try again."
        )
    return now
