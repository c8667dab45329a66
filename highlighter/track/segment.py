"""Masks from evidence: a graph cut over per-pixel scores, colour likelihoods, and the prompt's first mask.

- ``graph_cut``: the exact minimum of ``sum(unary) + smoothness * sum(contrast-weighted label
  changes)`` on the 4-connected pixel grid (Boykov-Jolly; GrabCut's pairwise term with its
  ``beta``), solved by max-flow (PyMaxflow). ``unary`` is each pixel's log-odds of being the target:
  positive wants the target. The cut follows edges of the image where the evidence is unsure.
- ``ColourLikelihood``: foreground and background colour histograms of a region (16 bins a channel,
  smoothed), and the log-likelihood ratio of each pixel's colour under them.
- ``mask_from_box``: GrabCut (OpenCV) seeded by the marketer's box: everything outside is
  background, the colour models and the cut are re-estimated inside. Never empty: a box that covers
  something is the marketer saying the product is there.
- ``mask_from_click``: the smallest GrabCut box around a click whose object fits inside it.

Masks are bool ``(h, w)``; boxes ``[x, y, w, h]`` in pixels of the image given; images RGB uint8.
"""

from __future__ import annotations

import cv2
import maxflow
import numpy as np
from scipy.ndimage import uniform_filter

_RIGHT = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
_DOWN = np.array([[0, 0, 0], [0, 0, 0], [0, 1, 0]])


def logit(p: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """log(p / (1 - p)) as float32, with ``p`` clipped to ``[eps, 1 - eps]``."""
    q = np.clip(p, eps, 1 - eps)
    return np.log(q / (1 - q)).astype(np.float32)


def graph_cut(rgb: np.ndarray, unary: np.ndarray, smoothness: float = 2.0) -> np.ndarray:
    """The bool mask minimising ``-unary`` on its pixels plus the contrast-weighted boundary length.

    ``unary``: ``(h, w)`` log-odds of the target (0: no opinion). ``smoothness``: the cost of a label
    change between two neighbours of the same colour (it falls as ``exp(-beta * |colour step|^2)``,
    ``beta`` from the image's mean step, so edges of the image are cheap to cut along).
    """
    img = rgb.astype(np.float32)
    dx = np.square(img[:, 1:] - img[:, :-1]).sum(-1)
    dy = np.square(img[1:] - img[:-1]).sum(-1)
    mean = (dx.mean() if dx.size else 0.0) + (dy.mean() if dy.size else 0.0)
    beta = 1.0 / max(1e-6, mean)  # GrabCut: 1 / (2 <|step|^2>), with the mean over both directions
    h, w = unary.shape
    graph = maxflow.Graph[float]()
    nodes = graph.add_grid_nodes((h, w))
    right = np.zeros((h, w), np.float32)
    right[:, :-1] = smoothness * np.exp(-beta * dx)
    down = np.zeros((h, w), np.float32)
    down[:-1, :] = smoothness * np.exp(-beta * dy)
    graph.add_grid_edges(nodes, weights=right, structure=_RIGHT, symmetric=True)
    graph.add_grid_edges(nodes, weights=down, structure=_DOWN, symmetric=True)
    # The source side is the target: cutting a pixel from it costs its positive log-odds, and the
    # other way round.
    graph.add_grid_tedges(nodes, np.maximum(unary, 0), np.maximum(-unary, 0))
    graph.maxflow()
    return ~graph.get_grid_segments(nodes)


class ColourLikelihood:
    """Foreground/background colour histograms (``bins`` per RGB channel), updated with forgetting.

    ``forget``: the weight of the newest region in the running model (1.0 keeps only the newest).
    """

    def __init__(self, bins: int = 16, forget: float = 0.3) -> None:
        self.bins, self.forget = bins, forget
        self.fg: np.ndarray | None = None
        self.bg: np.ndarray | None = None

    def _index(self, rgb: np.ndarray) -> np.ndarray:
        q = rgb.astype(np.int32) * self.bins // 256
        return (q[..., 0] * self.bins + q[..., 1]) * self.bins + q[..., 2]

    def _histogram(self, index: np.ndarray) -> np.ndarray:
        b = self.bins
        h = np.bincount(index, minlength=b**3).astype(np.float64).reshape(b, b, b)
        h = uniform_filter(h, size=3, mode="constant")  # neighbouring colours are likely too
        return (h / max(h.sum(), 1e-9)).ravel()

    def update(self, rgb: np.ndarray, mask: np.ndarray) -> None:
        """Learn from ``rgb``'s pixels: ``mask`` the target's, the rest the background's."""
        index = self._index(rgb)
        fg, bg = self._histogram(index[mask]), self._histogram(index[~mask])
        if self.fg is None or self.bg is None:
            self.fg, self.bg = fg, bg
        else:
            self.fg = (1 - self.forget) * self.fg + self.forget * fg
            self.bg = (1 - self.forget) * self.bg + self.forget * bg

    def log_ratio(self, rgb: np.ndarray) -> np.ndarray:
        """``log(P(colour | target) / P(colour | background))`` per pixel, float32."""
        assert self.fg is not None and self.bg is not None, "update() first"
        index = self._index(rgb)
        eps = 1e-5
        return np.log((self.fg[index] + eps) / (self.bg[index] + eps)).astype(np.float32)


def mask_from_box(rgb: np.ndarray, box: tuple[float, float, float, float], *, iterations: int = 5) -> np.ndarray:
    """GrabCut of the ``[x, y, w, h]`` box on ``rgb``: the target's mask (bool, the image's size).

    Runs on a crop around the box (15% of its long side as context), shrunk so its long side is at
    most 320 px. When the cut keeps nothing (a box around a flat patch), the box itself is the mask.
    """
    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    x0, y0 = int(np.clip(np.floor(x), 0, w - 1)), int(np.clip(np.floor(y), 0, h - 1))
    x1, y1 = int(np.clip(np.ceil(x + bw), x0 + 1, w)), int(np.clip(np.ceil(y + bh), y0 + 1, h))
    out = np.zeros((h, w), bool)
    m = int(0.15 * max(x1 - x0, y1 - y0)) + 8
    cx0, cy0, cx1, cy1 = max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)
    crop = rgb[cy0:cy1, cx0:cx1]
    scale = min(1.0, 320.0 / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    rect = (int((x0 - cx0) * scale), int((y0 - cy0) * scale), max(1, int((x1 - x0) * scale)), max(1, int((y1 - y0) * scale)))
    labels = np.zeros(small.shape[:2], np.uint8)
    if rect[2] >= 2 and rect[3] >= 2 and (rect[2] < small.shape[1] or rect[3] < small.shape[0]):
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        # GrabCut seeds its colour models with k-means on OpenCV's global random generator: without
        # a fixed seed the same box gives another mask depending on what ran before in the process.
        cv2.setRNGSeed(0)
        try:
            cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), labels, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
        except cv2.error:  # a flat crop: no colour model can be fitted
            labels[:] = cv2.GC_BGD
    fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1:
        fg = cv2.resize(fg, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_LINEAR)
    out[cy0:cy1, cx0:cx1] = fg > 0
    out[:, :x0] = out[:, x1:] = False
    out[:y0] = out[y1:] = False
    if np.count_nonzero(out) < 0.05 * (x1 - x0) * (y1 - y0):
        out[y0:y1, x0:x1] = True  # the marketer said the product is in the box
    return out


