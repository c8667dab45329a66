"""highlighter.render.reframe: the camera path (pure numbers, no video)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from highlighter.render import MOTIONS, SAFE_ZONES, crop_path, plan_camera, window_size
from highlighter.render.presets import safe_zone
from highlighter.render.reframe import follow_axis, shot_ranges


@pytest.mark.parametrize(
    ("size", "aspect", "window"),
    [
        ((1920, 1080), (9, 16), (606, 1080)),
        ((640, 360), (9, 16), (202, 360)),
        ((1080, 1920), (9, 16), (1080, 1920)),
        ((1080, 1920), (16, 9), (1080, 606)),
        ((1000, 800), (1, 1), (800, 800)),
        ((1920, 1080), (4, 5), (864, 1080)),
    ],
)
def test_window_size_is_the_largest_even_window_of_the_aspect(size, aspect, window):
    assert window_size(*size, aspect) == window


@pytest.mark.parametrize(
    ("shots", "count", "ranges"),
    [
        ([], 10, [(0, 10)]),
        ([[0, 9]], 10, [(0, 10)]),
        ([[0, 3], [4, 9]], 10, [(0, 4), (4, 10)]),
        ([[2, 5]], 10, [(0, 2), (2, 6), (6, 10)]),
    ],
)
def test_shot_ranges_split_the_frames_at_every_cut(shots, count, ranges):
    assert shot_ranges(shots, count) == ranges


def boxes_of(track):
    return [f.box if f.visible else None for f in track.frames]


def assert_in_safe_zone(crop, box, zone=SAFE_ZONES["none"], frame=(640, 360)):
    """The box inside the crop's safe zone (or inside the frame's edge, where the zone leaves it)."""
    x, y, w, h = crop
    bx, by, bw, bh = box
    left, right = max(0, x + zone.left * w), min(frame[0], x + w - zone.right * w)
    top, bottom = max(0, y + zone.top * h), min(frame[1], y + h - zone.bottom * h)
    assert left - 1 <= bx and bx + bw <= right + 1 and top - 1 <= by and by + bh <= bottom + 1, (crop, box)


def wobbly_sweep(make_track, seconds=6):
    rng = np.random.default_rng(4)
    n = int(25 * seconds)
    jitter = rng.normal(0, 2, (n, 2))

    def centre(i):  # sweeps 400 px across and back, with detector jitter
        return 320 + 200 * math.sin(2 * math.pi * i / n) + jitter[i, 0], 180 + 60 * math.sin(i / 20) + jitter[i, 1]

    return make_track(640, 360, n, centre=centre)


@pytest.mark.parametrize("motion", list(MOTIONS))
@pytest.mark.parametrize("zone", ["none", "default", "tiktok"])
def test_the_product_stays_in_the_safe_zone_and_the_camera_under_its_speed_limit(make_track, motion, zone):
    track = wobbly_sweep(make_track)
    crops = crop_path(track, aspect=(9, 16), motion=motion, safe_zone=zone)
    assert len(crops) == 150 and {c[2:] for c in crops} == {(202, 360)}
    for crop, box in zip(crops, boxes_of(track)):
        assert_in_safe_zone(crop, box, SAFE_ZONES[zone])
    moves = np.abs(np.diff([c[0] for c in crops]))
    assert moves.max() <= MOTIONS[motion].max_speed * 640 / 25 + 1


def test_the_path_is_smooth_though_the_detections_jitter(make_track):
    xs = np.array([c[0] for c in crop_path(wobbly_sweep(make_track))])
    naive = np.array([b[0] + b[2] / 2 for b in boxes_of(wobbly_sweep(make_track))])
    assert np.abs(np.diff(xs, 2)).max() <= 3
    assert np.abs(np.diff(xs, 2)).mean() * 3 < np.abs(np.diff(naive, 2)).mean()


def test_slow_motion_moves_less_than_fast(make_track):
    track = wobbly_sweep(make_track)

    def busiest(motion):
        return np.abs(np.diff([c[0] for c in crop_path(track, motion=motion)])).max()

    assert busiest("slow") < busiest("fast")


def test_a_steady_shot_gives_a_still_camera(make_track):
    rng = np.random.default_rng(5)
    track = make_track(640, 360, 50, centre=lambda i: (300 + rng.uniform(-4, 4), 180 + rng.uniform(-4, 4)))
    camera = plan_camera(track)
    assert len({tuple(w) for w in camera.windows.tolist()}) == 1
    assert [s.mode for s in camera.shots] == ["steady"]


def test_a_still_product_near_the_centre_gets_the_centred_window(make_track):
    track = make_track(640, 360, 30, centre=lambda i: (330, 180))
    assert {c[0] for c in crop_path(track)} == {(640 - 202) // 2}


def test_a_product_moving_at_constant_speed_gets_a_sweep(make_track):
    track = make_track(640, 360, 75, centre=lambda i: (150 + 4 * i, 180))  # 100 px/s, 3 s
    camera = plan_camera(track)
    xs = camera.windows[:, 0]
    assert camera.shots[0].mode == "sweep"
    assert np.abs(np.diff(xs, 2)).max() <= 1  # constant speed, in whole pixels


def test_the_crop_waits_where_the_product_was_last_seen(make_track):
    track = make_track(640, 360, 60, centre=lambda i: ((150 if i < 20 else 450), 180), hidden=set(range(10, 40)))
    crops = crop_path(track)
    for crop, box in zip(crops, boxes_of(track)):
        if box:
            assert_in_safe_zone(crop, box)
    assert len({c[0] for c in crops[:10]}) == 1  # still while visible
    assert len({c[0] for c in crops[40:]}) == 1  # arrived when it came back
    assert np.abs(np.diff([c[0] for c in crops])).max() <= MOTIONS["default"].max_speed * 640 / 25 + 1


def test_the_crop_cuts_with_the_shots(make_track):
    track = make_track(640, 360, 60, centre=lambda i: (100 if i < 30 else 540, 180), shots=[[0, 29], [30, 59]])
    crops = crop_path(track)
    assert len({c[0] for c in crops[:30]}) == 1 and len({c[0] for c in crops[30:]}) == 1
    assert_in_safe_zone(crops[29], track.frames[29].box)
    assert_in_safe_zone(crops[30], track.frames[30].box)


def test_containment_beats_the_speed_limit_for_a_fast_product(make_track):
    track = make_track(640, 360, 20, centre=lambda i: (30 + i * 30, 180))  # 750 px/s, limit is 350
    for crop, box in zip(crop_path(track), boxes_of(track)):
        assert_in_safe_zone(crop, box)


def test_a_product_too_big_for_the_window_widens_it_for_the_shot_and_pads(make_track):
    track = make_track(640, 360, 20, side=260, centre=lambda i: (320, 180))  # wider than 202
    camera = plan_camera(track, safe_zone="none")
    (shot,) = camera.shots
    x, y, w, h = camera.windows[0]
    assert shot.zoom > 1 and w >= 260 and h > 360 and w * 16 == pytest.approx(h * 9, rel=0.02)
    assert y < 0  # the window reaches past the top and bottom: padded
    assert_in_safe_zone((x, y, w, h), track.frames[0].box, frame=(10**4, 10**4))


def test_a_track_without_sightings_gets_a_centred_crop(make_track):
    track = make_track(640, 360, 10, hidden=set(range(10)))
    assert {c[0] for c in crop_path(track)} == {(640 - 202) // 2}


def test_follow_axis_names_the_mode():
    origins, mode = follow_axis(np.full(30, 300.0), np.full(30, 40.0), size=640, window=202, fps=25)
    assert mode == "steady" and len(set(origins)) == 1


def test_safe_zone_presets_and_custom_margins():
    assert safe_zone("tiktok").bottom > safe_zone("tiktok").top > 0
    assert safe_zone((0.1, 0.2, 0.05, 0.05)).bottom == 0.2
    with pytest.raises(ValueError, match="There is no safe zone"):
        safe_zone("myspace")
    with pytest.raises(ValueError, match="leave at least a tenth"):
        safe_zone((0.5, 0.5, 0, 0))


def test_the_crop_path_exports_as_json_for_editors(make_track, tmp_path):
    track = make_track(640, 360, 60, shots=[[0, 29], [30, 59]])
    plan_camera(track, safe_zone="tiktok").save(tmp_path / "crop.json", output_size=(1080, 1920))
    data = json.loads((tmp_path / "crop.json").read_text())
    assert data["aspect"] == "9:16" and data["output"] == {"width": 1080, "height": 1920}
    assert data["safe_zone"]["bottom"] == SAFE_ZONES["tiktok"].bottom
    assert [s["start"] for s in data["shots"]] == [0, 30] and data["shots"][0]["mode"] == "steady"
    assert len(data["frames"]) == 60 and set(data["frames"][0]) == {"index", "time", "x", "y", "w", "h"}
