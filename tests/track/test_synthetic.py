from __future__ import annotations

import cv2
import numpy as np
import pytest

from highlighter.eval.synthetic import PALETTE, moving_object_scene
from highlighter.media import iter_frames, probe
from highlighter.track.colour import COLOUR_WORDS
from highlighter.trackfile import mask_box


def test_it_is_deterministic_for_a_seed():
    a = moving_object_scene(seed=11, distractor="blue", seconds=1.0)
    b = moving_object_scene(seed=11, distractor="blue", seconds=1.0)
    c = moving_object_scene(seed=12, distractor="blue", seconds=1.0)
    assert a == b
    assert np.array_equal(a.render(7), b.render(7))
    assert np.array_equal(a.target_mask(7), b.target_mask(7))
    assert not np.array_equal(a.render(7), c.render(7))


@pytest.mark.parametrize("shape", ["ellipse", "rect"])
def test_its_mask_is_exactly_the_drawn_pixels(shape):
    scene = moving_object_scene(seed=3, shape=shape, seconds=1.0)
    for index in (0, 12, 24):
        drawn = np.any(scene.render(index) != scene.render(index, with_objects=False), axis=2)
        mask = scene.target_mask(index)
        assert mask.sum() > 500
        assert np.array_equal(drawn, mask)


def test_its_background_is_textured_not_flat():
    frame = moving_object_scene(seed=0, seconds=1.0).render(0, with_objects=False)
    assert frame.std() > 10
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 1000


def test_it_writes_the_video_and_its_ground_truth(red_video):
    path, gt = red_video
    info = probe(path, count_frames=True)
    assert (info.width, info.height, info.frame_count) == (640, 360, 75)
    assert info.has_audio and info.video_codec == "h264"
    assert abs(info.duration - 3.0) <= 1 / 25
    assert len(gt.boxes) == gt.frame_count == 75
    assert all(gt.boxes[i] == mask_box(gt.mask(i)) for i in range(0, 75, 10))
    data = gt.to_dict()
    assert data["video"] == {"width": 640, "height": 360, "fps": 25.0, "frame_count": 75}
    assert len(data["boxes"]) == 75 and data["objects"][data["target"]]["colour"] == "red"


def test_the_encoded_frames_still_match_the_ground_truth(red_video):
    path, gt = red_video
    for index, frame in enumerate(iter_frames(path)):
        if index % 25:
            continue
        red = COLOUR_WORDS["red"].mask(cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)) > 0
        truth = gt.mask(index)
        assert (red & truth).sum() / (red | truth).sum() > 0.9


def test_the_target_leaves_the_frame_during_an_exit(exit_video):
    _, gt = exit_video
    fps = gt.fps
    assert all(gt.boxes[i] is None for i in range(int(0.8 * fps), int(1.4 * fps) + 1))
    assert gt.boxes[0] is not None and gt.boxes[-1] is not None


@pytest.mark.parametrize("colour", sorted(PALETTE))
def test_each_palette_colour_is_what_its_word_means(colour):
    scene = moving_object_scene(seed=1, colour=colour, seconds=0.2)
    hsv = cv2.cvtColor(scene.render(0), cv2.COLOR_RGB2HSV)
    matched = COLOUR_WORDS[colour].mask(hsv) > 0
    truth = scene.target_mask(0)
    assert matched[truth].mean() > 0.95
    if colour not in ("white", "black"):  # the background has dark and light stretches
        assert matched[~truth].mean() < 0.01
