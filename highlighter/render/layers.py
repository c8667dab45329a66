"""Layers: what a look paints, as colour and alpha, so one description drives every output.

A look does not change pixels itself; it returns a ``Layer``. ``blend`` lays it over the frame for
the MP4, and ``OverlayCanvas`` stacks the same layers on a transparent canvas for the overlay output
(WebM with alpha / ProRes 4444). Composited over the plain video, the overlay gives the MP4 back.

A layer is ``colour`` and ``alpha`` inside a rectangle (where the product is: the per-pixel work
stays there), plus one uniform ``outside`` alpha for the rest of the frame (a spotlight's dimming,
a background blur). Colours are RGB ``uint8``; alphas ``uint8`` 0..255.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Colour = tuple[int, int, int]


@dataclass
class Layer:
    """Paint for one frame.

    Inside ``rect`` = ``(rows, cols)`` slices: ``colour`` (an ``(h, w, 3)`` array or one RGB triple)
    at ``alpha`` (``(h, w)``). Everywhere else: ``outside_colour`` (an RGB triple or a full-frame
    ``(H, W, 3)`` array) at the uniform ``outside`` alpha.
    """

    rect: tuple[slice, slice] | None = None
    colour: np.ndarray | Colour = (0, 0, 0)
    alpha: np.ndarray | None = None
    outside: int = 0
    outside_colour: np.ndarray | Colour = (0, 0, 0)


def _colour_array(colour: np.ndarray | Colour, shape: tuple[int, int], rect: tuple[slice, slice] | None = None) -> np.ndarray:
    if isinstance(colour, np.ndarray):
        return colour if rect is None or colour.shape[:2] == shape else colour[rect]
    out = np.empty((*shape, 3), np.uint8)
    out[...] = np.array(colour, np.uint8)  # not np.full(shape, tuple): that fills element by element, 10x slower
    return out


def blend(frame: np.ndarray, layer: Layer | None, opacity: float = 1.0, *, inplace: bool = False) -> np.ndarray:
    """``frame`` with ``layer`` laid over it at ``opacity`` (0..1); a new array unless nothing changes.

    ``inplace`` paints into ``frame`` itself (the compositor's own picture: no 6 MB copy per look
    per frame); the layer must not be a view of ``frame``.
    """
    if layer is None or opacity <= 0.0:
        return frame
    out = frame
    if layer.outside > 0:
        a = layer.outside / 255 * opacity
        saved = frame[layer.rect].copy() if layer.rect is not None else None
        dst = frame if inplace else None
        if isinstance(layer.outside_colour, np.ndarray):
            out = cv2.addWeighted(frame, 1 - a, layer.outside_colour, a, 0, dst=dst)
        elif layer.outside_colour == (0, 0, 0):
            out = cv2.convertScaleAbs(frame, dst=dst, alpha=1 - a)
        else:
            out = cv2.add(cv2.convertScaleAbs(frame, alpha=1 - a), tuple(float(c) * a for c in layer.outside_colour) + (0.0,), dst=dst)
        if saved is not None:
            out[layer.rect] = saved
    if layer.rect is not None and layer.alpha is not None:
        if out is frame and not inplace:
            out = frame.copy()
        alpha = layer.alpha if opacity >= 1.0 else cv2.convertScaleAbs(layer.alpha, alpha=opacity)
        if not isinstance(layer.colour, np.ndarray) and tuple(layer.colour) == (0, 0, 0):
            out[layer.rect] = cv2.multiply(out[layer.rect], cv2.cvtColor(cv2.bitwise_not(alpha), cv2.COLOR_GRAY2RGB), scale=1 / 255)
        else:
            colour = _colour_array(layer.colour, alpha.shape, layer.rect) if isinstance(layer.colour, np.ndarray) else layer.colour
            out[layer.rect] = mix(out[layer.rect], colour, alpha)
    return out


def mix(base: np.ndarray, colour: np.ndarray | Colour, alpha: np.ndarray) -> np.ndarray:
    """``base * (1 - alpha) + colour * alpha`` in ``uint8`` (alpha 0..255), exact where alpha is 0 or 255.

    Two 8-bit multiplies beat ``cv2.blendLinear``'s float weights about 3x on a product-sized patch;
    a single colour is multiplied as a scalar (no patch-sized colour array is built).
    """
    alpha3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB)
    kept = cv2.multiply(base, cv2.bitwise_not(alpha3), scale=1 / 255)
    if isinstance(colour, np.ndarray) and colour.ndim == 3:
        painted = cv2.multiply(colour, alpha3, scale=1 / 255)
    else:
        painted = cv2.multiply(alpha3, tuple(float(c) for c in np.ravel(colour)[:3]) + (0.0,), scale=1 / 255)
    return cv2.add(kept, painted)


class OverlayCanvas:
    """Layers stacked on a transparent ``(H, W)`` canvas (premultiplied ``float32`` while painting)."""

    def __init__(self, height: int, width: int) -> None:
        self.rgb = np.zeros((height, width, 3), np.float32)  # premultiplied colour, 0..1
        self.alpha = np.zeros((height, width), np.float32)  # 0..1

    def clear(self) -> None:
        self.rgb.fill(0)
        self.alpha.fill(0)

    def paint(self, layer: Layer | None, opacity: float = 1.0) -> None:
        """Porter-Duff "over": the layer on top of what is painted so far."""
        if layer is None or opacity <= 0.0:
            return
        height, width = self.alpha.shape
        if layer.outside > 0:
            a = layer.outside / 255 * opacity
            saved = (self.rgb[layer.rect].copy(), self.alpha[layer.rect].copy()) if layer.rect is not None else None
            colour = _colour_array(layer.outside_colour, (height, width)).astype(np.float32) / 255
            self.rgb *= 1 - a
            self.rgb += colour * a
            self.alpha *= 1 - a
            self.alpha += a
            if saved is not None:
                self.rgb[layer.rect], self.alpha[layer.rect] = saved
        if layer.rect is not None and layer.alpha is not None:
            a = layer.alpha.astype(np.float32) * (opacity / 255)
            colour = _colour_array(layer.colour, a.shape, layer.rect).astype(np.float32) / 255
            rgb, alpha = self.rgb[layer.rect], self.alpha[layer.rect]
            self.rgb[layer.rect] = colour * a[..., None] + rgb * (1 - a[..., None])
            self.alpha[layer.rect] = a + alpha * (1 - a)

    def rgba(self) -> np.ndarray:
        """The canvas as straight (not premultiplied) RGBA ``uint8``, ``(H, W, 4)``."""
        alpha = self.alpha[..., None]
        rgb = np.divide(self.rgb, alpha, out=np.zeros_like(self.rgb), where=alpha > 1e-6)
        out = np.empty((*self.alpha.shape, 4), np.uint8)
        out[..., :3] = np.clip(rgb * 255 + 0.5, 0, 255)
        out[..., 3] = np.clip(self.alpha * 255 + 0.5, 0, 255)
        return out
