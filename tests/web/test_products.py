"""Several products in one video: named at upload, confirmed, added, renamed and removed, corrected
one at a time, rendered with looks per product. Another user's products are 404; bad input is a 400
that says what to do and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from highlighter.trackfile import FrameTrack, Track, TrackObject
from webapp.videos import selectors, services, storage
from webapp.videos.selectors import SINGLE_PRODUCT_COLOUR
from webapp.videos.models import JobStatus, Product, RenderJob, TrackJob, Video
from webapp.videos.products import MAX_PRODUCTS, new_colour, palette
from workers.tasks import _render_options

pytestmark = pytest.mark.django_db

INFO = {"width": 640, "height": 360, "fps": 25.0, "frame_count": 75}


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _upload(client, path, descriptions, **headers):
    upload = SimpleUploadedFile("clip.mp4", Path(path).read_bytes(), content_type="video/mp4")
    data = {"file": upload, "description": descriptions, "style": "spotlight", "aspect": "9:16"}
    return client.post(reverse("video-upload"), data, **headers)


def _unconfirmed(owner, names=("the red box", "the blue ball")) -> Video:
    video = Video.objects.create(owner=owner, title="a.mp4", original_key="k", original_size=1, status="ready", info=INFO)
    job = TrackJob(video=video)
    job.set_products([{"id": str(i + 1), "prompt": {"text": n, "points": [], "boxes": []}} for i, n in enumerate(names)])
    job.save()
    for i, name in enumerate(names):
        Product.objects.create(video=video, slug=str(i + 1), name=name, position=i, colour=palette()[i])
    video.current_track = job
    video.save(update_fields=["current_track"])
    return video


def _square(index: int, x0: int, size: int = 40) -> np.ndarray:
    mask = np.zeros((INFO["height"], INFO["width"]), bool)
    x = x0 + 2 * index
    mask[100 : 100 + size, x : x + size] = True
    return mask


def _object(object_id: str, name: str, x0: int) -> TrackObject:
    frames = [FrameTrack.from_mask(i, i / 25, _square(i, x0), 0.9) for i in range(INFO["frame_count"])]
    return TrackObject(object_id, name, {"text": name, "points": [], "boxes": []}, frames)


@pytest.fixture
def two_products(alice):
    """Alice's confirmed video of two products, its first track (two objects) done and stored."""
    video = _unconfirmed(alice)
    Video.objects.filter(pk=video.pk).update(confirmed_at=timezone.now())
    track = Track(INFO, shots=[[0, 74]], objects=[_object("1", "the red box", 20), _object("2", "the blue ball", 400)])
    key = f"{video.key_prefix}tracks/first.json"
    storage.put_bytes(track.to_json().encode(), key, content_type="application/json")
    TrackJob.objects.filter(pk=video.current_track_id).update(status=JobStatus.DONE, track_key=key)
    video.refresh_from_db()
    return video


# --- upload -----------------------------------------------------------------------------------------


def test_an_upload_names_one_product_a_box_or_a_line(alice_client, alice, red_ball_video):
    path, _ = red_ball_video
    assert _upload(alice_client, path, ["the red box", "  ", "the blue ball\nthe green cup"]).status_code == 302
    video = Video.objects.get(owner=alice)
    job = video.current_track
    assert [p["prompt"]["text"] for p in job.product_prompts()] == ["the red box", "the blue ball", "the green cup"]
    assert job.product_ids == ["1", "2", "3"] and job.prompt["text"] == "the red box"
    rows = list(video.products.all())
    assert [(p.slug, p.name) for p in rows] == [("1", "the red box"), ("2", "the blue ball"), ("3", "the green cup")]
    assert len({p.colour for p in rows}) == 3  # each its own colour


def test_a_one_product_upload_is_as_before(alice_client, alice, red_ball_video):
    path, _ = red_ball_video
    assert _upload(alice_client, path, "the red ball").status_code == 302
    job = Video.objects.get(owner=alice).current_track
    assert job.prompt == {"text": "the red ball", "points": [], "boxes": []}
    assert job.product_ids == ["1"]


