"""Before the expensive run: the marketer confirms the product found on key frames, or corrects it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from webapp.videos.models import JobStatus, TrackJob, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def unconfirmed_video(alice):
    info = {"width": 640, "height": 360, "fps": 25.0, "frame_count": 75}
    video = Video.objects.create(owner=alice, title="a.mp4", original_key="k", original_size=1, status="ready", info=info)
    video.current_track = TrackJob.objects.create(video=video, prompt={"text": "the red ball", "points": [], "boxes": []})
    video.save(update_fields=["current_track"])
    return video


def _confirm(client, video, body):
    return client.post(reverse("video-confirm", args=[video.id]), json.dumps(body), content_type="application/json")


def test_an_upload_waits_for_confirmation_unless_asked_not_to(alice_client, alice, red_ball_video):
    path, _ = red_ball_video
    data = Path(path).read_bytes()
    for auto in (False, True):
        upload = SimpleUploadedFile(f"clip-{auto}.mp4", data, content_type="video/mp4")
        form = {"file": upload, "description": "the red ball", "style": "spotlight", "aspect": ["9:16", "1:1"]}
        if auto:
            form["auto_confirm"] = "on"
        assert alice_client.post(reverse("video-upload"), form).status_code == 302
        video = Video.objects.get(title=f"clip-{auto}.mp4")
        assert (video.confirmed_at is not None) is auto
        assert video.current_track.render_jobs.count() == 2


def test_the_status_says_to_confirm(alice_client, unconfirmed_video):
    state = alice_client.get(reverse("video-status", args=[unconfirmed_video.id])).json()
    assert state["phase"] == "confirm"


def test_confirming_a_found_box_starts_tracking_from_it(alice_client, unconfirmed_video, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _confirm(alice_client, unconfirmed_video, {"frame": 46, "box": [490, 66, 550, 112]})
    assert response.status_code == 200
    job = TrackJob.objects.get(pk=unconfirmed_video.current_track_id)
    assert job.prompt["boxes"] == [[490.0, 66.0, 550.0, 112.0, 46]] and job.prompt["text"] == "the red ball"
    unconfirmed_video.refresh_from_db()
    assert unconfirmed_video.confirmed_at is not None and len(callbacks) == 1
    # A second confirmation (a double click) changes nothing and queues nothing.
    with django_capture_on_commit_callbacks() as again:
        assert _confirm(alice_client, unconfirmed_video, {"frame": 9, "point": [10, 10]}).status_code == 200
    job.refresh_from_db()
    assert again == [] and job.prompt["points"] == []


def test_a_click_on_a_key_frame_becomes_a_point_prompt(alice_client, unconfirmed_video):
    assert _confirm(alice_client, unconfirmed_video, {"frame": 9, "point": [250, 100]}).status_code == 200
    assert TrackJob.objects.get(pk=unconfirmed_video.current_track_id).prompt["points"] == [[250.0, 100.0, 9, 1]]


def test_a_click_off_the_video_is_a_400_and_starts_nothing(alice_client, unconfirmed_video):
    response = _confirm(alice_client, unconfirmed_video, {"frame": 9, "point": [2000, 100]})
    assert response.status_code == 400 and "outside the video" in response.json()["error"]
    unconfirmed_video.refresh_from_db()
    assert unconfirmed_video.confirmed_at is None
    assert TrackJob.objects.get(pk=unconfirmed_video.current_track_id).status == JobStatus.QUEUED


def test_a_box_past_the_frame_s_edge_is_clipped_and_one_off_it_is_a_400(alice_client, unconfirmed_video):
    # The marketer's box says where the product is even when it was dragged past the edge.
    off = _confirm(alice_client, unconfirmed_video, {"frame": 9, "box": [650, 10, 700, 60]})
    assert off.status_code == 400 and "outside the video" in off.json()["error"]
    assert _confirm(alice_client, unconfirmed_video, {"frame": 9, "box": [600, -20, 700, 100]}).status_code == 200
    assert TrackJob.objects.get(pk=unconfirmed_video.current_track_id).prompt["boxes"] == [[600.0, 0.0, 640.0, 100.0, 9]]
