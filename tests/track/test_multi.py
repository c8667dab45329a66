"""Several products tracked together: one job, one decode, disjoint masks, corrections of one product."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from highlighter.errors import TrackError
from highlighter.eval.synthetic import Scene, SceneObject, write_scene
from highlighter.media import READ_AHEAD
from highlighter.track import Product, product_ids, track_video
from highlighter.track import frames as frames_module
from highlighter.track.motion import GAP_SECONDS
from highlighter.track.prompt import BoxPrompt, Prompt
from highlighter.track.revise import hide_range, splice
from highlighter.trackfile import Track, mask_box


def crossing_scene(*, colours=("red", "blue"), shapes=("ellipse", "rect"), seconds=2.0, width=320, height=240) -> Scene:
    """Two products sliding in from opposite sides; the second (drawn in front) crosses the first
    at about 1 s."""
    r = 0.11 * min(width, height)
    first = SceneObject(
        colour=colours[0], shape=shapes[0], radius=(r * 1.1, r * 0.9), centre=(width / 2, height * 0.5),
        amplitude=(0.33 * width, 0.04 * height), frequency=(0.25, 0.4), phase=(-math.pi / 2, 0.0),
        scale_amplitude=0.05, scale_frequency=0.3,
    )  # fmt: skip
    second = SceneObject(
        colour=colours[1], shape=shapes[1], radius=(r * 0.9, r * 1.05), centre=(width / 2, height * 0.55),
        amplitude=(0.33 * width, 0.04 * height), frequency=(0.25, 0.3), phase=(math.pi / 2, 1.0),
        scale_amplitude=0.05, scale_frequency=0.25,
    )  # fmt: skip
    return Scene(
        width=width, height=height, fps=25.0, frame_count=int(round(seconds * 25)), seed=7,
        background="textured", objects=(first, second), target=1,
    )  # fmt: skip


class Truth:
    """Each product's visible pixels per frame (the scene with that object as its target)."""

    def __init__(self, scene: Scene) -> None:
        self.scenes = [dataclasses.replace(scene, target=k) for k in range(len(scene.objects))]
        self.frame_count = scene.frame_count

    def mask(self, k: int, index: int) -> np.ndarray:
        return self.scenes[k].target_mask(index)

    def whole(self, k: int, index: int) -> np.ndarray:
        """Product ``k``'s whole shape on frame ``index``, the part behind the other included."""
        scene = self.scenes[k]
        return dataclasses.replace(scene, objects=(scene.objects[k],), target=0).target_mask(index)

    def box(self, k: int, index: int, pad: float = 2.0) -> BoxPrompt:
        x, y, w, h = mask_box(self.mask(k, index))
        return BoxPrompt(max(0.0, x - pad), max(0.0, y - pad), x + w + pad, y + h + pad, index)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union; 1.0 when both are empty (both say the product is not in view)."""
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def ious(track: Track, object_id: str, truth: Truth, k: int) -> np.ndarray:
    return np.array([iou(track.mask(i, object_id), truth.mask(k, i)) for i in range(truth.frame_count)])


def assert_never_mostly_on_the_other(track: Track, truth: Truth) -> None:
    """No frame where one product's mask lies mostly on the other product."""
    for i in range(truth.frame_count):
        for k, pid in enumerate(track.ids):
            mask = track.mask(i, pid)
            if mask.any():
                assert np.count_nonzero(mask & truth.mask(1 - k, i)) < 0.5 * np.count_nonzero(mask), (pid, i)


@pytest.fixture(scope="module")
def crossing(tmp_path_factory):
    """A red ball and a blue box crossing (the box in front)."""
    scene = crossing_scene()
    path = tmp_path_factory.mktemp("multi") / "crossing.mp4"
    write_scene(path, scene, audio=False)
    return path, Truth(scene)


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """Two red products of different shapes crossing: only the clicks tell them apart."""
    scene = crossing_scene(colours=("red", "red"))
    path = tmp_path_factory.mktemp("multi") / "twins.mp4"
    write_scene(path, scene, audio=False)
    return path, Truth(scene)


