"""Renders of several products: looks per product, the focus camera, and the editor outputs per product.

Tracks are built by hand from known masks (no tracker); videos are small and generated, with each
product painted where its track says it is.
"""

from __future__ import annotations

import json
import zipfile

import cv2
import numpy as np
import pytest

from highlighter.cli import main
from highlighter.media import VideoWriter, iter_frames
from highlighter.render import (
    PRODUCT_COLOURS, FocusError, ProductLook, RenderSpec, UnknownProduct, focus_ranges, plan_camera, render_outputs, render_video,
)  # fmt: skip
from highlighter.render.effects import Label, Outline, parse_colour
from highlighter.render.matte import Matte, union_matte
from highlighter.render.products import plan_looks, text_colour_on
from highlighter.render.reframe import FOCUS_DWELL
from highlighter.track.export import crop_path_document, write_mask_pngs
from highlighter.trackfile import Track, TrackObject

W, H, FPS = 640, 360, 25.0
GREY = 128
PAINT = {"bag": (220, 30, 30), "shoes": (30, 60, 220), "hat": (30, 200, 60)}


def square(centre, side):
    """A ``side`` px square mask centred at ``centre`` (None: hidden)."""
    mask = np.zeros((H, W), bool)
    if centre is not None:
        cx, cy = centre
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        mask[max(0, y0) : max(0, y0 + side), max(0, x0) : max(0, x0 + side)] = True
    return mask


def two_products(n, bag, shoes, *, bag_side=40, shoes_side=40, shots=None, hat=None):
    """A track of "bag" and "shoes" (and "hat" if given): ``bag(i)`` -> centre or None (hidden);
    a side may be a number or a function of the frame."""
    from highlighter.trackfile import FrameTrack

    def frames(centre, side):
        out = []
        for i in range(n):
            s = side(i) if callable(side) else side
            mask = square(centre(i), s)
            out.append(FrameTrack.from_mask(i, i / FPS, mask, 0.9))
        return out

    objects = [
        TrackObject("bag", "the red bag", {"text": "the red bag"}, frames(bag, bag_side)),
        TrackObject("shoes", "white sneakers", {"text": "white sneakers"}, frames(shoes, shoes_side)),
    ]
    if hat is not None:
        objects.append(TrackObject("hat", "a green hat", {"text": "a green hat"}, frames(hat, 40)))
    video = {"width": W, "height": H, "fps": FPS, "frame_count": n}
    return Track(video, shots=shots if shots is not None else [[0, n - 1]], objects=objects)


def paint(track, path):
    """A grey video with each product painted in its PAINT colour where its mask is."""
    with VideoWriter(path, W, H, FPS) as writer:
        for i in range(len(track.frames)):
            frame = np.full((H, W, 3), GREY, np.uint8)
            for o in track.objects:
                frame[track.mask(i, o.id)] = PAINT[o.id]
            writer.write(frame)
    return path


def still(track_bag=(160, 200), track_shoes=(480, 200), n=25):
    return two_products(n, lambda i: track_bag, lambda i: track_shoes)


def window_holds(window, box, slack=1.0):
    x, y, w, h = window
    bx, by, bw, bh = box
    return x - slack <= bx and bx + bw <= x + w + slack and y - slack <= by and by + bh <= y + h + slack


# --- looks per product ---------------------------------------------------------------------------


def test_each_product_gets_its_colour_and_its_name_as_the_label():
    track = still()
    steps = plan_looks(track, ("spotlight", "outline", "label"))
    # One spotlight for both, then an outline and a label per product.
    assert [(type(s.look).__name__, s.members) for s in steps] == [
        ("Spotlight", (0, 1)), ("Outline", (0,)), ("Outline", (1,)), ("Label", (0,)), ("Label", (1,)),
    ]  # fmt: skip
    outlines = [s.look for s in steps if isinstance(s.look, Outline)]
    labels = [s.look for s in steps if isinstance(s.look, Label)]
    assert [o.colour for o in outlines] == [parse_colour(PRODUCT_COLOURS[0]), parse_colour(PRODUCT_COLOURS[1])]
    assert [label.text for label in labels] == ["The red bag", "White sneakers"]
    assert [label.colour for label in labels] == [parse_colour(c) for c in PRODUCT_COLOURS[:2]]
    assert len(set(PRODUCT_COLOURS)) == len(PRODUCT_COLOURS) >= 6


