"""The review page's choices for several products in a real browser, on a track of two products and
two shots (no worker: the rows and the track file are made directly): the camera's focus by time
range (a first range starts at the playhead, the next where the last ends, each runs to the end of
its shot, and "Its whole shot" makes a range its shot), and a product's colour."""

from __future__ import annotations

import pytest
from django.utils import timezone

from highlighter.trackfile import Track
from tests.conftest import wait_for
from tests.e2e.conftest import login, wait_for_js
from tests.web.test_products import INFO, _object, _unconfirmed
from webapp.videos import storage
from webapp.videos.models import JobStatus, Product, RenderJob, TrackJob, Video
from webapp.videos.products import palette

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = [[0, 37], [38, 74]]  # 25 fps: 0-1.52 s and 1.52-3 s


@pytest.fixture
def two_shots(alice) -> Video:
    video = _unconfirmed(alice)
    track = Track(INFO, shots=SHOTS, objects=[_object("1", "the red box", 20), _object("2", "the blue ball", 400)])
    key = f"{video.key_prefix}tracks/first.json"
    storage.put_bytes(track.to_json().encode(), key, content_type="application/json")
    TrackJob.objects.filter(pk=video.current_track_id).update(status=JobStatus.DONE, track_key=key)
    Video.objects.filter(pk=video.pk).update(confirmed_at=timezone.now(), proxy_key=f"{video.key_prefix}proxy.mp4")
    video.refresh_from_db()
    return video


def test_focus_ranges_follow_the_shots_and_are_sent_with_the_render(live_server, page, two_shots):
    login(page, live_server)
    page.goto(f"{live_server.url}/videos/{two_shots.id}/review/")
    page.wait_for_selector("#product-looks:not([hidden])")
    page.wait_for_selector("#timeline[data-frames]")
    page.select_option("#focus", "ranges")
    rows = "#focus-range-list li"
    page.wait_for_selector(f"{rows}:nth-child(1)")
    values = lambda k: (page.input_value(f"{rows}:nth-child({k}) .range-start"), page.input_value(f"{rows}:nth-child({k}) .range-end"))  # noqa: E731
    assert values(1) == ("0", "1.52")  # the playhead (frame 0) to the end of the first shot
    page.click("#add-focus-range")
    assert values(2) == ("1.52", "3")  # where the last ends to the end of the second shot
    page.select_option(f"{rows}:nth-child(2) .range-product", "2")
    page.fill(f"{rows}:nth-child(1) .range-start", "0.5")
    page.fill(f"{rows}:nth-child(1) .range-end", "2.2")
    page.click(f"{rows}:nth-child(1) .whole-shot")
    assert values(1) == ("0", "1.52")
    # Every product in frame, offered beside the products, then the render with both ranges.
    assert page.locator(f"{rows}:nth-child(1) .range-product option[value=all]").count() == 1
    page.select_option(f"{rows}:nth-child(1) .range-product", "all")
    page.check("#render-form input[name=aspect][value='1:1']")
    page.click("#render")
    render = wait_for(lambda: RenderJob.objects.filter(track_job__video=two_shots, aspect="1:1").first(), timeout=30,
                      what="the render job")  # fmt: skip
    assert render.focus == "auto" and render.focus_ranges == [[0.0, 1.52, "all"], [1.52, 3.0, "2"]]
    # A range left without an end is said on the page, and nothing is queued.
    queued = RenderJob.objects.filter(track_job__video=two_shots).count()
    page.click("#add-focus-range")
    page.fill(f"{rows}:nth-child(3) .range-end", "")
    page.click("#render")
    page.wait_for_selector("#render-error:text('Give each time range a start and an end')")
    assert RenderJob.objects.filter(track_job__video=two_shots).count() == queued


def test_a_products_colour_is_chosen_on_the_page_and_the_timeline_follows(live_server, page, two_shots):
    login(page, live_server)
    page.goto(f"{live_server.url}/videos/{two_shots.id}/review/")
    page.wait_for_selector("#timeline-legend:not([hidden]) .swatch")
    well = "#review-products li[data-product='2'] .product-colour"
    assert page.input_value(well) == palette()[1]
    page.fill(well, "#ff0066")
    wait_for(lambda: Product.objects.get(video=two_shots, slug="2").colour == "#ff0066", timeout=10, what="the colour")
    legend = "[...document.querySelectorAll('#timeline-legend .swatch')].map((s) => getComputedStyle(s).backgroundColor)"
    wait_for_js(page, f"{legend}[1] === 'rgb(255, 0, 102)'", timeout=10_000)
    assert page.evaluate(legend)[0] != "rgb(255, 0, 102)"  # the other product keeps its colour


@pytest.mark.parametrize(
    ("focus", "ranges", "shown"),
    [
        ("auto", [[0.0, 1.52, "all"], [1.52, 3.0, "2"]], "ranges"),
        ("2", [], "2"),
        ("7", [], "auto"),  # a product since removed: the camera's own choice
        ("auto", [[0.0, 1.52, "1"], [1.52, 3.0, "7"]], "auto"),  # ... in a range too
    ],
)
def test_the_newest_renders_focus_is_the_pages_choice_on_the_next_visit(live_server, page, two_shots, focus, ranges, shown):
    track_job = TrackJob.objects.get(pk=two_shots.current_track_id)
    RenderJob.objects.create(track_job=track_job, aspect="9:16", status=JobStatus.FAILED)  # an older one, left alone
    RenderJob.objects.create(track_job=track_job, aspect="1:1", status=JobStatus.FAILED, focus=focus, focus_ranges=ranges)
    login(page, live_server)
    page.goto(f"{live_server.url}/videos/{two_shots.id}/review/")
    page.wait_for_selector("#product-looks:not([hidden])")
    wait_for_js(page, f"document.getElementById('focus').value === '{shown}'", timeout=10_000)
    rows = page.locator("#focus-range-list li")
    assert page.is_hidden("#focus-ranges") == (shown != "ranges")
    assert rows.count() == (len(ranges) if shown == "ranges" else 0)
    for k, (start, end, product) in enumerate(ranges if shown == "ranges" else []):
        row = rows.nth(k)
        assert float(row.locator(".range-start").input_value()) == start
        assert float(row.locator(".range-end").input_value()) == end
        assert row.locator(".range-product").input_value() == product
