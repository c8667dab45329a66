"""Tracking metrics. Masks are bool ``(H, W)`` arrays; boxes are ``[x, y, w, h]`` in pixels.

J (region similarity, DAVIS) is the mask IoU, taken as 1 when both masks are empty: a tracker that
correctly says "not in frame" scores full marks on that frame. F (DAVIS boundary measure) is the
F-measure of boundary pixels matched within ``ceil(0.008 * hypot(H, W))`` pixels, 1 when both
masks are empty. J&F is the mean of mean J and mean F. Definitions re-derived from FACTS.md
("Metrics") and the DAVIS 2017 evaluation code; frames are indexed from 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from scipy.stats import spearmanr

from highlighter.trackfile import Track


class MaskTruth(Protocol):
    frame_count: int

    def mask(self, index: int) -> np.ndarray: ...


def mask_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """|pred and truth| / |pred or truth|; 1.0 when both are empty."""
    if pred.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {pred.shape} vs {truth.shape}")
    union = np.count_nonzero(pred | truth)
    if union == 0:
        return 1.0
    return np.count_nonzero(pred & truth) / union


def box_iou(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    """IoU of two ``[x, y, w, h]`` boxes; 1.0 when both are None (absent), 0.0 when one is."""
    if a is None or b is None:
        return 1.0 if a is None and b is None else 0.0
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def track_ious(track: Track, truth: MaskTruth) -> np.ndarray:
    """Per-frame mask IoU (J) of a track against ground truth, over the truth's frames."""
    return np.array([mask_iou(track.mask(i), truth.mask(i)) for i in range(truth.frame_count)])


def mean_iou(track: Track, truth: MaskTruth) -> float:
    """Mean J over all frames (the DAVIS "J mean")."""
    return float(track_ious(track, truth).mean())


# --- DAVIS J, F and J&F ------------------------------------------------------------------------


def boundary_tolerance(height: int, width: int) -> int:
    """DAVIS's boundary tolerance in pixels: ``ceil(0.008 * hypot(H, W))`` (8 px at 854x480)."""
    return int(np.ceil(0.008 * np.hypot(height, width)))