def test_a_product_look_overrides_the_spec_and_the_palette_fills_only_unset_colours():
    track = still()
    steps = plan_looks(track, ("outline", "label"), {"outline": {"colour": "#00ff00"}},
                       {"white sneakers": ProductLook(styles=("glow", "label"), colour="#ffffff", label="Kicks")})  # fmt: skip
    bag = [s.look for s in steps if s.members == (0,)]
    shoes = [s.look for s in steps if s.members == (1,)]
    assert [type(look).__name__ for look in bag] == ["Outline", "Label"]
    assert bag[0].colour == (0, 255, 0)  # the spec's colour wins over the palette
    assert [type(look).__name__ for look in shoes] == ["Glow", "Label"]
    assert shoes[0].colour == (255, 255, 255) and shoes[1].text == "Kicks"
    assert shoes[1].text_colour == parse_colour(text_colour_on("#ffffff")) == (17, 17, 17)  # dark text, light pill
    with pytest.raises(UnknownProduct, match="no product 'hat'.*bag \\(the red bag\\)"):
        plan_looks(track, ("outline",), products={"hat": ProductLook(colour="#ff0000")})


def test_two_products_are_outlined_and_labelled_in_their_own_colours(tmp_path):
    track = still()
    source = paint(track, tmp_path / "two.mp4")
    render_video(source, track, tmp_path / "out.mp4", styles=("outline", "label"), aspect=None)
    frame = list(iter_frames(tmp_path / "out.mp4"))[12].astype(int)
    for k, (cx, cy) in enumerate([(160, 200), (480, 200)]):
        colour = np.array(parse_colour(PRODUCT_COLOURS[k]))
        ring = frame[cy - 10 : cy + 10, cx + 20 : cx + 24].reshape(-1, 3)  # just right of the product: the outline
        assert (np.abs(ring - colour).max(axis=1) < 40).sum() >= 20, k
        above = frame[cy - 60 : cy - 22, cx - 40 : cx + 40].reshape(-1, 3)  # the label's pill
        near = np.abs(above - colour).max(axis=1) < 40
        assert near.mean() > 0.2, k
        other = np.array(parse_colour(PRODUCT_COLOURS[1 - k]))
        assert (np.abs(above - other).max(axis=1) < 40).mean() < 0.01  # not the other's colour


def test_one_spotlight_dims_everything_but_both_products_once(tmp_path):
    track = still()
    source = paint(track, tmp_path / "two.mp4")
    render_video(source, track, tmp_path / "out.mp4", styles=("spotlight",), aspect=None)
    frame = list(iter_frames(tmp_path / "out.mp4"))[12].astype(int)
    assert np.abs(frame[200, 160] - PAINT["bag"]).max() < 12  # both lit
    assert np.abs(frame[200, 480] - PAINT["shoes"]).max() < 12
    for y, x in ((20, 20), (200, 320), (340, 620)):  # the background dimmed once: x0.35, not x0.35^2
        assert frame[y, x].mean() == pytest.approx(GREY * 0.35, abs=5)


def test_the_union_matte_keeps_each_product_and_fades_a_leaving_one():
    a = Matte(shape=(100, 100), alpha=np.full((10, 10), 255, np.uint8), origin=(5, 5), box=(5, 5, 10, 10), presence=1.0)
    b = Matte(shape=(100, 100), alpha=np.full((10, 10), 255, np.uint8), origin=(60, 70), box=(60, 70, 10, 10), presence=0.5)
    union = union_matte([a, b])
    full = union.full()
    assert union.presence == 1.0 and union.box == (5, 5, 65, 75)
    assert full[10, 10] == 255 and full[75, 65] == 128 and full[40, 40] == 0
    assert union_matte([a]) is a