@pytest.mark.parametrize(
    ("descriptions", "message"),
    [
        (["the red box", "The Red Box"], "You named 'The Red Box' twice"),
        ([f"product {i}" for i in range(MAX_PRODUCTS + 1)], f"at most {MAX_PRODUCTS} products"),
        (["  ", ""], "Name the product"),
        (["x" * 301], "at most 300 characters"),
    ],
)
def test_bad_descriptions_get_a_clear_message_and_store_nothing(alice_client, alice, red_ball_video, descriptions, message):
    path, _ = red_ball_video
    response = _upload(alice_client, path, descriptions, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"]["description"])
    assert not Video.objects.filter(owner=alice).exists() and not Product.objects.exists()


def test_the_upload_page_keeps_every_description_after_an_error(alice_client):
    response = alice_client.post(reverse("video-upload"), {"description": ["the red box", "the blue ball"]})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="the red box"' in page and 'value="the blue ball"' in page


# --- confirm ----------------------------------------------------------------------------------------


def test_each_product_is_confirmed_on_its_own_key_frame(alice_client, alice, django_capture_on_commit_callbacks):
    video = _unconfirmed(alice)
    body = {"products": {"1": {"frame": 9, "box": [10, 20, 60, 80]}, "2": {"frame": 40, "point": [300, 100]}}}
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(alice_client, reverse("video-confirm", args=[video.id]), body)
    assert response.status_code == 200, response.content
    job = TrackJob.objects.get(pk=video.current_track_id)
    red, blue = job.product_prompts()
    assert red["prompt"] == {"text": "the red box", "points": [], "boxes": [[10.0, 20.0, 60.0, 80.0, 9]]}
    assert blue["prompt"] == {"text": "the blue ball", "points": [[300.0, 100.0, 40, 1]], "boxes": []}
    assert job.prompt == red["prompt"] and len(callbacks) == 1  # one tracking job for both


def test_confirming_an_unknown_product_is_a_400_and_starts_nothing(alice_client, alice):
    video = _unconfirmed(alice)
    response = _post(alice_client, reverse("video-confirm", args=[video.id]), {"products": {"7": {"frame": 1, "point": [1, 1]}}})
    assert response.status_code == 400 and "no product '7'" in response.json()["error"]
    video.refresh_from_db()
    assert video.confirmed_at is None


def test_a_product_added_before_confirming_joins_the_first_run(alice_client, alice):
    video = _unconfirmed(alice)
    response = _post(alice_client, reverse("product-add", args=[video.id]), {"frame": 30, "box": [100, 50, 200, 150]})
    assert response.status_code == 201, response.content
    product = response.json()["product"]
    assert product["id"] == "3" and product["name"] == "Product 3" and product["colour"] == palette()[2]
    job = TrackJob.objects.get(pk=video.current_track_id)
    assert job.product_ids == ["1", "2", "3"] and job.status == JobStatus.QUEUED
    assert job.product_prompts()[2]["prompt"] == {"text": "", "points": [], "boxes": [[100.0, 50.0, 200.0, 150.0, 30]]}
    assert TrackJob.objects.filter(video=video).count() == 1


def test_a_new_product_takes_a_colour_apart_from_the_ones_chosen(alice_client, alice):
    video = _unconfirmed(alice)
    # The marketer gave the blue ball a sky blue of their own: the palette's sky blue would be its twin.
    assert _post(alice_client, reverse("product-rename", args=[video.id, "2"]), {"colour": "#33bbff"}).status_code == 200
    response = _post(alice_client, reverse("product-add", args=[video.id]), {"frame": 30, "box": [100, 50, 200, 150]})
    assert response.status_code == 201, response.content
    assert response.json()["product"]["colour"] == palette()[2]


def test_new_colours_keep_the_palette_s_order_and_skip_its_look_alikes_of_chosen_colours():
    colours = palette()
    assert new_colour([]) == colours[0]
    assert [new_colour(list(colours[:n])) for n in range(1, len(colours))] == list(colours[1:])
    assert new_colour([colours[0], colours[2]]) == colours[1]  # a gap in the palette is filled first
    assert new_colour(["#ff4060", colours[1]]) == colours[2]  # a chosen raspberry: the palette's is skipped
    # Nothing is far enough from everything taken: the colour farthest from its nearest.
    assert new_colour([*colours[1:], "#ff4060"]) == colours[0]
    crowded = ["#ff3b6b", "#ff8a3d", "#ffd23f", "#38e08c", "#2ec4ff", "#7f6bff"]
    assert new_colour(crowded) == colours[4]


def test_a_product_removed_before_confirming_leaves_the_first_run(alice_client, alice):
    video = _unconfirmed(alice)
    assert _post(alice_client, reverse("product-remove", args=[video.id, "1"]), {}).status_code == 200
    job = TrackJob.objects.get(pk=video.current_track_id)
    assert job.product_ids == ["2"] and job.prompt["text"] == "the blue ball"
    response = _post(alice_client, reverse("product-remove", args=[video.id, "2"]), {})
    assert response.status_code == 400 and "at least one product" in response.json()["error"]
    job.refresh_from_db()
    assert job.product_ids == ["2"]


# --- rename -----------------------------------------------------------------------------------------


def test_renaming_a_product(alice_client, two_products):
    url = reverse("product-rename", args=[two_products.id, "2"])
    response = _post(alice_client, url, {"name": "  Blue   ball  "})
    assert response.status_code == 200 and response.json()["product"]["name"] == "Blue ball"
    assert Product.objects.get(video=two_products, slug="2").name == "Blue ball"


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the product a name"), (None, "Give the product a name"), (12, "Give the product a name"),
     ("THE RED BOX", "Another product of this video is called"), ("x" * 201, "at most 200 characters")],
)  # fmt: skip
def test_a_bad_name_is_a_clear_400_and_changes_nothing(alice_client, two_products, name, message):
    response = _post(alice_client, reverse("product-rename", args=[two_products.id, "2"]), {"name": name})
    assert response.status_code == 400 and message in response.json()["error"]
    assert Product.objects.get(video=two_products, slug="2").name == "the blue ball"


