"""The weight-free colour tracker: follows the one blob of the product's colour, frame by frame.

It is honest about what it is: a colour segmenter with a motion prior. It understands colour words
in the description ("the red handbag") or learns the colour from a click or box, and a click or box
also says which of several same-coloured blobs is the product. It cannot tell two lookalikes apart
once they cross, and it does not re-identify; the memory-based tracker replaces it for that.

Frames are analysed at a working resolution (long side at most ``max_side`` pixels) in one forward
streaming pass; masks are scaled back to the video's size before encoding. Hue is OpenCV's 0..179,
saturation and value 0..255.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.errors import TrackError
from highlighter.media import VideoInfo, iter_frames
from highlighter.track.prompt import Prompt
from highlighter.track.shots import CutDetector
from highlighter.trackfile import FrameTrack, decode_mask, encode_mask

NO_COLOUR_MESSAGE = (
    "Name the product's colour (for example 'the red handbag') or click on it; this tracker follows colours."
)


@dataclass(frozen=True)
class ColourModel:
    """An HSV box: hue in any of ``hue_ranges`` (inclusive, 0..179) and S, V within their bounds."""

    hue_ranges: tuple[tuple[int, int], ...]
    s_min: int = 0
    s_max: int = 255
    v_min: int = 0
    v_max: int = 255

    def mask(self, hsv: np.ndarray) -> np.ndarray:
        """uint8 mask (0 or 255) of the pixels of an HSV image that have this colour."""
        out = None
        for lo, hi in self.hue_ranges:
            part = cv2.inRange(hsv, (lo, self.s_min, self.v_min), (hi, self.s_max, self.v_max))
            out = part if out is None else cv2.bitwise_or(out, part)
        assert out is not None
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: lists, not tuples, so it survives a round trip through the track file."""
        return {**asdict(self), "hue_ranges": [list(r) for r in self.hue_ranges]}

    @classmethod
    def from_pixels(cls, hsv: np.ndarray) -> ColourModel:
        """Learn a model from ``(N, 3)`` HSV pixels that belong to the product."""
        h, s, v = (hsv[:, k].astype(np.float64) for k in range(3))
        if np.median(s) < 50:  # greys, white, black: hue is noise, so bound only S and V
            return cls(
                hue_ranges=((0, 179),),
                s_max=int(np.clip(np.percentile(s, 95) + 25, 40, 90)),
                v_min=int(max(0, np.percentile(v, 5) - 35)),
                v_max=int(min(255, np.percentile(v, 95) + 35)),
            )
        chroma = s >= 40
        angles = h[chroma] * (2 * math.pi / 180)
        mean = math.atan2(np.sin(angles).mean(), np.cos(angles).mean())
        centre = (mean * 180 / (2 * math.pi)) % 180
        dist = np.abs((h[chroma] - centre + 90) % 180 - 90)
        tol = float(np.clip(np.percentile(dist, 90) + 6, 8, 22))
        return cls(
            hue_ranges=_hue_ranges(centre - tol, centre + tol),
            s_min=int(np.clip(0.5 * np.percentile(s[chroma], 10), 40, 150)),
            v_min=int(np.clip(0.5 * np.percentile(v, 10), 25, 150)),
        )


def _hue_ranges(lo: float, hi: float) -> tuple[tuple[int, int], ...]:
    """Integer hue ranges for ``[lo, hi]`` degrees/2, split where it wraps past 0 or 179."""
    lo_i, hi_i = int(math.floor(lo)), int(math.ceil(hi))
    if lo_i < 0:
        return ((0, hi_i), (180 + lo_i, 179))
    if hi_i > 179:
        return ((lo_i, 179), (0, hi_i - 180))
    return ((lo_i, hi_i),)


