"""The track file: the contract between tracking, review, rendering and evaluation.

One JSON document per tracking run (see DESIGN.md). A run that follows one product writes
version 1, as it always has::

    {"version": 1,
     "video": {"width": W, "height": H, "fps": F, "frame_count": N},
     "prompt": {"text": "...", "points": [...], "boxes": [...]},
     "frames": [{"index": i, "time": t, "visible": true, "score": 0.93,
                 "box": [x, y, w, h],
                 "mask": {"size": [H, W], "counts": "<COCO compressed RLE>"}}, ...],
     "shots": [[start, end], ...],
     "object": {"id": "bag", "name": "the red bag"}}

``object`` is optional (written only when the product's id or name is not the default: id ``"1"``,
name from the prompt's text). A run that follows several products writes version 2, one entry per
product in the marketer's order, each with its own prompt and frames; video and shots are shared::

    {"version": 2,
     "video": {...},
     "objects": [{"id": "bag", "name": "the red bag", "prompt": {...}, "frames": [...], "meta": {...}},
                 {"id": "shoes", "name": "the white sneakers", "prompt": {...}, "frames": [...]}],
     "shots": [[start, end], ...]}

Readers accept both: a version-1 file is a track of one object. In code, ``Track.objects`` lists the
products (``TrackObject``); ``Track.frames``, ``Track.prompt`` and ``Track.mask`` are the first
object's, so code written for one product reads either kind. A tracker that follows several
products gives each pixel to at most one of them; ``Track.overlaps`` checks it.

Coordinates are pixels of the normalised video, origin top-left; boxes are ``[x, y, w, h]``.
Frames are indexed from 0; ``time`` is in seconds. ``shots`` are inclusive frame ranges.
Frames with ``visible: false`` carry no box and no mask. Object ids match ``[A-Za-z0-9_-]{1,40}``
(safe in file names and URLs); every object has one frame per video frame.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from highlighter.errors import TrackError

VERSION = 1  # one object
MULTI_VERSION = 2  # several objects
DEFAULT_ID = "1"
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


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


def default_name(prompt: dict[str, Any] | None) -> str:
    """The name of a product the marketer did not name: its description, or "Product"."""
    text = (prompt or {}).get("text") or ""
    return text.strip()[:200] or "Product"


def check_id(object_id: str) -> str:
    """``object_id`` when it is a valid object id, else ``TrackError``."""
    if not isinstance(object_id, str) or not _ID.fullmatch(object_id):
        raise TrackError(f"'{object_id}' is not a valid product id (letters, digits, '-' or '_', at most 40).")
    return object_id


@dataclass
class TrackObject:
    """One product's track: its id, name, prompt and one ``FrameTrack`` per video frame."""

    id: str
    name: str
    prompt: dict[str, Any] = field(default_factory=dict)
    frames: list[FrameTrack] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # informative only: events, initial frame

    def mask(self, index: int, height: int, width: int) -> np.ndarray:
        """The boolean ``(height, width)`` mask of frame ``index``; all False when hidden or past the end."""
        if 0 <= index < len(self.frames):
            frame = self.frames[index]
            if frame.visible and frame.mask is not None:
                return decode_mask(frame.mask)
        return np.zeros((height, width), dtype=bool)

    def visible_fraction(self) -> float:
        return sum(f.visible for f in self.frames) / len(self.frames) if self.frames else 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "prompt": self.prompt,
            "frames": [f.to_dict() for f in self.frames],
        }
        if self.meta:
            data["meta"] = self.meta
        return data


