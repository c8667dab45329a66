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
