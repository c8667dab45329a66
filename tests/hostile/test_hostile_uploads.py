"""Hostile uploads (``highlighter.eval.hostile``) through the real path: the upload view, SeaweedFS and
the ingest task in the real Celery worker process. Each file ends accepted (a normalised video in S3)
or refused with a message the marketer can act on, within a time bound per file; no row is left half
way, nothing is stored for a refused upload, no temporary file is left, and the worker stays up.

``HOSTILE_REPORT=path`` writes what happened to each file, and how long it took, as a Markdown table
(``scripts/hostile_corpus.py --report`` runs this and prints it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from highlighter import media
from highlighter.eval import hostile
from tests.conftest import wait_for
from webapp.videos import services, storage
from webapp.videos.models import JobStatus, RenderJob, TrackJob, Video

pytestmark = pytest.mark.django_db(transaction=True)

# The most one file may take, from the upload to the ingest's end, on a busy two-core machine.
PER_FILE_SECONDS = 120
FINAL = (Video.Status.READY, Video.Status.FAILED)
# A message the marketer can act on says what to do.
ACTIONS = ("re-upload", "Upload ", "Export", "Trim")
REPORT: list[dict] = []


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return {entry.name: path for entry, path in hostile.write_corpus(tmp_path_factory.mktemp("hostile"))}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    target = os.environ.get("HOSTILE_REPORT")
    if target:
        Path(target).write_text(json.dumps(REPORT, indent=1))


def _upload(client, path: Path):
    with path.open("rb") as f:
        return client.post(
            reverse("video-upload"),
            {"file": f, "description": "the product", "style": "spotlight", "aspect": "9:16"},
            HTTP_ACCEPT="application/json",
        )


def _ingested(video: Video):
    video.refresh_from_db()
    return video if video.status in FINAL else None


def _assert_clear(message: str) -> None:
    assert message and not message.startswith("Something went wrong"), message
    assert any(action in message for action in ACTIONS), message


@pytest.mark.timeout(PER_FILE_SECONDS, func_only=True)
@pytest.mark.parametrize("entry", hostile.corpus_entries(), ids=lambda e: e.name)
def test_a_hostile_upload_is_accepted_or_refused_clearly(
    entry, corpus, client, alice, celery_worker_process, settings, tmp_path
):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(uploads)
    client.force_login(alice)
    started = time.monotonic()

    response = _upload(client, corpus[entry.name])
    if response.status_code == 400:
        message = " ".join(m for ms in response.json()["errors"].values() for m in ms)
        outcome = f"refused at upload: {message}"
        assert not Video.objects.exists() and not TrackJob.objects.exists()
        assert storage.list_keys(f"users/{alice.pk}/") == []
    else:
        assert response.status_code == 201, response.content
        video = wait_for(lambda: _ingested(Video.objects.get(owner=alice)), timeout=10 * PER_FILE_SECONDS,
                         interval=0.2, what=f"the ingest of {entry.name}")  # fmt: skip
        keys = set(storage.list_keys(video.key_prefix))
        if video.status == Video.Status.FAILED:
            message = video.error
            outcome = f"refused by the worker: {message}"
            assert not TrackJob.objects.exclude(status=JobStatus.FAILED).exists()
            assert not RenderJob.objects.exclude(status=JobStatus.FAILED).exists()
            assert keys == {video.original_key}  # nothing half-made beside the original
        else:
            message = ""
            mezzanine = tmp_path / "video.mp4"
            storage.download_file(video.mezzanine_key, mezzanine)
            info = media.probe(mezzanine, count_frames=True)
            outcome = f"accepted: {info.width}x{info.height}, {info.frame_count} frames"
            assert info.video_codec == "h264" and info.width % 2 == 0 and info.height % 2 == 0
            assert (info.width, info.height) == (video.info["width"], video.info["height"])
            if entry.size:
                assert (info.width, info.height) == entry.size
            assert keys == {video.original_key, video.mezzanine_key, video.proxy_key, video.thumbnail_key}
        services.video_delete(video=video)
    seconds = time.monotonic() - started
    REPORT.append({"file": entry.name, "what": entry.what, "outcome": outcome, "seconds": round(seconds, 1)})

    if entry.expect == hostile.ACCEPTED:
        assert outcome.startswith("accepted"), outcome
    elif entry.expect != hostile.EITHER:
        assert entry.expect in message, outcome
    if message:
        _assert_clear(message)
    assert list(uploads.iterdir()) == []
    assert celery_worker_process.poll() is None, "the worker died"


def test_the_worker_leaves_nothing_behind(celery_worker_process):
    # Run after the corpus: once the worker is idle, its scratch space is empty.
    from workers.celery_app import app

    def idle() -> bool:
        replies = app.control.inspect(timeout=2).active() or {}
        return bool(replies) and not any(replies.values())

    wait_for(idle, timeout=PER_FILE_SECONDS, what="the worker to finish")
    work = Path(django_settings.WORK_DIR)
    assert not work.exists() or list(work.iterdir()) == []
    assert celery_worker_process.poll() is None
