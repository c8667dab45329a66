"""Looks: per-frame effects that draw attention to the product.

A look is a small object with ``apply(frame, mask) -> frame``: ``frame`` is an RGB ``uint8`` array of
shape ``(H, W, 3)``, ``mask`` a boolean ``(H, W)`` array that is True on the product (all False when the
product is hidden). Looks never modify their input and return a new ``uint8`` frame of the same shape.
Sizes that should look the same at any resolution (feathers, outlines) are fractions of the frame's
short side, turned into pixels per frame.

They run once per frame at up to 1080p, so the pixel work is done by OpenCV (SIMD, no Python loops)
in ``uint8`` with ``cv2.multiply(..., scale=1/255)`` rather than numpy float32 (about 4x less memory
traffic).

Add a look by writing a sibling class and registering it in ``LOOKS``::

    >>> looks = make_looks(["spotlight"])
    >>> out = looks[0].apply(frame, mask)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import cv2
import numpy as np

from highlighter.errors import HighlighterError


class UnknownLook(HighlighterError, ValueError):
    """A style name that is not in ``LOOKS``."""


class Look(Protocol):
    name: str

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


def mask_region(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The ``(rows, cols)`` slices of the mask's bounding box grown by ``margin`` px, or None if empty.

    Looks do their per-pixel work only there: a product covering a tenth of a 1080p frame then costs
    a tenth of the blur and blend.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (
        slice(max(0, rows[0] - margin), min(height, rows[-1] + 1 + margin)),
        slice(max(0, cols[0] - margin), min(width, cols[-1] + 1 + margin)),
    )


def feather_margin(feather_px: float) -> int:
    """How far (px) a feather of ``feather_px`` reaches beyond the mask (OpenCV's 8-bit kernel radius)."""
    return int(np.ceil(3 * feather_px / 2)) + 2


def soft_alpha(mask: np.ndarray, feather_px: float) -> np.ndarray:
    """A ``uint8`` alpha (255 on the product) whose edge fades out over about ``feather_px`` pixels.

    The fade lies *outside* the mask: ``max(mask, blur(mask))`` keeps every product pixel at 255, so
    the product itself is never touched by a look's background treatment.
    """
    hard = mask.view(np.uint8) * np.uint8(255) if mask.dtype == bool else (mask > 0).astype(np.uint8) * 255
    if feather_px < 0.5 or not hard.any():
        return hard
    height, width = hard.shape
    sigma = feather_px / 2  # a Gaussian fades to ~0 at 2 sigma: the feather is the visible fade width
    # Blur at reduced size when the feather is wide: a smooth ramp survives the upscale, and the blur
    # costs 1/step^2 as much.
    step = max(1, int(sigma // 1.5))
    if step > 1:
        small = cv2.resize(hard, (max(1, width // step), max(1, height // step)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / step, borderType=cv2.BORDER_REPLICATE)
        soft = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        soft = cv2.GaussianBlur(hard, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return cv2.max(hard, soft)


class Spotlight:
    """Dim everything but the product, with a soft edge.

    ``strength`` is how much the background is darkened: 0.65 multiplies it by 0.35. ``feather`` is the
    width of the soft edge as a fraction of the frame's short side (0.006 is ~6 px at 1080p).
    When the product is hidden (empty mask) the whole frame stays dimmed, so the look does not flicker
    on and off through short occlusions.
    """

    name = "spotlight"

    def __init__(self, *, strength: float = 0.65, feather: float = 0.006) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"spotlight strength must be between 0 and 1, got {strength}")
        self.strength = strength
        self.feather = feather
        self._keep = round((1.0 - strength) * 255)  # background gain in 1/255 units

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        if mask.shape != (height, width):
            raise ValueError(f"mask {mask.shape} does not match frame {(height, width)}")
        feather_px = self.feather * min(height, width)
        region = mask_region(mask, feather_margin(feather_px))
        if region is None:
            return cv2.convertScaleAbs(frame, alpha=self._keep / 255)
        alpha = soft_alpha(mask[region], feather_px)
        # gain = keep + alpha * (1 - keep): 255 on the product, keep on the background.
        gain = cv2.convertScaleAbs(alpha, alpha=(255 - self._keep) / 255, beta=self._keep)
        lit = cv2.multiply(frame[region], cv2.cvtColor(gain, cv2.COLOR_GRAY2RGB), scale=1 / 255)
        if lit.shape == frame.shape:
            return lit
        out = cv2.convertScaleAbs(frame, alpha=self._keep / 255)
        out[region] = lit
        return out


LOOKS: dict[str, type] = {"spotlight": Spotlight}


def make_looks(names: Iterable[str]) -> list[Look]:
    """Build the looks named (in order, applied first to last) with their default settings."""
    looks = []
    for name in names:
        cls = LOOKS.get(str(name).strip().lower())
        if cls is None:
            choices = ", ".join(sorted(LOOKS))
            raise UnknownLook(f"There is no look called '{name}'. Choose one of: {choices}.")
        looks.append(cls())
    return looks
