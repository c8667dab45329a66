"""A generated video of two products for the several-product tests (web, workers, browser)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from highlighter.eval.synthetic import Scene, SceneObject, write_scene

FPS, WIDTH, HEIGHT = 25, 640, 360


@dataclass(frozen=True)
class Growing(SceneObject):
    """A scene object whose size goes from ``grow[0]`` to ``grow[1]`` times its radius over ``seconds``."""

    grow: tuple[float, float] = (1.0, 1.0)
    seconds: float = 5.0

    def geometry(self, t: float, width: int) -> tuple[float, float, float, float]:
        cx, cy, rx, ry = super().geometry(t, width)
        scale = self.grow[0] + (self.grow[1] - self.grow[0]) * min(1.0, t / self.seconds)
        return cx, cy, rx * scale, ry * scale


def _drifting(colour: str, shape: str, radius, centre_xy, grow, seconds: float) -> Growing:
    return Growing(
        colour=colour, shape=shape, radius=radius, centre=centre_xy, amplitude=(14.0, 8.0), frequency=(0.2, 0.3),
        phase=(0.0, math.pi / 2), grow=grow, seconds=seconds,
    )  # fmt: skip


def write_two_products(path: str | Path, *, seconds: float = 5.0) -> Scene:
    """Write a ``seconds`` long 640x360 video (with sound) of a red box on the left that shrinks
    (``scene.objects[0]``) and a blue ball on the right that grows (``objects[1]``); return its scene.

    They stay 340 px apart, more than a 9:16 window of this frame is wide (202 px), so a camera that
    follows the product most in view must move from the box (first half) to the ball (second half).
    """
    box = _drifting("red", "rect", (50.0, 38.0), (150.0, 180.0), (1.5, 0.5), seconds)
    ball = _drifting("blue", "ellipse", (45.0, 45.0), (490.0, 180.0), (0.5, 1.5), seconds)
    scene = Scene(width=WIDTH, height=HEIGHT, fps=FPS, frame_count=int(seconds * FPS), seed=11, background="textured",
                  objects=(box, ball))  # fmt: skip
    write_scene(path, scene)
    return scene


def centre(scene: Scene, k: int, index: int) -> tuple[float, float]:
    """The centre of product ``k`` (0: the box, 1: the ball) on frame ``index``, in pixels."""
    cx, cy, _, _ = scene.objects[k].geometry(index / scene.fps, scene.width)
    return cx, cy
