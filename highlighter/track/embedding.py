"""Appearance vectors without weights: colour, outline and texture histograms of a region.

Three blocks, each normalised, weighted and concatenated into one unit vector (cosine similarity):

- colour: a hue x saturation histogram of the region's pixels (18 x 3), plus 4 value bins,
  square-rooted (Hellinger) so one dominant bin does not swamp the rest;
- outline: the orientation histogram of the mask's own edge (8 bins, 0..180 degrees), plus its fill
  ratio: a box and a ball of the same paint differ here. Edges on the frame border are ignored, so a
  product half out of frame keeps its outline;
- texture: the orientation histogram of image gradients inside the region (8 bins).

A model embedder (MobileNetV2 features, an image-text model) replaces this behind ``Embedder``.
"""

from __future__ import annotations

import cv2
import numpy as np

from highlighter.track.parts import Candidate, WorkFrame

_WEIGHTS = {"colour": 0.62, "outline": 0.68, "texture": 0.2}


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class HistogramEmbedder:
    dims = 18 * 3 + 4 + 8 + 5 + 8

    def embed(self, frame: WorkFrame, candidate: Candidate) -> np.ndarray:
        x, y, w, h = (int(v) for v in candidate.box)
        fh, fw = candidate.mask.shape
        # A 2-px margin keeps the mask's edge inside the crop.
        x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(fw, x + w + 2), min(fh, y + h + 2)
        mask = candidate.mask[y0:y1, x0:x1]
        hsv = frame.hsv[y0:y1, x0:x1][mask]
        hue = (hsv[:, 0].astype(np.int32) * 18) // 180
        sat = np.minimum(hsv[:, 1].astype(np.int32) * 3 // 256, 2)
        colour = np.bincount(hue * 3 + sat, minlength=54).astype(np.float64)
        value = np.bincount(np.minimum(hsv[:, 2].astype(np.int32) * 4 // 256, 3), minlength=4).astype(np.float64)
        colour = _unit(np.sqrt(np.r_[colour, 0.5 * value] / max(1, len(hsv))))

        m = mask.astype(np.float32)
        # Replicate the frame's edges so a region cut by the border has no edge along it.
        pad = cv2.BORDER_REPLICATE
        gx, gy = cv2.Sobel(m, cv2.CV_32F, 1, 0, ksize=3, borderType=pad), cv2.Sobel(m, cv2.CV_32F, 0, 1, ksize=3, borderType=pad)
        outline = _orientation_histogram(gx, gy)
        fill = candidate.area / max(1.0, candidate.box[2] * candidate.box[3])
        fill_bins = np.exp(-0.5 * ((fill - np.linspace(0.6, 1.0, 5)) / 0.06) ** 2)
        outline = _unit(np.r_[outline, 0.6 * _unit(fill_bins)])

        grey = frame.grey[y0:y1, x0:x1].astype(np.float32)
        tx, ty = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
        inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        texture = _orientation_histogram(tx * inner, ty * inner)

        return _unit(np.r_[_WEIGHTS["colour"] * colour, _WEIGHTS["outline"] * outline, _WEIGHTS["texture"] * texture])


def _orientation_histogram(gx: np.ndarray, gy: np.ndarray, bins: int = 8) -> np.ndarray:
    """Unit-length histogram of gradient orientations (0..180 degrees) weighted by magnitude."""
    mag = np.hypot(gx, gy).ravel()
    keep = mag > 1e-3
    if not keep.any():
        return np.full(bins, 1.0 / np.sqrt(bins))
    angle = (np.arctan2(gy.ravel()[keep], gx.ravel()[keep]) % np.pi) / np.pi * bins
    hist = np.bincount(np.minimum(angle.astype(np.int32), bins - 1), weights=mag[keep], minlength=bins)
    return _unit(np.sqrt(hist))
