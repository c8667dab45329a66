"""Carries the target's mask to the next frame without weights: optical flow plus a colour model.

DIS optical flow (on a half-size grey frame) says how the target moved: the median flow inside its
last mask, robust to the flat, textureless inside of a product. The shifted mask is then re-fitted
to the pixels of the target's colour around it. Several candidates come back, as SAM 2's decoder
gives several masks: the re-fitted mask held to the shifted outline (it stays off a same-coloured
lookalike that touches the product), the whole colour blobs under it (they follow a zoom), and the
re-fitted mask under the motion prior's shift, when the caller gives one.

``quality`` is the IoU of a candidate with the outline it was fitted to (a stand-in for SAM 2's
predicted IoU); ``object_score`` is the share of the shifted outline that still has the target's
colour: it falls towards 0 as the product goes behind something or out of frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from highlighter.track.colour import ColourModel
from highlighter.track.parts import Candidate, WorkFrame, fill_holes


class FlowColourPropagator:
    """Follows one mask with DIS flow and the target's ``ColourModel`` (learned at the first reset)."""

    def __init__(self, colour: ColourModel | None = None) -> None:
        self.colour = colour
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._prev: WorkFrame | None = None
        self._mask: np.ndarray | None = None
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.prior_shift: tuple[float, float] | None = None  # the motion prior's guess, set by the caller

    def reset(self, frame: WorkFrame, mask: np.ndarray) -> None:
        if self.colour is None:
            self.colour = ColourModel.from_pixels(frame.hsv[mask])
        self._prev, self._mask = frame, mask

    def commit(self, frame: WorkFrame, mask: np.ndarray | None) -> None:
        self._prev = frame
        self._mask = mask if mask is not None and mask.any() else None

    @property
    def following(self) -> bool:
        return self._mask is not None

    def colour_mask(self, frame: WorkFrame, roi: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Bool mask of the target's colour on ``frame`` (only inside ``roi`` ``[x0, y0, x1, y1]``)."""
        assert self.colour is not None
        w, h = frame.size
        x0, y0, x1, y1 = roi or (0, 0, w, h)
        raw = self.colour.mask(frame.hsv[y0:y1, x0:x1])
        raw = cv2.morphologyEx(raw, cv2.MORPH_OPEN, self._open)
        raw = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, self._close)
        out = np.zeros((h, w), bool)
        out[y0:y1, x0:x1] = raw > 0
        return out

    def flow_shift(self, frame: WorkFrame) -> tuple[float, float]:
        """Median motion of the last mask's pixels from the previous frame to ``frame``, in pixels."""
        assert self._prev is not None and self._mask is not None
        a = cv2.resize(self._prev.grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        b = cv2.resize(frame.grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        flow = self._flow.calc(a, b, None)
        small = cv2.resize(self._mask.astype(np.uint8), (a.shape[1], a.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        if not small.any():
            return 0.0, 0.0
        vectors = flow[small]
        return 2.0 * float(np.median(vectors[:, 0])), 2.0 * float(np.median(vectors[:, 1]))

    def step(self, frame: WorkFrame) -> list[Candidate]:
        if self._mask is None:
            return []
        shifts = [("flow", self.flow_shift(frame))]
        if self.prior_shift is not None:
            shifts.append(("prior", self.prior_shift))
        out: list[Candidate] = []
        for name, (dx, dy) in shifts:
            out += self._fit(frame, _shift(self._mask, dx, dy), name)
        return out

    def _fit(self, frame: WorkFrame, outline: np.ndarray, name: str) -> list[Candidate]:
        if not outline.any():
            return []
        w, h = frame.size
        ys, xs = np.nonzero(outline)
        bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        # Look well around the outline: a zoom can double the product between frames at low fps.
        mx, my = int(0.6 * bw) + 4, int(0.6 * bh) + 4
        roi = (max(0, xs.min() - mx), max(0, ys.min() - my), min(w, xs.max() + 1 + mx), min(h, ys.max() + 1 + my))
        colour = self.colour_mask(frame, roi)
        area = int(outline.sum())
        object_score = float(np.count_nonzero(colour & outline)) / area
        r = max(2, int(round(0.12 * np.sqrt(area))))
        grown = cv2.dilate(outline.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
        count, labels = cv2.connectedComponents(colour.astype(np.uint8), connectivity=8)
        touching = np.unique(labels[grown & colour])
        touching = touching[touching > 0]
        if touching.size == 0:
            return []
        blobs = np.isin(labels, touching)
        out = []
        for mask, source in ((fill_holes(blobs & grown), "fit"), (fill_holes(blobs), "blob")):
            inter = np.count_nonzero(mask & outline)
            quality = inter / max(1, np.count_nonzero(mask | outline))
            cand = Candidate.from_mask(mask, quality=quality, object_score=object_score, source=f"{name}-{source}")
            if cand is not None:
                out.append(cand)
        return out


def _shift(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The bool mask moved by ``(dx, dy)`` pixels (rounded), cut at the frame's edges."""
    h, w = mask.shape
    ix, iy = int(round(dx)), int(round(dy))
    out = np.zeros_like(mask)
    xs, xd = (slice(0, w - ix), slice(ix, w)) if ix >= 0 else (slice(-ix, w), slice(0, w + ix))
    ys, yd = (slice(0, h - iy), slice(iy, h)) if iy >= 0 else (slice(-iy, h), slice(0, h + iy))
    if abs(ix) < w and abs(iy) < h:
        out[yd, xd] = mask[ys, xs]
    return out
