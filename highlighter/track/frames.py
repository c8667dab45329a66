"""Working-resolution frames, forwards from any frame or backwards in bounded chunks.

A backward pass (frames before the key frame, processed from the key frame towards frame 0) decodes
the earlier part of the video in chunks of ``chunk`` frames, last chunk first, each with its own
ffmpeg seek, so memory holds at most one chunk of working-resolution frames whatever the length.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np

from highlighter import process
from highlighter.errors import MediaError
from highlighter.media import FFMPEG, VideoInfo, extract_frame, iter_frames, prefetched
from highlighter.track.parts import WorkFrame


def work_size(info: VideoInfo, max_side: int) -> tuple[int, int]:
    """``(width, height)`` with the long side at most ``max_side``, both even."""
    scale = min(1.0, max_side / max(info.width, info.height))
    return max(2, int(round(info.width * scale / 2)) * 2), max(2, int(round(info.height * scale / 2)) * 2)


class FrameSource:
    """Decodes ``path`` at ``size`` (``(width, height)``, the working resolution)."""

    def __init__(self, path: str | Path, info: VideoInfo, size: tuple[int, int]) -> None:
        self.path, self.info, self.size = Path(path), info, size
        self._scale = None if size == (info.width, info.height) else size

    def forward(self, start: int = 0) -> Iterator[WorkFrame]:
        """Frames ``start``, ``start + 1``, ... to the end (earlier frames are decoded and dropped).
        The next frames decode while the tracker works on this one (``prefetched``)."""
        with closing(prefetched(iter_frames(self.path, size=self._scale, info=self.info))) as frames:
            for index, rgb in enumerate(frames):
                if index >= start:
                    yield WorkFrame(index, rgb)

    def full_frame(self, index: int) -> np.ndarray | None:
        """Frame ``index`` at the video's own size (RGB), or None when that is the working size."""
        return None if self._scale is None else extract_frame(self.path, index, info=self.info)

    def backward(self, end: int, chunk: int = 50) -> Iterator[WorkFrame]:
        """Frames ``end - 1``, ``end - 2``, ... 0, decoded ``chunk`` frames at a time."""
        stop = end
        while stop > 0:
            start = max(0, stop - chunk)
            frames = self._read(start, stop - start)
            if len(frames) != stop - start:
                raise MediaError("This video could not be read back for tracking; it may be damaged. Export it again.")
            for offset in range(len(frames) - 1, -1, -1):
                yield WorkFrame(start + offset, frames[offset])
            del frames
            stop = start

    def _read(self, start: int, count: int) -> list[np.ndarray]:
        width, height = self.size
        cmd = [FFMPEG, "-v", "error", "-nostdin"]
        if start > 0:
            # Half a frame early: timestamps are rounded to the timebase (as media.extract_frame does).
            cmd += ["-ss", f"{(start - 0.5) / self.info.fps:.6f}"]
        cmd += ["-i", str(self.path), "-map", "0:v:0", "-frames:v", str(count)]
        if self._scale:
            cmd += ["-vf", f"scale={width}:{height}:flags=area"]
        cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "pipe:1"]
        try:
            proc = process.run(cmd, timeout=process.time_limit(count / self.info.fps))
        except subprocess.TimeoutExpired as e:
            raise MediaError("This video took too long to read back for tracking; it may be damaged.") from e
        size = width * height * 3
        data = proc.stdout
        return [np.frombuffer(data, np.uint8, size, k * size).reshape(height, width, 3) for k in range(len(data) // size)]
