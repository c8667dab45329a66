"""Rendering: looks drawn from a track, the reframe camera, and the compositor that streams frames.

``render_video`` (one output) and ``render_outputs`` (several from one decode) are the entry points;
``presets`` lists what a marketer can choose; ``effects``, ``matte``, ``layers``, ``reframe``,
``outputs`` and ``compositor`` are the parts; ``products`` gives each product of a several-product
track its looks and colour (``PRODUCT_COLOURS``), and ``reframe``'s focus whom the camera follows.
"""

from highlighter.render.compositor import RenderSpec, default_size, parse_aspect, render_outputs, render_video
from highlighter.render.effects import LOOKS, Look, Spotlight, UnknownLook, make_looks
from highlighter.render.presets import ASPECTS, LOOK_CHOICES, MOTIONS, PRODUCT_COLOURS, SAFE_ZONES, product_colour
from highlighter.render.products import ProductLook
from highlighter.render.reframe import (
    CameraPath, FocusError, UnknownProduct, crop_path, focus_ranges, plan_camera, product_cameras, window_size,
)  # fmt: skip

__all__ = [
    "ASPECTS",
    "LOOKS",
    "LOOK_CHOICES",
    "MOTIONS",
    "PRODUCT_COLOURS",
    "SAFE_ZONES",
    "CameraPath",
    "FocusError",
    "Look",
    "ProductLook",
    "RenderSpec",
    "Spotlight",
    "UnknownLook",
    "UnknownProduct",
    "crop_path",
    "default_size",
    "focus_ranges",
    "make_looks",
    "parse_aspect",
    "plan_camera",
    "product_cameras",
    "product_colour",
    "render_outputs",
    "render_video",
    "window_size",
]