@pytest.fixture
def count_decodes(monkeypatch):
    """How many frames the tracker decoded (forward streams and backward chunks), however it splits them."""
    decoded = {"frames": 0}
    iter_frames, read = frames_module.iter_frames, frames_module.FrameSource._read

    def counting_iter(*args, **kwargs):
        for frame in iter_frames(*args, **kwargs):
            decoded["frames"] += 1
            yield frame

    def counting_read(self, start, count):
        frames = read(self, start, count)
        decoded["frames"] += len(frames)
        return frames

    monkeypatch.setattr(frames_module, "iter_frames", counting_iter)
    monkeypatch.setattr(frames_module.FrameSource, "_read", counting_read)
    return decoded


def products(*pairs: tuple[str, Prompt]) -> list[Product]:
    return [Product(pid, prompt.text or pid, prompt) for pid, prompt in pairs]


@pytest.fixture(scope="module")
def described(crossing):
    path, _ = crossing
    return track_video(path, products(("ball", Prompt(text="the red ball")), ("box", Prompt(text="the blue box"))))


def test_two_described_products_are_followed_together_and_never_share_a_pixel(crossing, described):
    path, truth = crossing
    track = described
    assert track.ids == ["ball", "box"]
    assert [o.name for o in track.objects] == ["the red ball", "the blue box"]
    assert track.objects[1].prompt == {"text": "the blue box", "points": [], "boxes": []}
    for k, pid in enumerate(track.ids):
        assert [f.index for f in track.object(pid).frames] == list(range(truth.frame_count))
        assert ious(track, pid, truth, k).mean() > 0.85, pid
        meta = track.object(pid).meta
        assert meta["colour"] in ("red", "blue") and "init_frame" in meta and "events" in meta
    assert track.overlaps() == []
    assert_never_mostly_on_the_other(track, truth)
    assert track.meta["backend"] == "memory" and track.shots == [[0, truth.frame_count - 1]]
    again = Track.from_json(track.to_json())
    assert json.loads(track.to_json())["version"] == 2 and again.ids == track.ids


def test_every_product_s_crop_goes_through_the_network_in_one_pass_and_each_track_is_as_alone(crossing, monkeypatch):
    from highlighter.track import joint, propagation
    from highlighter.track.controller import TargetController

    path, truth = crossing
    batches = []

    def counting(frame, crops):
        batches.append(len(crops))
        propagation.crop_features_together(frame, crops)

    steps = []
    step = propagation.LabelPropagator.step

    def found(self, frame):  # whether the crop this step takes is one the batch computed
        crop = self.step_crop(frame, self.prior)
        steps.append(crop is not None and propagation._crop_key(crop, self.settings.crop) in frame.cache)
        return step(self, frame)

    monkeypatch.setattr(joint, "crop_features_together", counting)
    monkeypatch.setattr(propagation.LabelPropagator, "step", found)
    pairs = (("ball", Prompt(text="the red ball")), ("box", Prompt(text="the blue box")))
    together = track_video(path, products(*pairs))
    # The two products' crops went through the network together on nearly every frame, and
    # nearly every step took the crop the batch had computed for it.
    assert sum(1 for n in batches if n == 2) >= truth.frame_count - 5
    assert sum(steps) >= len(steps) - 10 and len(steps) >= 2 * (truth.frame_count - 5)
    monkeypatch.setattr(propagation.LabelPropagator, "step", step)
    monkeypatch.setattr(TargetController, "step_crop", lambda self, frame: None)
    apart = track_video(path, products(*pairs))
    # Each crop's features are the ones its own pass gives, to float rounding (bit for bit on
    # the machines measured), so the tracks are the same.
    for pid in together.ids:
        same = [iou(together.mask(i, pid), apart.mask(i, pid)) for i in range(truth.frame_count)]
        assert np.mean(same) > 0.99 and min(same) > 0.8, pid


