"""Mattes: where the product is on each frame, smoothed over time, ready for the looks.

A ``Matte`` is one frame's product coverage as a small ``uint8`` alpha patch (255 on the product)
placed at ``origin`` in the frame, plus a steady box for looks that draw next to the product, and a
``presence`` (0..1) that fades the looks in and out. Pixels of the frame it belongs to, origin
top-left; boxes are ``[x, y, w, h]``.

``MatteStream`` turns a ``Track`` into one matte per frame, streaming: it decodes each mask once and
keeps only the few neighbouring frames' masks (cropped to their boxes) that the temporal smoothing
needs. Two things make the looks hold steady:

- Mask edges are averaged over neighbouring frames *after aligning them on the product's centre*,
  so a segmentation that wobbles by a pixel or two along the edge gives a still edge, while the
  product's own motion is not smeared.
- Presence ramps over ``FADE_SECONDS`` where the product appears, hides or leaves; gaps shorter
  than ``BRIDGE_SECONDS`` within a shot are bridged (the look stays on), so a blink of an occlusion
  does not flash the look off and on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from highlighter.render.presets import BRIDGE_SECONDS, FADE_SECONDS
from highlighter.render.reframe import shot_ranges
from highlighter.trackfile import Track, mask_box

Box = tuple[float, float, float, float]


@dataclass
class Matte:
    """The product on one frame of size ``shape`` (H, W).

    ``alpha`` is a ``uint8`` patch (255 on the product, soft at the edge) whose top-left pixel is at
    ``origin`` (x, y); None when the product is not visible. ``box`` is the steady ``[x, y, w, h]``
    box (it persists through bridged gaps); ``presence`` scales every look's opacity.
    """

    shape: tuple[int, int]
    alpha: np.ndarray | None = None
    origin: tuple[int, int] = (0, 0)
    box: Box | None = None
    presence: float = 1.0

    @classmethod
    def from_mask(cls, mask: np.ndarray, *, presence: float = 1.0) -> Matte:
        """A matte from a full-frame mask (bool, or ``uint8`` 0..255), cropped to its bounding box."""
        box = mask_box(mask > 0 if mask.dtype != bool else mask)
        if box is None:
            return cls(shape=mask.shape[:2], presence=presence)
        x, y, w, h = (int(v) for v in box)
        patch = mask[y : y + h, x : x + w]
        alpha = patch.astype(np.uint8) * 255 if patch.dtype == bool else np.ascontiguousarray(patch, np.uint8)
        return cls(shape=mask.shape[:2], alpha=alpha, origin=(x, y), box=(x, y, w, h), presence=presence)

    @property
    def visible(self) -> bool:
        return self.alpha is not None

    def patch(self, margin: int) -> tuple[tuple[slice, slice], np.ndarray] | None:
        """The alpha grown by ``margin`` px of zeros on every side (clipped to the frame).

        Returns ``((rows, cols), alpha)`` where ``rows, cols`` are the frame slices the array covers,
        or None when the product is not visible. Looks do their per-pixel work only there.
        """
        if self.alpha is None:
            return None
        height, width = self.shape
        x, y = self.origin
        h, w = self.alpha.shape
        x0, y0 = max(0, x - margin), max(0, y - margin)
        x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
        out = np.zeros((y1 - y0, x1 - x0), np.uint8)
        out[y - y0 : y - y0 + h, x - x0 : x - x0 + w] = self.alpha
        return (slice(y0, y1), slice(x0, x1)), out

    def full(self) -> np.ndarray:
        """The alpha as a full ``(H, W)`` ``uint8`` frame (for mask outputs and tests)."""
        out = np.zeros(self.shape, np.uint8)
        if self.alpha is not None:
            x, y = self.origin
            h, w = self.alpha.shape
            out[y : y + h, x : x + w] = self.alpha
        return out

    def mapped(self, window: tuple[int, int, int, int], size: tuple[int, int]) -> Matte:
        """This matte in the pixels of an output that shows source ``window`` (x, y, w, h) at ``size``.

        The window may reach outside the frame (padding); the mapping is ``(p - window_xy) * scale``.
        """
        wx, wy, ww, wh = window
        out_w, out_h = size
        sx, sy = out_w / ww, out_h / wh
        box = None
        if self.box is not None:
            bx, by, bw, bh = self.box
            box = ((bx - wx) * sx, (by - wy) * sy, bw * sx, bh * sy)
        mapped = Matte(shape=(out_h, out_w), box=box, presence=self.presence)
        if self.alpha is None:
            return mapped
        x, y = self.origin
        h, w = self.alpha.shape
        # Only the part of the patch inside the window, scaled; a 1 px margin keeps resampling honest.
        # A sub-pixel window: whole source pixels covering it; placed at the nearest output pixel.
        x0, y0 = max(x, math.floor(wx)), max(y, math.floor(wy))
        x1, y1 = min(x + w, math.ceil(wx + ww)), min(y + h, math.ceil(wy + wh))
        if x0 >= x1 or y0 >= y1:
            return mapped
        ox0, oy0 = int(round((x0 - wx) * sx)), int(round((y0 - wy) * sy))
        ox1, oy1 = int(round((x1 - wx) * sx)), int(round((y1 - wy) * sy))
        if ox1 <= max(0, ox0) or oy1 <= max(0, oy0) or ox0 >= out_w or oy0 >= out_h:
            return mapped
        part = self.alpha[y0 - y : y1 - y, x0 - x : x1 - x]
        if (ox1 - ox0, oy1 - oy0) != (part.shape[1], part.shape[0]):
            shrinking = ox1 - ox0 < part.shape[1]
            part = cv2.resize(part, (ox1 - ox0, oy1 - oy0), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        # The covering source pixels may reach a sliver past the window's edges: cut it off.
        part = part[max(0, -oy0) : out_h - oy0, max(0, -ox0) : out_w - ox0]
        ox0, oy0 = max(0, ox0), max(0, oy0)
        mapped.alpha, mapped.origin = part, (ox0, oy0)
        return mapped


def bridged_visibility(visible: np.ndarray, shots: list[tuple[int, int]], bridge: int) -> np.ndarray:
    """``visible`` with gaps of at most ``bridge`` frames inside a shot filled in (a bool array)."""
    out = visible.copy()
    for start, stop in shots:
        seen = np.flatnonzero(visible[start:stop]) + start
        for a, b in zip(seen[:-1], seen[1:]):
            if 1 < b - a <= bridge + 1:
                out[a + 1 : b] = True
    return out


def presence_curve(on: np.ndarray, shots: list[tuple[int, int]], fade: int) -> np.ndarray:
    """Per frame 0..1: 1 where ``on``, ramping (smoothstep) to 0 over ``fade`` frames next to off frames.

    The ramp is *inside* the on-runs (it fades out on the last visible frames, so it has something
    to fade) and never across a shot cut: a product already in shot after a cut is lit at once,
    as it would be in an edit.
    """
    n = on.size
    presence = on.astype(np.float64)
    if fade < 1:
        return presence
    for start, stop in shots:
        run = on[start:stop]
        # Distance (frames) to the nearest off frame inside this shot, counting from 1.
        dist = np.full(run.size, np.inf)
        last = -np.inf
        for i in range(run.size):
            last = i if not run[i] else last
            dist[i] = i - last
        last = np.inf
        for i in range(run.size - 1, -1, -1):
            last = i if not run[i] else last
            dist[i] = min(dist[i], last - i)
        x = np.clip(dist / (fade + 1), 0.0, 1.0)
        presence[start:stop] = np.where(run, x * x * (3 - 2 * x), 0.0)
    return presence[:n]


def smooth_boxes(boxes: np.ndarray, on: np.ndarray, shots: list[tuple[int, int]], sigma: float) -> np.ndarray:
    """Boxes (n, 4) smoothed per shot with a Gaussian of ``sigma`` frames; NaN rows where not ``on``.

    Hidden frames inside a bridged gap take the last seen box, so a label or box holds its place.
    """
    out = np.full_like(boxes, np.nan)
    for start, stop in shots:
        part = boxes[start:stop]
        known = ~np.isnan(part[:, 0])
        if not known.any():
            continue
        idx = np.maximum.accumulate(np.where(known, np.arange(part.shape[0]), 0))
        idx[: np.flatnonzero(known)[0]] = np.flatnonzero(known)[0]
        held = part[idx]
        if sigma >= 0.5 and held.shape[0] > 2:
            radius = int(3 * sigma)
            kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
            kernel /= kernel.sum()
            padded = np.pad(held, ((radius, radius), (0, 0)), mode="edge")
            held = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(4)], axis=1)
        out[start:stop] = np.where(on[start:stop, None], held, np.nan)
    return out


class MatteStream:
    """One ``Matte`` per frame of a track, in source pixels, streaming (see the module docstring).

    ``radius`` is how many frames either side are averaged into each mask's edge (0 turns temporal
    smoothing off); more is steadier but rounds off fast shape changes. ``fade`` and ``bridge`` are
    seconds; ``box_smoothing`` is the steady box's Gaussian sigma in seconds.
    """

    def __init__(
        self,
        track: Track,
        *,
        radius: int = 2,
        fade: float = FADE_SECONDS,
        bridge: float = BRIDGE_SECONDS,
        box_smoothing: float = 0.12,
    ) -> None:
        self.track = track
        self.radius = radius
        n = len(track.frames)
        fps = float(track.video.get("fps") or 25.0)
        self.shots = shot_ranges(track.shots, n)
        self.shot_of = np.zeros(n, dtype=int)
        for k, (start, stop) in enumerate(self.shots):
            self.shot_of[start:stop] = k
        self.visible = np.array([f.visible and f.mask is not None and bool(f.box) for f in track.frames], bool)
        boxes = np.full((n, 4), np.nan)
        for i, f in enumerate(track.frames):
            if self.visible[i]:
                boxes[i] = f.box
        self.boxes = boxes

        on = bridged_visibility(self.visible, self.shots, int(round(bridge * fps)))
        self.presence = presence_curve(on, self.shots, int(round(fade * fps)))
        self.steady_boxes = smooth_boxes(boxes, on, self.shots, box_smoothing * fps)
        motion = smooth_boxes(boxes, self.visible, self.shots, 1.0)
        self.motion_centres = np.nan_to_num(motion[:, :2] + motion[:, 2:] / 2)
        self._weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / max(radius / 2, 0.5)) ** 2)
        self._cache: dict[int, tuple[int, int, np.ndarray]] = {}  # index -> (x, y, bool patch)

    def __len__(self) -> int:
        return len(self.track.frames)

    def _patch(self, index: int) -> tuple[int, int, np.ndarray]:
        if index not in self._cache:
            # The track's box is the mask's tight box: decode just that part (a 1080p mask costs more
            # than the look). A box that misses the mask (an edited file) falls back to the whole mask.
            box = self.track.frames[index].box
            patch = None
            if box is not None:
                x, y = max(0, int(math.floor(box[0]))), max(0, int(math.floor(box[1])))
                x1, y1 = int(math.ceil(box[0] + box[2])), int(math.ceil(box[1] + box[3]))
                patch = self.track.mask_region(index, x, y, x1, y1)
            if patch is None or not patch.any():
                mask = self.track.mask(index)
                x, y, w, h = (int(v) for v in mask_box(mask) or (0, 0, 0, 0))
                patch = mask[y : y + h, x : x + w]
            self._cache[index] = (x, y, patch)
        return self._cache[index]

    def matte(self, index: int) -> Matte:
        """The matte of frame ``index``; call with increasing indices to keep the cache small."""
        height, width = self.track.height, self.track.width
        for old in [k for k in self._cache if k < index - self.radius]:
            del self._cache[old]
        if not 0 <= index < len(self):
            return Matte(shape=(height, width), presence=0.0)
        steady = self.steady_boxes[index]
        box = None if np.isnan(steady[0]) else tuple(float(v) for v in steady)
        matte = Matte(shape=(height, width), box=box, presence=float(self.presence[index]))
        if not self.visible[index]:
            return matte
        x, y, patch = self._patch(index)
        if patch.size == 0:
            return matte
        if self.radius == 0:
            matte.alpha, matte.origin = patch.view(np.uint8) * np.uint8(255), (x, y)
            return matte
        shift = self.radius  # neighbours move by whole pixels after centring; this covers the rest
        x0, y0 = max(0, x - shift), max(0, y - shift)
        x1, y1 = min(width, x + patch.shape[1] + shift), min(height, y + patch.shape[0] + shift)
        acc = np.zeros((y1 - y0, x1 - x0), np.float32)
        total = 0.0
        for k, weight in zip(range(index - self.radius, index + self.radius + 1), self._weights):
            if not (0 <= k < len(self) and self.visible[k] and self.shot_of[k] == self.shot_of[index]):
                continue
            kx, ky, other = self._patch(k)
            # Align the neighbour by the product's motion, to average shape and not motion. The
            # motion is the steady box's, not the raw masks': an edge that flickers moves a raw
            # centre by half a pixel, and aligning on that would move the flicker, not remove it.
            dx, dy = np.rint(self.motion_centres[index] - self.motion_centres[k]).astype(int)
            px, py = kx + dx - x0, ky + dy - y0
            ax0, ay0 = max(0, px), max(0, py)
            ax1, ay1 = min(acc.shape[1], px + other.shape[1]), min(acc.shape[0], py + other.shape[0])
            if ax0 < ax1 and ay0 < ay1:
                src = other[ay0 - py : ay1 - py, ax0 - px : ax1 - px]
                acc[ay0:ay1, ax0:ax1] += src * np.float32(weight)
            total += weight
        alpha = cv2.convertScaleAbs(acc, alpha=255.0 / total)
        matte.alpha, matte.origin = alpha, (x0, y0)
        return matte

    def __iter__(self) -> Iterator[Matte]:
        for index in range(len(self)):
            yield self.matte(index)


def union_matte(mattes: list[Matte]) -> Matte:
    """Several products' mattes of one frame as one: what a whole-frame look (a spotlight, a blurred
    background) needs to leave every product out of one layer (one dimming with several holes).

    ``presence`` is the largest of theirs, and each product's alpha is scaled by its own presence
    relative to that, so a product fading out closes its hole while the others stay lit. ``box`` is
    the union of the boxes. One matte is returned as it is.
    """
    if len(mattes) == 1:
        return mattes[0]
    shape = mattes[0].shape
    presence = max((m.presence for m in mattes), default=0.0)
    boxes = [m.box for m in mattes if m.box is not None and m.presence > 0]
    box = None
    if boxes:
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
        box = (x0, y0, x1 - x0, y1 - y0)
    out = Matte(shape=shape, box=box, presence=presence)
    seen = [m for m in mattes if m.alpha is not None and m.alpha.size and m.presence > 0]
    if not seen or presence <= 0:
        return out
    x0 = min(m.origin[0] for m in seen)
    y0 = min(m.origin[1] for m in seen)
    x1 = max(m.origin[0] + m.alpha.shape[1] for m in seen)
    y1 = max(m.origin[1] + m.alpha.shape[0] for m in seen)
    alpha = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for m in seen:
        x, y = m.origin
        h, w = m.alpha.shape
        part = m.alpha if m.presence >= presence else cv2.convertScaleAbs(m.alpha, alpha=m.presence / presence)
        region = alpha[y - y0 : y - y0 + h, x - x0 : x - x0 + w]
        np.maximum(region, part, out=region)
    out.alpha, out.origin = alpha, (x0, y0)
    return out
