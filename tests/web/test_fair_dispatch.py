"""Tasks wait for their owner's turn: one account's backlog holds another's task up by at most one
task per worker slot, owners with backlogs take turns, and a slot is freed whenever its job ends,
however it ends. Here the test plays the workers: it ends the jobs it was sent, in the order sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.videos import dispatch, services
from webapp.videos.models import JobStatus, QueuedTask, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The ids of the jobs sent to the broker, in order."""
    from workers.celery_app import app

    ids: list[str] = []
    monkeypatch.setattr(app, "send_task", lambda name, *, args, queue: ids.append(args[0]))
    return ids


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run ``fn`` and what it leaves for after the commit (the dispatcher's sends)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            fn(*args, **kwargs)

    return run


def _renders(owner, count: int) -> list[RenderJob]:
    video = Video.objects.create(
        owner=owner, title="v.mp4", original_key="k", original_size=1, status=Video.Status.READY
    )
    track = TrackJob.objects.create(video=video, prompt={"text": "red"}, status=JobStatus.DONE)
    return [RenderJob.objects.create(track_job=track) for _ in range(count)]


def _queue(run_commits, jobs: list[RenderJob]) -> None:
    def enqueue_all():
        for job in jobs:
            services.render_job_enqueue(job=job)

    run_commits(enqueue_all)


def _end(run_commits, job_id: str, status: str = JobStatus.DONE) -> None:
    """What a worker does: claim the job, end it, and let the dispatcher fill the slot it leaves."""
    job = RenderJob.objects.get(pk=job_id)
    assert job.claim(stale_seconds=300)
    job.finish(status=status)
    run_commits(dispatch.run)


def _work_through(run_commits, sent: list[str]) -> None:
    """End every sent job not ended yet, oldest first, until nothing is left to send."""
    done = 0
    while done < len(sent):
        if RenderJob.objects.filter(pk=sent[done], status=JobStatus.QUEUED).exists():
            _end(run_commits, sent[done])
        done += 1


@pytest.mark.parametrize("slots", [1, 2])
def test_one_owners_fifty_jobs_hold_up_anothers_by_at_most_one_per_slot(
    alice, bob, django_user_model, sent, run_commits, settings, slots
):
    settings.JOB_SLOTS = {"cpu": slots, "gpu": 1}
    carol = django_user_model.objects.create_user("carol")
    alices = [str(j.id) for j in _renders(alice, 50)]
    _queue(run_commits, [RenderJob.objects.get(pk=pk) for pk in alices])
    assert sent == alices[:slots]  # no more than the slots, however many are waiting

    (bobs,) = _renders(bob, 1)
    _queue(run_commits, [bobs])
    _end(run_commits, sent[0])  # a worker frees its slot
    (carols,) = _renders(carol, 1)
    _queue(run_commits, [carols])
    _work_through(run_commits, sent)

    assert sorted(sent) == sorted([*alices, str(bobs.id), str(carols.id)])  # everything ran, once
    # Each newcomer started before more than one further job of alice's per slot had.
    assert sent.index(str(bobs.id)) <= slots
    assert sent.index(str(carols.id)) <= sent.index(str(bobs.id)) + slots + 1
    assert sent.index(str(carols.id)) < 2 * slots + 2


def test_owners_with_backlogs_take_turns_longest_waiting_first(alice, bob, sent, run_commits):
    alices, bobs = _renders(alice, 3), _renders(bob, 3)
    _queue(run_commits, alices)
    _queue(run_commits, bobs)
    _work_through(run_commits, sent)
    owner = {str(j.id): "alice" for j in alices} | {str(j.id): "bob" for j in bobs}
    assert [owner[pk] for pk in sent] == ["alice", "bob", "alice", "bob", "alice", "bob"]


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_job_that_fails_or_is_cancelled_frees_its_slot(alice, sent, run_commits, status):
    jobs = _renders(alice, 2)
    _queue(run_commits, jobs)
    _end(run_commits, sent[0], status=status)
    assert sent == [str(j.id) for j in jobs]


def test_deleting_a_video_withdraws_its_tasks_and_frees_their_slots(alice, bob, sent, run_commits):
    alices, bobs = _renders(alice, 3), _renders(bob, 1)
    _queue(run_commits, alices)
    _queue(run_commits, bobs)
    run_commits(services.video_delete, video=alices[0].track_job.video)
    assert sent == [str(alices[0].id), str(bobs[0].id)]
    assert not QueuedTask.objects.filter(video__owner=alice).exists()


def test_a_task_queued_twice_is_sent_once(alice, sent, run_commits, settings):
    settings.JOB_SLOTS = {"cpu": 5, "gpu": 1}
    (job,) = _renders(alice, 1)
    _queue(run_commits, [job, job])
    _queue(run_commits, [job])
    assert sent == [str(job.id)]


def test_the_sweep_resends_a_task_no_worker_received_and_fills_free_slots(alice, sent, run_commits):
    first, second = _renders(alice, 2)
    _queue(run_commits, [first, second])
    assert sent == [str(first.id)]
    QueuedTask.objects.filter(object_id=first.id).update(sent_at=timezone.now() - timedelta(minutes=10))

    run_commits(dispatch.sweep, stale_seconds=300)  # lost on the way (say, the broker restarted empty)
    assert sent == [str(first.id)] * 2

    dispatch.started(task="workers.tasks.render_video", object_id=str(first.id))
    QueuedTask.objects.filter(object_id=first.id).update(sent_at=timezone.now() - timedelta(minutes=10))
    run_commits(dispatch.sweep, stale_seconds=300)  # received: its job's own recovery takes over from here
    assert sent == [str(first.id)] * 2

    RenderJob.objects.filter(pk=first.pk).update(status=JobStatus.DONE)  # its worker died before telling us
    run_commits(dispatch.sweep, stale_seconds=300)
    assert sent == [str(first.id)] * 2 + [str(second.id)]