def test_a_product_with_no_look_is_left_alone_and_the_spotlight_dims_it(tmp_path):
    track = still()
    source = paint(track, tmp_path / "two.mp4")
    render_video(source, track, tmp_path / "out.mp4", styles=("spotlight",), aspect=None,
                 products={"shoes": ProductLook(styles=())})  # fmt: skip
    frame = list(iter_frames(tmp_path / "out.mp4"))[12].astype(int)
    assert np.abs(frame[200, 160] - PAINT["bag"]).max() < 12
    assert np.abs(frame[200, 480] - np.array(PAINT["shoes"]) * 0.35).max() < 12


# --- one product: as before ------------------------------------------------------------------------


def test_a_one_product_render_is_the_same_as_before_products_had_names(tmp_path, make_track, clip):
    """A named one-object track (version 1 with "object") renders exactly as the plain one, and a
    two-object track whose second product never shows, with the colours and label set, does too."""
    plain = make_track(640, 360, 50, centre=lambda i: (200 + 5 * i, 180), hidden={20, 21})
    named = Track(plain.video, shots=plain.shots,
                  objects=[TrackObject("bag", "Some bag", plain.prompt, plain.frames)])  # fmt: skip
    ghost = Track(plain.video, shots=plain.shots, objects=[
        TrackObject("bag", "Some bag", plain.prompt, plain.frames),
        TrackObject("none", "never seen", {}, [type(f).hidden(f.index, f.time) for f in plain.frames]),
    ])  # fmt: skip
    options = {"outline": {"colour": "#ffffff"}, "label": {"text": "A square", "colour": "#111111", "text_colour": "#ffffff"}}
    outs = {}
    for name, track in (("plain", plain), ("named", named), ("ghost", ghost)):
        spec = RenderSpec(tmp_path / f"{name}.mp4", styles=("spotlight", "outline", "label"), aspect="9:16",
                          out_size=(180, 320), look_options=options, crop_path_out=tmp_path / f"{name}.json")  # fmt: skip
        render_outputs(clip, Track.from_json(track.to_json()), [spec])
        outs[name] = np.stack(list(iter_frames(spec.out_path)))
    assert np.array_equal(outs["plain"], outs["named"])
    assert np.array_equal(outs["plain"], outs["ghost"])
    plain_doc = json.loads((tmp_path / "plain.json").read_text())
    assert plain_doc == json.loads((tmp_path / "named.json").read_text())
    assert "focus" not in plain_doc and "focus" not in plain_doc["frames"][0] and "products" not in plain_doc
    ghost_doc = json.loads((tmp_path / "ghost.json").read_text())
    assert [f["x"] for f in ghost_doc["frames"]] == [f["x"] for f in plain_doc["frames"]]
    assert {tuple(f["focus"]) for f in ghost_doc["frames"]} == {("bag",)}


# --- the focus camera -------------------------------------------------------------------------------


def switches(focus):
    return [i for i in range(1, len(focus)) if focus[i] != focus[i - 1]]


def test_auto_focus_follows_the_product_most_in_view():
    # The shoes are twice the bag's size: they are followed, the bag is out of the 9:16 window.
    track = two_products(75, lambda i: (120, 180), lambda i: (500, 180), bag_side=30, shoes_side=60)
    camera = plan_camera(track, aspect=(9, 16))
    assert set(camera.focus) == {("shoes",)} and camera.focus_mode == "auto"
    for i, window in enumerate(camera.windows.tolist()):
        assert window_holds(window, track.object("shoes").frames[i].box)


