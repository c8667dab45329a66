"""The reconciliation pass finds orphans both ways and stuck work, and with --fix leaves nothing to find."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import redis
from django.core.management import call_command
from django.utils import timezone

from webapp.videos import services, storage
from webapp.videos.models import JobStatus, QueuedTask, RenderJob, TrackJob, Video, video_prefix
from workers import reconcile, tasks
from workers.celery_app import app

pytestmark = pytest.mark.django_db

HOUR_AGO = timezone.now() - timedelta(hours=1)


def _ready_video(owner, **fields) -> Video:
    video = Video.objects.create(
        owner=owner, title="v.mp4", original_key="-", original_size=1, status=Video.Status.READY,
        confirmed_at=HOUR_AGO, created_at=HOUR_AGO, **fields,
    )  # fmt: skip
    video.original_key = f"{video.key_prefix}original.mp4"
    video.save(update_fields=["original_key"])
    storage.put_bytes(b"video", video.original_key, content_type="video/mp4")
    return video


@pytest.fixture
def damage(alice):
    """Alice's bucket and rows after faults: every kind of damage once, next to work that is fine."""
    video = _ready_video(alice)
    track = TrackJob.objects.create(
        video=video, prompt={"text": "red"}, status=JobStatus.DONE, track_key=f"{video.key_prefix}tracks/t.json"
    )
    storage.put_bytes(b"{}", track.track_key, content_type="application/json")
    lost_render = RenderJob.objects.create(
        track_job=track, status=JobStatus.DONE, output_key=f"{video.key_prefix}renders/gone.mp4"
    )
    # Another video with work under way: one render's task was lost, the other's worker reports.
    other = TrackJob.objects.create(video=_ready_video(alice), prompt={"text": "red"}, status=JobStatus.DONE)
    stuck_render = RenderJob.objects.create(track_job=other, created_at=HOUR_AGO)  # queued, never sent
    running_render = RenderJob.objects.create(track_job=other, status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    stuck_upload = Video.objects.create(
        owner=alice, title="w.mp4", original_key="-", original_size=1, created_at=HOUR_AGO
    )  # uploaded while the broker was down: its ingest was never sent
    deleted_video_file = f"{video_prefix(alice.pk, uuid.uuid4())}renders/late.mp4"
    storage.put_bytes(b"render", deleted_video_file, content_type="video/mp4")
    stray_file = f"{video.key_prefix}renders/killed-before-its-row.mp4"
    storage.put_bytes(b"render", stray_file, content_type="video/mp4")
    return {
        "orphans": sorted([deleted_video_file, stray_file]),
        "missing": [reconcile.Missing("render", str(lost_render.pk), lost_render.output_key),
                    reconcile.Missing("video", str(stuck_upload.pk), "-")],  # fmt: skip
        "stuck": {reconcile.Stuck("render", str(stuck_render.pk), "queued"),
                  reconcile.Stuck("ingest", str(stuck_upload.pk), "uploaded")},  # fmt: skip
        "kept": sorted([video.original_key, other.video.original_key, track.track_key]),
        "video": video, "track": track, "lost_render": lost_render, "stuck_render": stuck_render,
        "running_render": running_render, "stuck_upload": stuck_upload,
    }  # fmt: skip


def test_it_finds_orphans_both_ways_and_stuck_work(alice, damage):
    report = reconcile.reconcile(owner_id=alice.pk, grace_seconds=-5)

    assert report.orphans == damage["orphans"]
    assert sorted(report.missing, key=str) == sorted(damage["missing"], key=str)
    assert set(report.stuck) == damage["stuck"]
    assert report.broker_checked and not report.clean and not report.fixed
    assert sorted(storage.list_keys(f"users/{alice.pk}/")) == sorted([*damage["orphans"], *damage["kept"]])


def test_fix_deletes_orphans_and_fails_what_cannot_finish(alice, damage):
    report = reconcile.reconcile(fix=True, owner_id=alice.pk, grace_seconds=-5)
    assert report.fixed and len(report.orphans) == 2

    assert sorted(storage.list_keys(f"users/{alice.pk}/")) == damage["kept"]
    lost, stuck, running = damage["lost_render"], damage["stuck_render"], damage["running_render"]
    for job in (lost, stuck, running):
        job.refresh_from_db()
    assert (lost.status, lost.output_key, lost.error) == (JobStatus.FAILED, "", reconcile.MISSING_RENDER)
    assert (stuck.status, stuck.error) == (JobStatus.FAILED, reconcile.LOST_RENDER)
    assert running.status == JobStatus.RUNNING  # its worker reports: left alone
    upload = Video.objects.get(pk=damage["stuck_upload"].pk)
    assert (upload.status, upload.error) == (Video.Status.FAILED, reconcile.MISSING_VIDEO)
    assert reconcile.reconcile(owner_id=alice.pk, grace_seconds=-5).clean


def test_files_written_within_the_grace_period_are_not_judged(alice, damage):
    """An upload lands in S3 just before its row is committed: a fresh file is not an orphan yet."""
    report = reconcile.reconcile(owner_id=alice.pk, grace_seconds=600)
    assert report.orphans == [] and set(report.stuck) == damage["stuck"]  # the stuck work is an hour old


def test_a_delivered_task_not_yet_acknowledged_counts_as_live(alice, damage):
    """A task a worker holds (or held when it died) sits in the broker's unacked hash: not stuck."""
    stuck = damage["stuck_render"]
    client = redis.Redis.from_url(app.conf.broker_url)
    queue = f"reconcile-test-{uuid.uuid4().hex}"
    with app.connection_for_write() as connection:
        tasks.render_video.apply_async(args=[str(stuck.pk)], queue=queue, connection=connection)
    message = client.lpop(queue)
    tag = f"reconcile-test-{stuck.pk}"
    client.hset("unacked", tag, json.dumps([json.loads(message), "", "cpu"]))
    try:
        assert str(stuck.pk) in reconcile.live_task_ids()
        report = reconcile.reconcile(owner_id=alice.pk, grace_seconds=-5)
    finally:
        client.hdel("unacked", tag)
    assert reconcile.Stuck("render", str(stuck.pk), "queued") not in report.stuck


def test_a_job_waiting_for_its_owners_turn_is_not_stuck(alice, damage):
    """The fair dispatcher holds a queued task until its owner's turn: no broker has it yet."""
    stuck = damage["stuck_render"]
    QueuedTask.objects.create(
        task="workers.tasks.render_video", object_id=stuck.pk, queue="cpu", video=stuck.track_job.video
    )
    report = reconcile.reconcile(owner_id=alice.pk, grace_seconds=-5)
    assert reconcile.Stuck("render", str(stuck.pk), "queued") not in report.stuck


def test_fixing_counts_the_owners_storage_again(alice, damage):
    from webapp.videos.models import StoredObject

    services.video_storage_recount(object_id=damage["video"].pk)
    assert StoredObject.objects.filter(video=damage["video"]).count() == 3  # the orphan counts, unfairly
    reconcile.reconcile(fix=True, owner_id=alice.pk, grace_seconds=-5)
    assert StoredObject.objects.filter(video=damage["video"]).count() == 2


def test_the_command_reports_and_fixes(alice, damage, capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", "--user", "alice", "--grace", "0")
    assert exit_.value.code == 1
    found = json.loads(capsys.readouterr().out)
    assert not found["clean"] and len(found["missing"]) == 2

    call_command("reconcile", "--user", "alice", "--grace", "0", "--fix")
    assert json.loads(capsys.readouterr().out)["fixed"] is True
    assert Video.objects.get(pk=damage["stuck_upload"].pk).status == Video.Status.FAILED


def test_the_command_names_an_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("reconcile", "--user", "nobody")
