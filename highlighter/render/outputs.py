"""Outputs for editors who composite themselves: a transparent overlay and a PNG mask sequence.

Both are fed raw frames through a pipe into ffmpeg, like ``media.VideoWriter`` (which writes the
MP4), and appear only when complete: on an error the partial output is removed.

- ``OverlayWriter``: the looks alone on a transparent background, in the output's pixels. ``.webm``
  is VP9 with an alpha channel (small, plays in browsers, imports in Premiere with a plug-in and in
  DaVinci Resolve); ``.mov`` is ProRes 4444 with alpha (large, opens in every editor).
- ``MaskSequenceWriter``: one 8-bit greyscale PNG per frame, ``mask_000000.png`` for frame 0,
  255 on the product with the same soft, temporally smoothed edge the looks use.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from highlighter.errors import MediaError
from highlighter.media import FFMPEG, _rate_text, _stderr_tail

OVERLAY_FORMATS = {
    # VP9 alpha needs yuva420p; alt-ref frames are off because libvpx drops alpha with them.
    ".webm": ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-auto-alt-ref", "0", "-b:v", "0", "-crf", "32",
              "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-f", "webm"],
    ".mov": ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "-vendor", "apl0", "-f", "mov"],
}  # fmt: skip


class _FfmpegSink:
    """Raw frames of ``shape`` (uint8) into ``ffmpeg <input> <output_args>``; killed and cleaned on error."""

    def __init__(self, input_args: list[str], output_args: list[str], shape: tuple[int, ...], cleanup: Path) -> None:
        self.shape, self.cleanup = shape, cleanup
        cmd = [FFMPEG, "-v", "error", "-y", "-nostdin", *input_args, "-i", "pipe:0", *output_args]
        self._err = tempfile.TemporaryFile()  # a file, not a pipe: an unread full pipe would hang ffmpeg
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=self._err)
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != self.shape or frame.dtype != np.uint8:
            raise ValueError(f"expected a {self.shape} uint8 frame, got {frame.shape} {frame.dtype}")
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            detail = _stderr_tail(self._err)
            self.abort()
            raise MediaError("The editor output could not be written. Try the render again.") from RuntimeError(detail)
        self.frames_written += 1

    def close(self) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self._proc.wait()
        detail = _stderr_tail(self._err)
        self._err.close()
        if code != 0:
            self._remove()
            raise MediaError("The editor output could not be encoded. Try the render again.") from RuntimeError(detail)

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        if not self._err.closed:
            self._err.close()
        self._remove()

    def _remove(self) -> None:
        if self.cleanup.is_dir():  # a mask folder may hold other files: remove only ours
            for png in self.cleanup.glob("mask_*.png"):
                png.unlink(missing_ok=True)
        else:
            self.cleanup.unlink(missing_ok=True)


class OverlayWriter(_FfmpegSink):
    """RGBA ``(height, width, 4)`` frames to a transparent ``.webm`` (VP9) or ``.mov`` (ProRes 4444)."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float) -> None:
        path = Path(path)
        args = OVERLAY_FORMATS.get(path.suffix.lower())
        if args is None:
            raise MediaError(f"The overlay must be a .webm or .mov file, not '{path.name}'.")
        if width % 2 or height % 2:
            raise MediaError(f"The output size {width}x{height} must be even.")
        source = ["-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{width}x{height}", "-framerate", _rate_text(fps)]
        super().__init__(source, [*args, str(path)], (height, width, 4), path)


class MaskSequenceWriter(_FfmpegSink):
    """Greyscale ``(height, width)`` masks to ``directory/mask_000000.png``, one file per frame."""

    def __init__(self, directory: str | Path, width: int, height: int) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        source = ["-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-framerate", "25"]
        output = ["-c:v", "png", "-pix_fmt", "gray", "-compression_level", "1", "-start_number", "0",
                  "-f", "image2", str(directory / "mask_%06d.png")]  # fmt: skip
        super().__init__(source, output, (height, width), directory)
