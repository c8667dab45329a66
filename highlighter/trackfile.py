"""The track file: the contract between tracking, review, rendering and evaluation.

One JSON document per tracking run (see DESIGN.md)::

    {"version": 1,
     "video": {"width": W, "height": H, "fps": F, "frame_count": N},
     "prompt": {"text": "...", "points": [...], "boxes": [...]},
     "frames": [{"index": i, "time": t, "visible": true, "score": 0.93,
                 "box": [x, y, w, h],
                 "mask": {"size": [H, W], "counts": "<COCO compressed RLE>"}}, ...],
     "shots": [[start, end], ...]}

Coordinates are pixels of the normalised video, origin top-left; boxes are ``[x, y, w, h]``.
Frames are indexed from 0; ``time`` is in seconds. ``shots`` are inclusive frame ranges.
Frames with ``visible: false`` carry no box and no mask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from highlighter.errors import TrackError

VERSION = 1


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """A boolean ``(H, W)`` mask as COCO compressed RLE, ``{"size": [H, W], "counts": str}``."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode_mask(rle: dict[str, Any]) -> np.ndarray:
    """The boolean ``(H, W)`` mask of a COCO compressed RLE dict."""
    return coco_mask.decode({"size": list(rle["size"]), "counts": rle["counts"].encode("ascii")}).astype(bool)


def rle_counts(counts: str) -> np.ndarray:
    """The run lengths of a COCO compressed RLE string, as ``int64`` (pycocotools' ``rleFrString``).

    Each count is 5-bit groups, least significant first, as characters from ``'0'``; bit 0x20 says
    another group follows and bit 0x10 of the last group is the sign. From the fourth count on, a
    count is stored as its difference to the count two before it.
    """
    c = np.frombuffer(counts.encode("ascii"), np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return np.zeros(0, np.int64)
    last = (c & 0x20) == 0
    group = np.concatenate(([0], np.cumsum(last)[:-1]))
    starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
    shift = 5 * (np.arange(c.size) - starts[group])
    values = np.add.reduceat((c & 0x1F) << shift, starts)
    negative = (c[last] & 0x10) != 0
    values[negative] -= np.left_shift(1, shift[last][negative] + 5)
    out = values.copy()
    out[2::2] = np.cumsum(values[2::2])
    out[1::2] = np.cumsum(values[1::2])
    return out


def decode_mask_region(rle: dict[str, Any], x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """``decode_mask(rle)[y0:y1, x0:x1]``, decoding only those columns (a product's box, not 1080p).

    The runs are column-major, so columns ``x0..x1`` are one stretch of them; rows are cut after.
    """
    height, width = (int(v) for v in rle["size"])
    x0, x1 = max(0, x0), min(width, x1)
    y0, y1 = max(0, y0), min(height, y1)
    if x0 >= x1 or y0 >= y1:
        return np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)
    lengths = rle_counts(rle["counts"])
    ends = np.cumsum(lengths)
    begin, stop = x0 * height, x1 * height
    first = int(np.searchsorted(ends, begin, side="right"))
    last = int(np.searchsorted(ends, stop, side="left"))
    runs = np.arange(first, min(last + 1, lengths.size))
    clipped = np.minimum(ends[runs], stop) - np.maximum(ends[runs] - lengths[runs], begin)
    flat = np.repeat((runs % 2).astype(bool), clipped)  # runs alternate, zeros first
    if flat.size < stop - begin:  # counts that fall short of the frame: the rest is background
        flat = np.concatenate((flat, np.zeros(stop - begin - flat.size, bool)))
    return flat.reshape(x1 - x0, height).T[y0:y1]


def mask_box(mask: np.ndarray) -> list[float] | None:
    """The tight ``[x, y, w, h]`` box of a boolean mask, in pixels, or None when it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]


@dataclass
class FrameTrack:
    """Where the product is on one frame."""

    index: int
    time: float
    visible: bool
    score: float = 0.0
    box: list[float] | None = None  # [x, y, w, h] in pixels
    mask: dict[str, Any] | None = None  # COCO compressed RLE

    @classmethod
    def hidden(cls, index: int, time: float, score: float = 0.0) -> FrameTrack:
        return cls(index=index, time=time, visible=False, score=score)

    @classmethod
    def from_mask(cls, index: int, time: float, mask: np.ndarray, score: float) -> FrameTrack:
        """A visible frame from a boolean mask; an empty mask gives a hidden frame."""
        box = mask_box(mask)
        if box is None:
            return cls.hidden(index, time, score)
        return cls(index=index, time=time, visible=True, score=score, box=box, mask=encode_mask(mask))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "time": round(self.time, 6),
            "visible": self.visible,
            "score": round(float(self.score), 4),
        }
        if self.visible:
            data["box"] = [round(v, 2) for v in self.box] if self.box else None
            data["mask"] = self.mask
        return data


@dataclass
class Track:
    """A tracking run's result: one ``FrameTrack`` per frame of the video, in order."""

    video: dict[str, Any]
    prompt: dict[str, Any]
    frames: list[FrameTrack] = field(default_factory=list)
    shots: list[list[int]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # backend, timings: informative only

    @property
    def width(self) -> int:
        return int(self.video["width"])

    @property
    def height(self) -> int:
        return int(self.video["height"])

    def mask(self, index: int) -> np.ndarray:
        """The boolean ``(H, W)`` mask of frame ``index``; all False when hidden or past the end."""
        if 0 <= index < len(self.frames):
            frame = self.frames[index]
            if frame.visible and frame.mask is not None:
                return decode_mask(frame.mask)
        return np.zeros((self.height, self.width), dtype=bool)

    def mask_region(self, index: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """``self.mask(index)[y0:y1, x0:x1]`` (clipped to the frame), decoding only that part."""
        if 0 <= index < len(self.frames):
            frame = self.frames[index]
            if frame.visible and frame.mask is not None:
                return decode_mask_region(frame.mask, x0, y0, x1, y1)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(self.width, x1), min(self.height, y1)
        return np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)

    def visible_fraction(self) -> float:
        if not self.frames:
            return 0.0
        return sum(f.visible for f in self.frames) / len(self.frames)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "version": VERSION,
            "video": self.video,
            "prompt": self.prompt,
            "frames": [f.to_dict() for f in self.frames],
            "shots": self.shots,
        }
        if self.meta:
            data["meta"] = self.meta
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise TrackError("This track file is not a Highlighter track (version 1). Re-run tracking.")
        try:
            frames = [
                FrameTrack(
                    index=int(f["index"]),
                    time=float(f["time"]),
                    visible=bool(f["visible"]),
                    score=float(f.get("score", 0.0)),
                    box=[float(v) for v in f["box"]] if f.get("visible") and f.get("box") else None,
                    mask=f.get("mask") if f.get("visible") else None,
                )
                for f in data["frames"]
            ]
            video = {k: data["video"][k] for k in ("width", "height", "fps", "frame_count")}
        except (KeyError, TypeError, ValueError) as e:
            raise TrackError(f"This track file is damaged ({e!r}). Re-run tracking.") from e
        return cls(
            video=video,
            prompt=data.get("prompt", {}),
            frames=frames,
            shots=[list(s) for s in data.get("shots", [])],
            meta=data.get("meta", {}),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Track:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise TrackError("This track file is not valid JSON. Re-run tracking.") from e
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> Track:
        return cls.from_json(Path(path).read_bytes())
