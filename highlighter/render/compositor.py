"""The compositor: stream a video's frames through looks and the reframe crop into the encoder.

One frame in memory at a time: decode (ffmpeg) -> looks at source resolution with the track's mask
-> crop -> resize to the output size -> encode (ffmpeg, H.264 + the source's audio). The output has
the same frame count and frame rate as the input, so it lasts as long (within one frame).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import cv2
import numpy as np

from highlighter.errors import MediaError
from highlighter.media import VideoInfo, VideoWriter, iter_frames, probe
from highlighter.render.effects import make_looks
from highlighter.render.reframe import Rect, crop_path, window_size
from highlighter.trackfile import Track

PROGRESS_EVERY = 10  # frames: a callback per frame costs a database write in the worker
SHORT_SIDE = 1080  # px: the default output's short side for a reframe ("9:16" -> 1080x1920)


def parse_aspect(aspect: str) -> tuple[int, int]:
    """``"9:16"`` -> ``(9, 16)`` (width:height)."""
    try:
        w, h = (int(part) for part in aspect.split(":"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"aspect must look like '9:16', got {aspect!r}") from None
    return w, h


def default_size(aspect: tuple[int, int]) -> tuple[int, int]:
    """The output ``(width, height)`` for an aspect: short side 1080 px, long side to match, both even."""
    w, h = aspect
    long_side = round(SHORT_SIDE * max(w, h) / min(w, h) / 2) * 2
    return (SHORT_SIDE, long_side) if w <= h else (long_side, SHORT_SIDE)


def _even(value: int) -> int:
    return max(2, value // 2 * 2)


def _resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    shrinking = size[0] * size[1] < frame.shape[0] * frame.shape[1]
    # AREA averages the pixels it drops (no aliasing shimmer); LINEAR is the cheap smooth upscale.
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def render_video(
    video_path: str | Path,
    track: Track,
    out_path: str | Path,
    *,
    styles: Sequence[str] = ("spotlight",),
    aspect: str | None = "9:16",
    out_size: tuple[int, int] | None = None,
    progress: Callable[[float], None] | None = None,
) -> VideoInfo:
    """Render ``video_path`` with the looks ``styles`` drawn from ``track``, optionally reframed.

    ``aspect`` ``"9:16"`` (or ``"1:1"``, ``"4:5"``, ...) crops a window that follows the product and
    scales it to ``out_size`` (``(width, height)`` pixels; default 1080 px on the short side). ``None``
    keeps the whole frame at the source size, or at ``out_size`` when given. ``progress(fraction)`` is
    called with 0..1 every few frames; if it raises (a cancel), the partial output is removed and the
    exception propagates. Returns the output's ``probe`` (frames counted).
    """
    video_path, out_path = Path(video_path), Path(out_path)
    info = probe(video_path)
    if (track.width, track.height) != (info.width, info.height):
        raise MediaError(
            f"This track was made for a {track.width}x{track.height} video, but this video is "
            f"{info.width}x{info.height}. Track the product in this video again, then render."
        )
    looks = make_looks(styles)

    if aspect is None:
        # Keep the whole frame; trim a stray odd row/column because H.264 needs even sizes.
        crops: list[Rect] | None = None
        full: Rect = (0, 0, _even(info.width), _even(info.height))
        size = out_size or (full[2], full[3])
    else:
        ratio = parse_aspect(aspect)
        size = out_size or default_size(ratio)
        cw, ch = window_size(info.width, info.height, ratio)
        if abs(size[0] / size[1] - cw / ch) > 0.02 * cw / ch:
            raise ValueError(f"out_size {size} does not have the aspect {aspect}")
        crops = crop_path(track, aspect=ratio) or None
        full = ((info.width - cw) // 2, (info.height - ch) // 2, cw, ch) if crops is None else crops[-1]
    if size[0] % 2 or size[1] % 2:
        raise ValueError(f"out_size must be even for H.264, got {size}")

    total = max(1, info.frame_count)
    with VideoWriter(out_path, size[0], size[1], info.fps, audio_from=video_path) as writer:
        with closing(iter_frames(video_path)) as frames:
            for index, frame in enumerate(frames):
                if looks:
                    mask = track.mask(index)  # decoded once per frame, shared by every look
                    for look in looks:
                        frame = look.apply(frame, mask)
                # Frames past the track's end (a track one frame short) keep the last crop.
                x, y, w, h = crops[min(index, len(crops) - 1)] if crops else full
                writer.write(_resize(np.ascontiguousarray(frame[y : y + h, x : x + w]), size))
                if progress and index % PROGRESS_EVERY == 0:
                    progress(min(index / total, 0.99))
        if writer.frames_written == 0:
            raise MediaError("This video has no frames that could be decoded. Export it again and re-upload.")
    if progress:
        progress(1.0)
    return probe(out_path, count_frames=True)
