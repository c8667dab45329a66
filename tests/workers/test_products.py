"""Several products in the worker: one run tracks both, with masks and a crop path per product; a
product removed is a version without it, and one added (a box on a frame) is tracked alone, the
others' pixels excluded, and joins the track while the others' frames stay as they were."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from highlighter.trackfile import Track, mask_box
from tests.e2e.scenes import write_two_products
from webapp.videos import services, storage
from webapp.videos.models import JobStatus, TrackJob
from webapp.videos.uploads import uploaded_file_from_path
from workers import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def short_two_products(media_dir):
    path = media_dir / "two-products-2s.mp4"
    return path, write_two_products(path, seconds=2.0)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def _run(job: TrackJob, django_capture_on_commit_callbacks) -> TrackJob:
    with django_capture_on_commit_callbacks(execute=True):
        tasks.track_video.run(str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    return job


def _track(job: TrackJob) -> Track:
    return Track.from_json(storage.get_bytes(job.track_key))


def test_one_run_tracks_every_product_then_remove_and_add_make_versions(
    alice, short_two_products, django_capture_on_commit_callbacks
):
    path, scene = short_two_products
    with django_capture_on_commit_callbacks():
        video = services.video_create(
            owner=alice, uploaded_file=uploaded_file_from_path(path), description="the red box\nthe blue ball",
            styles=["spotlight"], aspects=[], auto_confirm=True,
        )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        tasks.ingest_video.run(str(video.id))
    video.refresh_from_db()
    first = _run(video.current_track, django_capture_on_commit_callbacks)

    track = _track(first)
    assert track.ids == ["1", "2"] and [o.name for o in track.objects] == ["the red box", "the blue ball"]
    assert track.to_dict()["version"] == 2 and not track.overlaps()
    for k, o in enumerate(track.objects):
        ious = [_iou(track.mask(i, o.id), scene.object_mask(scene.objects[k], i)) for i in range(scene.frame_count)]
        assert float(np.mean(ious)) > 0.6, (o.id, np.mean(ious))
    # Each product's masks and 9:16 crop path, one PNG per frame.
    assert set(first.exports) == {"masks-1", "crop_path-1", "masks-2", "crop_path-2"}
    for product in ("1", "2"):
        with zipfile.ZipFile(io.BytesIO(storage.get_bytes(first.exports[f"masks-{product}"]))) as archive:
            assert len(archive.namelist()) == scene.frame_count
    assert set(first.summary["products"]) == {"1", "2"}

    # Remove the box: a version of the ball alone, made without re-tracking.
    with django_capture_on_commit_callbacks(execute=False):
        removed = services.product_remove(video=video, product_id="1")
    tasks.edit_track.run(str(removed.id))
    removed.refresh_from_db()
    assert removed.status == JobStatus.DONE, removed.error
    without = _track(removed)
    assert without.ids == ["2"] and set(removed.exports) == {"masks", "crop_path"}
    assert [f.to_dict() for f in without.frames] == [f.to_dict() for f in track.object("2").frames]

    # Add it back with a box on frame 10: tracked alone, next to the ball, whose frames do not change.
    video.refresh_from_db()
    x, y, w, h = mask_box(scene.object_mask(scene.objects[0], 10))
    with django_capture_on_commit_callbacks(execute=False):
        product = services.product_add(video=video, frame=10, box=[x, y, x + w, y + h], name="Red box")
    added = TrackJob.objects.get(video=video, version=3)
    assert product.slug == "3" and added.kind == TrackJob.Kind.ADD
    added = _run(added, django_capture_on_commit_callbacks)
    both = _track(added)
    assert both.ids == ["2", "3"] and not both.overlaps()
    assert [f.to_dict() for f in both.object("2").frames] == [f.to_dict() for f in without.frames]
    ious = [_iou(both.mask(i, "3"), scene.object_mask(scene.objects[0], i)) for i in range(scene.frame_count)]
    assert float(np.mean(ious)) > 0.6
    video.refresh_from_db()
    assert video.current_track == added
    # Undo twice: the first version, with both products as they were named.
    services.track_undo(video=video)
    services.track_undo(video=video)
    video.refresh_from_db()
    assert video.current_track == first
