"""The whole path through real parts: an upload through the Django view, a real Celery worker process
running ingest, tracking and rendering, and the results checked in SeaweedFS."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from django.urls import reverse

from highlighter.trackfile import Track
from tests.conftest import wait_for
from webapp.videos import storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db(transaction=True)


def _ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_an_uploaded_video_comes_back_highlighted_and_reframed(
    client, alice, red_ball_video, celery_worker_process, tmp_path
):
    path, truth = red_ball_video
    client.force_login(alice)
    with open(path, "rb") as f:
        response = client.post(
            reverse("video-upload"),
            {"file": f, "description": "the red ball", "style": "spotlight", "aspect": "9:16", "auto_confirm": "on"},
        )
    assert response.status_code == 302
    video = Video.objects.get(owner=alice)

    def finished():
        render = RenderJob.objects.filter(track_job__video=video).first()
        video.refresh_from_db()
        if video.status == Video.Status.FAILED:
            pytest.fail(f"ingest failed: {video.error}")
        if render and render.status in (JobStatus.DONE, JobStatus.FAILED):
            return render
        return None

    render = wait_for(finished, timeout=300, what="the render to finish")
    assert render.status == JobStatus.DONE, render.error

    # The status API reports done with a playable link.
    state = client.get(reverse("video-status", args=[video.id])).json()
    assert state["phase"] == "done" and state["progress"] == 1.0
    assert state["renders"][0]["play_url"].startswith("http://127.0.0.1")

    # The rendered file, read back from SeaweedFS.
    out = tmp_path / "out.mp4"
    storage.download_file(render.output_key, out)
    info = _ffprobe(out)
    v = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert v["codec_name"] == "h264" and (v["width"], v["height"]) == (1080, 1920)
    assert any(s["codec_type"] == "audio" for s in info["streams"])
    source = _ffprobe(Path(path))
    assert abs(float(info["format"]["duration"]) - float(source["format"]["duration"])) <= 0.1

    # The track follows the ball: mean IoU with the ground truth above 0.7.
    track_job = TrackJob.objects.get(video=video)
    track = Track.from_json(storage.get_bytes(track_job.track_key))
    assert len(track.frames) == truth.frame_count
    ious = []
    for i in range(truth.frame_count):
        predicted, expected = track.mask(i), truth.mask(i)
        union = np.logical_or(predicted, expected).sum()
        ious.append(np.logical_and(predicted, expected).sum() / union if union else 1.0)
    assert float(np.mean(ious)) > 0.7, f"mean IoU {np.mean(ious):.3f}"

    # Everything stored sits under the owner's prefix.
    keys = storage.list_keys(f"users/{alice.pk}/")
    assert {video.original_key, video.mezzanine_key, video.proxy_key, track_job.track_key, render.output_key} <= set(keys)
