"""Outputs for editors who composite themselves: a transparent overlay and a PNG mask sequence.

Both are fed raw frames through a pipe into ffmpeg, like ``media.VideoWriter`` (which writes the
MP4), and appear only when complete: on an error the partial output is removed.

- ``OverlayWriter``: the looks alone on a transparent background, in the output's pixels. ``.webm``
  is VP9 with an alpha channel (small, plays in browsers, imports in Premiere with a plug-in and in
  DaVinci Resolve); ``.mov`` is ProRes 4444 with alpha (large, opens in every editor).
- ``MaskSequenceWriter``: one 8-bit greyscale PNG per frame, ``mask_000000.png`` for frame 0,
  255 on the product with the same soft, temporally smoothed edge the looks use. With several
  products, one sequence per product, in a folder named by ``product_file_name``.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from highlighter.errors import MediaError
from highlighter.media import FrameSink, _rate_text

OVERLAY_FORMATS = {
    # VP9 alpha needs yuva420p; alt-ref frames are off because libvpx drops alpha with them.
    ".webm": ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-auto-alt-ref", "0", "-b:v", "0", "-crf", "32",
              "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-f", "webm"],
    ".mov": ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", "-vendor", "apl0", "-f", "mov"],
}  # fmt: skip


class _EditorSink(FrameSink):
    stopped_message = "The editor output could not be written. Try the render again."
    failed_message = "The editor output could not be encoded. Try the render again."

    def remove(self) -> None:
        if self.path.is_dir():  # a mask folder may hold other files: remove only ours
            for png in self.path.glob("mask_*.png"):
                png.unlink(missing_ok=True)
        else:
            self.path.unlink(missing_ok=True)


class OverlayWriter(_EditorSink):
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


class MaskSequenceWriter(_EditorSink):
    """Greyscale ``(height, width)`` masks to ``directory/mask_000000.png``, one file per frame."""

    def __init__(self, directory: str | Path, width: int, height: int) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        source = ["-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-framerate", "25"]
        output = ["-c:v", "png", "-pix_fmt", "gray", "-compression_level", "1", "-start_number", "0",
                  "-f", "image2", str(directory / "mask_%06d.png")]  # fmt: skip
        super().__init__(source, output, (height, width), directory)


def product_file_name(object_id: str, name: str) -> str:
    """A product's part of a file or folder name: its id, then its name as ASCII words joined by
    dashes when that says more (``"bag"``, ``"the red bag"`` -> ``"bag-the-red-bag"``; ``"1"``,
    ``"Äpfel"`` -> ``"1-apfel"``). Unique, since ids are, and safe everywhere ids are."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = "-".join(re.findall(r"[a-z0-9]+", ascii_name.lower()))[:40].strip("-")
    return object_id if not slug or slug == object_id.lower() else f"{object_id}-{slug}"