def test_auto_focus_does_not_flip_within_the_dwell():
    # Which product is far larger alternates every second: each is clearly most in view in turn,
    # but the camera keeps each at least the dwell (1.5 s) before it may switch.
    n = 250

    def big(phase):
        return lambda i: 70 if (i // 25) % 2 == phase else 30

    track = two_products(n, lambda i: (110, 180), lambda i: (530, 180), bag_side=big(0), shoes_side=big(1))
    camera = plan_camera(track, aspect=(9, 16))
    cuts = switches(camera.focus)
    assert len(cuts) >= 2  # it does follow the larger one
    assert (np.diff([0, *cuts]) >= FOCUS_DWELL * FPS).all(), cuts
    # Steady sizes with a small lead (1.2x in area) never move the focus.
    steady = two_products(n, lambda i: (110, 180), lambda i: (530, 180), bag_side=40, shoes_side=lambda i: 44 if i > 60 else 40)
    assert switches(plan_camera(steady, aspect=(9, 16)).focus) == []


def test_auto_focus_switches_when_the_product_leaves_and_moves_smoothly():
    # The bag (larger) leaves after 2 s; the shoes stay: the camera moves to them, no jump.
    n = 150
    track = two_products(n, lambda i: (110, 180) if i < 50 else None, lambda i: (530, 180), bag_side=60, shoes_side=40)
    camera = plan_camera(track, aspect=(9, 16), motion="default")
    assert camera.focus[0] == ("bag",) and camera.focus[-1] == ("shoes",)
    assert len(switches(camera.focus)) == 1
    x = camera.windows[:, 0]
    limit = 0.55 * W / FPS  # the default motion's speed limit, px a frame
    assert np.abs(np.diff(x)).max() <= limit + 0.5
    assert (np.diff(x) >= -0.01).all()  # one move to the right, no overshoot and back
    assert window_holds(camera.windows[10], track.object("bag").frames[10].box)
    assert window_holds(camera.windows[-1], track.object("shoes").frames[-1].box)


def test_focus_on_a_named_product_follows_it_and_holds_where_it_hides():
    n = 100
    track = two_products(n, lambda i: (110, 180), lambda i: (300 + 3 * i, 180) if not 40 <= i < 50 else None,
                         bag_side=80, shoes_side=40)  # fmt: skip
    for key in ("shoes", "White Sneakers"):
        camera = plan_camera(track, aspect=(9, 16), focus=key)
        assert set(camera.focus) == {("shoes",)} and camera.focus_mode == "shoes"
        for i, frame in enumerate(track.object("shoes").frames):
            if frame.visible:
                assert window_holds(camera.windows[i], frame.box), i
        held = camera.windows[40:50, 0]
        assert np.ptp(held) < 3 * 0.55 * W / FPS  # waits (then glides) while the shoes hide
    with pytest.raises(UnknownProduct, match="no product 'hat'"):
        plan_camera(track, aspect=(9, 16), focus="hat")


def test_products_that_fit_together_are_framed_together():
    # Side by side, within a 9:16 window's width: auto keeps both in frame.
    track = two_products(75, lambda i: (270, 180), lambda i: (350, 180), bag_side=40, shoes_side=40)
    camera = plan_camera(track, aspect=(9, 16))
    assert set(camera.focus) == {("bag", "shoes")}
    for i, window in enumerate(camera.windows.tolist()):
        assert window_holds(window, track.object("bag").frames[i].box)
        assert window_holds(window, track.object("shoes").frames[i].box)


def test_auto_focus_leaves_the_pair_when_they_part():
    # Together for 2 s, then the shoes walk away: the camera stays with one of them, smoothly.
    n = 150
    track = two_products(n, lambda i: (300, 180), lambda i: (360 + max(0, i - 50) * 4, 180), bag_side=60, shoes_side=40)
    camera = plan_camera(track, aspect=(9, 16))
    assert camera.focus[0] == ("bag", "shoes") and camera.focus[-1] == ("bag",)
    assert np.abs(np.diff(camera.windows[:, 0])).max() <= 0.55 * W / FPS + 0.5


def test_products_that_only_pass_each_other_are_not_framed_together():
    # The shoes cross the frame past the still bag: they fit one window together for half a second,
    # too short to frame both (the camera would have to leave the pair at once).
    track = two_products(100, lambda i: (320, 180), lambda i: (620 - 6 * i, 250), bag_side=60, shoes_side=50)
    camera = plan_camera(track, aspect=(9, 16))
    assert ("bag", "shoes") not in camera.focus and set(camera.focus) == {("bag",)}


def test_focus_all_widens_the_window_for_products_that_do_not_fit():
    track = still(n=25)
    camera = plan_camera(track, aspect=(9, 16), focus="all")
    assert camera.windows[0, 2] > 202 and camera.shots[0].zoom > 1
    for frame in (track.object("bag").frames[0], track.object("shoes").frames[0]):
        assert window_holds(camera.windows[0], frame.box)


def test_focus_by_time_ranges_and_a_cut_cuts():
    n = 150
    track = two_products(n, lambda i: (110, 180), lambda i: (530, 180), shots=[[0, 74], [75, 149]])
    camera = plan_camera(track, aspect=(9, 16), focus=[(0, 1.0, "shoes"), (1.0, 2.4, "bag"), (3.0, 6.0, "shoes")])
    assert camera.focus_mode == "ranges"
    assert camera.focus[0] == ("shoes",) and camera.focus[30] == ("bag",) and camera.focus[80] == ("shoes",)
    x = camera.windows[:, 0]
    inside = np.abs(np.diff(x[:75])).max()
    assert inside <= 0.55 * W / FPS + 0.5  # a switch inside a shot is a move
    assert abs(x[75] - x[74]) > 200  # at the shot cut the camera cuts
    with pytest.raises(FocusError, match="overlaps"):
        plan_camera(track, aspect=(9, 16), focus=[(0, 2, "bag"), (1, 3, "shoes")])
    with pytest.raises(FocusError, match="end after it starts"):
        plan_camera(track, aspect=(9, 16), focus=[(2, 1, "bag")])


def test_focus_ranges_are_checked_and_put_in_time_order():
    assert focus_ranges([(3, 6.5, " shoes "), ["0", 3, "bag"], (6.5, 7, "all")]) == [
        (0.0, 3.0, "bag"), (3.0, 6.5, "shoes"), (6.5, 7.0, "all")
    ]  # one range ends where the next starts
    assert focus_ranges([]) == []
    for bad, message in [
        ([(0, 2, "bag"), (1.9, 3, "shoes")], "1.9-3 s overlaps 0-2 s"),
        ([(1, 1, "bag")], "end after it starts"),
        ([(0, float("inf"), "bag")], "end after it starts"),
        ([(float("nan"), 1, "bag")], "end after it starts"),
        (["0-1"], "(start seconds, end seconds, product)"),  # a string is not three values, even of three characters
        (["012"], "(start seconds, end seconds, product)"),
        ([(0, "soon", "bag")], "(start seconds, end seconds, product)"),
    ]:
        with pytest.raises(FocusError) as error:
            focus_ranges(bad)
        assert message in str(error.value)


# --- editor outputs per product ---------------------------------------------------------------------


def test_product_file_names_are_the_id_and_the_name_in_ascii():
    from highlighter.render.outputs import product_file_name

    assert product_file_name("bag", "the red bag") == "bag-the-red-bag"
    assert product_file_name("1", "Äpfel & Birnen!") == "1-apfel-birnen"
    assert product_file_name("shoes", "Shoes") == "shoes"
    assert product_file_name("p2", "  ") == "p2"


def test_masks_and_crop_paths_per_product(tmp_path):
    n = 50
    track = two_products(n, lambda i: (110, 180), lambda i: (530, 180), bag_side=60, shoes_side=40)
    source = paint(track, tmp_path / "two.mp4")
    spec = RenderSpec(tmp_path / "out.mp4", styles=("spotlight",), aspect="9:16", out_size=(180, 320),
                      masks_dir=tmp_path / "masks", crop_path_out=tmp_path / "crop.json",
                      overlay_path=tmp_path / "out.webm")  # fmt: skip
    render_outputs(source, track, [spec])
    folders = sorted(p.name for p in (tmp_path / "masks").iterdir())
    assert folders == ["bag-the-red-bag", "shoes-white-sneakers"]
    bag = sorted((tmp_path / "masks" / folders[0]).glob("mask_*.png"))
    shoes = sorted((tmp_path / "masks" / folders[1]).glob("mask_*.png"))
    assert len(bag) == len(shoes) == n
    # The camera follows the bag (larger): its mask is in the picture, the shoes' is out of it.
    assert cv2.imread(str(bag[20]), cv2.IMREAD_UNCHANGED).max() == 255
    assert cv2.imread(str(shoes[20]), cv2.IMREAD_UNCHANGED).max() == 0
    crop = json.loads((tmp_path / "crop.json").read_text())
    assert crop["focus"]["mode"] == "auto" and [p["id"] for p in crop["focus"]["products"]] == ["bag", "shoes"]
    assert crop["frames"][20]["focus"] == ["bag"] and len(crop["frames"]) == n
    products = {p["id"]: p for p in crop["products"]}
    assert products["shoes"]["name"] == "white sneakers" and len(products["shoes"]["frames"]) == n
    shoes_window = products["shoes"]["frames"][20]
    assert window_holds([shoes_window[k] for k in "xywh"], track.object("shoes").frames[20].box)


def test_the_track_exports_a_folder_of_masks_and_a_crop_path_per_product(tmp_path, make_track):
    track = two_products(30, lambda i: (110, 180), lambda i: (530, 180) if i < 20 else None)
    assert write_mask_pngs(track, tmp_path / "m.zip") == 30
    names = zipfile.ZipFile(tmp_path / "m.zip").namelist()
    assert len(names) == 60 and "bag-the-red-bag/frame_000000.png" in names and "shoes-white-sneakers/frame_000029.png" in names
    data = zipfile.ZipFile(tmp_path / "m.zip").read("shoes-white-sneakers/frame_000025.png")
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).max() == 0  # hidden: black
    write_mask_pngs(track, tmp_path / "one.zip", object_id="shoes")
    assert zipfile.ZipFile(tmp_path / "one.zip").namelist()[0] == "frame_000000.png"
    doc = crop_path_document(track, focus="shoes")
    assert doc["focus"]["mode"] == "shoes" and doc["frames"][0]["focus"] == ["shoes"]
    assert [p["id"] for p in doc["products"]] == ["bag", "shoes"] and len(doc["products"][0]["frames"]) == 30
    # One product: the documents as they always were.
    one = make_track(640, 360, 30)
    assert set(crop_path_document(one)) == {"aspect", "fps", "video", "frames"}
    assert set(crop_path_document(one)["frames"][0]) == {"index", "time", "x", "y", "w", "h"}
    write_mask_pngs(one, tmp_path / "plain.zip")
    assert zipfile.ZipFile(tmp_path / "plain.zip").namelist()[:2] == ["frame_000000.png", "frame_000001.png"]


