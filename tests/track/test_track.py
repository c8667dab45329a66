from __future__ import annotations

import numpy as np
import pytest

from highlighter.errors import Cancelled, TrackError
from highlighter.eval.metrics import mask_iou, mean_iou, track_ious
from highlighter.eval.synthetic import moving_object_scene
from highlighter.media import probe
from highlighter.track import BACKENDS, track_video
from highlighter.track.colour import colour_word
from highlighter.track.prompt import BoxPrompt, Prompt, PointPrompt
from highlighter.track.shots import CutWalk
from highlighter.trackfile import Track


def centre_click(gt, frame: int) -> PointPrompt:
    x, y, w, h = gt.boxes[frame]
    return PointPrompt(x + w / 2, y + h / 2, frame)


def test_it_follows_a_named_colour(red_video):
    path, gt = red_video
    track = track_video(path, Prompt(text="the red handbag"))
    assert mean_iou(track, gt) > 0.8
    assert track.video == {"width": 640, "height": 360, "fps": 25.0, "frame_count": 75}
    assert track.prompt == {"text": "the red handbag", "points": [], "boxes": []}
    assert [f.index for f in track.frames] == list(range(75))
    assert track.frames[25].time == pytest.approx(1.0)
    assert track.shots == [[0, 74]]
    assert track.meta["backend"] == "memory" and track.meta["colour"] == "red"
    assert all(0.0 <= f.score <= 1.0 for f in track.frames)


def test_it_ignores_an_object_of_another_colour(red_with_blue_video):
    path, gt = red_with_blue_video
    track = track_video(path, Prompt(text="Red bag"))
    assert mean_iou(track, gt) > 0.8
    assert track_ious(track, gt).min() > 0.7


def test_a_click_without_a_colour_word_picks_the_clicked_lookalike(lookalikes_video):
    path, gt = lookalikes_video
    track = track_video(path, Prompt(points=(centre_click(gt, 0),)))
    assert mean_iou(track, gt) > 0.8
    assert track.meta["colour"] == "learned from the prompt"


def test_a_box_on_a_later_frame_is_followed_from_the_first_frame(lookalikes_video):
    path, gt = lookalikes_video
    x, y, w, h = gt.boxes[30]
    track = track_video(path, Prompt(boxes=(BoxPrompt(x - 3, y - 3, x + w + 3, y + h + 3, 30),)))
    ious = track_ious(track, gt)
    assert ious.mean() > 0.8
    assert ious[:30].min() > 0.7  # the frames before the box belong to the same object


def _lookalike_looks(monkeypatch) -> list[tuple[int, int | None]]:
    """``(start frame, the frame it is compared with to see what moves)`` of each lookalike search."""
    from highlighter.track import joint

    looks, lookalikes_of = [], joint.lookalikes_of

    def spy(frame, target, proposer, later=None):
        looks.append((frame.index, None if later is None else later.index))
        return lookalikes_of(frame, target, proposer, later)

    monkeypatch.setattr(joint, "lookalikes_of", spy)
    return looks


def test_what_moves_is_seen_a_fifth_of_a_second_after_the_start(red_with_blue_video, monkeypatch):
    path, gt = red_with_blue_video
    looks = _lookalike_looks(monkeypatch)
    x, y, w, h = gt.boxes[10]
    track = track_video(path, Prompt(boxes=(BoxPrompt(x - 3, y - 3, x + w + 3, y + h + 3, 10),)))
    assert looks == [(10, 15)]  # 25 fps
    # The frames read ahead are tracked too, each once, in order.
    assert [f.index for f in track.frames] == list(range(len(gt.boxes)))
    assert track_ious(track, gt).min() > 0.7


def test_a_box_on_the_last_frame_is_followed_back_to_the_first(red_with_blue_video, monkeypatch):
    """The start is the video's last frame: what moves is seen against a frame before it."""
    path, gt = red_with_blue_video
    looks = _lookalike_looks(monkeypatch)
    last = len(gt.boxes) - 1
    x, y, w, h = gt.boxes[last]
    track = track_video(path, Prompt(boxes=(BoxPrompt(x - 3, y - 3, x + w + 3, y + h + 3, last),)))
    assert looks == [(last, last - 5)]
    assert [f.index for f in track.frames] == list(range(last + 1))
    assert track.meta["init_frame"] == last
    assert track_ious(track, gt).min() > 0.7


