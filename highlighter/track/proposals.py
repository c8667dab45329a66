"""Class-agnostic candidate regions without weights: colour-quantised segments.

The frame's chromatic pixels are grouped around the peaks of their hue histogram (a one-dimensional
mean-shift: each peak is one "paint" in the frame) and split into vivid and muted layers, achromatic pixels into near-white and near-black;
each connected region of one group, holes filled, is a candidate. It knows nothing of the prompt:
the grounder and the memories decide which candidate is the product. Backgrounds of muted, textured
colour produce no candidates because their saturation is low.

Hue is OpenCV's 0..179, saturation and value 0..255; masks at working resolution.
"""

from __future__ import annotations

import cv2
import numpy as np

from highlighter.track.parts import Candidate, WorkFrame, fill_holes

_CHROMA_S, _CHROMA_V = 70, 45  # below these, hue is noise
_HUE_TOLERANCE = 9  # hue steps either side of a peak that still belong to it
_VIVID_S = 140  # saturation splitting vivid paint from muted surfaces of the same hue
_MARGIN = 8  # pixels around a colour group: beyond the reach of its opening and closing (1 + 2 + 2)


class ColourSegmentProposer:
    """Proposes the connected regions of each dominant colour of a frame.

    ``min_fraction`` / ``max_fraction``: candidate area bounds as fractions of the frame (smaller is
    speckle, larger is background or a wall). ``limit``: the largest few candidates are kept.
    """

    def __init__(self, *, min_fraction: float = 2e-4, max_fraction: float = 0.25, limit: int = 12) -> None:
        self.min_fraction, self.max_fraction, self.limit = min_fraction, max_fraction, limit
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def propose(self, frame: WorkFrame) -> list[Candidate]:
        hsv = frame.hsv
        w, h = frame.size
        min_area = max(12.0, self.min_fraction * w * h)
        max_area = self.max_fraction * w * h
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        chroma = (sat >= _CHROMA_S) & (val >= _CHROMA_V)
        # Two saturation layers per hue: a vivid product on a muted background of a nearby hue (a
        # yellow bag on beige stone) is two regions, not one.
        vivid = sat >= _VIVID_S
        groups = []
        for peak in _hue_peaks(hue[chroma], min_area):
            band = _hue_band(hue, peak) & chroma
            groups += [(peak, band & vivid), (peak, band & ~vivid)]
        groups.append((-1, (sat < 40) & (val > 200)))  # white-ish
        groups.append((-2, val < 40))  # black-ish
        # Every group's regions are ranked together first: only the largest few become full masks.
        regions = []
        for _, member in groups:
            count, labels, stats, origin = self._components(member)
            for label in range(1, count):
                if min_area <= stats[label, 4] <= max_area:
                    regions.append((int(stats[label, 4]), labels, label, stats[label, :4], origin))
        regions.sort(key=lambda r: -r[0])
        out: list[Candidate] = []
        for _, labels, label, (x, y, bw, bh), (x0, y0) in regions[: self.limit]:
            mask = np.zeros((h, w), bool)
            mask[y0 + y : y0 + y + bh, x0 + x : x0 + x + bw] = fill_holes(labels[y : y + bh, x : x + bw] == label)
            cand = Candidate.from_mask(mask, source="segment")
            if cand is not None:
                out.append(cand)
        return out

    def _components(self, member: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, tuple[int, int]]:
        """The 8-connected regions of a colour group ``member`` (boolean, the frame's size) once
        opened and closed: ``(count, labels, stats, (x0, y0))`` as ``connectedComponentsWithStats``
        gives them for the frame's window from ``(x0, y0)``. Only the group's bounding box, with a
        margin wider than the opening and closing reach, is filtered and labelled: the same regions
        as over the whole frame, at a fraction of the cost for a group in one part of it."""
        h, w = member.shape
        member = member.astype(np.uint8)
        bx, by, bw, bh = cv2.boundingRect(member)
        x0, y0 = max(0, bx - _MARGIN), max(0, by - _MARGIN)
        x1, y1 = min(w, bx + bw + _MARGIN), min(h, by + bh + _MARGIN)
        m = cv2.morphologyEx(member[y0:y1, x0:x1], cv2.MORPH_OPEN, self._open)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, self._close)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        return count, labels, stats, (x0, y0)


def _hue_peaks(hues: np.ndarray, min_count: float) -> list[int]:
    """Hue values (0..179) at the local maxima of the circular, smoothed hue histogram that hold at
    least ``min_count`` pixels within the tolerance band."""
    if hues.size < min_count:
        return []
    hist = np.bincount(hues.ravel(), minlength=180)[:180].astype(np.float64)
    kernel = np.ones(2 * _HUE_TOLERANCE + 1)
    band = np.convolve(np.r_[hist[-_HUE_TOLERANCE:], hist, hist[:_HUE_TOLERANCE]], kernel, mode="valid")
    smooth = np.convolve(np.r_[hist[-2:], hist, hist[:2]], np.ones(5) / 5, mode="valid")
    peaks = []
    for i in np.argsort(-smooth):
        if band[i] < min_count or smooth[i] <= 0:
            break
        # A new peak must lie outside every kept peak's band; bands may overlap, so a paint next to a
        # bigger one of a nearby hue (a yellow bag on orange-brown stone) still gets its own peak.
        if all(min(abs(i - p), 180 - abs(i - p)) > _HUE_TOLERANCE for p in peaks):
            left, right = smooth[(i - 1) % 180], smooth[(i + 1) % 180]
            if smooth[i] >= left and smooth[i] >= right:
                peaks.append(int(i))
        if len(peaks) >= 8:
            break
    return peaks


def _hue_band(hue: np.ndarray, peak: int) -> np.ndarray:
    d = np.abs(hue.astype(np.int16) - peak)
    return np.minimum(d, 180 - d) <= _HUE_TOLERANCE
