"""highlighter.render: looks, the reframe camera and the compositor, end to end through ffmpeg."""

from __future__ import annotations

import math

import numpy as np
import pytest

from highlighter.errors import Cancelled, HighlighterError, MediaError
from highlighter.media import VideoWriter, iter_frames, probe
from highlighter.render import LOOKS, Spotlight, UnknownLook, crop_path, make_looks, render_video, window_size
from highlighter.render.compositor import default_size, parse_aspect
from highlighter.render.reframe import follow_axis, shot_ranges

# --- looks -----------------------------------------------------------------------------------------


def square_mask(height=240, width=320, box=(100, 80, 60, 50)):
    x, y, w, h = box
    mask = np.zeros((height, width), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask


def test_spotlight_leaves_the_product_untouched_and_dims_the_background():
    frame = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    mask = square_mask()
    out = Spotlight().apply(frame, mask)
    assert out.dtype == np.uint8 and out.shape == frame.shape
    assert np.array_equal(out[mask], frame[mask])
    far = np.zeros_like(mask)
    far[:40, :] = True  # 40 px from the product: well past the feather
    np.testing.assert_allclose(out[far], frame[far] * 0.35, atol=1.0)


def test_spotlight_has_a_soft_edge_outside_the_product():
    frame = np.full((1080, 1920, 3), 200, dtype=np.uint8)
    out = Spotlight().apply(frame, square_mask(1080, 1920, (800, 400, 300, 300)))
    row = out[550, 1100:1140, 0].astype(int)  # from the product's right edge outwards
    assert row[0] < 200 and row[-1] == 70  # first outside pixel already fading, 40 px out fully dimmed
    assert np.all(np.diff(row) <= 0)  # fades monotonically
    assert np.count_nonzero((row > 71) & (row < 199)) >= 4  # a few pixels of feather at 1080p


def test_spotlight_feather_scales_with_the_frame():
    def feather_width(height, width):
        frame = np.full((height, width, 3), 200, dtype=np.uint8)
        out = Spotlight().apply(frame, square_mask(height, width, (width // 4, height // 4, width // 4, height // 4)))
        row = out[height * 3 // 8, width // 2 :, 0].astype(int)
        return np.count_nonzero((row > 71) & (row < 200))

    assert feather_width(1080, 1920) > 2 * feather_width(240, 320)


def test_spotlight_dims_everything_while_the_product_is_hidden():
    frame = np.full((240, 320, 3), 100, dtype=np.uint8)
    out = Spotlight().apply(frame, np.zeros((240, 320), dtype=bool))
    assert np.all(out == 35)


def test_spotlight_strength_is_adjustable():
    frame = np.full((240, 320, 3), 200, dtype=np.uint8)
    out = Spotlight(strength=0.25).apply(frame, square_mask())
    assert out[10, 10, 0] == pytest.approx(150, abs=1)


def test_make_looks_builds_registered_looks_in_order():
    assert [look.name for look in make_looks(["spotlight"])] == ["spotlight"]
    assert LOOKS["spotlight"] is Spotlight


def test_make_looks_names_the_choices_for_an_unknown_look():
    with pytest.raises(UnknownLook) as info:
        make_looks(["spotlight", "sparkles"])
    assert "sparkles" in str(info.value) and "spotlight" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, HighlighterError)


# --- reframe camera -------------------------------------------------------------------------------


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


def assert_contains(crop, box):
    x, y, w, h = crop
    bx, by, bw, bh = box
    assert x <= bx and bx + bw <= x + w and y <= by and by + bh <= y + h, (crop, box)


def test_the_crop_follows_a_moving_product_smoothly_and_keeps_it_in_shot(make_track):
    rng = np.random.default_rng(4)
    jitter = rng.normal(0, 2, (150, 2))

    def centre(i):  # sweeps 400 px across and back over 6 s, with detector jitter
        return 320 + 200 * math.sin(2 * math.pi * i / 150) + jitter[i, 0], 180 + 60 * math.sin(i / 20) + jitter[i, 1]

    track = make_track(640, 360, 150, centre=centre)
    crops = crop_path(track, aspect=(9, 16))
    assert len(crops) == 150 and {c[2:] for c in crops} == {(202, 360)}
    for crop, box in zip(crops, boxes_of(track)):
        assert_contains(crop, box)
        assert 0 <= crop[0] <= 640 - 202
    moves = np.abs(np.diff([c[0] for c in crops]))
    limit = 0.5 * 640 / 25  # max_speed 0.5 widths a second, in pixels a frame
    assert moves.max() <= limit + 1
    # Smooth: no jerks, even though the detections jitter by ~2 px a frame.
    assert np.abs(np.diff([c[0] for c in crops], 2)).max() <= 3


def test_the_crop_holds_still_while_the_product_only_jitters(make_track):
    rng = np.random.default_rng(5)
    track = make_track(640, 360, 50, centre=lambda i: (300 + rng.uniform(-4, 4), 180))
    assert len({c[0] for c in crop_path(track)}) == 1


def test_the_crop_waits_where_the_product_was_last_seen(make_track):
    def centre(i):
        return (150 if i < 20 else 450), 180

    track = make_track(640, 360, 60, centre=centre, hidden=set(range(10, 40)))
    crops = crop_path(track)
    for crop, box in zip(crops, boxes_of(track)):
        if box:
            assert_contains(crop, box)
    assert crops[0][0] == crops[5][0]  # steady while visible and still
    assert crops[45][0] > crops[5][0]  # and over to the new place after it reappears


def test_the_crop_cuts_with_the_shots(make_track):
    track = make_track(640, 360, 60, centre=lambda i: (100 if i < 30 else 540, 180), shots=[[0, 29], [30, 59]])
    crops = crop_path(track)
    assert len({c[0] for c in crops[:30]}) == 1 and len({c[0] for c in crops[30:]}) == 1
    assert_contains(crops[29], track.frames[29].box)
    assert_contains(crops[30], track.frames[30].box)


def test_containment_beats_the_speed_limit_for_a_fast_product(make_track):
    track = make_track(640, 360, 20, centre=lambda i: (30 + i * 30, 180))  # 750 px/s, limit is 320
    for crop, box in zip(crop_path(track), boxes_of(track)):
        assert_contains(crop, box)


def test_the_crop_centres_on_a_product_too_big_for_it():
    starts = np.array([100.0] * 10)
    origins = follow_axis(starts, np.array([400.0] * 10), size=640, window=202, fps=25)
    assert set(origins) == {300 - 101}


def test_a_track_without_sightings_gets_a_centred_crop(make_track):
    track = make_track(640, 360, 10, hidden=set(range(10)))
    assert {c[0] for c in crop_path(track)} == {(640 - 202) // 2}


# --- compositor -----------------------------------------------------------------------------------


def test_parse_aspect_and_default_sizes():
    assert parse_aspect("9:16") == (9, 16)
    assert default_size((9, 16)) == (1080, 1920)
    assert default_size((1, 1)) == (1080, 1080)
    assert default_size((4, 5)) == (1080, 1350)
    assert default_size((16, 9)) == (1920, 1080)
    with pytest.raises(ValueError):
        parse_aspect("tall")


def test_it_renders_a_reframed_spotlight_with_the_audio(clip, tmp_path, make_track):
    track = make_track(640, 360, 50, centre=lambda i: (200 + 6 * i, 180))
    seen: list[float] = []
    info = render_video(clip, track, tmp_path / "out.mp4", out_size=(270, 480), progress=seen.append)
    source = probe(clip, count_frames=True)
    assert (info.width, info.height, info.video_codec) == (270, 480, "h264")
    assert info.has_audio and info.audio_codec == "aac"
    assert info.frame_count == source.frame_count == 50
    assert info.duration == pytest.approx(source.duration, abs=0.1)
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_it_renders_9_16_at_1080x1920_by_default(clip, tmp_path, make_track):
    info = render_video(clip, make_track(640, 360, 50), tmp_path / "out.mp4")
    assert (info.width, info.height, info.frame_count) == (1080, 1920, 50)


def test_the_reframed_video_keeps_the_product_in_shot(tmp_path, make_track):
    # A red square crossing a grey frame; the track says exactly where it is.
    def centre(i):
        return 80 + 10 * i, 180

    track = make_track(640, 360, 48, centre=centre)
    source = tmp_path / "red.mp4"
    with VideoWriter(source, 640, 360, 25) as writer:
        for i in range(48):
            frame = np.full((360, 640, 3), 128, np.uint8)
            frame[track.mask(i)] = (220, 20, 20)
            writer.write(frame)
    render_video(source, track, tmp_path / "out.mp4", out_size=(202, 360), styles=())
    for frame in iter_frames(tmp_path / "out.mp4"):
        red = (frame[..., 0] > 160) & (frame[..., 1] < 80)
        assert red.sum() >= 0.8 * 40 * 40  # the whole square is in the crop


def test_it_keeps_the_source_size_without_an_aspect(tmp_path, make_track, make_clip):
    source = make_clip("grey.mp4", size=(320, 240), seconds=1.0, source="color=c=0x808080")
    track = make_track(320, 240, 25, side=60)
    info = render_video(source, track, tmp_path / "out.mp4", aspect=None)
    assert (info.width, info.height, info.frame_count) == (320, 240, 25)
    frame = next(iter_frames(tmp_path / "out.mp4"))
    assert frame[120, 160].mean() == pytest.approx(128, abs=4)  # the product: untouched
    assert frame[10, 10].mean() == pytest.approx(128 * 0.35, abs=4)  # the background: dimmed


def test_it_refuses_a_track_made_for_another_video(clip, tmp_path, make_track):
    with pytest.raises(MediaError, match="Track the product in this video again"):
        render_video(clip, make_track(320, 240, 50), tmp_path / "out.mp4", out_size=(270, 480))


def test_a_cancelled_render_leaves_no_file(clip, tmp_path, make_track):
    def cancel(fraction):
        if fraction > 0.3:
            raise Cancelled("The render was cancelled.")

    with pytest.raises(Cancelled):
        render_video(clip, make_track(640, 360, 50), tmp_path / "out.mp4", out_size=(270, 480), progress=cancel)
    assert not (tmp_path / "out.mp4").exists()
