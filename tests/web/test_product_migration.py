"""The migration to several products: a video from before gets one product, id "1", named by its
description; its TrackJob rows are left as they were and read as that one product."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("videos", "0003_quotas_and_fair_dispatch")]
AFTER = [("videos", "0004_several_products")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_a_video_from_before_gets_its_one_product(alice):
    old = _migrate(BEFORE)
    try:
        Video, TrackJob = old.get_model("videos", "Video"), old.get_model("videos", "TrackJob")
        video = Video.objects.create(owner_id=alice.pk, title="old.mp4", original_key="k", original_size=1)
        TrackJob.objects.create(video=video, prompt={"text": "  the red bag ", "points": [], "boxes": []})
        unnamed = Video.objects.create(owner_id=alice.pk, title="clicked.mp4", original_key="k2", original_size=1)
        TrackJob.objects.create(video=unnamed, prompt={"text": "", "points": [[1, 2, 0, 1]], "boxes": []})
    finally:
        new = _migrate(AFTER)
    Product = new.get_model("videos", "Product")
    assert list(Product.objects.filter(video_id=video.pk).values_list("slug", "name", "position")) == [("1", "the red bag", 0)]
    assert Product.objects.get(video_id=unnamed.pk).name == "Product"

    from webapp.videos.models import TrackJob as CurrentTrackJob

    job = CurrentTrackJob.objects.get(video_id=video.pk)
    assert job.products == [] and job.product_prompts() == [{"id": "1", "prompt": job.prompt}]
