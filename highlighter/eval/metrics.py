"""Overlap metrics. Masks are bool ``(H, W)`` arrays; boxes are ``[x, y, w, h]`` in pixels.

J (region similarity, DAVIS) is the mask IoU, taken as 1 when both masks are empty: a tracker that
correctly says "not in frame" scores full marks on that frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

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