def _boundary(mask: np.ndarray) -> np.ndarray:
    """1-px boundary map of a bool mask, as DAVIS's ``seg2bmap`` draws it: a pixel is on the boundary
    when it differs from its right, lower or lower-right neighbour (the image's last row and column
    compare only along the edge)."""
    e = np.zeros_like(mask)
    s = np.zeros_like(mask)
    se = np.zeros_like(mask)
    e[:, :-1] = mask[:, 1:]
    s[:-1, :] = mask[1:, :]
    se[:-1, :-1] = mask[1:, 1:]
    b = (mask ^ e) | (mask ^ s) | (mask ^ se)
    b[-1, :] = mask[-1, :] ^ e[-1, :]
    b[:, -1] = mask[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def _disk(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (xx * xx + yy * yy <= radius * radius).astype(np.uint8)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: int | None = None) -> float:
    """DAVIS F: the F-measure of boundary precision and recall, matching within ``tolerance`` px
    (default ``boundary_tolerance(H, W)``). 1.0 when both masks are empty, 0.0 when one is."""
    if pred.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {pred.shape} vs {truth.shape}")
    height, width = truth.shape
    r = boundary_tolerance(height, width) if tolerance is None else tolerance
    both = pred | truth
    if not both.any():
        return 1.0
    # Work on the union's bounding box plus a margin: same answer, a fraction of the pixels.
    rows, cols = np.flatnonzero(both.any(axis=1)), np.flatnonzero(both.any(axis=0))
    y0, y1 = max(0, rows[0] - r - 2), min(height, rows[-1] + r + 3)
    x0, x1 = max(0, cols[0] - r - 2), min(width, cols[-1] + r + 3)
    # The boundary map depends on whether the crop touches the image's last row/column: keep those.
    pb = _boundary(pred[y0:, x0:])[: y1 - y0, : x1 - x0]
    tb = _boundary(truth[y0:, x0:])[: y1 - y0, : x1 - x0]
    n_pred, n_truth = int(pb.sum()), int(tb.sum())
    if n_pred == 0 and n_truth == 0:
        return 1.0
    if n_pred == 0 or n_truth == 0:
        return 0.0
    disk = _disk(r)
    pred_near = cv2.dilate(pb.astype(np.uint8), disk) > 0
    truth_near = cv2.dilate(tb.astype(np.uint8), disk) > 0
    precision = np.count_nonzero(pb & truth_near) / n_pred
    recall = np.count_nonzero(tb & pred_near) / n_truth
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@dataclass
class FrameScores:
    """Per-frame J and F of a track against ground truth (arrays over the truth's frames)."""

    j: np.ndarray
    f: np.ndarray

    @property
    def jf(self) -> float:
        """J&F = (mean J + mean F) / 2."""
        return float((self.j.mean() + self.f.mean()) / 2)


def frame_scores(track: Track, truth: MaskTruth) -> FrameScores:
    j, f = [], []
    for i in range(truth.frame_count):
        pred, gt = track.mask(i), truth.mask(i)
        j.append(mask_iou(pred, gt))
        f.append(boundary_f(pred, gt))
    return FrameScores(np.array(j), np.array(f))


# --- identity, absence and re-acquisition -------------------------------------------------------


class SceneTruth(MaskTruth, Protocol):
    def other_masks(self, index: int) -> list[np.ndarray]: ...


def overlaps(pred: np.ndarray, target: np.ndarray, others: Sequence[np.ndarray]) -> tuple[int, int, int | None]:
    """``(pixels of pred on the target, most pixels of pred on one other object, that object's
    index in others)``; the index is None when pred lies on no other object."""
    on_target = int(np.count_nonzero(pred & target))
    counts = [int(np.count_nonzero(pred & other)) for other in others]
    best = int(np.argmax(counts)) if counts and max(counts) > 0 else None
    return on_target, (counts[best] if best is not None else 0), best


def identity_switches(track: Track, truth: SceneTruth) -> int:
    """Frames where the visible predicted mask overlaps another object more than the target
    (the single-target reading of CLEAR-MOT's identity switch; FACTS.md, "Metrics")."""
    count = 0
    for i in range(truth.frame_count):
        pred = track.mask(i)
        if not pred.any():
            continue
        on_target, on_other, _ = overlaps(pred, truth.mask(i), truth.other_masks(i))
        count += int(on_other > on_target)
    return count


def false_visible(track: Track, truth: MaskTruth) -> tuple[int, int]:
    """``(frames marked visible while the target is absent, frames the target is absent)``."""
    shown = absent = 0
    for i in range(truth.frame_count):
        if not truth.mask(i).any():
            absent += 1
            shown += int(i < len(track.frames) and track.frames[i].visible)
    return shown, absent


def reacquisition_delays(scores: FrameScores, absent: Sequence[bool], shot_starts: Sequence[int] = ()) -> list[int]:
    """Frames from each return of the target to the first frame it is tracked again (J >= 0.5).

    A return is the first visible frame after an absence, or the first frame of a new shot on which
    the target is visible (the product must be re-found after a cut). When it is never re-acquired
    before it leaves again (or the video ends), the delay is the length of that visible run.
    """
    n = len(absent)
    starts = {s for s in shot_starts if 0 < s < n}
    delays = []
    for i in range(1, n):
        if absent[i] or not (absent[i - 1] or i in starts):
            continue
        end = i
        while end < n and not absent[end] and (end == i or end not in starts):
            end += 1
        hit = next((k for k in range(i, end) if scores.j[k] >= 0.5), None)
        delays.append((hit if hit is not None else end) - i)
    return delays


# --- does the score mark the frames to check? --------------------------------------------------


CONFIDENT_SCORE = 0.8  # a score at least this high...
WRONG_J = 0.3  # ...on a frame with J below this is "confidently wrong" (issue 10's bar: at most 2% of frames)


def confidently_wrong(score: float, j: float) -> bool:
    """A frame the score vouches for (``CONFIDENT_SCORE``) while the mask is mostly wrong (J under
    ``WRONG_J``): worse than an honest "not sure", since the review timeline hides it."""
    return score >= CONFIDENT_SCORE and j < WRONG_J


def touches_border(mask: np.ndarray) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def hidden_in_view(visible: bool, truth: np.ndarray) -> bool:
    """A frame said "not visible" while the object is there, whole within the frame (its truth
    touches no border: a product leaving the frame may fairly be said gone)."""
    return not visible and bool(truth.any()) and not touches_border(truth)


def score_correlation(scores: Sequence[float], js: Sequence[float]) -> float | None:
    """How well a track's per-frame scores follow its masks' quality: Spearman's rank correlation
    between score and J over the given frames (ties share their mean rank). 1: the lower a frame's
    score, the worse its mask, so the lowest scores on a review timeline are the frames to check;
    0: the score says nothing about the mask; below 0: the worse masks score higher. None with
    fewer than three frames, or when the scores or the J values are all equal (nothing to rank)."""
    s, j = np.asarray(scores, float), np.asarray(js, float)
    if s.size < 3 or np.ptp(s) == 0 or np.ptp(j) == 0:
        return None
    return float(spearmanr(s, j).statistic)


# --- box stability (Zhang and Wang, arXiv 1611.06467) -------------------------------------------


def box_stability(pred: Sequence[Sequence[float] | None], truth: Sequence[Sequence[float] | None]) -> dict[str, float]:
    """Stability of predicted ``[x, y, w, h]`` boxes against the truth's, over frames where the
    target is present (None = absent or hidden).

    ``fragment``: status changes (tracked <-> lost, tracked meaning box IoU >= 0.5) per frame pair;
    ``centre``: std of the centre offset normalised by the true width (x) plus by the true height (y);
    ``scale_ratio``: std of ``sqrt(area ratio)`` plus std of the aspect-ratio ratio. Both over
    frames tracked; 0.0 when fewer than two.
    """
    status, ex, ey, es, er = [], [], [], [], []
    for p, g in zip(pred, truth):
        if g is None:
            continue
        ok = p is not None and box_iou(p, g) >= 0.5
        status.append(ok)
        if ok:
            assert p is not None
            ex.append((p[0] + p[2] / 2 - g[0] - g[2] / 2) / g[2])
            ey.append((p[1] + p[3] / 2 - g[1] - g[3] / 2) / g[3])
            es.append(np.sqrt(p[2] * p[3] / (g[2] * g[3])))
            er.append((p[2] / p[3]) / (g[2] / g[3]))
    changes = sum(a != b for a, b in zip(status, status[1:]))
    return {
        "fragment": changes / max(1, len(status) - 1),
        "centre": float(np.std(ex) + np.std(ey)) if len(ex) > 1 else 0.0,
        "scale_ratio": float(np.std(es) + np.std(er)) if len(es) > 1 else 0.0,
    }


# --- several products in one track -------------------------------------------------------------


class ProductsTruth(Protocol):
    frame_count: int

    def product_masks(self, index: int) -> list[np.ndarray]: ...


def mostly_on(pred: np.ndarray, others: Sequence[np.ndarray | None]) -> int | None:
    """The index of the mask in ``others`` that holds more than half of ``pred``'s pixels (None
    entries are skipped), or None when there is none or ``pred`` is empty."""
    n = np.count_nonzero(pred)
    if n == 0:
        return None
    for k, other in enumerate(others):
        if other is not None and 2 * np.count_nonzero(pred & other) > n:
            return k
    return None


@dataclass
class CrossProductScores:
    """Errors between the products of one track, against their truth (``cross_product_scores``).

    ``on_other[k]``: ``(frame, j)`` for each frame where product ``k``'s mask lies mostly (more than
    half of its pixels) on product ``j``'s true visible region. ``swaps``: ``(frame, a, b)`` for
    each frame where products ``a`` and ``b`` become exchanged (each one's mask mostly on the
    other's truth; a run of exchanged frames counts once), ``swap_frames`` every such frame and
    pair. ``double_pixels``: pixels claimed by two products or more, summed over frames
    (``double_frames``: frames with any). A joint tracker must keep this at 0.
    """

    on_other: list[list[tuple[int, int]]]
    swaps: list[tuple[int, int, int]]
    swap_frames: int
    double_pixels: int
    double_frames: int


def cross_product_scores(track: Track, truth: ProductsTruth, ids: Sequence[str] | None = None) -> CrossProductScores:
    """Cross-product errors of ``track`` whose objects ``ids`` (default: all, in order) are the
    truth's products in the same order."""
    ids = list(track.ids if ids is None else ids)
    on_other: list[list[tuple[int, int]]] = [[] for _ in ids]
    swaps: list[tuple[int, int, int]] = []
    swap_frames = double_pixels = double_frames = 0
    exchanged: set[tuple[int, int]] = set()
    for i in range(truth.frame_count):
        preds = [track.mask(i, object_id) for object_id in ids]
        truths = truth.product_masks(i)
        claims = np.sum(preds, axis=0, dtype=np.uint8) if preds else np.zeros(0, np.uint8)
        doubled = int(np.count_nonzero(claims >= 2))
        double_pixels += doubled
        double_frames += int(doubled > 0)
        on = []
        for k, pred in enumerate(preds):
            j = mostly_on(pred, [t if j != k else None for j, t in enumerate(truths)])
            on.append(j)
            if j is not None:
                on_other[k].append((i, j))
        now = {(a, b) for a, b in ((a, on[a]) for a in range(len(on))) if b is not None and a < b and on[b] == a}
        swap_frames += len(now)
        swaps.extend((i, a, b) for a, b in sorted(now - exchanged))
        exchanged = now
    return CrossProductScores(on_other, swaps, swap_frames, double_pixels, double_frames)
