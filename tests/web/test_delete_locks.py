"""Deleting a video while a worker changes the rows under it: the two wait for each other in one
order, never in a cycle (CI once saw the database break such a cycle and fail the delete)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, connection, connections, transaction

from webapp.videos import services
from webapp.videos.models import StoredObject, TrackJob, Video

pytestmark = pytest.mark.django_db(transaction=True)


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_delete_waits_for_a_worker_counting_the_videos_files_and_then_removes_everything(alice):
    video = Video.objects.create(owner=alice, title="v.mp4", original_key="k", original_size=1)
    StoredObject.objects.create(video=video, key=f"{video.key_prefix}original.mp4", size=1)
    video.current_track = TrackJob.objects.create(video=video, prompt={"text": "the red ball"})
    video.save(update_fields=["current_track"])
    worker_error: list[BaseException] = []

    def worker_counts_files():
        """What ``video_storage_recount`` does, held open until the delete has started to wait: the
        video's row locked first, then the rows of its files changed."""
        try:
            with transaction.atomic():
                Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first()
                deadline = time.monotonic() + 30
                while not _someone_waits_for_a_lock():
                    assert time.monotonic() < deadline, "the delete never waited for the worker's lock"
                    time.sleep(0.05)
                StoredObject.objects.filter(video_id=video.pk).delete()
                StoredObject.objects.create(video_id=video.pk, key=f"{video.key_prefix}video.mp4", size=2)
        except BaseException as e:  # noqa: BLE001 - reported by the test's thread below
            worker_error.append(e)
        finally:
            connections.close_all()

    worker = threading.Thread(target=worker_counts_files)
    worker.start()
    deadline = time.monotonic() + 30
    while not _locked_by_someone_else(video.pk):  # the worker holds the video's row
        assert worker.is_alive() and time.monotonic() < deadline, worker_error
        time.sleep(0.02)

    services.video_delete(video=video)
    worker.join(timeout=60)

    assert not worker.is_alive()
    assert worker_error == []
    assert not Video.objects.filter(pk=video.pk).exists()
    assert not StoredObject.objects.filter(video_id=video.pk).exists()  # the worker's row went with the video
    assert not TrackJob.objects.filter(video_id=video.pk).exists()


def _locked_by_someone_else(video_pk) -> bool:
    """True once another transaction holds the video's row (a NOWAIT lock attempt fails)."""
    try:
        with transaction.atomic():
            Video.objects.select_for_update(nowait=True).filter(pk=video_pk).values_list("pk").first()
    except DatabaseError:
        return True
    return False