def mask_from_click(rgb: np.ndarray, x: float, y: float, *, sizes: tuple[float, ...] = (0.1, 0.2, 0.35, 0.55)) -> np.ndarray:
    """The object under a click at ``(x, y)``: GrabCut in square boxes of growing size around the
    click (``sizes`` as fractions of the image's short side); the first whose object fits inside
    its box (holds the click and keeps off the box's sides, except at the image's edge) wins, else
    the largest. Never empty."""
    h, w = rgb.shape[:2]
    short = min(h, w)
    best = None
    for size in sizes:
        side = max(8.0, size * short)
        bx, by = max(0.0, x - side / 2), max(0.0, y - side / 2)
        bw, bh = min(float(w), x + side / 2) - bx, min(float(h), y + side / 2) - by
        mask = mask_from_box(rgb, (bx, by, bw, bh))
        _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        label = labels[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))]
        if label == 0:
            continue
        mask = labels == label
        best = mask
        ys, xs = np.nonzero(mask)
        inner = (
            (xs.min() > bx + 1 or bx <= 0)
            and (ys.min() > by + 1 or by <= 0)
            and (xs.max() < bx + bw - 2 or bx + bw >= w)
            and (ys.max() < by + bh - 2 or by + bh >= h)
        )
        if inner:
            return mask
    if best is None:  # nothing distinct under the click: a small disc there
        best = np.zeros((h, w), bool)
        cv2.circle(best.view(np.uint8), (int(x), int(y)), max(2, int(0.03 * short)), 1, -1)
    return best