def test_a_video_is_probed_once_per_tracking_run(red_video, monkeypatch):
    """Each probe is an ffprobe process: the run's frame source passes on the one it has (a box on
    a later frame reads the video forwards twice and its frame at full size once)."""
    from highlighter import media

    path, gt = red_video
    probed, probe_once = [], media._run_ffprobe
    monkeypatch.setattr(media, "_run_ffprobe", lambda *args: probed.append(args) or probe_once(*args))
    x, y, w, h = gt.boxes[20]
    track = track_video(path, Prompt(boxes=(BoxPrompt(x - 3, y - 3, x + w + 3, y + h + 3, 20),)))
    assert len(probed) == 1
    assert mean_iou(track, gt) > 0.8


def test_a_description_without_a_colour_is_refused(red_video):
    path, _ = red_video
    with pytest.raises(TrackError, match="Name the product's colour"):
        track_video(path, Prompt(text="the handbag"))


def test_an_unknown_backend_is_refused(red_video):
    path, _ = red_video
    with pytest.raises(TrackError, match="no tracker called 'sam9'") as refused:
        track_video(path, Prompt(text="red bag"), backend="sam9")
    assert all(name in str(refused.value) for name in BACKENDS)  # the message lists the real choices


def test_a_prompt_outside_the_video_is_refused(red_video):
    path, _ = red_video
    with pytest.raises(TrackError, match="outside the video"):
        track_video(path, Prompt(points=(PointPrompt(10, 10, 500),)))


def test_the_track_file_round_trips(red_with_blue_video):
    path, gt = red_with_blue_video
    track = track_video(path, Prompt(text="the red bag"))
    again = Track.from_json(track.to_json())
    assert again.to_dict() == track.to_dict()
    for index in (0, 20, 49):
        mask = again.mask(index)
        assert mask.shape == (gt.height, gt.width) and mask.dtype == bool
        assert np.array_equal(mask, track.mask(index))


def test_frames_without_the_product_are_hidden(exit_video):
    path, gt = exit_video
    track = track_video(path, Prompt(text="red"))
    truth_visible = np.array([b is not None for b in gt.boxes])
    visible = np.array([f.visible for f in track.frames])
    assert truth_visible.sum() < len(truth_visible) - 10  # the scenario really has an absence
    assert not visible[~truth_visible].any()
    # Frames with a sliver at the frame edge may be missed; frames with most of it must not be.
    areas = np.array([gt.mask(i).sum() for i in range(gt.frame_count)])
    assert visible[areas > 0.5 * areas.max()].all()
    assert all(f.mask is None and f.box is None for f in track.frames if not f.visible)
    assert mean_iou(track, gt) > 0.8


def test_it_works_at_a_working_resolution_below_the_video(make_video):
    path, gt = make_video("red_960", colour="red", seed=9, width=960, height=540, seconds=1.0)
    track = track_video(path, Prompt(text="a red ball"))
    assert track.meta["work_size"] == [480, 270]
    assert track.mask(10).shape == (540, 960)
    assert mean_iou(track, gt) > 0.8


