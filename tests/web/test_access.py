"""Every page, API call and file is behind login, and a user sees only their own videos."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_render(alice):
    video = Video.objects.create(owner=alice, title="a.mp4", original_key="k", original_size=1, status="ready")
    track = TrackJob.objects.create(video=video, prompt={"text": "the red ball"}, status=JobStatus.DONE)
    return RenderJob.objects.create(track_job=track, status=JobStatus.DONE, output_key=f"{video.key_prefix}r.mp4")


@pytest.mark.parametrize("name", ["video-list", "video-upload"])
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_video_pages_require_login(client, alices_render):
    video = alices_render.track_job.video
    for url in (
        reverse("video-detail", args=[video.id]),
        reverse("video-status", args=[video.id]),
        reverse("render-download", args=[alices_render.id]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_another_users_video_job_and_download_are_not_found(client, bob, alices_render):
    client.force_login(bob)
    video = alices_render.track_job.video
    assert client.get(reverse("video-detail", args=[video.id])).status_code == 404
    assert client.get(reverse("video-status", args=[video.id])).status_code == 404
    assert client.get(reverse("render-download", args=[alices_render.id])).status_code == 404
    assert alices_render.track_job.video.title not in client.get(reverse("video-list")).content.decode()


def test_an_unknown_video_is_not_found(alice_client):
    assert alice_client.get(reverse("video-detail", args=[uuid.uuid4()])).status_code == 404


def test_the_owner_gets_a_short_lived_download_link(alice_client, alices_render, settings):
    response = alice_client.get(reverse("render-download", args=[alices_render.id]))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(settings.S3_ENDPOINT_URL)
    assert f"X-Amz-Expires={settings.S3_PRESIGN_SECONDS}" in location
    assert "response-content-disposition=attachment" in location
    assert "a-spotlight-9x16.mp4" in location


def test_a_render_that_is_not_done_cannot_be_downloaded(alice_client, alices_render):
    RenderJob.objects.filter(pk=alices_render.pk).update(status=JobStatus.RUNNING)
    assert alice_client.get(reverse("render-download", args=[alices_render.id])).status_code == 409


def test_admin_is_for_staff_only(alice_client):
    response = alice_client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
