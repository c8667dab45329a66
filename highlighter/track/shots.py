"""Hard-cut detection by colour-histogram correlation (AutoFlip's rule).

A cut is declared between frames ``t-1`` and ``t`` when ``1 - correl(hist_t, hist_t-1) > 0.3`` on
8x8x8 RGB histograms, and at least 0.2 s after the previous cut. Frames are shrunk to a thumbnail
first: the histogram barely changes and the cost becomes negligible next to tracking.
"""

from __future__ import annotations

import cv2
import numpy as np

CUT_THRESHOLD = 0.3
MIN_SHOT_SECONDS = 0.2
_THUMB = (64, 36)


class CutDetector:
    """Feed frames in order with ``update``; ``shots`` gives inclusive ``[start, end]`` frame ranges."""

    def __init__(self, fps: float) -> None:
        self.min_gap = max(1, int(round(MIN_SHOT_SECONDS * (fps or 25))))
        self.cuts: list[int] = []  # first frame of each shot after the first
        self._previous: np.ndarray | None = None
        self._index = -1

    def update(self, frame: np.ndarray) -> bool:
        """Take the next RGB frame; True when a new shot starts on it."""
        self._index += 1
        thumb = cv2.resize(frame, _THUMB, interpolation=cv2.INTER_AREA)
        hist = cv2.calcHist([thumb], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])
        previous, self._previous = self._previous, hist
        if previous is None:
            return False
        last = self.cuts[-1] if self.cuts else 0
        if self._index - last < self.min_gap:
            return False
        if 1.0 - cv2.compareHist(previous, hist, cv2.HISTCMP_CORREL) > CUT_THRESHOLD:
            self.cuts.append(self._index)
            return True
        return False

    def shots(self, frame_count: int) -> list[list[int]]:
        starts = [0, *[c for c in self.cuts if 0 < c < frame_count]]
        ends = [s - 1 for s in starts[1:]] + [frame_count - 1]
        return [[s, e] for s, e in zip(starts, ends)]


def frame_histogram(frame: np.ndarray) -> np.ndarray:
    """The 8x8x8 RGB histogram of a thumbnail of ``frame``, as ``is_cut`` compares them."""
    thumb = cv2.resize(frame, _THUMB, interpolation=cv2.INTER_AREA)
    return cv2.calcHist([thumb], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])


def is_cut(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two neighbouring frames' histograms differ by a hard cut (either order)."""
    return 1.0 - cv2.compareHist(a, b, cv2.HISTCMP_CORREL) > CUT_THRESHOLD