def test_a_products_colour_is_the_marketers_choice_on_the_page_and_in_renders(alice_client, two_products):
    url = reverse("product-rename", args=[two_products.id, "2"])
    response = _post(alice_client, url, {"colour": " #FF0066 "})
    assert response.status_code == 200 and response.json()["product"]["colour"] == "#ff0066"
    row = Product.objects.get(video=two_products, slug="2")
    assert (row.name, row.colour) == ("the blue ball", "#ff0066")  # the name as it was
    assert [p["colour"] for p in selectors.video_products(video=two_products)] == [palette()[0], "#ff0066"]
    render = services.renders_create(video=two_products, styles=["outline"], aspects=["1:1"])[0]
    track = Track.from_json(storage.get_bytes(two_products.current_track.track_key))
    looks = _render_options(render, track)["products"]
    assert looks["2"].colour == "#ff0066" and looks["1"].colour == palette()[0]
    both = _post(alice_client, url, {"name": "Pink ball", "colour": "#00aa11"}).json()["product"]
    assert (both["name"], both["colour"]) == ("Pink ball", "#00aa11")


@pytest.mark.parametrize("colour", ["pink", "#ff006", "#ff00666", "#gg0066", "", 12, ["#ff0066"]])
def test_a_bad_colour_is_a_clear_400_and_changes_nothing(alice_client, two_products, colour):
    response = _post(alice_client, reverse("product-rename", args=[two_products.id, "2"]), {"colour": colour})
    assert response.status_code == 400 and "#rrggbb" in response.json()["error"]
    assert Product.objects.get(video=two_products, slug="2").colour == palette()[1]


