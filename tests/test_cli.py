"""The two CLI commands work on a video they have never seen, without the web app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from highlighter.eval.synthetic import make_moving_object_video
from highlighter.media import probe
from highlighter.trackfile import Track


@pytest.fixture(scope="module")
def unseen_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "blue box.mp4"  # a space in the name, on purpose
    truth = make_moving_object_video(path, width=480, height=270, fps=24, seconds=2.0, colour="blue", shape="rect", seed=321)
    return path, truth


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "highlighter", *args], capture_output=True, text=True, timeout=300)


def test_track_then_render_from_the_command_line(unseen_video, tmp_path):
    path, truth = unseen_video
    track_path, out = tmp_path / "track.json", tmp_path / "out.mp4"
    result = _run("track", str(path), "--prompt", "the blue box", "--out", str(track_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["frames"] == truth.frame_count and summary["visible_fraction"] > 0.9
    track = Track.load(track_path)
    assert (track.width, track.height) == (480, 270)

    result = _run("render", str(path), "--track", str(track_path), "--style", "spotlight", "--aspect", "9:16", "--out", str(out))
    assert result.returncode == 0, result.stderr
    info = probe(out, count_frames=True)
    assert (info.width, info.height, info.video_codec) == (1080, 1920, "h264")
    assert info.has_audio and info.frame_count == truth.frame_count


@pytest.mark.parametrize("prompt", [["--point", "{x},{y}@0"], ["--box", "{x1},{y1},{x2},{y2}@0"]])
def test_track_accepts_a_point_or_a_box(unseen_video, tmp_path, prompt):
    path, truth = unseen_video
    x, y, w, h = truth.boxes[0]
    values = {"x": int(x + w / 2), "y": int(y + h / 2), "x1": int(x), "y1": int(y), "x2": int(x + w), "y2": int(y + h)}
    out = tmp_path / "track.json"
    result = _run("track", str(path), prompt[0], prompt[1].format(**values), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["visible_fraction"] > 0.9


def test_a_bad_prompt_gets_a_clear_error(unseen_video, tmp_path):
    path, _ = unseen_video
    result = _run("track", str(path), "--point", "nonsense", "--out", str(tmp_path / "t.json"))
    assert result.returncode == 2
    assert "X,Y@FRAME" in result.stderr


def test_a_missing_video_gets_a_clear_error(tmp_path):
    result = _run("track", str(tmp_path / "nope.mp4"), "--prompt", "red", "--out", str(tmp_path / "t.json"))
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def two_products_video(tmp_path_factory):
    """A red ball above and a blue box below, moving apart (``make_moving_object_video``'s distractor)."""
    path = tmp_path_factory.mktemp("cli2") / "two products.mp4"
    truth = make_moving_object_video(path, width=320, height=240, fps=24, seconds=1.5, colour="red", distractor="blue", seed=11)
    return path, truth


def test_track_with_two_prompts_writes_a_track_of_two_products(two_products_video, tmp_path):
    path, _ = two_products_video
    out = tmp_path / "track.json"
    result = _run("track", str(path), "--prompt", "the red ball", "--prompt", "the blue box", "--out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [p["id"] for p in summary["products"]] == ["red-ball", "blue-box"]
    assert all(p["visible_fraction"] > 0.9 for p in summary["products"])
    data = json.loads(out.read_text())
    assert data["version"] == 2 and [o["name"] for o in data["objects"]] == ["the red ball", "the blue box"]
    assert Track.load(out).overlaps() == []


def test_track_ties_each_box_to_its_product(two_products_video, tmp_path):
    path, truth = two_products_video
    x, y, w, h = truth.boxes[5]
    out = tmp_path / "track.json"
    result = _run(
        "track", str(path), "--prompt", "the blue box", "--name", "ball", "--box", f"{x:.0f},{y:.0f},{x + w:.0f},{y + h:.0f}@5",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    track = Track.load(out)
    assert track.ids == ["blue-box", "ball"]
    assert track.object("ball").prompt["boxes"] == [[round(x), round(y), round(x + w), round(y + h), 5]]
    assert track.object("ball").meta["init_frame"] == 5


def test_one_prompt_writes_the_one_product_file_as_before(unseen_video, tmp_path):
    path, _ = unseen_video
    out = tmp_path / "track.json"
    result = _run("track", str(path), "--prompt", "the blue box", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "products" not in json.loads(result.stdout)
    data = json.loads(out.read_text())
    assert data["version"] == 1 and "object" not in data and "objects" not in data
