"""Small synthetic videos for the engine tests, made with ffmpeg's lavfi sources into ``tmp_path``.

Keep them tiny (320x240 or 640x360, 1-2 s): the machine has two cores and each test file should run
in well under 30 s.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from highlighter.media import FFMPEG
from highlighter.trackfile import FrameTrack, Track


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; fail the test with its message if it fails."""
    proc = subprocess.run([FFMPEG, "-v", "error", "-nostdin", "-y", *args], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    """``make_clip(name, size=(320, 240), seconds=1.0, fps=25, audio=True, source="testsrc2", extra=())``.

    ``source`` is a lavfi video source (``testsrc2``, ``color=c=gray``); ``extra`` are output options
    inserted before the file name (e.g. ``("-metadata:s:v", "rotate=90")``).
    """

    def make(
        name: str = "clip.mp4",
        *,
        size: tuple[int, int] = (320, 240),
        seconds: float = 1.0,
        fps: float = 25,
        audio: bool = True,
        source: str = "testsrc2",
        extra: tuple[str, ...] = (),
    ) -> Path:
        path = tmp_path / name
        sep = ":" if "=" in source else "="
        args = ["-f", "lavfi", "-i", f"{source}{sep}size={size[0]}x{size[1]}:rate={fps}:duration={seconds}"]
        if audio:
            args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}", "-c:a", "aac"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra, str(path)]
        ffmpeg(*args)
        return path

    return make


@pytest.fixture
def clip(make_clip) -> Path:
    """2 s, 640x360, 25 fps, with a sine tone: the render tests' source."""
    return make_clip("clip640.mp4", size=(640, 360), seconds=2.0)


def square_track(
    width: int,
    height: int,
    frame_count: int,
    *,
    fps: float = 25.0,
    side: int = 40,
    centre: Callable[[int], tuple[float, float]] | None = None,
    hidden: set[int] = frozenset(),
    shots: list[list[int]] | None = None,
) -> Track:
    """A track of a ``side`` px square whose centre is ``centre(i)`` (pixels); hidden on ``hidden`` frames."""
    centre = centre or (lambda i: (width / 2, height / 2))
    frames = []
    for i in range(frame_count):
        if i in hidden:
            frames.append(FrameTrack.hidden(i, i / fps))
            continue
        cx, cy = centre(i)
        mask = np.zeros((height, width), dtype=bool)
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        mask[max(0, y0) : max(0, y0 + side), max(0, x0) : max(0, x0 + side)] = True
        frames.append(FrameTrack.from_mask(i, i / fps, mask, 0.9))
    return Track(
        video={"width": width, "height": height, "fps": fps, "frame_count": frame_count},
        prompt={"text": "a square"},
        frames=frames,
        shots=shots if shots is not None else [[0, frame_count - 1]],
    )


@pytest.fixture
def make_track() -> Callable[..., Track]:
    """``square_track`` as a fixture, so test modules need not import from conftest."""
    return square_track