def test_same_coloured_products_chosen_by_boxes_keep_their_own_pixels_while_crossing(twins, count_decodes):
    path, truth = twins
    track = track_video(path, products(("ball", Prompt(boxes=(truth.box(0, 0),))), ("box", Prompt(boxes=(truth.box(1, 0),)))))
    ball, box = ious(track, "ball", truth, 0), ious(track, "box", truth, 1)
    assert ball.mean() > 0.8 and box.mean() > 0.8
    assert track.overlaps() == []
    two = count_decodes["frames"]
    count_decodes["frames"] = 0
    track_video(path, Prompt(boxes=(truth.box(0, 0),)))
    # Two products decode each frame once (+ the start frame). One product, followed beside the
    # other as its lookalike, decodes that too, after the frames it read ahead on its start frame
    # to see what moves: the start frame again, then GAP_SECONDS of video, and what the decoder
    # had read ahead of those when they were dropped (at most media.READ_AHEAD + 1).
    taken = two + 1 + round(GAP_SECONDS * truth.scenes[0].fps)
    assert taken <= count_decodes["frames"] <= taken + READ_AHEAD + 1
    assert two <= truth.frame_count + 1
    assert_never_mostly_on_the_other(track, truth)
    # Where their shapes overlap, nothing in the frame says which one is in front (one paint, no
    # edge between them): the overlap is shown as neither's, and both scores fall there.
    overlaps, clear, shown, overlapping = [], [], 0, 0
    for i in range(truth.frame_count):
        ball, box = truth.whole(0, i), truth.whole(1, i)
        both = ball & box
        if np.count_nonzero(both) > 0.3 * min(np.count_nonzero(ball), np.count_nonzero(box)):
            overlaps.append(i)
            shown += np.count_nonzero((track.mask(i, "ball") | track.mask(i, "box")) & both)
            overlapping += np.count_nonzero(both)
        else:
            clear.append(i)
    assert overlaps, "the products never overlap: the scene does not test what it should"
    # The shapes are predicted from the last frames, so a fast crossing shows a little of it at
    # its edges; giving it to the one in front (or to the wrong one) would show all of it.
    assert shown < 0.25 * overlapping
    for pid in track.ids:
        scores = {i: f.score for i, f in enumerate(track.object(pid).frames)}
        assert max(scores[i] for i in overlaps) < np.median([scores[i] for i in clear]), pid


def test_one_product_with_a_lookalike_of_its_paint_is_followed_beside_it_and_never_swapped(twins, crossing):
    path, truth = twins
    track = track_video(path, Prompt(boxes=(truth.box(0, 0),)))
    # The other red product, found on the start frame, was followed as a product of its own
    # (KeepTrack); the track file still holds the one product.
    assert len(track.objects) == 1
    (box,) = track.meta["lookalikes"]
    other = mask_box(truth.mask(1, 0))
    assert abs(box[0] - other[0]) <= 4 and abs(box[2] - (other[0] + other[2])) <= 4
    assert ious(track, track.ids[0], truth, 0).mean() > 0.8
    for i in range(truth.frame_count):
        mask = track.mask(i)
        assert np.count_nonzero(mask & truth.mask(1, i)) < 0.5 * max(1, np.count_nonzero(mask)), i
    # Another paint is kept apart by appearance: nothing is followed beside the target.
    path, truth = crossing
    assert "lookalikes" not in track_video(path, Prompt(boxes=(truth.box(1, 0),))).meta


def test_a_lookalike_is_a_region_of_the_target_s_paint_and_size_apart_from_it():
    from highlighter.track.joint import lookalikes_of
    from highlighter.track.parts import Candidate, WorkFrame
    from highlighter.track.proposals import ColourSegmentProposer

    rgb = np.full((120, 200, 3), (90, 110, 100), np.uint8)  # a muted green wall
    red, blue = (200, 30, 40), (40, 60, 200)
    rgb[20:50, 20:50] = red  # the target
    rgb[60:90, 70:110] = red  # the same paint, about its size: a lookalike
    rgb[20:50, 140:170] = blue  # about its size, another paint
    rgb[95:118, 120:199] = red  # the same paint, too long
    rgb[0:25, 75:105] = red  # the same paint and size, cut by the frame's edge
    target = np.zeros(rgb.shape[:2], bool)
    target[20:50, 20:50] = True
    found = lookalikes_of(WorkFrame(0, rgb), Candidate.from_mask(target), ColourSegmentProposer())
    assert [c.box for c in found] == [(70.0, 60.0, 40.0, 30.0)]


def test_one_product_in_a_list_is_the_one_product_tracker(crossing):
    path, truth = crossing
    prompt = Prompt(boxes=(truth.box(1, 10),))
    alone = track_video(path, prompt)
    listed = track_video(path, [Product("1", "", prompt)])
    assert [f.to_dict() for f in listed.frames] == [f.to_dict() for f in alone.frames]
    assert listed.shots == alone.shots
    data = json.loads(alone.to_json())  # a bare prompt: the version-1 file as it always was
    assert set(data) == {"version", "video", "prompt", "frames", "shots", "meta"} and data["version"] == 1
    assert alone.meta["init_frame"] == 10 and "events" in alone.meta


