"""The review API: the track's frames in chunks, corrections, undo, renders and cancel. Another user's
ids are 404; malformed input is a 400 that says what is wrong and changes nothing."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db


def _post(client, name, video_or_job_id, body):
    return client.post(reverse(name, args=[video_or_job_id]), data=json.dumps(body), content_type="application/json")


def test_it_serves_a_tracks_frames_in_chunks(alice_client, reviewed_video, red_ball_video):
    _, truth = red_ball_video
    job = reviewed_video.current_track
    response = alice_client.get(reverse("track-frames", args=[job.id]), {"start": 20, "count": 10})
    assert response.status_code == 200
    body = response.json()
    assert body["start"] == 20 and body["count"] == 10 and body["frame_count"] == truth.frame_count
    assert [f["index"] for f in body["frames"]] == list(range(20, 30))
    frame = body["frames"][0]
    assert frame["visible"] and frame["box"] == truth_box(truth, 20)
    # The outline is a polygon around the ball, in pixels of the normalised video.
    xs = [p[0] for p in frame["outlines"][0]]
    x, _, w, _ = frame["box"]
    assert len(frame["outlines"][0]) >= 4 and min(xs) >= x - 1 and max(xs) <= x + w + 1


def truth_box(truth, index):
    from highlighter.trackfile import mask_box

    return mask_box(truth.mask(index))


def test_a_chunk_stops_at_the_end_and_is_capped(alice_client, reviewed_video, red_ball_video):
    _, truth = red_ball_video
    url = reverse("track-frames", args=[reviewed_video.current_track.id])
    assert alice_client.get(url, {"start": truth.frame_count - 5, "count": 50}).json()["count"] == 5
    assert alice_client.get(url, {"start": 0, "count": 100000}).json()["count"] == min(200, truth.frame_count)


@pytest.mark.parametrize("query", [{"start": "x"}, {"count": "ten"}, {"start": -1}, {"count": 0}])
def test_a_malformed_chunk_request_is_a_clear_400(alice_client, reviewed_video, query):
    response = alice_client.get(reverse("track-frames", args=[reviewed_video.current_track.id]), query)
    assert response.status_code == 400
    assert "start" in response.json()["error"]


def test_the_overview_gives_visibility_and_confidence_per_frame(alice_client, reviewed_video, red_ball_video):
    _, truth = red_ball_video
    body = alice_client.get(reverse("track-overview", args=[reviewed_video.current_track.id])).json()
    assert len(body["visible"]) == len(body["scores"]) == truth.frame_count
    assert body["frames_url"] == reverse("track-frames", args=[reviewed_video.current_track.id])


def test_another_users_track_and_video_are_not_found(client, bob, reviewed_video):
    client.force_login(bob)
    job = reviewed_video.current_track
    for url in (
        reverse("track-frames", args=[job.id]),
        reverse("track-overview", args=[job.id]),
        reverse("track-download", args=[job.id, "json"]),
        reverse("video-review", args=[reviewed_video.id]),
    ):
        assert client.get(url).status_code == 404, url
    for name, target in [
        ("track-correct", reviewed_video.id), ("track-hide", reviewed_video.id), ("track-undo", reviewed_video.id),
        ("video-confirm", reviewed_video.id), ("renders-create", reviewed_video.id), ("job-cancel", job.id),
    ]:  # fmt: skip
        assert _post(client, name, target, {"frame": 1, "points": [[10, 10, 1]]}).status_code == 404, name
    assert TrackJob.objects.filter(video=reviewed_video).count() == 1
    assert client.post(reverse("video-delete", args=[reviewed_video.id])).status_code == 404
    assert Video.objects.filter(pk=reviewed_video.pk).exists()


def test_the_review_api_requires_login(client, reviewed_video):
    response = client.get(reverse("track-frames", args=[reviewed_video.current_track.id]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_click_correction_queues_a_new_version(alice_client, reviewed_video, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(alice_client, "track-correct", reviewed_video.id, {"frame": 40, "points": [[300, 100, 1], [20, 20, 0]]})
    assert response.status_code == 201
    job = TrackJob.objects.get(pk=response.json()["track"])
    assert job.kind == TrackJob.Kind.CORRECTION and job.version == 2 and job.parent == reviewed_video.current_track
    assert job.prompt["points"] == [[300.0, 100.0, 40, 1], [20.0, 20.0, 40, 0]] and job.prompt["text"] == "the red ball"
    assert job.correction == {"frame": 40, "points": [[300.0, 100.0, 1], [20.0, 20.0, 0]], "boxes": []}
    assert len(callbacks) == 1
    # Until it is done, the marketer keeps seeing the version before.
    reviewed_video.refresh_from_db()
    assert reviewed_video.current_track.version == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"points": [[300, 100, 1]]}, "frame"),
        ({"frame": 9999, "points": [[300, 100, 1]]}, "frame"),
        ({"frame": "40", "points": [[300, 100, 1]]}, "frame"),
        ({"frame": 40}, "Click on the product"),
        ({"frame": 40, "points": [[300]]}, "A click is [x, y, positive]"),
        ({"frame": 40, "points": [["a", 100, 1]]}, "must be a number"),
        ({"frame": 40, "points": [[5000, 100, 1]]}, "outside the video"),
        ({"frame": 40, "points": "300,100"}, "list"),
        ({"frame": 40, "boxes": [[100, 100, 50, 50]]}, "top-left"),
        ({"frame": 40, "boxes": [[1, 2, 3]]}, "A box is [x1, y1, x2, y2]"),
    ],
)
def test_a_malformed_correction_is_a_clear_400_and_changes_nothing(alice_client, reviewed_video, body, message):
    response = _post(alice_client, "track-correct", reviewed_video.id, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert TrackJob.objects.filter(video=reviewed_video).count() == 1
    reviewed_video.refresh_from_db()
    assert reviewed_video.current_track.version == 1


def test_a_body_that_is_not_json_is_a_clear_400(alice_client, reviewed_video):
    response = alice_client.post(reverse("track-correct", args=[reviewed_video.id]), data="frame=4", content_type="text/plain")
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    assert TrackJob.objects.filter(video=reviewed_video).count() == 1


def test_one_correction_at_a_time(alice_client, reviewed_video):
    assert _post(alice_client, "track-correct", reviewed_video.id, {"frame": 4, "points": [[300, 100, 1]]}).status_code == 201
    response = _post(alice_client, "track-correct", reviewed_video.id, {"frame": 5, "points": [[300, 100, 1]]})
    assert response.status_code == 400 and "already running" in response.json()["error"]
    assert TrackJob.objects.filter(video=reviewed_video).count() == 2


def test_a_stretch_marked_not_in_shot_is_a_new_version(alice_client, reviewed_video):
    response = _post(alice_client, "track-hide", reviewed_video.id, {"start": 10, "end": 20})
    assert response.status_code == 201
    job = TrackJob.objects.get(pk=response.json()["track"])
    assert job.kind == TrackJob.Kind.HIDE and job.correction == {"start": 10, "end": 20}
    assert _post(alice_client, "track-hide", reviewed_video.id, {"start": 20, "end": 10}).status_code == 400


def test_undo_points_back_to_the_parent(alice_client, reviewed_video):
    first = reviewed_video.current_track
    assert _post(alice_client, "track-undo", reviewed_video.id, {}).status_code == 400  # nothing to undo
    second = TrackJob.objects.create(
        video=reviewed_video, parent=first, kind="hide", version=2, prompt=first.prompt, status=JobStatus.DONE,
        track_key=first.track_key,
    )  # fmt: skip
    Video.objects.filter(pk=reviewed_video.pk).update(current_track=second)
    response = _post(alice_client, "track-undo", reviewed_video.id, {})
    assert response.status_code == 200 and response.json()["version"] == 1
    reviewed_video.refresh_from_db()
    assert reviewed_video.current_track == first


def test_it_renders_every_chosen_format_as_its_own_job_without_retracking(
    alice_client, reviewed_video, django_capture_on_commit_callbacks
):
    body = {"style": ["spotlight", "outline"], "aspect": ["9:16", "1:1", "4:5", "16:9"], "motion": "slow"}
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(alice_client, "renders-create", reviewed_video.id, body)
    assert response.status_code == 201
    renders = RenderJob.objects.filter(track_job=reviewed_video.current_track)
    assert sorted(r.aspect for r in renders) == ["16:9", "1:1", "4:5", "9:16"]
    assert {(r.style, r.motion) for r in renders} == {("spotlight,outline", "slow")}
    assert len(callbacks) == 4 and TrackJob.objects.filter(video=reviewed_video).count() == 1
    name = renders.get(aspect="1:1").download_name
    assert name == "red-ball-spotlight+outline-1x1.mp4"


@pytest.mark.parametrize("body", [{"style": ["sparkles"], "aspect": ["9:16"]}, {"style": ["spotlight"], "aspect": []}])
def test_an_unknown_look_or_no_format_is_a_400(alice_client, reviewed_video, body):
    response = _post(alice_client, "renders-create", reviewed_video.id, body)
    assert response.status_code == 400 and response.json()["error"]
    assert not RenderJob.objects.exists()


def test_cancel_stops_a_queued_job_now_and_asks_a_running_one(alice_client, reviewed_video):
    track = reviewed_video.current_track
    queued = RenderJob.objects.create(track_job=track)
    running = RenderJob.objects.create(track_job=track, status=JobStatus.RUNNING)
    assert _post(alice_client, "job-cancel", queued.id, {}).json()["status"] == "cancelled"
    assert _post(alice_client, "job-cancel", running.id, {}).json()["cancel_requested"] is True
    queued.refresh_from_db(), running.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED
    assert running.status == JobStatus.RUNNING and running.cancel_requested
    # A running job's worker sees it at its next progress report.
    assert running.report(stage="rendering", progress=0.5) is False


def test_track_downloads_have_meaningful_names(alice_client, reviewed_video):
    response = alice_client.get(reverse("track-download", args=[reviewed_video.current_track.id, "json"]))
    assert response.status_code == 302
    assert "red-ball-track-v1.json" in response["Location"]
    assert alice_client.get(reverse("track-download", args=[reviewed_video.current_track.id, "masks"])).status_code == 404