def test_another_users_products_are_not_found(client, bob, two_products):
    client.force_login(bob)
    video = two_products
    for url in (
        reverse("product-rename", args=[video.id, "1"]),
        reverse("product-remove", args=[video.id, "1"]),
        reverse("product-add", args=[video.id]),
    ):
        assert _post(client, url, {"name": "mine", "frame": 1, "point": [5, 5]}).status_code == 404, url
    track = video.current_track
    assert client.get(reverse("product-track-download", args=[track.id, "1", "masks"])).status_code == 404
    assert Product.objects.get(video=video, slug="1").name == "the red box"
    assert list(Product.objects.filter(video=video).values_list("slug", flat=True)) == ["1", "2"]


def test_a_product_the_video_does_not_have_is_not_found(alice_client, two_products):
    assert _post(alice_client, reverse("product-rename", args=[two_products.id, "9"]), {"name": "x"}).status_code == 404


# --- after tracking: versions per product -----------------------------------------------------------


def test_a_correction_changes_the_chosen_products_prompt_only(alice_client, two_products, django_capture_on_commit_callbacks):
    video = two_products
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(alice_client, reverse("track-correct", args=[video.id]),
                         {"frame": 40, "points": [[480, 120, 1]], "product": "2"})  # fmt: skip
    assert response.status_code == 201, response.content
    job = TrackJob.objects.get(video=video, version=2)
    assert job.kind == TrackJob.Kind.CORRECTION and job.correction["product"] == "2"
    first, second = job.product_prompts()
    assert first == video.current_track.product_prompts()[0]  # untouched
    assert second["prompt"]["points"] == [[480.0, 120.0, 40, 1]]
    assert job.anchors("2") == [40] and job.anchors("1") == []
    assert len(callbacks) == 1


def test_a_correction_of_an_unknown_product_is_a_400(alice_client, two_products):
    response = _post(alice_client, reverse("track-correct", args=[two_products.id]),
                     {"frame": 40, "points": [[480, 120, 1]], "product": "nope"})  # fmt: skip
    assert response.status_code == 400 and "no product 'nope'" in response.json()["error"]
    assert TrackJob.objects.filter(video=two_products).count() == 1


def test_hiding_a_stretch_of_one_product(alice_client, two_products):
    response = _post(alice_client, reverse("track-hide", args=[two_products.id]), {"start": 3, "end": 9, "product": "1"})
    assert response.status_code == 201
    job = TrackJob.objects.get(video=two_products, version=2)
    assert job.kind == TrackJob.Kind.HIDE and job.correction == {"start": 3, "end": 9, "product": "1"}


def test_adding_and_removing_a_product_after_tracking_are_new_versions(alice_client, two_products):
    video = two_products
    response = _post(alice_client, reverse("product-add", args=[video.id]),
                     {"frame": 10, "point": [300, 300], "name": "the green cup"})  # fmt: skip
    assert response.status_code == 201
    added = TrackJob.objects.get(video=video, version=2)
    assert added.kind == TrackJob.Kind.ADD and added.product_ids == ["1", "2", "3"]
    assert added.correction == {"frame": 10, "points": [[300.0, 300.0, 1]], "boxes": [], "product": "3"}
    # One change at a time: the removal waits for the addition.
    response = _post(alice_client, reverse("product-remove", args=[video.id, "1"]), {})
    assert response.status_code == 400 and "already running" in response.json()["error"]
    TrackJob.objects.filter(pk=added.pk).update(status=JobStatus.CANCELLED)
    response = _post(alice_client, reverse("product-remove", args=[video.id, "1"]), {})
    assert response.status_code == 200
    removed = TrackJob.objects.get(video=video, version=3)
    assert removed.kind == TrackJob.Kind.REMOVE and removed.product_ids == ["2"]
    assert removed.correction == {"product": "1"} and removed.prompt["text"] == "the blue ball"
    assert Product.objects.filter(video=video, slug="1").exists()  # an undo brings it back by name