def test_products_starting_on_different_frames(crossing):
    path, truth = crossing
    track = track_video(
        path, products(("box", Prompt(boxes=(truth.box(1, 30),))), ("ball", Prompt(text="the red ball")))
    )
    assert track.object("box").meta["init_frame"] == 30
    assert ious(track, "box", truth, 1)[:30].mean() > 0.8  # tracked backwards from its box
    assert ious(track, "ball", truth, 0).mean() > 0.85
    assert track.overlaps() == []


def test_a_correction_of_one_product_never_takes_the_others_pixels_and_leaves_them_untouched(crossing, described):
    path, truth = crossing
    previous = described
    # The re-run is given the box's region as the ball: the box's pixels stay the box's.
    wrong = Prompt(boxes=(truth.box(1, 25),))
    rerun = track_video(path, [Product("ball", "the red ball", wrong)], exclude=previous)
    assert rerun.ids == ["ball"]
    for i in range(truth.frame_count):
        assert not (rerun.mask(i, "ball") & previous.mask(i, "box")).any(), i
    fixed = track_video(path, [Product("ball", "the red ball", Prompt(boxes=(truth.box(0, 25),)))], exclude=previous)
    revised, (start, end) = splice(previous, fixed, frame=25, object_id="ball")
    assert start <= 25 <= end
    assert revised.ids == previous.ids
    assert revised.object("box").to_dict() == previous.object("box").to_dict()
    assert revised.object("ball").prompt == fixed.object("ball").prompt
    hidden = hide_range(revised, start=5, end=9, object_id="box")
    assert not any(f.visible for f in hidden.object("box").frames[5:10])
    assert hidden.object("ball").to_dict() == revised.object("ball").to_dict()
    assert revised.overlaps() == []


def test_one_product_corrections_are_as_before(crossing, described):
    single = described.single("ball")
    revised, _ = splice(single, described.single("ball"), frame=3)
    assert revised.ids == ["ball"] and len(revised.objects) == 1
    hidden = hide_range(Track(single.video, prompt=single.prompt, frames=single.frames, shots=single.shots), start=1, end=2)
    assert hidden.ids == ["1"] and json.loads(hidden.to_json())["version"] == 1 and "object" not in json.loads(hidden.to_json())


def test_bad_product_lists_get_clear_errors(crossing):
    path, _ = crossing
    with pytest.raises(TrackError, match="same id"):
        track_video(path, products(("a", Prompt(text="the red ball")), ("a", Prompt(text="the blue box"))))
    with pytest.raises(TrackError, match="letters, digits"):
        Product("the red ball", "the red ball", Prompt(text="the red ball"))
    with pytest.raises(TrackError, match="at least one product"):
        track_video(path, [])
    with pytest.raises(TrackError, match="^the bag: Name the product's colour"):
        track_video(path, [Product("ball", "the red ball", Prompt(text="the red ball")), Product("bag", "the bag", Prompt(text="the bag"))])
    with pytest.raises(TrackError, match="^green: .*outside the video"):
        track_video(path, [Product("ball", "", Prompt(text="the red ball")), Product("g", "green", Prompt(boxes=(BoxPrompt(0, 0, 10, 10, 999),)))])


def test_product_ids_are_unique_slugs():
    assert product_ids(["the red bag", "The Red Bag!", "", "les chaussures été", "a"]) == [
        "red-bag", "red-bag-2", "p3", "les-chaussures-ete", "a",
    ]  # fmt: skip


