"""bench/real_footage.py on tiny generated clips in the real-footage layout (no shared data needed)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from bench import real_footage as bench
from highlighter.errors import TrackError
from highlighter.eval.footage import FootageClip, deepest_point, list_clips, select_clips, split
from highlighter.eval.numerics import numerics
from highlighter.track.prompt import BoxPrompt, PointPrompt, Prompt

FIGURES = {"j", "f", "jf", "box_iou", "fps", "seconds", "frames_run", "frames_scored", "confidently_wrong",
           "hidden_in_view", "score_rho", "refused"}  # fmt: skip


def test_the_split_puts_the_first_60_percent_of_name_digests_in_tune_whatever_the_order():
    names = [f"clip-{i}" for i in range(10)]
    subsets = split(names)
    assert split(list(reversed(names))) == subsets
    by_digest = sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    assert [subsets[n] for n in by_digest] == ["tune"] * 6 + ["check"] * 4


def test_clips_are_selected_by_name_in_the_folder_s_order_and_split_over_the_whole_folder(make_footage):
    for name in ("moving", "still", "third"):
        folder = make_footage(name).parent
    everything, subsets = select_clips(folder)
    assert [c.name for c in everything] == ["moving", "still", "third"]
    assert subsets == split(["moving", "still", "third"])
    chosen, same = select_clips(folder, " third, moving,")
    assert [c.name for c in chosen] == ["moving", "third"] and same == subsets
    with pytest.raises(ValueError, match=r"no clips \['nope'\].*there are: "):
        select_clips(folder, "moving,nope")


def test_the_prompt_is_the_box_around_mask_zero_on_frame_zero(make_footage):
    clip = FootageClip(make_footage("moving"))
    assert clip.frame_count == 24
    assert clip.box_prompt() == Prompt(boxes=(BoxPrompt(20, 40, 50, 70, 0),))


def test_the_click_prompt_is_mask_zero_s_deepest_point(make_footage):
    # The 30 px square at x 20-49, y 40-69: four pixels lie 15 px from its outline; the first in
    # reading order is the click.
    clip = FootageClip(make_footage("moving"))
    assert clip.click_prompt() == Prompt(points=(PointPrompt(34.0, 54.0, 0, True),))
    assert deepest_point(np.zeros((4, 4), bool)) is None
    edge = np.zeros((20, 30), bool)
    edge[:, :10] = True  # cut by the frame's left edge, which counts as outline
    assert deepest_point(edge) == (4, 4)  # 5 px from the outline, not on the edge


def test_the_still_box_scores_one_on_a_still_object_and_less_on_a_moving_one(make_footage):
    still = bench.score_clip(FootageClip(make_footage("still", moving=False)), None, [bench.StillBox()])["still"]
    moving = bench.score_clip(FootageClip(make_footage("moving")), None, [bench.StillBox()])["still"]
    assert len(still.j) == 23  # every frame but the first
    assert still.row(24)["j"] == 1.0 and still.row(24)["box_iou"] == 1.0
    assert moving.row(24)["j"] < 0.5


def test_a_perfect_track_scores_one_and_csrt_follows_the_square(make_footage, make_truth_track, monkeypatch):
    monkeypatch.setattr(bench, "track_video", lambda path, prompt, backend: make_truth_track(True))
    rows = bench.run_clip(FootageClip(make_footage("moving")), backend="auto", subset="tune")
    assert [r["method"] for r in rows] == ["ours", "still", "csrt"]
    for row in rows:
        assert FIGURES <= set(row) and row["clip"] == "moving" and row["split"] == "tune"
        assert row["frames_scored"] == 23 and row["fps"] > 0
    ours, still, csrt = rows
    assert ours["j"] == ours["f"] == ours["jf"] == ours["box_iou"] == 1.0
    assert ours["confidently_wrong"] == 0 and ours["hidden_in_view"] == 0 and ours["backend"] == "truth"
    assert still["confidently_wrong"] is None and still["score_rho"] is None  # the baselines give no score
    assert ours["score_rho"] is None  # every frame is perfect: nothing to rank
    assert csrt["j"] > still["j"]


def test_hidden_frames_in_view_count_and_so_does_a_high_score_on_them(make_footage, make_truth_track, monkeypatch):
    monkeypatch.setattr(bench, "track_video", lambda path, prompt, backend: make_truth_track(True, hidden_score=0.9))
    (ours,) = bench.run_clip(FootageClip(make_footage("moving")), backend="auto", subset="check", baselines=False)
    assert ours["j"] == 0.0
    assert ours["hidden_in_view"] == 23 and ours["confidently_wrong"] == 23


def test_a_refused_prompt_scores_zero_and_is_counted(make_footage, monkeypatch):
    def refuse(path, prompt, backend):
        raise TrackError("This box is empty.")

    monkeypatch.setattr(bench, "track_video", refuse)
    rows = bench.run_clip(FootageClip(make_footage("moving")), backend="auto", subset="tune")
    ours = rows[0]
    assert ours["refused"] and ours["j"] == ours["jf"] == ours["box_iou"] == 0.0
    assert "This box is empty." in ours["error"]
    assert [r["refused"] for r in rows[1:]] == [False, False]  # the baselines still ran
    summary = bench.summarise(rows)
    assert summary["ours"]["refused"] == 1 and summary["ours"]["fps"] is None
    assert summary["still"]["refused"] == 0


def test_the_command_prints_rows_summaries_per_subset_and_a_table(make_footage, make_truth_track, monkeypatch, capsys):
    tracked = []

    def track(path, prompt, backend):
        tracked.append(path.name)
        return make_truth_track(False)

    monkeypatch.setattr(bench, "track_video", track)
    folder = make_footage("still", moving=False).parent
    make_footage("other", moving=False)
    assert bench.main([str(folder), "--clips", "still", "--skip-baselines", "--table"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    # The process's one-time start is paid on a tiny clip before the first clip, and reported apart.
    assert tracked == ["warm-up.mp4", "video.mp4"] and result["startup_seconds"] >= 0
    subset = split([c.name for c in list_clips(folder)])["still"]
    assert [(r["clip"], r["method"], r["split"]) for r in result["rows"]] == [("still", "ours", subset)]
    assert result["summary"]["all"]["ours"]["j"] == 1.0 and result["summary"][subset]["ours"]["clips"] == 1
    assert "| still | " in err and "**mean of 1**" in err
    # What other processes took of the CPUs meanwhile (bench/common.py), None without /proc/stat.
    assert result["machine"] is None or {"other_share", "contended"} <= set(result["machine"])
    assert result["numerics"] == numerics()  # which rounding the J figures came from


def test_an_unknown_clip_or_tracker_is_an_error_that_names_it(make_footage, capsys):
    folder = make_footage("still", moving=False).parent
    assert bench.main([str(folder), "--clips", "nope"]) == 2
    assert bench.main([str(folder), "--tracker", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_the_real_tracker_runs_through_the_bench(make_footage):
    (ours,) = bench.run_clip(FootageClip(make_footage("moving")), backend="auto", subset="tune", baselines=False)
    assert FIGURES <= set(ours)
    assert ours["refused"] or ours["frames_scored"] == 23


def test_the_score_rho_says_whether_low_scores_mark_the_worse_frames():
    truth = np.zeros((20, 20), bool)
    truth[4:16, 4:16] = True

    def tally(scores: list[float], hidden_score: float = 0.0) -> bench.FrameTally:
        t = bench.FrameTally()
        for k, score in enumerate(scores):  # each frame's mask loses two more rows of the object
            pred = truth.copy()
            pred[4 : 4 + 2 * k] = False
            t.add(pred, truth, visible=True, score=score)
        t.add(np.zeros_like(truth), truth, visible=False, score=hidden_score)  # not shown: not ranked
        return t

    # The hidden frame (J 0) scores against the shown frames' order: counted, it would break it.
    assert tally([0.9, 0.8, 0.6, 0.4], hidden_score=0.95).row(5)["score_rho"] == 1.0
    assert tally([0.4, 0.6, 0.8, 0.9]).row(5)["score_rho"] == -1.0
    assert tally([0.7, 0.7, 0.7, 0.7]).row(5)["score_rho"] is None
    rows = [dict(tally([0.9, 0.8, 0.6, 0.4]).row(5), method="ours"), dict(tally([0.4, 0.6, 0.8, 0.9]).row(5), method="ours")]
    rows += [dict(tally([0.7] * 4).row(5), method="ours"), dict(bench.refused_row(ValueError("x")), method="ours")]
    summary = bench.summarise(rows)["ours"]
    assert summary["score_rho"] == 0.0 and summary["score_rho_clips"] == 2


def test_nudged_boxes_track_each_clip_from_boxes_a_few_pixels_off(make_footage, make_truth_track, monkeypatch, capsys):
    # One box per clip is one draw; --nudged also tracks from three boxes off it and reports the mean.
    prompts = []

    def track(path, prompt, backend):
        prompts.append(prompt)
        return make_truth_track(True) if prompt.boxes[0].x1 == 20 else make_truth_track(True, hidden_score=0.1)

    monkeypatch.setattr(bench, "track_video", track)
    folder = make_footage("moving").parent
    assert bench.main([str(folder), "--clips", "moving", "--skip-baselines", "--nudged", "--table"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    boxes = [(b.x1, b.y1, b.x2, b.y2) for p in prompts[1:] for b in p.boxes]  # the first is the warm-up's
    assert boxes == [(20, 40, 50, 70), (16, 36, 54, 74), (23, 43, 47, 67), (23, 37, 53, 67)]
    (ours,) = result["rows"]
    # The protocol's box gives the perfect track; the three others one hidden throughout.
    assert ours["j"] == 1.0 and ours["j_boxes"] == [1.0, 0.0, 0.0, 0.0] and ours["j_over_boxes"] == 0.25
    assert result["summary"]["all"]["ours"]["j_over_boxes"] == 0.25
    assert "J 4 boxes" in err and "| 0.250 |" in err
    assert bench.main([str(folder), "--clips", "moving", "--skip-baselines"]) == 0
    assert "j_boxes" not in json.loads(capsys.readouterr().out)["rows"][0]


def test_a_click_prompt_starts_ours_from_the_click_and_the_baselines_from_the_box(make_footage, make_truth_track, monkeypatch, capsys):
    prompts = []

    def track(path, prompt, backend):
        prompts.append(prompt)
        return make_truth_track(True)

    monkeypatch.setattr(bench, "track_video", track)
    folder = make_footage("moving").parent
    assert bench.main([str(folder), "--prompt", "click"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["prompt"] == "click"
    assert prompts[1:] == [Prompt(points=(PointPrompt(34.0, 54.0, 0, True),))]  # the first is the warm-up's
    by_method = {r["method"]: r for r in result["rows"]}
    assert by_method["ours"]["j"] == 1.0
    assert by_method["still"]["j"] < 1.0 and by_method["csrt"]["j"] > 0.5  # the box trackers started from the box
    with pytest.raises(SystemExit):  # three nudged boxes have no meaning for a click
        bench.main([str(folder), "--prompt", "click", "--nudged"])
