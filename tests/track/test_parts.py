"""The controller's parts on small synthetic inputs: Kalman, memories, re-identification, proposals."""

from __future__ import annotations

import numpy as np
import pytest

from highlighter.eval.scenarios import PathObject, build
from highlighter.eval.synthetic import PALETTE, _background
from highlighter.track.colour import COLOUR_WORDS, ColourModel
from highlighter.track.controller import TargetController
from highlighter.track.embedding import HistogramEmbedder
from highlighter.track.frames import FrameSource
from highlighter.track.grounding import CueGrounder, shape_word
from highlighter.track.kalman import KalmanBoxFilter
from highlighter.track.memory import DistractorMemory, TargetMemory, kmeans_medoids
from highlighter.track.parts import Candidate, WorkFrame, box_mask_agreement
from highlighter.track.prompt import Prompt
from highlighter.track.propagation import FlowColourPropagator
from highlighter.track.proposals import ColourSegmentProposer
from highlighter.media import probe


def scene_frame(objects, seed=0, w=320, h=180):
    rgb = _background(w, h, seed, "textured").copy()
    for o in objects:
        o.draw(rgb, 0.0)
    return WorkFrame(0, rgb)


def obj(colour, shape, x, y, r=(18.0, 14.0)):
    return PathObject(PALETTE[colour], shape, r, ((0.0, x, y, 1.0),))


def test_the_kalman_filter_learns_a_constant_velocity():
    kf = KalmanBoxFilter()
    kf.initiate((0.0, 50.0, 20.0, 10.0))
    for step in range(1, 30):
        kf.predict()
        kf.update((3.0 * step, 50.0, 20.0, 10.0))
    x, y, w, h = kf.predict()
    assert x == pytest.approx(3.0 * 30, abs=0.5) and y == pytest.approx(50.0, abs=0.1)
    assert (w, h) == pytest.approx((20.0, 10.0), abs=0.1)
    assert kf.stable == 29


def test_the_kalman_filter_holds_its_course_without_measurements():
    kf = KalmanBoxFilter()
    kf.initiate((0.0, 0.0, 10.0, 10.0))
    for step in range(1, 10):
        kf.predict()
        kf.update((2.0 * step, 0.0, 10.0, 10.0))
    first = kf.predict()[0]
    second = kf.predict()[0]
    assert second - first == pytest.approx(2.0, abs=0.3)  # an occluded product keeps moving