def test_the_review_api_gives_each_product_its_row_and_outlines(alice_client, two_products):
    job = two_products.current_track
    overview = alice_client.get(reverse("track-overview", args=[job.id])).json()
    assert [(o["id"], o["name"], o["colour"]) for o in overview["objects"]] == [
        ("1", "the red box", palette()[0]), ("2", "the blue ball", palette()[1])
    ]
    assert all(len(o["visible"]) == 75 and len(o["scores"]) == 75 for o in overview["objects"])
    frames = alice_client.get(reverse("track-frames", args=[job.id]), {"start": 10, "count": 2}).json()["frames"]
    blue = frames[0]["objects"]["2"]
    assert blue["visible"] and blue["box"] == [420.0, 100.0, 40.0, 40.0]
    assert frames[0]["box"] == frames[0]["objects"]["1"]["box"] == [40.0, 100.0, 40.0, 40.0]
    state = alice_client.get(reverse("video-status", args=[two_products.id])).json()
    assert [p["name"] for p in state["products"]] == ["the red box", "the blue ball"]


# --- renders ----------------------------------------------------------------------------------------


def test_renders_take_looks_per_product_and_a_focus(alice_client, two_products):
    video = two_products
    body = {"style": ["spotlight"], "aspect": ["9:16"], "looks": {"1": ["spotlight"], "2": ["outline", "label"]}, "focus": "2"}
    response = _post(alice_client, reverse("renders-create", args=[video.id]), body)
    assert response.status_code == 201, response.content
    render = RenderJob.objects.get(track_job__video=video)
    assert render.style == "spotlight" and render.looks == {"2": "outline,label"} and render.focus == "2"
    assert render.download_name == "a-the-red-box-spotlight+the-blue-ball-outline+label-focus-the-blue-ball-9x16.mp4"
    # The looks chosen are each product's defaults in the render form next time.
    assert [p["looks"] for p in selectors.video_products(video=video)] == ["spotlight", "outline,label"]
    same = services.renders_create(video=video, styles=["glow"], aspects=["1:1"])[0]
    assert same.download_name == "a-the-red-box+the-blue-ball-glow-1x1.mp4"


@pytest.mark.parametrize(
    ("extra", "message"),
    [({"focus": "9"}, "no product '9'"), ({"looks": {"9": ["glow"]}}, "no product '9'"),
     ({"looks": {"1": ["sparkles"]}}, "no look called 'sparkles'"), ({"looks": {"1": []}}, "at least one look"),
     ({"looks": ["glow"]}, "{product id: [look, ...]}"), ({"focus": 3}, "a product's id, 'all' or 'auto'")],
)  # fmt: skip
def test_bad_render_choices_are_a_clear_400(alice_client, two_products, extra, message):
    body = {"style": ["spotlight"], "aspect": ["9:16"], **extra}
    response = _post(alice_client, reverse("renders-create", args=[two_products.id]), body)
    assert response.status_code == 400 and message in response.json()["error"]
    assert not RenderJob.objects.exists()


def test_renders_take_the_cameras_focus_by_time_range_or_on_every_product(alice_client, two_products):
    video = two_products
    ranges = [[1.5, 3.0, "all"], [0, 1.5, "2"]]
    body = {"style": ["spotlight"], "aspect": ["9:16", "1:1"], "focus": "auto", "focus_ranges": ranges}
    response = _post(alice_client, reverse("renders-create", args=[video.id]), body)
    assert response.status_code == 201, response.content
    render = RenderJob.objects.filter(track_job__video=video, aspect="9:16").get()
    assert render.focus == "auto" and render.focus_ranges == [[0.0, 1.5, "2"], [1.5, 3.0, "all"]]  # in time order
    assert render.download_name == "a-the-red-box+the-blue-ball-spotlight-focus-by-time-9x16.mp4"
    # The worker gives the engine the ranges; the camera's own choice outside them.
    track = Track.from_json(storage.get_bytes(video.current_track.track_key))
    assert _render_options(render, track)["focus"] == [(0.0, 1.5, "2"), (1.5, 3.0, "all")]
    every = services.renders_create(video=video, styles=["glow"], aspects=["1:1"], focus="all")[0]
    assert every.download_name == "a-the-red-box+the-blue-ball-glow-focus-all-1x1.mp4"
    assert _render_options(every, track)["focus"] == "all" and every.focus_ranges == []
    auto = services.renders_create(video=video, styles=["glow"], aspects=["1:1"])[0]
    assert _render_options(auto, track)["focus"] is None


