"""Hard-cut detection by colour-histogram correlation (AutoFlip's rule).

A cut is declared between frames ``t-1`` and ``t`` when ``1 - correl(hist_t, hist_t-1) > 0.3`` on
8x8x8 RGB histograms, and at least 0.2 s after the previous cut (``CutWalk``, which the trackers
use while they walk the frames). Frames are shrunk to a thumbnail first: the histogram barely
changes and the cost becomes negligible next to tracking.
"""

from __future__ import annotations

import cv2
import numpy as np

CUT_THRESHOLD = 0.3
MIN_SHOT_SECONDS = 0.2
_THUMB = (64, 36)


def frame_histogram(frame: np.ndarray) -> np.ndarray:
    """The 8x8x8 RGB histogram of a thumbnail of ``frame``, as ``is_cut`` compares them."""
    thumb = cv2.resize(frame, _THUMB, interpolation=cv2.INTER_AREA)
    return cv2.calcHist([thumb], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])


def is_cut(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two neighbouring frames' histograms differ by a hard cut (either order)."""
    return 1.0 - cv2.compareHist(a, b, cv2.HISTCMP_CORREL) > CUT_THRESHOLD


class CutWalk:
    """The hard cuts met while walking a video's frames one way from a start frame, AutoFlip's
    ``MIN_SHOT_SECONDS`` apart, added to ``cuts`` (the first frame of each new shot) as they are
    met. ``step(rgb, index)`` takes the next frame of the walk and says whether a cut lies between
    it and the frame walked before: forwards the new shot starts on that frame, backwards on the
    one after it. Forwards, the gap counts from the latest cut already in ``cuts`` (or the video's
    start), and a frame that an earlier walk passed (``index <= known``) is a cut only when that
    walk found one there."""

    def __init__(self, fps: float, start_rgb: np.ndarray, cuts: set[int], *, backward: bool = False, known: int = -1) -> None:
        self.min_gap = max(1, int(round(MIN_SHOT_SECONDS * fps)))
        self.cuts, self.backward, self.known = cuts, backward, known
        self._previous = frame_histogram(start_rgb)
        self._last: int | None = None if backward else max(cuts, default=0)

    def step(self, rgb: np.ndarray, index: int) -> bool:
        hist = frame_histogram(rgb)
        previous, self._previous = self._previous, hist
        if not self.backward and index <= self.known:
            return index in self.cuts
        start = index + 1 if self.backward else index  # the first frame of the new shot
        if self.backward:
            cut = is_cut(hist, previous) and (self._last is None or self._last - start >= self.min_gap)
        else:
            assert self._last is not None
            cut = is_cut(previous, hist) and start - self._last >= self.min_gap
        if cut:
            self.cuts.add(start)
            self._last = start
        return cut