def test_kmeans_medoids_pick_one_member_per_cluster():
    rng = np.random.default_rng(0)
    centres = np.eye(4)
    vectors = np.concatenate([c + 0.05 * rng.normal(size=(10, 4)) for c in centres])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    medoids = kmeans_medoids(vectors, 4)
    assert sorted(set(m // 10 for m in medoids)) == [0, 1, 2, 3]


def test_target_memory_is_bounded_and_keeps_the_prompt():
    memory = TargetMemory(k=4, capacity=16)
    first = np.r_[1.0, np.zeros(7)]
    memory.add(first, 0)
    for i in range(1, 200):
        v = np.r_[0.0, np.random.default_rng(i).random(7)]
        memory.add(v / np.linalg.norm(v), i)
    assert len(memory) <= 16
    assert memory.similarity(first) == pytest.approx(1.0)
    assert len(memory.prototypes) <= 4


def test_distractor_memory_refreshes_duplicates_and_forgets_the_oldest():
    memory = DistractorMemory(capacity=2)
    a, b, c = np.eye(3)
    memory.add(a)
    memory.add(a * 1.0)
    assert len(memory) == 1
    memory.add(b)
    memory.add(c)
    assert len(memory) == 2 and memory.similarity(a) == 0.0 and memory.similarity(c) == 1.0
    assert DistractorMemory().similarity(a) == 0.0


def test_reidentification_tells_a_same_coloured_lookalike_of_another_shape():
    embedder, proposer = HistogramEmbedder(), ColourSegmentProposer()
    first = scene_frame([obj("red", "ellipse", 80, 60), obj("red", "rect", 240, 120)])
    later = scene_frame([obj("red", "ellipse", 200, 70, (20.0, 15.0)), obj("red", "rect", 90, 130)], seed=1)
    cands = {c.box[0] < 160: c for c in proposer.propose(first)}
    target, lookalike = cands[True], cands[False]
    memory, distractors = TargetMemory(), DistractorMemory()
    memory.add(embedder.embed(first, target), 0)
    distractors.add(embedder.embed(first, lookalike))
    moved = {c.box[0] > 160: c for c in proposer.propose(later)}
    back, other = embedder.embed(later, moved[True]), embedder.embed(later, moved[False])
    assert memory.similarity(back) > distractors.similarity(back)
    assert distractors.similarity(other) > memory.similarity(other)


def test_the_proposer_finds_each_coloured_object_and_not_the_background():
    frame = scene_frame([obj("red", "ellipse", 80, 60), obj("blue", "rect", 240, 120), obj("green", "ellipse", 160, 140)])
    cands = ColourSegmentProposer().propose(frame)
    assert len(cands) == 3
    assert all(0.8 < c.area / (np.pi * 18 * 14 if c.box[0] < 200 and c.box[1] < 100 else c.area) < 1.2 for c in cands)


def test_the_grounder_reads_colour_and_shape_words():
    assert shape_word("the round red ball") == "round" and shape_word("a blue gift box") == "boxy"
    frame = scene_frame([obj("red", "ellipse", 80, 60), obj("red", "rect", 240, 120), obj("blue", "ellipse", 160, 140)])
    cands = ColourSegmentProposer().propose(frame)
    scores = CueGrounder(Prompt(text="the red ball"), (1.0, 1.0)).score(frame, cands)
    best = cands[int(np.argmax(scores))]
    assert best.box[0] < 100  # the red ellipse, not the red box or the blue ball


def test_box_mask_agreement_is_sparrow_s_score():
    assert box_mask_agreement((0, 0, 10, 10), (0, 0, 10, 10), 100) == pytest.approx(1.0)
    # A mask filling a quarter of the box: IoU of the boxes 0.25, area ratio 0.25.
    assert box_mask_agreement((0, 0, 10, 10), (0, 0, 5, 5), 25) == pytest.approx(0.8 * 0.25 + 0.2 / (1 + np.log(4)))


def test_backward_chunks_decode_the_same_frames_as_a_forward_pass(tmp_path):
    from highlighter.eval.scenarios import write_scenario

    scenario = build("smooth", 0, width=160, height=90)
    scenario = type(scenario)(**{**scenario.__dict__, "frame_count": 30, "_bases": {}})
    write_scenario(tmp_path / "v.mp4", scenario)
    info = probe(tmp_path / "v.mp4")
    source = FrameSource(tmp_path / "v.mp4", info, (160, 90))
    forward = {f.index: f.rgb.copy() for f in source.forward()}
    backward = list(source.backward(30, chunk=7))
    assert [f.index for f in backward] == list(range(29, -1, -1))
    assert all(np.array_equal(f.rgb, forward[f.index]) for f in backward)


def mask_of(o, w=320, h=180, t=0.0):
    m = np.zeros((h, w), bool)
    rows, cols, roi = o.footprint(t, w, h)
    m[rows, cols] = roi
    return m


def propagator_on(frame, mask):
    prop = FlowColourPropagator(ColourModel.from_pixels(frame.hsv[mask]))
    prop.reset(frame, mask)
    return prop


def test_a_lookalike_mostly_hidden_behind_the_product_keeps_the_contact():
    target = obj("red", "rect", 120, 90)
    behind = obj("red", "ellipse", 128, 90, (20.0, 10.0))  # sticks out 10 px: 11% more colour
    mask = mask_of(target)
    prop = propagator_on(scene_frame([target]), mask)
    assert not prop.in_contact
    prop.commit(scene_frame([behind, target]), mask)
    assert prop.in_contact  # a solid piece of the same colour outside the product's outline
    # Contact ends only after a few frames alone, so a lookalike's thin first edge cannot slip in.
    for _ in range(prop.leave_contact_after - 1):
        prop.commit(scene_frame([target]), mask)
        assert prop.in_contact
    prop.commit(scene_frame([target]), mask)
    assert not prop.in_contact


def test_a_product_that_turned_a_little_is_still_alone():
    upright = obj("red", "rect", 120, 90)
    turned = PathObject(PALETTE["red"], "rect", (18.0, 14.0), ((0.0, 120, 90, 1.0),), turns=((0.0, 8.0),))
    prop = propagator_on(scene_frame([upright]), mask_of(upright))
    frame = scene_frame([turned])
    prop.commit(frame, mask_of(upright) & prop.colour_mask(frame))  # the held outline, not re-fitted
    assert not prop.in_contact  # its corners moved, but no other object touches it


def make_controller(frame, target):
    proposer, embedder = ColourSegmentProposer(), HistogramEmbedder()
    colour = ColourModel.from_pixels(frame.hsv[target.mask])
    x, y, w, h = target.box
    grounder = CueGrounder(Prompt.from_dict({"text": "", "boxes": [[x, y, x + w, y + h, 0]]}), (1.0, 1.0))
    controller = TargetController(
        proposer, grounder, FlowColourPropagator(colour), embedder, TargetMemory(), DistractorMemory()
    )
    controller.start(frame, target)
    return controller


def test_redetection_finds_a_sliver_of_the_product_among_many_larger_regions():
    # Thirteen blue boxes fill the proposer's top-12; the product comes back as a sliver (17% of it).
    clutter = [obj("blue", "rect", 30 + 58 * (i % 5), 25 + 60 * (i // 5), (12.0, 12.0)) for i in range(13)]
    target = obj("red", "rect", 150, 120, (18.0, 14.0))
    first = scene_frame([*clutter, target])
    start = Candidate.from_mask(mask_of(target))
    controller = make_controller(first, start)
    gone = WorkFrame(1, scene_frame(clutter).rgb)
    assert controller.step(gone)[0] is None
    sliver = obj("red", "rect", 165, 120, (3.0, 14.0))  # its right edge, out from behind something
    back = WorkFrame(2, scene_frame([*clutter, sliver]).rgb)
    assert all(c.area > 168 for c in ColourSegmentProposer().propose(back))  # the proposer leaves it out
    mask, _ = controller.step(back)
    assert mask is not None and (mask & mask_of(sliver)).sum() / (mask | mask_of(sliver)).sum() > 0.8
    assert (2, "found") in controller.events


def red_bar_frame(index, square_x, w=180, h=320):
    """A full-height red stripe at the left edge (a colour bar, a wall) and a red square at ``square_x``."""
    rgb = _background(w, h, 0, "textured").copy()
    rgb[:, :30] = (255, 0, 0)
    rgb[140:170, square_x : square_x + 30] = (255, 0, 0)
    return WorkFrame(index, rgb)


def test_a_description_picks_the_compact_product_not_a_same_coloured_stripe():
    frame = red_bar_frame(0, 100)
    cands = ColourSegmentProposer().propose(frame)
    scores = CueGrounder(Prompt(text="the red box"), (1.0, 1.0)).score(frame, cands)
    best = cands[int(np.argmax(scores))]
    assert best.box == (100.0, 140.0, 30.0, 30.0)
    stripe = next(s for c, s in zip(cands, scores) if c.box[0] == 0)
    assert stripe < 0.3  # an edge-to-edge stripe is background, however box-like


def test_the_mask_does_not_grow_into_a_same_coloured_background_region():
    frames = [red_bar_frame(i, x) for i, x in enumerate((100, 80, 60, 45, 32, 25, 32, 45))]
    square = np.zeros((320, 180), bool)
    square[140:170, 100:130] = True
    propagator = FlowColourPropagator(COLOUR_WORDS["red"])
    propagator.reset(frames[0], square)
    for frame, x in zip(frames[1:], (80, 60, 45, 32, 25, 32, 45)):
        cands = propagator.step(frame)
        assert cands
        best = max(cands, key=lambda c: c.quality)
        visible = np.zeros_like(square)
        visible[140:170, max(30, x) : x + 30] = True  # the square's part off the stripe
        assert (best.mask & visible).sum() / (best.mask | visible).sum() > 0.8
        propagator.commit(frame, best.mask)


def test_background_is_most_of_the_frame_or_an_edge_to_edge_stripe():
    from highlighter.track.parts import is_background

    size = (640, 360)
    assert is_background((0, 0, 640, 360), 0.95 * 640 * 360, size)  # the whole scene
    assert is_background((300, 0, 60, 360), 60 * 360, size)  # a colour bar, top to bottom
    assert is_background((0, 200, 640, 40), 640 * 40, size)  # a floor line, side to side
    # A close-up product may fill most of the frame and be cut by two edges: still a product.
    assert not is_background((60, 0, 520, 360), 0.6 * 640 * 360, size)
    assert not is_background((300, 100, 60, 200), 60 * 200, size)  # tall, but not edge to edge