def test_one_product_renders_leave_the_focus_to_the_camera(alice_client, reviewed_video):
    body = {"style": ["spotlight"], "aspect": ["9:16"], "focus_ranges": [[0, 1, "1"]]}
    assert _post(alice_client, reverse("renders-create", args=[reviewed_video.id]), body).status_code == 201
    render = RenderJob.objects.get(track_job__video=reviewed_video)
    assert render.focus == "auto" and render.focus_ranges == []
    assert "focus" not in render.download_name


@pytest.mark.parametrize(
    ("ranges", "message"),
    [([[0, 2, "1"], [1.5, 3, "2"]], "overlaps 0-2 s"), ([[0, 1, "9"]], "no product '9'"),
     ([[2, 9, "1"]], "ends after the video does (3.0 s)"), ([[2, 1, "1"]], "end after it starts"),
     ([[-1, 1, "1"]], "start at 0 s or later"), ([["a", 1, "1"]], "(start seconds, end seconds, product)"),
     (["012"], "(start seconds, end seconds, product)"), ([[0, 1]], "(start seconds, end seconds, product)"),
     ({"0": [0, 1, "1"]}, "a list of at most"), ([[i / 10, (i + 1) / 10, "1"] for i in range(101)], "a list of at most")],
)  # fmt: skip
def test_bad_focus_ranges_are_a_clear_400(alice_client, two_products, ranges, message):
    body = {"style": ["spotlight"], "aspect": ["9:16"], "focus_ranges": ranges}
    response = _post(alice_client, reverse("renders-create", args=[two_products.id]), body)
    assert response.status_code == 400 and message in response.json()["error"]
    assert not RenderJob.objects.exists()


def test_a_focus_on_one_product_and_time_ranges_together_are_a_clear_400(alice_client, two_products):
    body = {"style": ["spotlight"], "aspect": ["9:16"], "focus": "1", "focus_ranges": [[0, 1, "2"]]}
    response = _post(alice_client, reverse("renders-create", args=[two_products.id]), body)
    assert response.status_code == 400 and "not both" in response.json()["error"]


# --- before several products -------------------------------------------------------------------------


def test_a_track_job_from_before_several_products_reads_as_one_product(alice_client, reviewed_video):
    """``reviewed_video`` is made as rows were before: no Product row, ``products`` empty."""
    job = reviewed_video.current_track
    assert job.products == [] and job.product_ids == ["1"] and job.changed_product == "1"
    [product] = selectors.video_products(video=reviewed_video)
    assert product["id"] == "1" and product["name"] == "the red ball" and product["colour"] == SINGLE_PRODUCT_COLOUR
    overview = alice_client.get(reverse("track-overview", args=[job.id])).json()
    assert [o["name"] for o in overview["objects"]] == ["the red ball"]
    # Corrections of it are recorded as before.
    response = _post(alice_client, reverse("track-correct", args=[reviewed_video.id]), {"frame": 5, "points": [[10, 10, 1]]})
    assert response.status_code == 201
    assert "product" not in TrackJob.objects.get(video=reviewed_video, version=2).correction
    render = services.renders_create(video=reviewed_video, styles=["spotlight"], aspects=["9:16"])[0]
    assert render.download_name == "red-ball-spotlight-9x16.mp4"
