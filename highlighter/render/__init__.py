"""Rendering: looks drawn from a track, the reframe camera, and the compositor that streams frames.

``render_video`` is the entry point; ``effects``, ``reframe`` and ``compositor`` are its parts.
"""

from highlighter.render.compositor import default_size, parse_aspect, render_video
from highlighter.render.effects import LOOKS, Spotlight, UnknownLook, make_looks
from highlighter.render.reframe import crop_path, window_size

__all__ = [
    "LOOKS",
    "Spotlight",
    "UnknownLook",
    "crop_path",
    "default_size",
    "make_looks",
    "parse_aspect",
    "render_video",
    "window_size",
]