def test_an_overlap_of_one_paint_is_shown_by_neither_product_and_only_theirs_lose_it():
    from highlighter.track.joint import _shown

    overlap = np.zeros((20, 20), bool)
    overlap[6:12, 6:12] = True  # where the two products of one paint overlap (36 px)
    ball = np.zeros_like(overlap)
    ball[0:12, 0:12] = True  # 144 px, 36 of them in the overlap
    box = np.zeros_like(overlap)
    box[6:13, 6:13] = True  # 49 px, mostly the overlap
    bag = np.zeros_like(overlap)
    bag[5:15, 5:15] = True  # another colour, in front of both
    inside = np.zeros_like(overlap)
    inside[7:11, 7:11] = True  # of the pair's paint, all of it within the overlap
    unsure = {0: overlap, 1: overlap, 4: overlap}
    shown = _shown({0: (ball, 0.8), 1: (box, 0.6), 2: (bag, 0.9), 3: (None, 0.0), 4: (inside, 0.7)}, unsure)
    mask, score = shown[0]
    assert not (mask & overlap).any() and np.count_nonzero(mask) == 108
    assert score == pytest.approx(0.8 * 108 / 144)  # the share it keeps
    mask, score = shown[1]  # a sliver of itself left (13 of 49 px): shown, and its score says how little
    assert np.array_equal(mask, box & ~overlap) and score == pytest.approx(0.6 * 13 / 49)
    assert shown[4] == (None, 0.0)  # nothing of its own left: not visible
    assert shown[2] == (bag, 0.9) and shown[3] == (None, 0.0)  # another colour keeps the overlap
    # A speck under the smallest sliver re-detection takes for the product (its floor) is not shown.
    assert _shown({1: (box, 0.6)}, {1: overlap}, {1: 14.0}) == {1: (None, 0.0)}
    assert np.array_equal(_shown({1: (box, 0.6)}, {1: overlap}, {1: 13.0})[1][0], box & ~overlap)


@pytest.mark.parametrize(("covered", "touched"), [(False, True), (True, True), (False, False)])
def test_a_product_apart_again_is_completed_from_its_held_shape_where_the_frame_still_shows_it(covered, touched):
    # Two blue products, apart again after a contact. The propagation kept only the left part of
    # the box (the part the other product left it while they touched); the box's held shape (its
    # mask when last seen whole, 6 px to the left, moved along since) still shows the box on this
    # frame, so the decision is completed to the whole box. Where a red bar now covers the rest,
    # the frame no longer shows it there and the mask stays as decided. A product whose shape was
    # not held through a contact (it only shrank) is not completed either.
    from types import SimpleNamespace

    from highlighter.media import VideoInfo
    from highlighter.track.controller import Decision
    from highlighter.track.joint import JointTracker
    from highlighter.track.memory import TargetMemory
    from highlighter.track.parts import Candidate, WorkFrame

    blue, grey = (30, 60, 200), (120, 120, 120)
    yy, xx = np.mgrid[0:90, 0:160]
    ball = (yy - 40) ** 2 + (xx - 100) ** 2 <= 15**2

    def box_at(x0):
        return (yy >= 20) & (yy < 60) & (xx >= x0) & (xx < x0 + 40)

    look = np.full((90, 160, 3), grey, np.uint8)
    look[box_at(14) | ball] = blue
    now = np.full((90, 160, 3), grey, np.uint8)
    now[box_at(20) | ball] = blue
    if covered:
        now[10:70, 40:64] = (210, 30, 30)
    frame = WorkFrame(5, now)
    products = [Product("box", "box", Prompt(boxes=(BoxPrompt(20, 20, 60, 60, 0),))), Product("ball", "ball", Prompt(boxes=(BoxPrompt(85, 25, 116, 56, 0),)))]
    tracker = JointTracker(products, VideoInfo(160, 90, 25.0, 10, 0.4))
    tracker._reset_shapes()
    tracker._shapes[0], tracker._looks[0], tracker._offset[0] = box_at(14), look, (6.0, 0.0)
    if touched:
        tracker._touched.add(0)
    kept = box_at(20) & (xx < 40)
    memory = TargetMemory()
    memory.add(tracker.embedder.embed(WorkFrame(0, look), Candidate.from_mask(box_at(14))), 0)
    controllers = {0: SimpleNamespace(memory=memory), 1: SimpleNamespace(memory=memory)}
    decisions = {
        0: Decision("accept", Candidate.from_mask(kept, quality=0.9, object_score=0.9), 0.9),
        1: Decision("accept", Candidate.from_mask(ball, quality=0.9, object_score=0.9), 0.9),
    }
    tracker._from_shapes(frame, decisions, controllers, {0: box_at(20), 1: ball}, [], None)
    assert np.array_equal(decisions[1].mask, ball)
    if covered or not touched:
        assert np.array_equal(decisions[0].mask, kept)
    else:
        assert decisions[0].kind == "accept"
        assert np.array_equal(decisions[0].mask, box_at(20))


BLUE, GREY = (30, 60, 200), (120, 120, 120)


