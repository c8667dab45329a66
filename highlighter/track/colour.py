"""Colours in HSV: a ``ColourModel`` (a box of hues, saturations and values) named by a colour
word in the description ("the red handbag" -> ``COLOUR_WORDS["red"]``).

Hue is OpenCV's 0..179, saturation and value 0..255.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ColourModel:
    """An HSV box: hue in any of ``hue_ranges`` (inclusive, 0..179) and S, V within their bounds."""

    hue_ranges: tuple[tuple[int, int], ...]
    s_min: int = 0
    s_max: int = 255
    v_min: int = 0
    v_max: int = 255

    def mask(self, hsv: np.ndarray) -> np.ndarray:
        """uint8 mask (0 or 255) of the pixels of an HSV image that have this colour."""
        out = None
        for lo, hi in self.hue_ranges:
            part = cv2.inRange(hsv, (lo, self.s_min, self.v_min), (hi, self.s_max, self.v_max))
            out = part if out is None else cv2.bitwise_or(out, part)
        assert out is not None
        return out


_RED = ((0, 10), (170, 179))
# Colour words as HSV boxes. Overlaps are deliberate (gold sits between orange and yellow).
COLOUR_WORDS: dict[str, ColourModel] = {
    "red": ColourModel(_RED, s_min=100, v_min=60),
    "maroon": ColourModel(((0, 10), (165, 179)), s_min=80, v_min=20, v_max=140),
    "burgundy": ColourModel(((0, 10), (160, 179)), s_min=80, v_min=20, v_max=140),
    "orange": ColourModel(((10, 22),), s_min=120, v_min=120),
    "gold": ColourModel(((18, 32),), s_min=80, v_min=80),
    "golden": ColourModel(((18, 32),), s_min=80, v_min=80),
    "yellow": ColourModel(((22, 35),), s_min=90, v_min=100),
    "green": ColourModel(((35, 85),), s_min=60, v_min=40),
    "teal": ColourModel(((80, 100),), s_min=60, v_min=40),
    "turquoise": ColourModel(((80, 100),), s_min=60, v_min=60),
    "cyan": ColourModel(((85, 100),), s_min=60, v_min=60),
    "blue": ColourModel(((100, 130),), s_min=100, v_min=40),
    "navy": ColourModel(((100, 130),), s_min=80, v_min=20, v_max=130),
    "purple": ColourModel(((130, 155),), s_min=60, v_min=40),
    "violet": ColourModel(((130, 155),), s_min=60, v_min=40),
    "magenta": ColourModel(((145, 170),), s_min=100, v_min=60),
    "pink": ColourModel(((140, 179), (0, 5)), s_min=30, v_min=130),
    "brown": ColourModel(((0, 25),), s_min=60, v_min=20, v_max=160),
    "beige": ColourModel(((10, 30),), s_min=25, s_max=120, v_min=140),
    "tan": ColourModel(((10, 30),), s_min=40, s_max=150, v_min=110),
    "white": ColourModel(((0, 179),), s_max=40, v_min=190),
    "black": ColourModel(((0, 179),), v_max=50),
    "grey": ColourModel(((0, 179),), s_max=40, v_min=60, v_max=190),
    "gray": ColourModel(((0, 179),), s_max=40, v_min=60, v_max=190),
    "silver": ColourModel(((0, 179),), s_max=40, v_min=130, v_max=230),
}


def colour_word(text: str) -> str | None:
    """The first colour word of a description ("the red and white sneaker" -> "red"), or None."""
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in COLOUR_WORDS:
            return word
    return None
