"""Appearance vectors of candidate regions, for the target and distractor memories.

Three blocks, each unit length, weighted and concatenated into one unit vector (cosine similarity):

- learned: ImageNet MobileNetV2 features averaged over the region (``features.ImageNetFeatures.pooled``
  on a crop around it): what the region is, a cup or a hand, a ball or a window;
- colour: a hue x saturation histogram of the region's pixels (18 x 3) plus 4 value bins,
  square-rooted (Hellinger) so one dominant bin does not swamp the rest: the network's features
  barely tell a red box from a blue one;
- outline: the orientation histogram of the mask's own edge (8 bins, 0..180 degrees) plus its fill
  ratio: a box and a ball of the same paint differ here. Edges on the frame border are ignored, so
  a product half out of frame keeps its outline.

A model embedder (an image-text model) replaces this behind ``Embedder``.
"""

from __future__ import annotations

import cv2
import numpy as np

from highlighter.track.features import ImageNetFeatures
from highlighter.track.parts import Candidate, WorkFrame

_WEIGHTS = {"learned": 0.75, "colour": 0.5, "outline": 0.45}
_CROP = 128  # pixels of the square crop the network sees of a region


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class AppearanceEmbedder:
    """``embed(frame, candidate)``: a unit vector; similar regions have a cosine near 1."""

    def __init__(self, features: ImageNetFeatures | None = None) -> None:
        self.features = features or ImageNetFeatures()

    def embed(self, frame: WorkFrame, candidate: Candidate) -> np.ndarray:
        return self.embed_many(frame, [candidate])[0]

    def embed_many(self, frame: WorkFrame, candidates: list[Candidate]) -> list[np.ndarray]:
        """``embed`` of several regions of ``frame``, their crops through the network in one pass."""
        crops = [self._crop(frame, c) for c in candidates]
        learned = self.features.pooled_many([crop for crop, _, _ in crops], [small for _, small, _ in crops])
        out = []
        for c, (_, _, (x0, y0, x1, y1)), vector in zip(candidates, crops, learned):
            mask = c.mask[y0:y1, x0:x1]
            colour = colour_histogram(frame.hsv[y0:y1, x0:x1][mask])
            outline = outline_histogram(mask, c.area / max(1.0, c.box[2] * c.box[3]))
            out.append(_unit(np.r_[_WEIGHTS["learned"] * vector, _WEIGHTS["colour"] * colour, _WEIGHTS["outline"] * outline]))
        return out

    @staticmethod
    def _crop(frame: WorkFrame, candidate: Candidate) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
        """The network's view of a region: its box with a margin resized to ``_CROP`` pixels, the
        mask at that size (the whole crop for a region too thin to show), and the box ``[x0, y0, x1, y1]``."""
        x, y, w, h = (int(v) for v in candidate.box)
        fh, fw = candidate.mask.shape
        # A margin of a tenth of the region (2 px at least) keeps its edge and a little context.
        mx, my = max(2, w // 10), max(2, h // 10)
        x0, y0, x1, y1 = max(0, x - mx), max(0, y - my), min(fw, x + w + mx), min(fh, y + h + my)
        crop = cv2.resize(frame.rgb[y0:y1, x0:x1], (_CROP, _CROP), interpolation=cv2.INTER_AREA)
        small = cv2.resize(candidate.mask[y0:y1, x0:x1].astype(np.uint8), (_CROP, _CROP), interpolation=cv2.INTER_NEAREST) > 0
        return crop, small if small.any() else np.ones_like(small), (x0, y0, x1, y1)


COLOUR_BINS = 54  # 18 hues x 3 saturations


def colour_bins(hsv: np.ndarray) -> np.ndarray:
    """Each OpenCV HSV pixel's colour bin (``(..., 3)`` in, ``...`` out): 18 hues x 3 saturations."""
    hue = (hsv[..., 0].astype(np.int32) * 18) // 180
    return hue * 3 + np.minimum(hsv[..., 1].astype(np.int32) * 3 // 256, 2)


def colour_histogram(hsv: np.ndarray) -> np.ndarray:
    """Unit-length Hellinger histogram of ``(n, 3)`` OpenCV HSV pixels: 18 hues x 3 saturations
    (``colour_bins``), 4 values."""
    colour = np.bincount(colour_bins(hsv), minlength=COLOUR_BINS).astype(np.float64)
    value = np.bincount(np.minimum(hsv[:, 2].astype(np.int32) * 4 // 256, 3), minlength=4).astype(np.float64)
    return _unit(np.sqrt(np.r_[colour, 0.5 * value] / max(1, len(hsv))))


def outline_histogram(mask: np.ndarray, fill: float) -> np.ndarray:
    """Unit-length orientation histogram of a mask's edge (8 bins) with its box fill ratio (5 bins)."""
    m = mask.astype(np.float32)
    pad = cv2.BORDER_REPLICATE  # a region cut by the frame's border has no edge along it
    gx, gy = cv2.Sobel(m, cv2.CV_32F, 1, 0, ksize=3, borderType=pad), cv2.Sobel(m, cv2.CV_32F, 0, 1, ksize=3, borderType=pad)
    edges = _orientation_histogram(gx, gy)
    fill_bins = np.exp(-0.5 * ((fill - np.linspace(0.6, 1.0, 5)) / 0.06) ** 2)
    return _unit(np.r_[edges, 0.6 * _unit(fill_bins)])


def _orientation_histogram(gx: np.ndarray, gy: np.ndarray, bins: int = 8) -> np.ndarray:
    """Unit-length histogram of gradient orientations (0..180 degrees) weighted by magnitude."""
    mag = np.hypot(gx, gy).ravel()
    keep = mag > 1e-3
    if not keep.any():
        return np.full(bins, 1.0 / np.sqrt(bins))
    angle = (np.arctan2(gy.ravel()[keep], gx.ravel()[keep]) % np.pi) / np.pi * bins
    hist = np.bincount(np.minimum(angle.astype(np.int32), bins - 1), weights=mag[keep], minlength=bins)
    return _unit(np.sqrt(hist))