def _box_and_ball(ball_x: int):
    """A 200x90 scene's pixel grid ``(yy, xx)``, the masks of a 40 px box at x 20-60 and of a ball
    of radius 18 centred at ``(ball_x, 40)``, and a joint tracker of the two holding no shapes yet."""
    from highlighter.media import VideoInfo
    from highlighter.track.joint import JointTracker

    yy, xx = np.mgrid[0:90, 0:200]
    box = (yy >= 20) & (yy < 60) & (xx >= 20) & (xx < 60)
    ball = (yy - 40) ** 2 + (xx - ball_x) ** 2 <= 18**2
    products = [
        Product("box", "box", Prompt(boxes=(BoxPrompt(20, 20, 60, 60, 0),))),
        Product("ball", "ball", Prompt(boxes=(BoxPrompt(ball_x - 18, 22, ball_x + 19, 59, 0),))),
    ]
    tracker = JointTracker(products, VideoInfo(200, 90, 25.0, 10, 0.4))
    tracker._reset_shapes()
    return (yy, xx), box, ball, tracker


def test_a_contact_ends_where_the_frame_shows_the_products_apart_though_their_held_shapes_still_touch():
    # Two blue products parted after a long contact. Their held shapes, moved on at the velocities
    # they had before it, still overlap; their decisions on this frame are apart. While the pair
    # counts as in contact, each product is cut to its stale shape and their overlap is shown as
    # neither's; once the frame shows them apart, the contact is over and each keeps its mask.
    from types import SimpleNamespace

    from highlighter.track.controller import Decision
    from highlighter.track.joint import _shown
    from highlighter.track.parts import Candidate

    (yy, xx), box, ball, tracker = _box_and_ball(150)
    stale_box = (yy >= 20) & (yy < 60) & (xx >= 50) & (xx < 90)  # where the held shapes went
    stale_ball = (yy - 40) ** 2 + (xx - 95) ** 2 <= 18**2
    look = np.full((90, 200, 3), GREY, np.uint8)
    look[stale_box | stale_ball] = BLUE
    for k, shape in enumerate((stale_box, stale_ball)):
        tracker._shapes[k], tracker._looks[k] = shape, look

    def decide():
        return {
            0: Decision("accept", Candidate.from_mask(box, quality=0.9, object_score=0.9), 0.9),
            1: Decision("accept", Candidate.from_mask(ball, quality=0.9, object_score=0.9), 0.9),
        }

    predicted = {0: stale_box, 1: stale_ball}
    touching = [(0, 1)]
    controllers = {k: SimpleNamespace(_reference_area=lambda: None) for k in (0, 1)}
    trimmed, unsure = tracker._resolve(None, decide(), controllers, predicted, touching)
    assert 0 in trimmed and np.count_nonzero(trimmed[0]) < np.count_nonzero(box)  # cut to the stale shape
    decisions = decide()
    assert tracker._still_touching(touching, decisions) == []
    trimmed, unsure = tracker._resolve(None, decisions, controllers, predicted, tracker._still_touching(touching, decisions))
    assert trimmed == {} and unsure == {}
    shown = _shown({0: (box, 0.9), 1: (ball, 0.9)}, unsure)
    assert np.array_equal(shown[0][0], box) and np.array_equal(shown[1][0], ball)
    # A product not found on the frame may be behind the other, and one found again elsewhere may
    # be a re-detection's mistake: neither ends the contact.
    decisions[1] = Decision("none")
    assert tracker._still_touching(touching, decisions) == touching
    decisions[1] = Decision("take", Candidate.from_mask(ball, quality=0.9, object_score=0.9), 0.9)
    assert tracker._still_touching(touching, decisions) == touching