def test_it_reports_progress_and_can_be_cancelled(red_with_blue_video):
    path, _ = red_with_blue_video
    seen: list[float] = []
    track_video(path, Prompt(text="red"), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 10 <= len(seen) <= 101

    def cancel(fraction: float) -> None:
        if fraction >= 0.3:
            raise Cancelled("The tracking was cancelled.")

    with pytest.raises(Cancelled):
        track_video(path, Prompt(text="red"), progress=cancel)


def test_progress_counts_the_pass_backwards_from_a_late_key_frame(lookalikes_video):
    """Frames before a key frame are yielded only once the backward pass reaches frame 0; progress
    counts frames as they are analysed, so it moves (and a cancel is heard) during that pass."""
    path, gt = lookalikes_video
    x, y, w, h = gt.boxes[40]  # of 50
    prompt = Prompt(boxes=(BoxPrompt(x - 3, y - 3, x + w + 3, y + h + 3, 40),))
    analysed: list[int] = []
    stream = BACKENDS["memory"](prompt, probe(path)).track(path, analysed=analysed.append)
    first = next(stream)
    stream.close()
    assert first.index == 0 and analysed == list(range(1, 41))  # frames 39..0, analysed before frame 0 is yielded

    def cancel(fraction: float) -> None:
        if fraction >= 0.3:
            raise Cancelled("The tracking was cancelled.")

    with pytest.raises(Cancelled):
        track_video(path, prompt, progress=cancel)


@pytest.mark.parametrize(
    ("text", "word"),
    [("the red handbag", "red"), ("A GREY coat", "grey"), ("red and white sneaker", "red"), ("the handbag", None)],
)
def test_it_reads_the_colour_word(text, word):
    assert colour_word(text) == word


def test_a_walk_finds_each_hard_cut_either_way_and_none_within_the_shortest_shot():
    a = moving_object_scene(seed=1, seconds=1.2)
    b = moving_object_scene(seed=2, colour="blue", background="flat", seconds=1.2)
    # Shots: a 0-9, b 10-19, a 20-21 (under 0.2 s at 25 fps), b 22-29.
    frames = [a.render(i) for i in range(10)] + [b.render(i) for i in range(10)]
    frames += [a.render(i) for i in range(20, 22)] + [b.render(i) for i in range(20, 28)]
    forward: set[int] = set()
    walk = CutWalk(25, frames[0], forward)
    assert [i for i in range(1, 30) if walk.step(frames[i], i)] == [10, 20]
    assert forward == {10, 20}  # 22 is 2 frames after the cut at 20
    backward: set[int] = set()
    walk = CutWalk(25, frames[29], backward, backward=True)
    assert [i for i in range(28, -1, -1) if walk.step(frames[i], i)] == [21, 9]
    assert backward == {22, 10}  # each the first frame of the new shot; 20 is 2 frames before 22
    # Frames an earlier walk passed are cuts only where it found one.
    again = CutWalk(25, frames[0], backward, known=25)
    assert [i for i in range(1, 30) if again.step(frames[i], i)] == [10, 22]


def test_a_box_over_a_flat_patch_is_never_refused(red_video):
    # The marketer's box says the product is there, even where nothing stands out: it is followed.
    path, _ = red_video
    track = track_video(path, Prompt(boxes=(BoxPrompt(8, 8, 40, 40, 0),)))
    assert track.frames[0].visible and track.frames[0].box is not None
    x, y, w, h = track.frames[0].box
    assert x >= 8 and y >= 8 and x + w <= 40 and y + h <= 40


def test_a_box_past_the_frame_s_edge_is_clipped_and_only_one_off_the_video_refused(red_video):
    # A box dragged past the top edge still says where the product is: it is tracked from the part
    # of the box on the video. Only a box with nothing of the video in it is refused.
    path, gt = red_video
    x, y, w, h = gt.boxes[0]
    track = track_video(path, Prompt(boxes=(BoxPrompt(x - 4, y - 100, x + w + 4, y + h + 4, 0),)))
    assert track.prompt["boxes"] == [[x - 4, 0.0, x + w + 4, y + h + 4, 0]]
    assert track.frames[0].visible and mask_iou(track.mask(0), gt.mask(0)) > 0.8
    with pytest.raises(TrackError, match="outside the video"):
        track_video(path, Prompt(boxes=(BoxPrompt(650, 300, 700, 400, 0),)))


def test_reading_prompts_and_tracks_does_not_import_torch():
    # The web app parses prompts and reads track files; torch (for the image features) is the
    # workers' business, and costs a second and hundreds of megabytes to import.
    import subprocess
    import sys

    code = "import sys, highlighter.track, highlighter.track.prompt, highlighter.trackfile; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