_RED = ((0, 10), (170, 179))
# Colour words as HSV boxes. Overlaps are deliberate (gold sits between orange and yellow).
COLOUR_WORDS: dict[str, ColourModel] = {
    "red": ColourModel(_RED, s_min=100, v_min=60),
    "maroon": ColourModel(((0, 10), (165, 179)), s_min=80, v_min=20, v_max=140),
    "burgundy": ColourModel(((0, 10), (160, 179)), s_min=80, v_min=20, v_max=140),
    "orange": ColourModel(((10, 22),), s_min=120, v_min=120),
    "gold": ColourModel(((18, 32),), s_min=80, v_min=80),
    "golden": ColourModel(((18, 32),), s_min=80, v_min=80),
    "yellow": ColourModel(((22, 35),), s_min=90, v_min=100),
    "green": ColourModel(((35, 85),), s_min=60, v_min=40),
    "teal": ColourModel(((80, 100),), s_min=60, v_min=40),
    "turquoise": ColourModel(((80, 100),), s_min=60, v_min=60),
    "cyan": ColourModel(((85, 100),), s_min=60, v_min=60),
    "blue": ColourModel(((100, 130),), s_min=100, v_min=40),
    "navy": ColourModel(((100, 130),), s_min=80, v_min=20, v_max=130),
    "purple": ColourModel(((130, 155),), s_min=60, v_min=40),
    "violet": ColourModel(((130, 155),), s_min=60, v_min=40),
    "magenta": ColourModel(((145, 170),), s_min=100, v_min=60),
    "pink": ColourModel(((140, 179), (0, 5)), s_min=30, v_min=130),
    "brown": ColourModel(((0, 25),), s_min=60, v_min=20, v_max=160),
    "beige": ColourModel(((10, 30),), s_min=25, s_max=120, v_min=140),
    "tan": ColourModel(((10, 30),), s_min=40, s_max=150, v_min=110),
    "white": ColourModel(((0, 179),), s_max=40, v_min=190),
    "black": ColourModel(((0, 179),), v_max=50),
    "grey": ColourModel(((0, 179),), s_max=40, v_min=60, v_max=190),
    "gray": ColourModel(((0, 179),), s_max=40, v_min=60, v_max=190),
    "silver": ColourModel(((0, 179),), s_max=40, v_min=130, v_max=230),
}


def colour_word(text: str) -> str | None:
    """The first colour word of a description ("the red and white sneaker" -> "red"), or None."""
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in COLOUR_WORDS:
            return word
    return None


@dataclass
class _Blob:
    """A connected component at working resolution: ``label`` in the frame's label image."""

    label: int
    area: float
    centre: tuple[float, float]
    bbox: tuple[int, int, int, int]  # x, y, w, h
    touches_border: bool


@dataclass
class _Anchor:
    """A prompt on one frame, in working-resolution pixels. ``box`` is ``[x1, y1, x2, y2]``."""

    point: tuple[float, float] | None = None
    box: tuple[float, float, float, float] | None = None
    positive: bool = True


class _Motion:
    """Where the target was last seen, how it moves and how big it is, at working resolution.

    Velocity is in pixels per frame forward in time; a backward pass uses the same state with
    decreasing indices, so predictions stay ``centre + velocity * (index - last_seen)``.
    """

    def __init__(self, diagonal: float, min_area: float, reacquire_after: int) -> None:
        self.diagonal, self.min_area, self.reacquire_after = diagonal, min_area, reacquire_after
        self.area_ref: float | None = None
        self.reset()

    def reset(self) -> None:
        """Forget position and velocity (a cut, or a re-anchoring prompt); keep the size."""
        self.centre: tuple[float, float] | None = None
        self.velocity = (0.0, 0.0)
        self.last_seen: int | None = None

    def copy(self) -> _Motion:
        other = _Motion(self.diagonal, self.min_area, self.reacquire_after)
        other.__dict__.update(self.__dict__)
        return other

    def choose(self, blobs: list[_Blob], index: int) -> _Blob | None:
        if self.centre is not None and self.last_seen is not None and abs(index - self.last_seen) <= self.reacquire_after:
            return self._continue(blobs, index - self.last_seen)
        return self._acquire(blobs)

    def _continue(self, blobs: list[_Blob], steps: int) -> _Blob | None:
        """The blob that best continues the track: near the predicted position, of similar size."""
        assert self.centre is not None and self.area_ref is not None
        px = self.centre[0] + self.velocity[0] * steps
        py = self.centre[1] + self.velocity[1] * steps
        scale = math.sqrt(self.area_ref)
        gate = 1.2 * scale + 0.02 * self.diagonal * abs(steps)
        best, best_cost = None, math.inf
        for b in blobs:
            dist = math.dist(b.centre, (px, py))
            ratio = self.size_consistency(b)
            # A blob cut by the frame edge is smaller and off-centre: judge it more leniently.
            if dist > (2 * gate if b.touches_border else gate) or ratio < (0.03 if b.touches_border else 0.3):
                continue
            cost = dist / scale + 2.0 * (1.0 - ratio)
            if cost < best_cost:
                best, best_cost = b, cost
        return best

    def _acquire(self, blobs: list[_Blob]) -> _Blob | None:
        """A fresh start (first frame, after a cut or a long absence): the largest plausible blob."""
        if not blobs:
            return None
        floor = 3 * self.min_area if self.area_ref is None else max(self.min_area, 0.2 * self.area_ref)
        return blobs[0] if blobs[0].area >= floor else None

    def size_consistency(self, blob: _Blob) -> float:
        if self.area_ref is None:
            return 1.0
        return min(blob.area, self.area_ref) / max(blob.area, self.area_ref)

    def update(self, blob: _Blob, index: int) -> None:
        if self.centre is not None and self.last_seen is not None and 0 < abs(index - self.last_seen) <= self.reacquire_after:
            steps = index - self.last_seen
            observed = ((blob.centre[0] - self.centre[0]) / steps, (blob.centre[1] - self.centre[1]) / steps)
            self.velocity = (0.5 * self.velocity[0] + 0.5 * observed[0], 0.5 * self.velocity[1] + 0.5 * observed[1])
        else:
            self.velocity = (0.0, 0.0)
        self.centre, self.last_seen = blob.centre, index
        # Sizes from a blob cut by the frame edge, or merged with a lookalike (a sudden jump), would
        # corrupt the reference the next frames are judged by.
        if self.area_ref is None:
            self.area_ref = blob.area
        elif not blob.touches_border and 0.7 < blob.area / self.area_ref < 1.4:
            self.area_ref = 0.7 * self.area_ref + 0.3 * blob.area