def test_products_of_one_paint_stay_so_when_one_mask_took_in_a_piece_of_scenery():
    # A blue box and a blue ball, each first seen whole on its own. Since then the ball's mask has
    # taken in a green shelf item it uncovered (a third of the mask): its last view's colours are
    # unlike the box's, its first view's are the box's. They are still of one paint; a red ball
    # is of one paint with neither.
    from types import SimpleNamespace

    from highlighter.track.joint import ONE_PAINT, _paint
    from highlighter.track.parts import WorkFrame

    green, red = (40, 170, 90), (200, 40, 30)
    (yy, xx), box, ball, _ = _box_and_ball(130)
    shelf = (yy >= 25) & (yy < 55) & (xx >= 148) & (xx < 170)
    first = np.full((90, 200, 3), GREY, np.uint8)
    first[shelf] = green
    first[box | ball] = BLUE
    controllers = {k: SimpleNamespace(tracking=True, _reference_area=lambda: None) for k in (0, 1)}

    def tracker_after(views):
        tracker = _box_and_ball(130)[3]
        for index, (rgb, masks) in enumerate(views):
            out = {k: (m, 0.9) for k, m in enumerate(masks)}
            tracker._update_shapes(WorkFrame(index, rgb), [0, 1], controllers, out, {}, [])
        return tracker

    assert float(_paint(first, box) @ _paint(first, ball | shelf)) < ONE_PAINT  # the last views alone say "not one paint"
    assert float(_paint(first, box) @ _paint(first, ball)) >= ONE_PAINT
    assert tracker_after([(first, (box, ball)), (first, (box, ball | shelf))])._one_paint(0, 1)
    assert not tracker_after([(first, (box, ball | shelf))])._one_paint(0, 1)  # no clean view of the ball
    painted = first.copy()
    painted[ball] = red
    assert not tracker_after([(painted, (box, ball)), (painted, (box, ball))])._one_paint(0, 1)


@pytest.mark.parametrize("one_paint", [True, False])
def test_a_held_shape_in_a_blob_of_one_paint_goes_where_the_blob_s_outline_shows_it(one_paint):
    # A blue box, seen whole at x 20-60, then touching a blue ball: the flow between them is
    # smeared, so its shape moves at the velocity it had before (9 px a frame). The box itself
    # has turned faster (12 px): the blob's outline against the grey scenery says so, and the
    # shape follows it. Touching a product of another paint, the velocity stands (there the depth
    # cue says which one is in front).
    from types import SimpleNamespace

    from highlighter.track.joint import _translate
    from highlighter.track.parts import WorkFrame

    (yy, xx), box, ball, tracker = _box_and_ball(130)
    first = np.full((90, 200, 3), GREY, np.uint8)
    first[box | ball] = BLUE
    controllers = {k: SimpleNamespace(tracking=True, _reference_area=lambda: None) for k in (0, 1)}
    tracker._update_shapes(WorkFrame(0, first), [0, 1], controllers, {0: (box, 0.9), 1: (ball, 0.9)}, {}, [])
    tracker._velocity[0] = (9.0, 0.0)
    tracker._front[(0, 1)] = 1
    tracker._paint[(0, 1)] = one_paint
    now = np.full_like(first, GREY)
    moved_box = _translate(box, (12, 0))
    ball_now = (yy - 40) ** 2 + (xx - 80) ** 2 <= 18**2  # the ball, come left over the box's right side
    now[moved_box | ball_now] = BLUE
    controller = SimpleNamespace(tracking=True, propagator=SimpleNamespace(moved=lambda frame: None))
    predicted = tracker._predict(0, WorkFrame(1, now), controller)
    assert np.array_equal(predicted, moved_box if one_paint else _translate(box, (9, 0)))
    # Inside a blob with no outline near, every offset fits: the velocity's stands, fraction and all.
    everywhere = WorkFrame(2, np.full_like(first, BLUE))
    assert tracker._register(everywhere, 0, box, (9.4, 0.0)) == (9.4, 0.0)


@pytest.fixture(scope="module")
def two_shots(tmp_path_factory):
    """The ``cut`` family's first video, small: a red box, a close-up from frame 65 (5 s at 25 fps)."""
    from highlighter.eval.scenarios import build, write_scenario

    path = tmp_path_factory.mktemp("cut") / "cut.mp4"
    return path, write_scenario(path, build("cut", 0, width=320, height=180))


def _box_around(mask: np.ndarray, frame: int) -> Prompt:
    x, y, w, h = mask_box(mask)
    return Prompt(boxes=(BoxPrompt(x, y, x + w, y + h, frame),))


@pytest.mark.parametrize("count", [1, 2])
def test_a_box_after_a_cut_finds_the_cut_walking_back_and_forth(two_shots, count):
    # Prompted in the second shot, the tracker walks back over the cut to the video's start, then
    # forwards: one product and several (the joint tracker) find the same shots.
    path, truth = two_shots
    assert truth.shot_starts() == [0, 65]
    (other,) = truth.other_masks(70)  # a shelf item beside the red box in the close-up
    prompts = [("box", _box_around(truth.mask(70), 70)), ("item", _box_around(other, 70))][:count]
    track = track_video(path, products(*prompts) if count > 1 else prompts[0][1])
    assert track.shots == [[0, 64], [65, truth.frame_count - 1]]
