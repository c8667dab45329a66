"""List (and with --fix repair) what S3, the job rows and the broker disagree on; see workers/reconcile.py."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Find S3 objects no row refers to, rows whose files are gone, and jobs no task will finish. "
        "With --fix: delete the orphans and mark those rows and jobs failed with a message for the marketer. "
        "Prints JSON; exits 1 when something was found and not fixed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Delete orphans and fail broken or stuck work.")
        parser.add_argument("--user", help="Only this user's files and jobs (a username).")
        parser.add_argument(
            "--grace", type=int, default=None, metavar="SECONDS",
            help="Leave alone what was written or touched this recently (default: JOB_STALE_SECONDS).",
        )  # fmt: skip

    def handle(self, *args, fix: bool, user: str | None, grace: int | None, **options):
        # Imported here: the worker's app module sets Django up, which a command must not do at import.
        from workers.reconcile import reconcile

        owner_id = None
        if user is not None:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"There is no user named {user!r}.")
            owner_id = owner.pk
        if grace is not None and grace < 0:
            raise CommandError("--grace must be 0 seconds or more.")
        report = reconcile(fix=fix, owner_id=owner_id, grace_seconds=grace)
        self.stdout.write(json.dumps(report.to_dict(), indent=2))
        if not report.broker_checked:
            self.stderr.write("The broker is not Redis: stuck jobs were not looked for.")
        if not report.clean and not fix:
            raise SystemExit(1)