# --- the command line -----------------------------------------------------------------------------------


def test_the_cli_renders_looks_per_product_and_a_focus(tmp_path, capsys):
    n = 50
    track = two_products(n, lambda i: (110, 180), lambda i: (530, 180), bag_side=60, shoes_side=40)
    source = paint(track, tmp_path / "two.mp4")
    track.save(tmp_path / "t.json")
    code = main(["render", str(source), "--track", str(tmp_path / "t.json"), "--style", "spotlight,outline,label",
                 "--look", "white sneakers=spotlight,glow", "--colour", "bag=#00ff00", "--label", "bag=Bag = new",
                 "--set", "bag:outline.width=0.02", "--focus", "shoes", "--size", "180x320",
                 "--crop-path", str(tmp_path / "c.json"), "--masks", str(tmp_path / "m"), "--out", str(tmp_path / "o.mp4")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert summary["frame_count"] == n and [p["id"] for p in summary["products"]] == ["bag", "shoes"]
    crop = json.loads((tmp_path / "c.json").read_text())
    assert crop["focus"]["mode"] == "shoes" and crop["frames"][30]["focus"] == ["shoes"]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["bag-the-red-bag", "shoes-white-sneakers"]
    frame = list(iter_frames(tmp_path / "o.mp4"))[30].astype(int).reshape(-1, 3)
    assert PRODUCT_COLOURS[1] == "#2ec4ff"  # the shoes' glow, sky blue: not the paint (30, 60, 220), not grey
    assert ((frame[:, 1] > 90) & (frame[:, 2] > 120) & (frame[:, 0] < 90)).sum() > 50

    code = main(["render", str(source), "--track", str(tmp_path / "t.json"), "--focus", "0-1=bag", "--focus", "1-2=hat",
                 "--out", str(tmp_path / "x.mp4")])  # fmt: skip
    assert code == 2 and "no product 'hat'" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