class ColourTracker:
    """Follows the product by colour. Build per video; ``track`` yields one ``FrameTrack`` per frame.

    ``max_side`` bounds the working resolution: smaller is faster but loses edge detail.
    ``reacquire_after`` is how many frames (at 25 fps; scaled by the video's rate) the target may be
    missing before the largest blob of its colour, anywhere, may be taken as the target again.

    When the first click or box is on a later frame, frames before it are held back as compact
    colour masks (COCO RLE at working resolution, not pixels) until that frame is reached, then
    resolved backwards from the prompted blob, so the right one of several lookalikes is followed
    from the start.
    """

    name = "colour"

    def __init__(self, prompt: Prompt, info: VideoInfo, *, max_side: int = 640, reacquire_after: int = 4) -> None:
        self.prompt, self.info = prompt, info
        self.fps = info.fps or 25.0
        self.word = colour_word(prompt.text)
        if self.word is None and not any(p.positive for p in prompt.points) and not prompt.boxes:
            raise TrackError(NO_COLOUR_MESSAGE)
        scale = min(1.0, max_side / max(info.width, info.height))
        self.work_size = (max(2, int(round(info.width * scale / 2)) * 2), max(2, int(round(info.height * scale / 2)) * 2))
        sx, sy = self.work_size[0] / info.width, self.work_size[1] / info.height
        self.anchors: dict[int, list[_Anchor]] = {}
        for p in prompt.points:
            self.anchors.setdefault(p.frame, []).append(_Anchor(point=(p.x * sx, p.y * sy), positive=p.positive))
        for b in prompt.boxes:
            self.anchors.setdefault(b.frame, []).append(_Anchor(box=(b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy)))
        positive = [f for f, anchors in self.anchors.items() if any(a.box or a.positive for a in anchors)]
        self.first_anchor: int | None = min(positive) if positive else None
        self.model: ColourModel | None = COLOUR_WORDS[self.word] if self.word else None
        k = max(3, int(round(max(self.work_size) / 160)) | 1)  # odd kernel, about 5 px at 640
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        self.min_area = max(12.0, 2e-4 * self.work_size[0] * self.work_size[1])
        self.motion = _Motion(
            math.hypot(*self.work_size), self.min_area, max(1, int(round(reacquire_after * self.fps / 25)))
        )
        self._cuts = CutDetector(self.fps)

    # -- public -------------------------------------------------------------------------------

    @property
    def meta(self) -> dict[str, Any]:
        return {
            "colour": self.word or "learned from the prompt",
            "colour_model": self.model.to_dict() if self.model else None,
            "work_size": list(self.work_size),
        }

    def shots(self, frame_count: int) -> list[list[int]]:
        return self._cuts.shots(frame_count)

    def track(self, video_path: str | Path) -> Iterator[FrameTrack]:
        """One ``FrameTrack`` per decoded frame, in order, from a single forward pass."""
        if self.model is None:
            self.model = self._learn_colour(video_path)
        held: list[tuple[bool, dict[str, Any]]] = []  # (starts a shot, colour mask) before the first prompt
        with closing(iter_frames(video_path, size=self._decode_size)) as frames:
            for index, frame in enumerate(frames):
                cut = self._cuts.update(frame)
                raw = self._colour_mask(frame)
                if self.first_anchor is not None and index < self.first_anchor:
                    held.append((cut, encode_mask(raw > 0)))
                    continue
                if cut:
                    self.motion.reset()
                current = self._step(index, raw)
                if held:
                    yield from self._resolve_backwards(held, starts_shot=cut)
                    held = []
                yield current
        # A video shorter than its prompt frame (validate_for prevents it, headers can lie).
        if held:
            yield from self._resolve_backwards(held, starts_shot=False)

    # -- set-up -------------------------------------------------------------------------------

    @property
    def _decode_size(self) -> tuple[int, int] | None:
        return None if self.work_size == (self.info.width, self.info.height) else self.work_size

    def _learn_colour(self, video_path: str | Path) -> ColourModel:
        """The colour under the first click or box, read from that frame (decoding stops there)."""
        assert self.first_anchor is not None
        with closing(iter_frames(video_path, size=self._decode_size)) as frames:
            for index, frame in enumerate(frames):
                if index == self.first_anchor:
                    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
                    return ColourModel.from_pixels(self._prompt_pixels(hsv, self.anchors[index]))
        raise TrackError(
            f"Frame {self.first_anchor} of the prompt could not be read from the video. Click on an earlier frame."
        )

    def _prompt_pixels(self, hsv: np.ndarray, anchors: list[_Anchor]) -> np.ndarray:
        h, w = hsv.shape[:2]
        for a in anchors:
            if a.box is not None:  # the middle half of the box is mostly product, not background
                x1, y1, x2, y2 = a.box
                qx, qy = (x2 - x1) / 4, (y2 - y1) / 4
                top, left = int(y1 + qy), int(x1 + qx)
                region = hsv[top : max(int(y2 - qy), top + 1), left : max(int(x2 - qx), left + 1)]
                return region.reshape(-1, 3)
        for a in anchors:
            if a.point is not None and a.positive:
                r = max(2, int(round(0.008 * max(w, h))))
                x, y = int(a.point[0]), int(a.point[1])
                return hsv[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1].reshape(-1, 3)
        raise TrackError(NO_COLOUR_MESSAGE)

    # -- per frame ----------------------------------------------------------------------------

    def _colour_mask(self, frame: np.ndarray) -> np.ndarray:
        """uint8 (0/255) mask of the pixels of the product's colour, cleaned up."""
        assert self.model is not None
        raw = self.model.mask(cv2.cvtColor(frame, cv2.COLOR_RGB2HSV))
        # Opening drops speckle from compression and texture; closing mends shading and edge gaps.
        raw = cv2.morphologyEx(raw, cv2.MORPH_OPEN, self._open)
        return cv2.morphologyEx(raw, cv2.MORPH_CLOSE, self._close)

    def _blobs(self, raw: np.ndarray) -> tuple[np.ndarray, list[_Blob]]:
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(raw, connectivity=8)
        h, w = raw.shape
        blobs = []
        for label in range(1, count):
            x, y, bw, bh, area = (int(v) for v in stats[label])
            if area < self.min_area:
                continue
            border = x == 0 or y == 0 or x + bw == w or y + bh == h
            centre = (float(centroids[label][0]), float(centroids[label][1]))
            blobs.append(_Blob(label, float(area), centre, (x, y, bw, bh), border))
        blobs.sort(key=lambda b: -b.area)
        return labels, blobs[:16]  # the largest few: a textured frame can give many tiny matches

    def _anchored(self, labels: np.ndarray, blobs: list[_Blob], anchors: list[_Anchor]) -> tuple[_Blob | None, list[_Blob]]:
        """The blob a prompt points at (under a positive click, or best overlapping a box), and the
        blobs that remain possible once those under negative clicks are ruled out."""
        h, w = labels.shape
        for a in anchors:
            if a.point is not None and not a.positive:
                x, y = min(w - 1, int(a.point[0])), min(h - 1, int(a.point[1]))
                blobs = [b for b in blobs if labels[y, x] != b.label]
        for a in anchors:
            if a.point is not None and a.positive:
                x, y = min(w - 1, int(a.point[0])), min(h - 1, int(a.point[1]))
                for b in blobs:
                    if labels[y, x] == b.label:
                        return b, blobs
                if blobs:  # a click just off the blob's edge: the nearest blob, if it is close
                    near = min(blobs, key=lambda b: math.dist(b.centre, a.point))
                    if math.dist(near.centre, a.point) < 2.0 * math.sqrt(near.area):
                        return near, blobs
            if a.box is not None and blobs:
                best = max(blobs, key=lambda b: _box_iou(b.bbox, a.box))
                if _box_iou(best.bbox, a.box) > 0.1:
                    return best, blobs
        return None, blobs

    def _step(self, index: int, raw: np.ndarray) -> FrameTrack:
        labels, blobs = self._blobs(raw)
        chosen = None
        if index in self.anchors:
            chosen, blobs = self._anchored(labels, blobs, self.anchors[index])
            if chosen is not None:
                self.motion.reset()  # the motion so far may belong to another blob
        if chosen is None:
            chosen = self.motion.choose(blobs, index)
        return self._frame_track(index, labels, chosen, self.motion)

    def _resolve_backwards(self, held: list[tuple[bool, dict[str, Any]]], *, starts_shot: bool) -> list[FrameTrack]:
        """Frames ``0..len(held)-1``, tracked backwards from the state at frame ``len(held)``."""
        motion = self.motion.copy()
        motion.velocity = (0.0, 0.0)
        out: list[FrameTrack] = [FrameTrack.hidden(0, 0.0)] * len(held)
        for index in range(len(held) - 1, -1, -1):
            if starts_shot:  # frame index + 1 began a new shot: nothing carries across the cut
                motion.reset()
            starts_shot, rle = held[index]
            labels, blobs = self._blobs(decode_mask(rle).astype(np.uint8) * 255)
            out[index] = self._frame_track(index, labels, motion.choose(blobs, index), motion)
        return out

    def _frame_track(self, index: int, labels: np.ndarray, chosen: _Blob | None, motion: _Motion) -> FrameTrack:
        time = index / self.fps
        if chosen is None:
            return FrameTrack.hidden(index, time)
        mask, purity = _filled(labels, chosen)
        score = float(np.clip(purity * (0.5 + 0.5 * motion.size_consistency(chosen)), 0.0, 1.0))
        motion.update(chosen, index)
        return FrameTrack.from_mask(index, time, self._full_size(mask), score)

    def _full_size(self, mask: np.ndarray) -> np.ndarray:
        """A working-resolution uint8 mask (0/255) as a bool mask of the video's size."""
        if mask.shape[::-1] == (self.info.width, self.info.height):
            return mask > 0
        # Linear interpolation then a 50% threshold gives smoother edges than nearest neighbour.
        return cv2.resize(mask, (self.info.width, self.info.height), interpolation=cv2.INTER_LINEAR) > 127


def _filled(labels: np.ndarray, blob: _Blob) -> tuple[np.ndarray, float]:
    """The blob's mask with interior holes filled (a logo on the bag is still the bag), and its
    purity: the share of the filled area that actually had the colour."""
    x, y, w, h = blob.bbox
    roi = (labels[y : y + h, x : x + w] == blob.label).astype(np.uint8)
    contours, _ = cv2.findContours(roi, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(roi)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    mask = np.zeros(labels.shape, np.uint8)
    mask[y : y + h, x : x + w] = filled
    return mask, blob.area / max(1.0, float(np.count_nonzero(filled)))


def _box_iou(bbox: tuple[int, int, int, int], box: tuple[float, float, float, float]) -> float:
    """IoU of an ``[x, y, w, h]`` box with an ``[x1, y1, x2, y2]`` box."""
    x, y, w, h = bbox
    ix = max(0.0, min(x + w, box[2]) - max(x, box[0]))
    iy = max(0.0, min(y + h, box[3]) - max(y, box[1]))
    inter = ix * iy
    union = w * h + (box[2] - box[0]) * (box[3] - box[1]) - inter
    return inter / union if union > 0 else 0.0