class Track:
    """A tracking run's result: one ``TrackObject`` per product (see the module docstring).

    ``Track(video, prompt, frames, shots, meta)`` builds a track of one object (id ``"1"``) as it
    always has; ``Track(video, shots=..., objects=[...])`` one of several.
    """

    def __init__(
        self,
        video: dict[str, Any],
        prompt: dict[str, Any] | None = None,
        frames: list[FrameTrack] | None = None,
        shots: list[list[int]] | None = None,
        meta: dict[str, Any] | None = None,
        objects: list[TrackObject] | None = None,
    ) -> None:
        if objects and (prompt is not None or frames is not None):
            raise TypeError("Track takes either prompt and frames (one object) or objects, not both")
        if not objects:
            prompt = prompt if prompt is not None else {}
            objects = [TrackObject(DEFAULT_ID, default_name(prompt), prompt, list(frames or []))]
        ids = [check_id(o.id) for o in objects]
        if len(set(ids)) != len(ids):
            raise TrackError("Two products of this track have the same id.")
        self.video = video
        self.objects = list(objects)
        self.shots = shots if shots is not None else []
        self.meta = meta if meta is not None else {}  # backend, timings: informative only

    # -- the first object: what code written for one product reads ----------------------------

    @property
    def frames(self) -> list[FrameTrack]:
        return self.objects[0].frames

    @frames.setter
    def frames(self, frames: list[FrameTrack]) -> None:
        self.objects[0].frames = frames

    @property
    def prompt(self) -> dict[str, Any]:
        return self.objects[0].prompt

    @prompt.setter
    def prompt(self, prompt: dict[str, Any]) -> None:
        self.objects[0].prompt = prompt

    # -- objects ----------------------------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        return [o.id for o in self.objects]

    def object(self, object_id: str | None = None) -> TrackObject:
        """The object ``object_id`` (the first when None); ``TrackError`` when there is none."""
        if object_id is None:
            return self.objects[0]
        for o in self.objects:
            if o.id == object_id:
                return o
        raise TrackError(f"This track has no product '{object_id}'.")

    def single(self, object_id: str | None = None) -> Track:
        """A one-object track of ``object_id`` (same video, shots and meta; the frames are shared)."""
        o = self.object(object_id)
        return Track(self.video, shots=self.shots, meta=self.meta, objects=[o])

    def replace_object(self, obj: TrackObject) -> Track:
        """A copy with ``obj`` in place of the object of the same id (the others untouched)."""
        self.object(obj.id)  # raises for an unknown id
        objects = [obj if o.id == obj.id else o for o in self.objects]
        return Track(self.video, shots=copy.deepcopy(self.shots), meta=copy.deepcopy(self.meta), objects=objects)

    # -- geometry ---------------------------------------------------------------------------------

    @property
    def width(self) -> int:
        return int(self.video["width"])

    @property
    def height(self) -> int:
        return int(self.video["height"])

    def mask(self, index: int, object_id: str | None = None) -> np.ndarray:
        """The boolean ``(H, W)`` mask of frame ``index``; all False when hidden or past the end."""
        return self.object(object_id).mask(index, self.height, self.width)

    def mask_region(self, index: int, x0: int, y0: int, x1: int, y1: int, object_id: str | None = None) -> np.ndarray:
        """``self.mask(index)[y0:y1, x0:x1]`` (clipped to the frame), decoding only that part."""
        frames = self.object(object_id).frames
        if 0 <= index < len(frames):
            frame = frames[index]
            if frame.visible and frame.mask is not None:
                return decode_mask_region(frame.mask, x0, y0, x1, y1)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(self.width, x1), min(self.height, y1)
        return np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)

    def visible_fraction(self, object_id: str | None = None) -> float:
        return self.object(object_id).visible_fraction()

    def overlaps(self) -> list[int]:
        """The frames where two objects' masks share a pixel (none, from a tracker that follows
        several products together)."""
        out = []
        count = max((len(o.frames) for o in self.objects), default=0)
        for index in range(count if len(self.objects) > 1 else 0):
            seen = None
            for o in self.objects:
                if index < len(o.frames) and o.frames[index].visible:
                    m = o.mask(index, self.height, self.width)
                    if seen is not None and (seen & m).any():
                        out.append(index)
                        break
                    seen = m if seen is None else seen | m
        return out

    # -- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        if len(self.objects) == 1:
            o = self.objects[0]
            data: dict[str, Any] = {
                "version": VERSION,
                "video": self.video,
                "prompt": o.prompt,
                "frames": [f.to_dict() for f in o.frames],
                "shots": self.shots,
            }
            if o.id != DEFAULT_ID or o.name != default_name(o.prompt) or o.meta:
                data["object"] = {"id": o.id, "name": o.name, **({"meta": o.meta} if o.meta else {})}
        else:
            data = {
                "version": MULTI_VERSION,
                "video": self.video,
                "objects": [o.to_dict() for o in self.objects],
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
        if not isinstance(data, dict) or data.get("version") not in (VERSION, MULTI_VERSION):
            raise TrackError("This track file is not a Highlighter track (version 1 or 2). Re-run tracking.")
        try:
            video = {k: data["video"][k] for k in ("width", "height", "fps", "frame_count")}
            if data["version"] == VERSION:
                prompt = data.get("prompt", {})
                about = data.get("object") or {}
                objects = [
                    TrackObject(
                        id=str(about.get("id", DEFAULT_ID)),
                        name=str(about.get("name") or default_name(prompt)),
                        prompt=prompt,
                        frames=_frames(data["frames"]),
                        meta=dict(about.get("meta") or {}),
                    )
                ]
            else:
                objects = [
                    TrackObject(
                        id=str(o["id"]),
                        name=str(o.get("name") or default_name(o.get("prompt"))),
                        prompt=o.get("prompt", {}),
                        frames=_frames(o["frames"]),
                        meta=dict(o.get("meta") or {}),
                    )
                    for o in data["objects"]
                ]
                if not objects:
                    raise ValueError("no objects")
        except (KeyError, TypeError, ValueError) as e:
            raise TrackError(f"This track file is damaged ({e!r}). Re-run tracking.") from e
        return cls(video, shots=[list(s) for s in data.get("shots", [])], meta=data.get("meta", {}), objects=objects)

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


def _frames(items: list[dict[str, Any]]) -> list[FrameTrack]:
    return [
        FrameTrack(
            index=int(f["index"]),
            time=float(f["time"]),
            visible=bool(f["visible"]),
            score=float(f.get("score", 0.0)),
            box=[float(v) for v in f["box"]] if f.get("visible") and f.get("box") else None,
            mask=f.get("mask") if f.get("visible") else None,
        )
        for f in items
    ]
