"""A tiny clip folder in the real-footage layout (``NAME/video.mp4`` + ``NAME/masks/00000.png...``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from highlighter.media import VideoWriter
from highlighter.trackfile import FrameTrack, Track

WIDTH, HEIGHT, FRAMES, SIDE = 160, 120, 24, 30


def square_corner(index: int, moving: bool) -> tuple[int, int]:
    """Top-left corner ``(x, y)`` in pixels of the square on frame ``index``; it stays inside the frame."""
    return (20 + 3 * index, 40 + index) if moving else (60, 45)


def square_mask(index: int, moving: bool) -> np.ndarray:
    x, y = square_corner(index, moving)
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[y : y + SIDE, x : x + SIDE] = True
    return mask


@pytest.fixture
def make_footage(tmp_path: Path) -> Callable[..., Path]:
    """``make_footage(name, moving=True) -> clip folder``: a red square over a blurred-noise texture,
    24 frames of 160x120 at 24 fps, with its truth masks as PNGs. The folder's parent holds the clips."""
    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(rng.integers(60, 200, (HEIGHT, WIDTH, 3), dtype=np.uint8), (5, 5), 0)

    def make(name: str, *, moving: bool = True) -> Path:
        folder = tmp_path / "footage" / name
        (folder / "masks").mkdir(parents=True)
        with VideoWriter(folder / "video.mp4", WIDTH, HEIGHT, 24, crf=12) as writer:
            for i in range(FRAMES):
                mask = square_mask(i, moving)
                frame = background.copy()
                frame[mask] = (220, 30, 30)
                writer.write(frame)
                cv2.imwrite(str(folder / "masks" / f"{i:05d}.png"), mask.astype(np.uint8) * 255)
        return folder

    return make


def perfect_track(moving: bool, *, hidden_score: float | None = None) -> Track:
    """The clip's ground truth as a track (a perfect tracker); with ``hidden_score`` every frame but the
    first is instead marked hidden with that score."""
    frames = [
        FrameTrack.hidden(i, i / 24, hidden_score) if hidden_score is not None and i > 0
        else FrameTrack.from_mask(i, i / 24, square_mask(i, moving), 0.9)
        for i in range(FRAMES)
    ]  # fmt: skip
    video = {"width": WIDTH, "height": HEIGHT, "fps": 24.0, "frame_count": FRAMES}
    return Track(video=video, prompt={}, frames=frames, shots=[[0, FRAMES - 1]], meta={"backend": "truth"})


@pytest.fixture
def make_truth_track() -> Callable[..., Track]:
    """``perfect_track`` as a fixture, so test modules need not import from conftest."""
    return perfect_track
