"""highlighter.render looks, mattes and layers, on synthetic frames (no video)."""

from __future__ import annotations

import numpy as np
import pytest

from highlighter.errors import HighlighterError
from highlighter.render import LOOK_CHOICES, LOOKS, Spotlight, UnknownLook, make_looks
from highlighter.render.layers import OverlayCanvas, blend
from highlighter.render.matte import Matte, MatteStream

H, W = 240, 320
BOX = (100, 80, 60, 50)  # x, y, w, h of the product


def square_mask(height=H, width=W, box=BOX):
    x, y, w, h = box
    mask = np.zeros((height, width), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask


def noise_frame(seed=3):
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def far_from_product(margin=30):
    """Pixels at least ``margin`` px from the product's box."""
    x, y, w, h = BOX
    far = np.ones((H, W), bool)
    far[max(0, y - margin) : y + h + margin, max(0, x - margin) : x + w + margin] = False
    return far


def just_outside(px=2):
    """A ring of pixels 1..px outside the product."""
    grown = square_mask(box=(BOX[0] - px, BOX[1] - px, BOX[2] + 2 * px, BOX[3] + 2 * px))
    return grown & ~square_mask()


def look(name, **settings):
    return make_looks([name], {name: settings})[0]


# --- spotlight -------------------------------------------------------------------------------------


def test_spotlight_leaves_the_product_untouched_and_dims_the_background():
    frame, mask = noise_frame(), square_mask()
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


def test_spotlight_dims_everything_while_the_product_is_hidden():
    frame = np.full((H, W, 3), 100, dtype=np.uint8)
    assert np.all(Spotlight().apply(frame, np.zeros((H, W), dtype=bool)) == 35)


def test_spotlight_strength_and_desaturation_are_settings():
    frame = np.zeros((H, W, 3), np.uint8)
    frame[..., 0] = 200  # pure red
    out = look("spotlight", strength=0.25, desaturate=1.0).apply(frame, square_mask())
    r, g, b = out[10, 10].astype(int)
    assert abs(r - g) <= 1 and abs(g - b) <= 1  # grey
    assert r == pytest.approx(0.75 * 0.299 * 200, abs=2)  # luma of red, dimmed by a quarter
    assert np.array_equal(out[square_mask()], frame[square_mask()])


# --- the other looks: inside / outside the product ---------------------------------------------------


@pytest.mark.parametrize("name", ["glow", "outline", "box", "label", "zoom"])
def test_looks_that_surround_the_product_leave_it_untouched(name):
    frame, mask = noise_frame(), square_mask()
    out = look(name).apply(frame, mask)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(out[mask], frame[mask]), name
    assert not np.array_equal(out, frame), name


def test_glow_colours_a_halo_that_fades_with_distance():
    frame = np.zeros((H, W, 3), np.uint8)
    out = look("glow", colour="#00ff00").apply(frame, square_mask())
    near, mid = out[105, 161, 1], out[105, 165, 1]  # 1 px and 5 px right of the product
    assert near > mid > 0 and out[105, 161, 0] == 0  # green only
    assert out[far_from_product(40)].max() == 0


def test_outline_draws_a_line_of_its_width_hugging_the_edge():
    frame = np.zeros((H, W, 3), np.uint8)
    out = look("outline", colour="#ff0000", width=0.02).apply(frame, square_mask())  # 4.8 px at 240
    row = out[105, 160:175, 0].astype(int)  # from the product's right edge outwards
    assert np.all(row[:4] == 255) and row[7] == 0
    assert out[far_from_product(10)].max() == 0


def test_tint_washes_the_product_only():
    frame = np.full((H, W, 3), 100, np.uint8)
    out = look("tint", colour="#ff0000", strength=0.5).apply(frame, square_mask())
    assert tuple(out[105, 130]) == pytest.approx((178, 50, 50), abs=2)
    assert np.all(out[far_from_product(10)] == 100)


def test_blur_smooths_the_background_and_keeps_the_product_sharp():
    frame, mask = noise_frame(), square_mask()
    out = look("blur").apply(frame, mask)
    far = far_from_product(20)
    assert out[far].astype(float).std() < 0.5 * frame[far].astype(float).std()
    assert np.array_equal(out[mask], frame[mask])


def test_box_frames_the_product_with_padding():
    frame = np.zeros((H, W, 3), np.uint8)
    out = look("box", colour="#ffffff", padding=0.05, width=0.01).apply(frame, square_mask())
    pad = 0.05 * H  # 12 px
    assert out[105, int(BOX[0] - pad)].max() > 200  # the left side of the box
    assert out[105, BOX[0] - 4].max() == 0  # the gap between box and product
    assert out[far_from_product(30)].max() == 0


def test_label_sits_above_the_product_or_below_when_there_is_no_room():
    frame = np.zeros((H, W, 3), np.uint8)
    above = look("label", text="New", colour="#ffffff").apply(frame, square_mask())
    rows = np.flatnonzero(above.any(axis=(1, 2)))
    assert rows.max() < BOX[1]  # entirely above the product
    top = square_mask(box=(100, 2, 60, 50))
    below = look("label", text="New", colour="#ffffff").apply(frame, top)
    rows = np.flatnonzero(below[:, :, 0].max(axis=1) > 0)
    assert rows.min() >= 52 and rows.max() < H  # below the product, inside the frame


def test_label_stays_on_screen_next_to_a_product_at_the_edge():
    frame = np.zeros((H, W, 3), np.uint8)
    out = look("label", text="A long product name", colour="#ffffff").apply(frame, square_mask(box=(280, 100, 40, 40)))
    cols = np.flatnonzero(out.any(axis=(0, 2)))
    assert cols.min() > 0 and cols.max() < W - 1


def test_zoom_inset_shows_the_product_magnified_in_the_far_corner():
    frame = np.zeros((H, W, 3), np.uint8)
    mask = square_mask(box=(40, 150, 20, 20))  # bottom left
    frame[mask] = (255, 0, 0)
    out = look("zoom", magnification=2.0, colour="#00ff00").apply(frame, mask)
    corner = out[:120, 160:]  # top right
    red = (corner[..., 0] > 200) & (corner[..., 1] < 50)
    assert red.sum() == pytest.approx(4 * 20 * 20, rel=0.25)  # twice as wide, twice as high


# --- settings ----------------------------------------------------------------------------------------


def test_every_look_is_registered_with_its_settings_and_label():
    assert list(LOOKS) == ["spotlight", "glow", "outline", "tint", "blur", "box", "label", "zoom"]
    for name, choice in LOOK_CHOICES.items():
        assert choice["label"] and choice["help"]
        assert make_looks([name], {name: choice["settings"]})[0].name == name


def test_make_looks_names_the_choices_for_an_unknown_look_or_setting():
    with pytest.raises(UnknownLook) as info:
        make_looks(["spotlight", "sparkles"])
    assert "sparkles" in str(info.value) and "spotlight" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, HighlighterError)
    with pytest.raises(UnknownLook, match="no setting 'sparkle'.*colour"):
        make_looks(["outline"], {"outline": {"sparkle": 1}})
    with pytest.raises(UnknownLook, match="not a colour"):
        make_looks(["outline"], {"outline": {"colour": "blue-ish"}})
    with pytest.raises(UnknownLook, match="between 0 and 1"):
        make_looks(["tint"], {"tint": {"strength": 3}})


