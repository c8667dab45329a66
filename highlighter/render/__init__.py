"""Rendering: looks drawn from a track, the reframe camera, and the compositor that streams frames.

``render_video`` (one output) and ``render_outputs`` (several from one decode) are the entry points;
``presets`` lists what a marketer can choose; ``effects``, ``matte``, ``layers``, ``reframe``,
``outputs`` and ``compositor`` are the parts.
"""

from highlighter.render.compositor import RenderSpec, default_size, parse_aspect, render_outputs, render_video
from highlighter.render.effects import LOOKS, Look, Spotlight, UnknownLook, make_looks
from highlighter.render.presets import ASPECTS, LOOK_CHOICES, MOTIONS, SAFE_ZONES
from highlighter.render.reframe import CameraPath, crop_path, plan_camera, window_size

__all__ = [
    "ASPECTS",
    "LOOKS",
    "LOOK_CHOICES",
    "MOTIONS",
    "SAFE_ZONES",
    "CameraPath",
    "Look",
    "RenderSpec",
    "Spotlight",
    "UnknownLook",
    "crop_path",
    "default_size",
    "make_looks",
    "parse_aspect",
    "plan_camera",
    "render_outputs",
    "render_video",
    "window_size",
]
