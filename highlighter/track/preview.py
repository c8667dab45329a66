"""Before the expensive run: where the description finds the product on a few key frames.

The marketer sees these guesses as thumbnails and confirms one, or clicks the right product (which
becomes a point prompt on that frame). This is the one function the web app calls for it; today it
runs the tracker on a short clip sampled from the video (a few dozen frames, cheap on any backend).
A grounding-only API of the tracker can replace the body without changing the caller.

Frames are indices from 0 of the video given; boxes are ``[x, y, w, h]`` in its pixels.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from highlighter import media
from highlighter.track import track_video
from highlighter.track.prompt import Prompt

KEY_FRAMES = 4
SAMPLE_FRAMES = 48  # frames of the clip the tracker sees (fewer when the video is shorter)


@dataclass
class KeyFrameGuess:
    index: int  # frame of the video
    time: float  # seconds
    image: np.ndarray  # RGB uint8 (H, W, 3), the frame itself
    box: list[float] | None  # [x, y, w, h] where the product was found, None when it was not
    score: float


def key_frame_indices(frame_count: int, count: int = KEY_FRAMES) -> list[int]:
    """``count`` frames spread evenly, each in the middle of its slice of the video."""
    count = max(1, min(count, frame_count))
    return sorted({min(frame_count - 1, int((i + 0.5) * frame_count / count)) for i in range(count)})


def key_frames(video_path: str | Path, *, count: int = KEY_FRAMES) -> list[KeyFrameGuess]:
    """The key frames alone (no guesses), for the marketer to click the product on."""
    info = media.probe(video_path)
    return [
        KeyFrameGuess(index=i, time=i / info.fps if info.fps else 0.0,
                      image=media.extract_frame(video_path, i, info=info), box=None, score=0.0)
        for i in key_frame_indices(info.frame_count, count)
    ]  # fmt: skip


def find_product(
    video_path: str | Path, text: str, *, count: int = KEY_FRAMES, sample: int = SAMPLE_FRAMES, backend: str = "auto"
) -> list[KeyFrameGuess]:
    """The product described by ``text`` on ``count`` key frames of ``video_path``.

    The tracker runs on a clip of ``sample`` frames spread over the video (the key frames among them):
    enough continuity for it to ground and follow the description, a fraction of the full run's cost.
    Meant for the small review proxy. Raises ``TrackError`` when the description finds nothing,
    ``MediaError`` for an unreadable video.
    """
    info = media.probe(video_path)
    indices = key_frame_indices(info.frame_count, count)
    sampled = sorted(set(key_frame_indices(info.frame_count, sample)) | set(indices))
    wanted, images = set(sampled), {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "sample.mp4"
        with media.VideoWriter(clip, info.width, info.height, info.fps, crf=12) as writer:
            for i, image in enumerate(media.iter_frames(video_path, info=info)):
                if i in wanted:
                    writer.write(image)
                    if i in indices:
                        images[i] = image.copy()
                if i >= sampled[-1]:
                    break
        track = track_video(clip, Prompt(text=text), backend=backend)
    guesses = []
    for index in indices:
        position = sampled.index(index)
        frame = track.frames[position] if position < len(track.frames) else None
        visible = frame is not None and frame.visible and frame.box is not None
        guesses.append(
            KeyFrameGuess(
                index=index,
                time=index / info.fps if info.fps else 0.0,
                image=images[index],
                box=list(frame.box) if visible else None,
                score=float(frame.score) if frame is not None else 0.0,
            )
        )
    return guesses
