"""Per-account limits: an upload or a job that does not fit is refused, before anything is stored or
queued, with the limit, the usage and what to do; deleting a video frees its space."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from webapp.videos import services, storage
from webapp.videos.models import JobStatus, StoredObject, TrackJob, Video
from webapp.videos.quotas import format_size, usage
from webapp.videos.uploads import uploaded_file_from_path
from workers import tasks

pytestmark = pytest.mark.django_db


def _upload(client, path: Path, **headers):
    with open(path, "rb") as f:
        return client.post(
            reverse("video-upload"), {"file": f, "description": "the red ball", "style": "spotlight", "aspect": "9:16"},
            **headers,
        )  # fmt: skip


def test_an_upload_that_does_not_fit_the_storage_quota_is_refused_with_the_usage(
    alice_client, alice, red_ball_video, settings
):
    path, _ = red_ball_video
    size = path.stat().st_size
    settings.USER_STORAGE_QUOTA_BYTES = size * 3 // 2
    assert _upload(alice_client, path).status_code == 302
    first = Video.objects.get(owner=alice)

    response = _upload(alice_client, path, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    (message,) = response.json()["errors"]["__all__"]  # about the account, shown above the form
    assert message == (
        f"This video ({format_size(size)}) does not fit: {format_size(size)} of your "
        f"{format_size(settings.USER_STORAGE_QUOTA_BYTES)} are used. "
        "Delete videos you no longer need from your library, then try again."
    )
    assert list(Video.objects.filter(owner=alice)) == [first]
    assert storage.list_keys(f"users/{alice.pk}/") == [first.original_key]
    assert usage(user=alice).stored_bytes == size


def test_deleting_a_video_frees_its_storage(alice_client, alice, red_ball_video, settings):
    path, _ = red_ball_video
    settings.USER_STORAGE_QUOTA_BYTES = path.stat().st_size
    _upload(alice_client, path)
    video = Video.objects.get(owner=alice)
    assert usage(user=alice).stored_bytes == settings.USER_STORAGE_QUOTA_BYTES
    assert _upload(alice_client, path).status_code == 400

    alice_client.post(reverse("video-delete", args=[video.id]))

    assert usage(user=alice).stored_bytes == 0 and not StoredObject.objects.exists()
    assert _upload(alice_client, path).status_code == 302


def test_every_file_a_worker_writes_counts_against_the_quota(alice, red_ball_video, django_capture_on_commit_callbacks):
    path, _ = red_ball_video
    with django_capture_on_commit_callbacks():  # no broker: the task runs here
        video = services.video_create(
            owner=alice, uploaded_file=uploaded_file_from_path(path), description="the red ball",
            styles=["spotlight"], aspects=["9:16"], auto_confirm=True,
        )  # fmt: skip
        tasks.ingest_video.run(str(video.id))

    services.video_storage_recount(object_id=video.id)  # what the worker does when a task ends

    keys = storage.list_keys(video.key_prefix)
    assert len(keys) == 4  # the original, the normalised video, the proxy, the thumbnail
    assert usage(user=alice).stored_bytes == sum(len(storage.get_bytes(k)) for k in keys)
    services.video_storage_recount(object_id=video.id)  # counting again counts each file once
    assert StoredObject.objects.filter(video=video).count() == 4


def test_the_job_cap_refuses_more_jobs_until_some_end(alice_client, alice, red_ball_video, reviewed_video, settings):
    path, _ = red_ball_video
    settings.USER_ACTIVE_JOBS_MAX = 2
    assert _upload(alice_client, path).status_code == 302  # its track and its render: 2 jobs
    uploaded = Video.objects.exclude(pk=reviewed_video.pk).get(owner=alice)
    renders_url = reverse("renders-create", args=[reviewed_video.id])
    body = {"style": ["glow"], "aspect": ["1:1"]}

    refused = alice_client.post(renders_url, body, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "You have 2 of your 2 jobs queued or running, and this needs 1 more. "
        "Wait for some to finish, or cancel the ones you no longer need, then try again."
    )
    assert _upload(alice_client, path).status_code == 400
    assert Video.objects.filter(owner=alice).count() == 2

    services.job_cancel(job=TrackJob.objects.get(video=uploaded))  # its render is cancelled with it
    assert alice_client.post(renders_url, body, content_type="application/json").status_code == 201
    assert TrackJob.objects.get(video=uploaded).status == JobStatus.CANCELLED


def test_the_upload_page_shows_the_usage(alice_client, alice, red_ball_video):
    path, _ = red_ball_video
    _upload(alice_client, path)
    page = alice_client.get(reverse("video-upload")).content.decode()
    assert f"{format_size(path.stat().st_size)} of 20 GB used, 2 of 20 jobs queued or running" in page


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 KB"), (12_345, "12 KB"), (640 * 1024**2, "640 MB"), (int(3.24 * 1024**3), "3.2 GB"),
        (20 * 1024**3, "20 GB"),
    ],  # fmt: skip
)
def test_sizes_read_as_people_write_them(size, text):
    assert format_size(size) == text
