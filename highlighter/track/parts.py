"""The interfaces the tracking controller is built on, and the candidate they pass around.

Four parts, each a ``typing.Protocol`` so that the CPU backend (this package) and a model
backend (SAM 2, an open-vocabulary detector, an image-text embedder) plug in the same way:

- ``Proposer``: class-agnostic candidate regions on a frame.
- ``Grounder``: how well each candidate matches the prompt (description words, clicks, boxes).
- ``Propagator``: carries the target's mask to the next frame and offers several candidate masks,
  each with a predicted quality and an object score (as SAM 2's mask decoder does).
- ``Embedder``: an appearance vector for a candidate, for the target and distractor memories.

All of them work at the working resolution: masks are bool ``(h, w)`` arrays of the working frame,
boxes ``[x, y, w, h]`` in working pixels, origin top-left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np


class WorkFrame:
    """One decoded frame at working resolution, with the views the parts share (computed once).

    ``index`` is the frame's index in the video; ``rgb`` is ``(h, w, 3)`` uint8.
    """

    def __init__(self, index: int, rgb: np.ndarray) -> None:
        self.index, self.rgb = index, rgb
        self.cache: dict = {}  # what several parts (or several products' parts) compute of this frame once
        self._hsv: np.ndarray | None = None
        self._grey: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]

    @property
    def hsv(self) -> np.ndarray:
        """OpenCV HSV: hue 0..179, saturation and value 0..255."""
        if self._hsv is None:
            self._hsv = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2HSV)
        return self._hsv

    @property
    def grey(self) -> np.ndarray:
        if self._grey is None:
            self._grey = cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)
        return self._grey


@dataclass
class Candidate:
    """A possible target region on one frame (working resolution).

    ``quality``: the part's own estimate of the mask's quality, 0..1 (SAM 2's predicted IoU).
    ``object_score``: evidence that the target is present at all, 0..1.
    """

    mask: np.ndarray
    box: tuple[float, float, float, float]
    area: int
    touches_border: bool
    quality: float = 1.0
    object_score: float = 1.0
    source: str = ""
    embedding: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_mask(cls, mask: np.ndarray, **kwargs) -> Candidate | None:
        """A candidate for a non-empty bool mask (None when it is empty)."""
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(mask.any(axis=0))
        h, w = mask.shape
        box = (float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))
        border = cols[0] == 0 or rows[0] == 0 or cols[-1] == w - 1 or rows[-1] == h - 1
        return cls(mask=mask, box=box, area=int(np.count_nonzero(mask)), touches_border=bool(border), **kwargs)


class Proposer(Protocol):
    def propose(self, frame: WorkFrame) -> list[Candidate]:
        """Class-agnostic candidate regions on ``frame``."""
        ...


class Grounder(Protocol):
    def can_ground(self) -> bool:
        """Whether the prompt gives this grounder anything to score with on frames without clicks."""
        ...

    def score(self, frame: WorkFrame, candidates: list[Candidate]) -> list[float]:
        """How well each candidate matches the prompt, 0..1 (clicks and boxes on ``frame`` included)."""
        ...


class Propagator(Protocol):
    def reset(self, frame: WorkFrame, mask: np.ndarray) -> None:
        """Start following ``mask`` on ``frame`` (initialisation or re-detection)."""
        ...

    def step(self, frame: WorkFrame) -> list[Candidate]:
        """Candidate masks of the target on ``frame`` (the next frame in processing order)."""
        ...

    def commit(self, frame: WorkFrame, mask: np.ndarray | None) -> None:
        """The controller's decision for ``frame``: the mask to continue from, or None when lost."""
        ...


class Embedder(Protocol):
    def embed(self, frame: WorkFrame, candidate: Candidate) -> np.ndarray:
        """A unit-length appearance vector of the candidate's region."""
        ...


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def apart(region: Candidate, target: Candidate) -> bool:
    """Whether ``region`` lies apart from ``target``: their boxes barely overlap (IoU at most 0.1)
    and at most a tenth of the region is the target's (DAM4SAM's "apart" is box IoU 0.7; here
    stricter, so the target's own parts never count as something else)."""
    return box_iou(region.box, target.box) <= 0.1 and np.count_nonzero(region.mask & target.mask) <= 0.1 * region.area


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks of one size; 0 when both are empty."""
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


SHAPE_SIDE = 64  # the side of ``normalised_shape``'s canvas


def normalised_shape(mask: np.ndarray) -> np.ndarray:
    """``mask``'s shape apart from where it is and how big: the mask moved so that its centroid is
    the centre of a ``SHAPE_SIDE`` square canvas and scaled so that its area is a sixteenth of it
    (a square would span a quarter of the side). The IoU of two of them is 1 for a mask and its
    zoom, and falls as one of them grows a part the other has not. All-False for an empty mask."""
    ys, xs = np.nonzero(mask)
    canvas = np.zeros((SHAPE_SIDE, SHAPE_SIDE), bool)
    if ys.size == 0:
        return canvas
    scale = SHAPE_SIDE / 4 / np.sqrt(ys.size)
    centre = SHAPE_SIDE / 2
    warp = np.array([[scale, 0.0, centre - scale * xs.mean()], [0.0, scale, centre - scale * ys.mean()]])
    # a canvas pixel is kept where the mask, bilinear between the four pixels nearest its centre,
    # is at least half on; a strand thinner than 1 / scale pixels may fall between canvas pixels
    moved = cv2.warpAffine(mask.astype(np.uint8) * 255, warp, (SHAPE_SIDE, SHAPE_SIDE), flags=cv2.INTER_LINEAR)
    return moved >= 128


def box_mask_agreement(box: tuple[float, ...], mask_box: tuple[float, ...], mask_area: float) -> float:
    """SPARROW's box-mask consistency: ``0.8 * IoU(box, bbox(mask)) + 0.2 / (1 + |log(mask_area / box_area)|)``.

    1.0 when the mask fills its box exactly; a mask that spills far outside the box, or a sliver in
    a big box, scores low. The x0.2 penalty for near-empty or frame-filling masks is the caller's.
    """
    box_area = box[2] * box[3]
    if box_area <= 0 or mask_area <= 0:
        return 0.0
    return 0.8 * box_iou(box, mask_box) + 0.2 / (1.0 + abs(np.log(mask_area / box_area)))


MAX_FRAME_SHARE = 0.7  # a close-up product can fill most of the frame; a region beyond this is the scene


def is_background(box: tuple[float, ...], area: float, size: tuple[int, int]) -> bool:
    """Whether a region (``[x, y, w, h]`` box and area in pixels, frame ``(width, height)``) is
    background rather than a product: it covers more than ``MAX_FRAME_SHARE`` of the frame, or it is
    a stripe from one frame edge to the opposite one (a wall, a floor line, a colour bar), at least
    three times as long as it is wide. A close-up product cut by two edges is broad, not a stripe.
    """
    w, h = size
    if area > MAX_FRAME_SHARE * w * h:
        return True
    x, y, bw, bh = box
    across = x <= 0 and x + bw >= w
    down = y <= 0 and y + bh >= h
    return (down and bh >= 3 * bw) or (across and bw >= 3 * bh)


def component_candidates(
    binary: np.ndarray,
    source: str,
    *,
    min_area: float,
    max_area: float = np.inf,
    skip: Callable[[tuple[int, int, int, int]], bool] | None = None,
    limit: int | None = None,
) -> list[Candidate]:
    """A candidate for each 8-connected region of ``binary`` (holes filled) whose area is within
    ``min_area..max_area`` pixels; ``skip(box)`` (``[x, y, w, h]``) leaves a region out. With
    ``limit``, only the largest ``limit`` regions (a full-frame mask each costs memory and time)."""
    h, w = binary.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    kept = []
    for label in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[label])
        if min_area <= area <= max_area and (skip is None or not skip((x, y, bw, bh))):
            kept.append((area, label, x, y, bw, bh))
    kept.sort(reverse=True)
    out = []
    for _, label, x, y, bw, bh in kept[:limit]:
        region = np.zeros((h, w), bool)
        region[y : y + bh, x : x + bw] = fill_holes(labels[y : y + bh, x : x + bw] == label)
        cand = Candidate.from_mask(region, source=source)
        if cand is not None:
            out.append(cand)
    return out


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask with interior holes filled (a logo on the bag is still the bag)."""
    m = mask.astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(m)
    cv2.drawContours(out, contours, -1, 1, thickness=cv2.FILLED)
    return out.astype(bool)
