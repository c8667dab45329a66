"""Looks: effects that draw attention to the product, each a small class with one job.

A look turns ``(frame, matte)`` into a ``Layer`` (``layers.py``): colour and alpha near the product
plus one uniform alpha for the rest of the frame. ``frame`` is RGB ``uint8`` ``(H, W, 3)``; the
``Matte`` (``matte.py``) says where the product is on that frame. Looks combine by stacking: each
is laid over the result of the ones before it. Sizes (feathers, line widths, text) are fractions of
the frame's short side, so a look reads the same at 360 px and at 1920 px.

Per-pixel work runs in OpenCV on the product's patch (SIMD, no Python loops, the GIL released);
only looks that change the whole background (spotlight's dimming, blur) touch every pixel, once.

    >>> looks = make_looks(["spotlight", "outline"], {"outline": {"colour": "#ff0066"}})
    >>> out = looks[1].apply(looks[0].apply(frame, mask), mask)

Add a look by writing a sibling class, registering it in ``LOOKS`` and describing its settings in
``presets.LOOK_CHOICES``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.errors import HighlighterError
from highlighter.render.layers import Colour, Layer, blend
from highlighter.render.matte import Matte
from highlighter.render.presets import LOOK_CHOICES

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


class UnknownLook(HighlighterError, ValueError):
    """A style name that is not in ``LOOKS``, or a setting a look does not take."""


def parse_colour(value: str | Colour) -> Colour:
    """``"#ff0066"`` (or ``"ff0066"``, ``"#f06"``) or an RGB triple -> ``(r, g, b)``."""
    if not isinstance(value, str):
        r, g, b = (int(v) for v in value)
        return (r, g, b)
    text = value.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    try:
        if len(text) != 6:
            raise ValueError
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        raise UnknownLook(f"'{value}' is not a colour. Use a hex colour like #ff0066.") from None


def feather_margin(feather_px: float) -> int:
    """How far (px) a feather of ``feather_px`` reaches beyond the mask (OpenCV's 8-bit kernel radius)."""
    return int(np.ceil(3 * feather_px / 2)) + 2


def blur_alpha(alpha: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a ``uint8`` alpha; wide blurs run at reduced size (a smooth ramp survives
    the upscale, and the blur costs ``1/step^2`` as much)."""
    if sigma < 0.3:
        return alpha
    height, width = alpha.shape
    step = max(1, int(sigma // 1.5))
    if step > 1 and min(height, width) // step >= 2:
        small = cv2.resize(alpha, (max(1, width // step), max(1, height // step)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / step, borderType=cv2.BORDER_REPLICATE)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(alpha, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)


def soft_alpha(alpha: np.ndarray, feather_px: float) -> np.ndarray:
    """A ``uint8`` alpha (255 on the product) whose edge fades out over about ``feather_px`` pixels.

    The fade lies *outside* the product: ``max(alpha, blur(alpha))`` keeps every product pixel at
    255, so the product itself is never touched by a look's background treatment.
    """
    if alpha.dtype == bool:
        alpha = alpha.view(np.uint8) * np.uint8(255)
    if feather_px < 0.5 or not alpha.any():
        return alpha
    # A Gaussian fades to ~0 at 2 sigma: the feather is the visible fade width.
    return cv2.max(alpha, blur_alpha(alpha, feather_px / 2))


def _scaled(alpha: np.ndarray, strength: float) -> np.ndarray:
    return alpha if strength >= 1.0 else cv2.convertScaleAbs(alpha, alpha=strength)


class Look:
    """Base of the looks: settings, and ``apply`` for one-off use (tests, the contact sheet).

    ``colour`` is a brand colour, ``strength`` 0..1 how strong the look is, ``feather`` the soft edge
    as a fraction of the frame's short side. Looks that keep state across frames (which side a label
    sits on) reset it with ``reset()`` at shot cuts and before each video.
    """

    name = ""

    def __init__(self, *, colour: str | Colour = "#ffffff", strength: float = 1.0, feather: float = 0.006) -> None:
        if not 0.0 <= float(strength) <= 1.0:
            raise UnknownLook(f"The {self.name} strength must be between 0 and 1, got {strength}.")
        if not 0.0 <= float(feather) <= 0.2:
            raise UnknownLook(f"The {self.name} feather must be between 0 and 0.2, got {feather}.")
        self.colour = parse_colour(colour)
        self.strength = float(strength)
        self.feather = float(feather)

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer | None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-video state (nothing for most looks)."""

    def apply(self, frame: np.ndarray, mask: np.ndarray | Matte, presence: float = 1.0) -> np.ndarray:
        """The look drawn on ``frame`` for a full-frame ``mask`` (bool) or a ``Matte``; a new frame."""
        matte = mask if isinstance(mask, Matte) else Matte.from_mask(mask, presence=presence)
        if matte.shape != frame.shape[:2]:
            raise ValueError(f"mask {matte.shape} does not match frame {frame.shape[:2]}")
        out = blend(frame, self.layer(frame, matte), matte.presence)
        return out.copy() if out is frame else out

    @staticmethod
    def short_side(frame: np.ndarray) -> int:
        return min(frame.shape[:2])


class Spotlight(Look):
    """Dim, and optionally desaturate, everything but the product, with a soft edge.

    ``strength`` 0.65 multiplies the background by 0.35; ``desaturate`` 0..1 drains its colour.
    While the product is hidden inside a bridged gap the whole frame stays dimmed, so the look does
    not flicker through short occlusions (the fade handles longer ones).
    """

    name = "spotlight"

    def __init__(self, *, strength: float = 0.65, feather: float = 0.006, desaturate: float = 0.0) -> None:
        super().__init__(colour="#000000", strength=strength, feather=feather)
        if not 0.0 <= float(desaturate) <= 1.0:
            raise UnknownLook(f"The spotlight desaturate must be between 0 and 1, got {desaturate}.")
        self.desaturate = float(desaturate)

    def _background(self, frame: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        mixed = cv2.addWeighted(frame, 1 - self.desaturate, grey, self.desaturate, 0)
        return cv2.convertScaleAbs(mixed, alpha=1 - self.strength)

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer:
        feather_px = self.feather * self.short_side(frame)
        patch = matte.patch(feather_margin(feather_px))
        if self.desaturate > 0:
            background = self._background(frame)
            if patch is None:
                return Layer(outside=255, outside_colour=background)
            rect, alpha = patch
            return Layer(rect, background[rect], 255 - soft_alpha(alpha, feather_px), 255, background)
        dim = round(self.strength * 255)
        if patch is None:
            return Layer(outside=dim)
        rect, alpha = patch
        # Dimming = black at alpha s*(1 - product): the product's own pixels get alpha 0.
        return Layer(rect, (0, 0, 0), _scaled(255 - soft_alpha(alpha, feather_px), self.strength), dim)


class Glow(Look):
    """A soft halo of ``colour`` around the product, ``feather`` wide, outside it only."""

    name = "glow"

    def __init__(self, *, colour: str = "#ffd23f", strength: float = 0.85, feather: float = 0.03) -> None:
        super().__init__(colour=colour, strength=strength, feather=feather)

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer | None:
        reach = self.feather * self.short_side(frame)
        patch = matte.patch(int(reach * 1.5) + 2)
        if patch is None:
            return None
        rect, alpha = patch
        halo = cv2.convertScaleAbs(blur_alpha(alpha, reach / 2), alpha=2.0)  # x2: full strength at the edge
        ring = cv2.multiply(halo, 255 - alpha, scale=1 / 255)
        return Layer(rect, self.colour, _scaled(ring, self.strength))


class Outline(Look):
    """A line of ``colour``, ``width`` (fraction of the short side) wide, hugging the product's edge.

    The line is measured from the temporally smoothed edge, so it does not shimmer; its outer edge
    is anti-aliased over ``feather``.
    """

    name = "outline"

    def __init__(self, *, colour: str = "#ffffff", strength: float = 1.0, width: float = 0.006, feather: float = 0.0015) -> None:
        super().__init__(colour=colour, strength=strength, feather=feather)
        self.width = float(width)

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer | None:
        short = self.short_side(frame)
        width_px = max(1.0, self.width * short)
        soft_px = max(0.5, self.feather * short)
        patch = matte.patch(int(math.ceil(width_px + soft_px)) + 2)
        if patch is None:
            return None
        rect, alpha = patch
        outside = (alpha < 128).view(np.uint8)
        distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)  # px from the product, 0 on it
        # 255 up to width_px from the edge, then a linear fall-off over soft_px (anti-aliasing).
        # Truncate the distance at the line's outer edge first: past it the ramp would go negative,
        # and convertScaleAbs would fold those values back up.
        reach = width_px + soft_px / 2
        distance = cv2.threshold(distance, reach, reach, cv2.THRESH_TRUNC)[1]
        ring = cv2.convertScaleAbs(distance, alpha=-255 / soft_px, beta=255 * reach / soft_px)
        ring = cv2.multiply(ring, 255 - alpha, scale=1 / 255)  # inside the product: nothing
        return Layer(rect, self.colour, _scaled(ring, self.strength))


class Tint(Look):
    """Wash the product with ``colour`` at ``strength`` (its detail shows through)."""

    name = "tint"

    def __init__(self, *, colour: str = "#ff3b6b", strength: float = 0.35, feather: float = 0.004) -> None:
        super().__init__(colour=colour, strength=strength, feather=feather)

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer | None:
        feather_px = self.feather * self.short_side(frame)
        patch = matte.patch(feather_margin(feather_px))
        if patch is None:
            return None
        rect, alpha = patch
        return Layer(rect, self.colour, _scaled(blur_alpha(alpha, feather_px / 2), self.strength))


class BlurBackground(Look):
    """Blur everything but the product; ``radius`` is the blur's sigma as a fraction of the short side."""

    name = "blur"

    def __init__(self, *, strength: float = 1.0, radius: float = 0.02, feather: float = 0.008) -> None:
        super().__init__(colour="#000000", strength=strength, feather=feather)
        self.radius = float(radius)

    def _blurred(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        sigma = max(1.0, self.radius * min(height, width))
        step = max(1, int(sigma // 2))  # blur a small copy: same look, a fraction of the cost
        small = cv2.resize(frame, (max(1, width // step), max(1, height // step)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / step, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer:
        blurred = self._blurred(frame)
        full = round(self.strength * 255)
        feather_px = self.feather * self.short_side(frame)
        patch = matte.patch(feather_margin(feather_px))
        if patch is None:
            return Layer(outside=full, outside_colour=blurred)
        rect, alpha = patch
        return Layer(rect, blurred[rect], _scaled(255 - soft_alpha(alpha, feather_px), self.strength), full, blurred)


class Box(Look):
    """A rounded frame of ``colour`` around the product's steady box, ``padding`` outside it."""

    name = "box"

    def __init__(self, *, colour: str = "#ffffff", strength: float = 1.0, width: float = 0.005, padding: float = 0.02) -> None:
        super().__init__(colour=colour, strength=strength, feather=0.0)
        self.width, self.padding = float(width), float(padding)

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer | None:
        if matte.box is None:
            return None
        height, width = frame.shape[:2]
        short = min(height, width)
        thick = max(1, round(self.width * short))
        pad = self.padding * short
        bx, by, bw, bh = matte.box
        x0, y0, x1, y1 = bx - pad, by - pad, bx + bw + pad, by + bh + pad
        grow = thick + 2
        rows = slice(max(0, int(y0) - grow), min(height, int(math.ceil(y1)) + grow))
        cols = slice(max(0, int(x0) - grow), min(width, int(math.ceil(x1)) + grow))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return None
        canvas = np.zeros((rows.stop - rows.start, cols.stop - cols.start), np.uint8)
        _rounded_rect(canvas, (x0 - cols.start, y0 - rows.start, x1 - cols.start, y1 - rows.start), thick)
        return Layer((rows, cols), self.colour, _scaled(canvas, self.strength))


def _rounded_rect(canvas: np.ndarray, corners: tuple[float, float, float, float], thick: int) -> None:
    """Draw a rounded rectangle outline (anti-aliased, sub-pixel placed) into a ``uint8`` canvas."""
    shift = 4  # OpenCV fixed point: coordinates in 1/16 px, so a steady box does not snap pixel to pixel
    x0, y0, x1, y1 = corners
    r = min(3 * thick, (x1 - x0) / 2, (y1 - y0) / 2)
    f = 1 << shift

    def p(x: float, y: float) -> tuple[int, int]:
        return round(x * f), round(y * f)

    for a, b in (((x0 + r, y0), (x1 - r, y0)), ((x0 + r, y1), (x1 - r, y1)), ((x0, y0 + r), (x0, y1 - r)), ((x1, y0 + r), (x1, y1 - r))):
        cv2.line(canvas, p(*a), p(*b), 255, thick, cv2.LINE_AA, shift)
    axes = p(r, r)
    for centre, angle in (((x0 + r, y0 + r), 180), ((x1 - r, y0 + r), 270), ((x1 - r, y1 - r), 0), ((x0 + r, y1 - r), 90)):
        cv2.ellipse(canvas, p(*centre), axes, angle, 0, 90, 255, thick, cv2.LINE_AA, shift)


@lru_cache(maxsize=16)
def _label_patch(text: str, px: int, colour: Colour, text_colour: Colour) -> np.ndarray:
    """The label as an RGBA ``uint8`` pill: ``text`` in DejaVu Sans Bold, ``px`` high, on ``colour``."""
    from PIL import Image, ImageDraw, ImageFont  # only labels need Pillow

    font = ImageFont.truetype(str(FONT), px) if FONT.exists() else ImageFont.load_default()
    left, top, right, bottom = font.getbbox(text)
    pad_x, pad_y = round(px * 0.6), round(px * 0.35)
    width, height = right - left + 2 * pad_x, bottom - top + 2 * pad_y
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=height // 2, fill=(*colour, 255))
    draw.text((pad_x - left, pad_y - top), text, font=font, fill=(*text_colour, 255))
    return np.asarray(image)


class Label(Look):
    """A callout: ``text`` on a pill of ``colour``, above the product (below when there is no room),
    kept inside the frame. ``size`` is the text height as a fraction of the short side.

    It changes side only when the side it is on runs out of room, so it does not hop between frames.
    """

    name = "label"

    def __init__(self, *, text: str = "", colour: str = "#111111", text_colour: str = "#ffffff", strength: float = 0.9, size: float = 0.035) -> None:
        super().__init__(colour=colour, strength=strength, feather=0.0)
        self.text = text.strip() or "Featured"
        self.text_colour = parse_colour(text_colour)
        self.size = float(size)
        self._below = False

    def reset(self) -> None:
        self._below = False

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer | None:
        if matte.box is None:
            return None
        height, width = frame.shape[:2]
        short = min(height, width)
        patch = _label_patch(self.text, max(8, round(self.size * short)), self.colour, self.text_colour)
        ph, pw = patch.shape[:2]
        if pw > width or ph > height:
            return None
        margin, gap = round(0.03 * short), round(0.02 * short)
        bx, by, bw, bh = matte.box
        above, below = by - gap - ph, by + bh + gap
        if not self._below and above < margin <= height - margin - ph - below:
            self._below = True
        elif self._below and below > height - margin - ph and above >= margin:
            self._below = False
        y = below if self._below else above
        x = bx + bw / 2 - pw / 2
        x = int(round(min(max(x, margin), width - margin - pw)))
        y = int(round(min(max(y, margin), height - margin - ph)))
        rect = (slice(y, y + ph), slice(x, x + pw))
        return Layer(rect, np.ascontiguousarray(patch[..., :3]), _scaled(np.ascontiguousarray(patch[..., 3]), self.strength))


CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


class ZoomInset(Look):
    """A magnified view of the product in a corner, with a ``colour`` border.

    ``size`` is the inset's side as a fraction of the short side, ``magnification`` how much larger
    than in the frame the product appears. ``corner`` ``"auto"`` starts in the corner farthest from
    the product and moves only when the product runs under the inset.
    """

    name = "zoom"

    def __init__(self, *, colour: str = "#ffffff", strength: float = 1.0, size: float = 0.34, magnification: float = 2.0, corner: str = "auto") -> None:
        super().__init__(colour=colour, strength=strength, feather=0.0)
        if corner != "auto" and corner not in CORNERS:
            raise UnknownLook(f"The zoom corner must be 'auto' or one of {', '.join(CORNERS)}, got '{corner}'.")
        if not 1.0 <= float(magnification) <= 8.0:
            raise UnknownLook(f"The zoom magnification must be between 1 and 8, got {magnification}.")
        self.size, self.magnification, self.corner = float(size), float(magnification), corner
        self._corner: str | None = None

    def reset(self) -> None:
        self._corner = None

    def _rect(self, corner: str, width: int, height: int, side: int, margin: int) -> tuple[int, int]:
        x = margin if corner.endswith("left") else width - margin - side
        y = margin if corner.startswith("top") else height - margin - side
        return x, y

    def layer(self, frame: np.ndarray, matte: Matte) -> Layer | None:
        if matte.box is None:
            return None
        height, width = frame.shape[:2]
        short = min(height, width)
        side, margin, border = round(self.size * short), round(0.03 * short), max(2, round(0.006 * short))
        if side < 8 or side + 2 * margin > short:
            return None
        bx, by, bw, bh = matte.box
        cx, cy = bx + bw / 2, by + bh / 2

        def overlaps(corner: str) -> bool:
            x, y = self._rect(corner, width, height, side, margin)
            return bx < x + side and x < bx + bw and by < y + side and y < by + bh

        if self.corner != "auto":
            self._corner = self.corner
        elif self._corner is None or overlaps(self._corner):
            free = [c for c in CORNERS if not overlaps(c)] or list(CORNERS)
            self._corner = max(free, key=lambda c: math.hypot(cx - self._rect(c, width, height, side, margin)[0] - side / 2,
                                                               cy - self._rect(c, width, height, side, margin)[1] - side / 2))  # fmt: skip
        x, y = self._rect(self._corner, width, height, side, margin)
        inner = side - 2 * border
        source = max(4, round(inner / self.magnification))
        sx = int(round(min(max(cx - source / 2, 0), width - source)))
        sy = int(round(min(max(cy - source / 2, 0), height - source)))
        view = cv2.resize(frame[sy : sy + source, sx : sx + source], (inner, inner), interpolation=cv2.INTER_LINEAR)
        tile = np.empty((side, side, 3), np.uint8)
        tile[:] = self.colour
        tile[border : border + inner, border : border + inner] = view
        alpha = np.full((side, side), round(255 * self.strength), np.uint8)
        return Layer((slice(y, y + side), slice(x, x + side)), tile, alpha)


LOOKS: dict[str, type[Look]] = {
    "spotlight": Spotlight,
    "glow": Glow,
    "outline": Outline,
    "tint": Tint,
    "blur": BlurBackground,
    "box": Box,
    "label": Label,
    "zoom": ZoomInset,
}
assert set(LOOKS) == set(LOOK_CHOICES), "every look needs its settings described in presets.LOOK_CHOICES"


def make_looks(names: Iterable[str], options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Look]:
    """Build the looks named (applied first to last), each with its ``options[name]`` settings.

    Raises ``UnknownLook`` (a ``ValueError``) naming the choices for an unknown look or setting.
    """
    options = options or {}
    looks: list[Look] = []
    for raw in names:
        name = str(raw).strip().lower()
        cls = LOOKS.get(name)
        if cls is None:
            raise UnknownLook(f"There is no look called '{raw}'. Choose one of: {', '.join(LOOKS)}.")
        settings = dict(options.get(name) or {})
        allowed = set(LOOK_CHOICES[name]["settings"])
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise UnknownLook(f"The {name} look has no setting '{unknown[0]}'. It takes: {', '.join(sorted(allowed))}.")
        looks.append(cls(**settings))
    return looks