# --- fades, temporal smoothing, overlay ----------------------------------------------------------------


def test_presence_scales_a_look_for_fades():
    frame = np.full((H, W, 3), 200, np.uint8)
    half = Spotlight().apply(frame, square_mask(), presence=0.5)
    assert half[10, 10, 0] == pytest.approx(200 * (1 - 0.65 / 2), abs=1)


def test_looks_fade_out_before_the_product_leaves_and_in_after_it_returns(make_track):
    # Hidden for 1 s (longer than the bridge): fade out, off, fade in. A 4-frame blink is bridged.
    track = make_track(W, H, 100, fps=25, hidden=set(range(40, 65)) | set(range(80, 84)))
    presence = MatteStream(track).presence
    assert presence[0] == 1.0 and presence[30] == 1.0
    assert 0 < presence[38] < presence[35] <= 1.0  # fading out on the last visible frames
    assert np.all(presence[40:65] == 0)
    assert 0 < presence[66] < presence[70] < presence[75] == 1.0  # fading in
    assert np.all(presence[78:86] == 1.0)  # the blink does not flash the look


def test_mask_edges_are_smoothed_over_time(make_track):
    # The segmentation's right edge flickers by 2 px every frame; the product itself stands still.
    frames = []
    for i in range(12):
        mask = square_mask(box=(100, 80, 60 + 2 * (i % 2), 50))
        frames.append(mask)
    track = make_track(W, H, 12)
    from highlighter.trackfile import FrameTrack

    track.frames = [FrameTrack.from_mask(i, i / 25, m, 0.9) for i, m in enumerate(frames)]
    stream = MatteStream(track)
    raw = [m[105, 158:163].astype(int) * 255 for m in frames[4:8]]
    smooth = [stream.matte(i).full()[105, 158:163].astype(int) for i in range(4, 8)]
    assert np.ptp(raw, axis=0).max() == 255  # raw edge pixels flip on and off
    assert np.ptp(smooth, axis=0).max() <= 60  # smoothed: they hold a steady partial value


def test_the_overlay_over_the_plain_frame_gives_the_rendered_frame():
    frame, mask = noise_frame(), square_mask()
    matte = Matte.from_mask(mask)
    canvas = OverlayCanvas(H, W)
    out = frame
    for item in make_looks(["spotlight", "glow", "outline", "label"]):
        layer = item.layer(out, matte)
        out = blend(out, layer)
        canvas.paint(layer)
    rgba = canvas.rgba().astype(float)
    alpha = rgba[..., 3:] / 255
    composed = rgba[..., :3] * alpha + frame * (1 - alpha)
    assert np.abs(composed - out).max() <= 3
    assert rgba[..., 3][mask].max() == 0 and rgba[..., 3][far_from_product(40)].min() > 150
