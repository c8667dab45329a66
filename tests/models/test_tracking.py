"""The whole tracking path on the ``sam2`` backend: random-weight models loaded from a models folder
by the worker's own loading code, on the CPU. Random weights track nothing in particular, so these
tests check the path (prompts, passes, cuts, state between videos), not the masks' quality."""

from __future__ import annotations

import pytest

from highlighter.models.loading import clear_caches
from highlighter.track import resolve_backend, track_video
from highlighter.track.prompt import BoxPrompt, PointPrompt, Prompt


def centre_click(gt, frame: int) -> PointPrompt:
    x, y, w, h = gt.boxes[frame]
    return PointPrompt(x + w / 2, y + h / 2, frame)


def assert_well_formed(track, frame_count: int) -> None:
    assert [f.index for f in track.frames] == list(range(frame_count))
    assert track.meta["backend"] == "sam2"
    assert track.meta["models"]["sam2"] == "sam2.1-hiera-tiny"
    assert track.meta["device"] == "cpu" and track.meta["precision"] == "float32"
    for f in track.frames:
        assert 0.0 <= f.score <= 1.0
        if f.visible:
            assert f.mask["size"] == [120, 160]


def signature(track) -> list:
    return [(f.index, f.visible, round(f.score, 5), f.mask["counts"] if f.visible else None) for f in track.frames]


def test_auto_picks_the_model_backend_only_when_its_weights_are_installed(model_env, monkeypatch, tmp_path):
    assert resolve_backend("auto") == "sam2"
    monkeypatch.setenv("HIGHLIGHTER_MODELS_DIR", str(tmp_path))
    assert resolve_backend("auto") == "memory"
    assert resolve_backend("sam2") == "sam2"  # forced by setting: it then says which model is missing


def test_a_forced_model_backend_without_weights_says_what_to_do(model_env, monkeypatch, tmp_path, videos):
    from highlighter.errors import TrackError

    path, gt = videos("red")
    monkeypatch.setenv("HIGHLIGHTER_MODELS_DIR", str(tmp_path))
    with pytest.raises(TrackError, match="models fetch"):
        track_video(path, Prompt(points=(centre_click(gt, 0),)), backend="sam2")


def test_a_click_is_followed_forwards(model_env, videos):
    path, gt = videos("red")
    track = track_video(path, Prompt(points=(centre_click(gt, 0),)), backend="sam2")
    assert_well_formed(track, 12)
    assert track.meta["init_frame"] == 0
    assert track.meta["models"]["detector"] is None  # no description: the detector is not loaded
    assert track.frames[0].visible


def test_a_box_on_a_later_frame_is_followed_backwards_then_forwards(model_env, videos):
    path, gt = videos("red")
    x, y, w, h = gt.boxes[7]
    track = track_video(path, Prompt(boxes=(BoxPrompt(x - 2, y - 2, x + w + 2, y + h + 2, 7),)), backend="sam2")
    assert_well_formed(track, 12)
    assert track.meta["init_frame"] == 7
    assert track.frames[7].visible


def test_a_description_is_grounded_by_the_detector(model_env, videos, monkeypatch):
    import highlighter.track.initialise as initialise

    # Random detector weights score nothing above the production threshold; the path is under test.
    monkeypatch.setattr(initialise, "MIN_TEXT_SCORE", 0.0)
    path, _ = videos("red")
    track = track_video(path, Prompt(text="the leather handbag"), backend="sam2")  # no colour word needed
    assert_well_formed(track, 12)
    assert track.meta["models"]["detector"] == "owlv2-base"
    assert 0 <= track.meta["init_frame"] < 12


def test_a_shot_cut_ends_the_shot_and_restarts_the_target(model_env, cut_video):
    path, cut, _ = cut_video
    track = track_video(path, Prompt(points=(PointPrompt(80, 60, 0),)), backend="sam2")
    assert_well_formed(track, 12)
    assert track.shots == [[0, cut - 1], [cut, 11]]
    assert (cut, "cut") in track.meta["events"]


def test_two_videos_in_one_worker_track_as_each_alone(model_env, videos):
    red, red_gt = videos("red")
    blue, blue_gt = videos("blue")
    red_prompt = Prompt(points=(centre_click(red_gt, 0),))
    blue_prompt = Prompt(points=(centre_click(blue_gt, 3),))
    in_a_row = [signature(track_video(red, red_prompt, backend="sam2")), signature(track_video(blue, blue_prompt, backend="sam2"))]
    alone = []
    for path, prompt in ((red, red_prompt), (blue, blue_prompt)):
        clear_caches()  # a fresh worker process: models built again from the folder
        alone.append(signature(track_video(path, prompt, backend="sam2")))
    assert in_a_row == alone
