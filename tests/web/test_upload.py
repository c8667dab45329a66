"""Uploading: a good video is stored untouched and queued; a bad file gets a clear message and
leaves nothing behind (no row, no object in S3, no task)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from webapp.videos import storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db


def _post(client, name: str, data: bytes, *, description: str = "the red ball", **headers):
    upload = SimpleUploadedFile(name, data, content_type="video/mp4")
    return client.post(
        reverse("video-upload"),
        {"file": upload, "description": description, "style": "spotlight", "aspect": "9:16"},
        **headers,
    )


def _assert_nothing_stored(user):
    assert not Video.objects.filter(owner=user).exists()
    assert not TrackJob.objects.exists()
    assert storage.list_keys(f"users/{user.pk}/") == []


def test_it_stores_and_queues_a_video(alice_client, alice, red_ball_video, django_capture_on_commit_callbacks):
    path, _ = red_ball_video
    original = Path(path).read_bytes()
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(alice_client, "Spring Campaign.mp4", original)
    video = Video.objects.get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("video-detail", args=[video.id])
    assert video.title == "Spring Campaign.mp4"
    assert video.status == Video.Status.UPLOADED
    assert video.probe["width"] == 640 and video.probe["has_audio"]
    # The original is kept byte for byte.
    assert storage.get_bytes(video.original_key) == original
    track = TrackJob.objects.get(video=video)
    assert track.prompt["text"] == "the red ball" and track.status == JobStatus.QUEUED
    assert RenderJob.objects.get(track_job=track).aspect == "9:16"
    # Exactly one task, the ingest, is sent once the transaction commits.
    assert len(callbacks) == 1


def test_it_answers_json_to_the_upload_script(alice_client, red_ball_video):
    path, _ = red_ball_video
    response = _post(alice_client, "clip.mp4", Path(path).read_bytes(), HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    assert response.json()["url"].startswith("/videos/")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.mp4", b"These are my campaign notes, not a video.\n" * 50, "not a video we can read"),
        ("empty.mp4", b"", "empty"),
    ],
)
def test_it_rejects_a_file_that_is_not_a_video(alice_client, alice, name, data, message):
    response = _post(alice_client, name, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    _assert_nothing_stored(alice)


def test_it_rejects_a_still_image(alice_client, alice, media_dir):
    import cv2
    import numpy as np

    png = media_dir / "photo.png"
    cv2.imwrite(str(png), np.full((64, 64, 3), 200, np.uint8))
    response = _post(alice_client, "photo.mp4", png.read_bytes())
    assert response.status_code == 400
    assert "still image" in response.content.decode()
    _assert_nothing_stored(alice)


def test_it_rejects_a_truncated_video(alice_client, alice, red_ball_video):
    path, _ = red_ball_video
    data = Path(path).read_bytes()
    response = _post(alice_client, "cut.mp4", data[: len(data) // 2])
    assert response.status_code == 400
    body = response.content.decode()
    assert "damaged" in body or "not a video we can read" in body
    _assert_nothing_stored(alice)


def test_it_rejects_an_over_size_file_while_it_arrives(alice_client, alice, red_ball_video, settings):
    settings.UPLOAD_MAX_BYTES = 50_000
    path, _ = red_ball_video
    response = _post(alice_client, "big.mp4", Path(path).read_bytes() + b"\0" * 100_000)
    assert response.status_code == 400
    assert "larger than the" in response.content.decode()
    _assert_nothing_stored(alice)


def test_it_rejects_an_upload_without_a_description(alice_client, alice, red_ball_video):
    path, _ = red_ball_video
    response = _post(alice_client, "clip.mp4", Path(path).read_bytes(), description="   ")
    assert response.status_code == 400
    _assert_nothing_stored(alice)


def test_it_keeps_nothing_when_storage_is_down(alice_client, alice, red_ball_video, settings):
    # A storage outage: the endpoint refuses connections. The marketer is told, nothing is recorded.
    storage._client.cache_clear()
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9"
    try:
        path, _ = red_ball_video
        response = _post(alice_client, "clip.mp4", Path(path).read_bytes())
    finally:
        storage._client.cache_clear()
    assert response.status_code == 400
    assert "storage is unavailable" in response.content.decode()
    assert not Video.objects.exists()
