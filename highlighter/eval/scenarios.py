"""Scenario families for the tracking evaluation: synthetic videos with exact ground truth.

Each family is one of the ways a tracker that decides frame by frame fails (see DESIGN.md and
FACTS.md, "Anchors for tracking"). ``build(family, seed)`` returns a ``Scenario``: a pure function of
its parameters, so any frame, the target's mask on it, or the other objects' masks can be
recomputed at any time without storing the video::

    scenario = build("occlusion", seed=3)
    truth = write_scenario("clip.mp4", scenario)   # H.264, one frame at a time
    truth.mask(40)                                  # bool (H, W): the target's visible pixels
    scenario.prompt                                 # what the marketer would have said or clicked

Families (all on textured backgrounds, 25 fps):

- ``smooth``: one product moving smoothly with strong scale change, a product of another colour
  elsewhere. Prompted by description.
- ``crossing``: a lookalike of another colour crosses in front of the target, twice.
- ``samecolour``: a lookalike of the same colour and another shape crosses behind the target,
  twice; prompted by a point or a box on frame 0 (colour words cannot tell them apart). Both
  products turn steadily in the hand (30 to 50 degrees over the clip), so the prompted frame's
  view of the target goes stale.
- ``occlusion``: a foreground panel hides the target completely for about a second.
- ``exit``: the target leaves through one side and comes back through the other, while a
  same-colour lookalike of another shape stays in view; prompted by a box on frame 0.
- ``cut``: a hard cut to another background, with the target elsewhere and at another size.
- ``camera``: camera pan and zoom, sensor noise, varying blur and lighting.

Conventions: pixels of the written video, origin top-left; boxes ``[x, y, w, h]``; frame ``i`` is
at ``i / fps`` seconds. Prompt points are ``[x, y, frame, positive]``, boxes ``[x1, y1, x2, y2,
frame]`` (``highlighter.track.prompt.Prompt.from_dict``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.eval.synthetic import PALETTE, Drawable, SceneObject, _background
from highlighter.media import VideoWriter
from highlighter.trackfile import mask_box

FAMILIES = ("smooth", "crossing", "samecolour", "occlusion", "exit", "cut", "camera")
# Colours far apart in hue, so a colour word names exactly one of them.
_COLOURS = ("red", "blue", "green", "yellow", "purple")
_NOUNS = {"ellipse": ("ball", "bag"), "rect": ("box", "bag")}
_CHARCOAL = (52, 54, 60)


@dataclass(frozen=True)
class PathObject(Drawable):
    """A filled shape following straight segments between ``keys`` ``(t, cx, cy, scale)``.

    Times in seconds, centres in pixels; before the first key and after the last it holds still.
    Two keys a few milliseconds apart make a jump (an object that leaves on one side and comes
    back on the other). ``radius`` is the semi-axes (or half-sides) at scale 1, in pixels.
    ``turns`` are ``(t, degrees)`` keys of its in-plane rotation, the same way (none: upright).
    """

    rgb: tuple[int, int, int]
    shape: str
    radius: tuple[float, float]
    keys: tuple[tuple[float, float, float, float], ...]
    shading: float = 0.12
    turns: tuple[tuple[float, float], ...] = ()

    def geometry(self, t: float, width: int) -> tuple[float, float, float, float]:
        _, cx, cy, s = _interpolate(self.keys, t)
        return cx, cy, self.radius[0] * s, self.radius[1] * s

    def angle(self, t: float) -> float:
        return _interpolate(self.turns, t)[1] if self.turns else 0.0

    def fill_rgb(self) -> tuple[int, int, int]:
        return self.rgb


def _interpolate(keys: tuple[tuple[float, ...], ...], t: float) -> tuple[float, ...]:
    """The key at time ``t`` (each key's first value), linear between keys, held outside them."""
    if t <= keys[0][0]:
        return keys[0]
    if t >= keys[-1][0]:
        return keys[-1]
    k = next(i for i in range(1, len(keys)) if keys[i][0] >= t)
    a, b = keys[k - 1], keys[k]
    w = (t - a[0]) / (b[0] - a[0])
    return tuple(x + w * (y - x) for x, y in zip(a, b))


@dataclass(frozen=True)
class Camera:
    """A moving, zooming camera over a world drawn at the frame's size.

    ``keys`` are ``(t, pan_x, pan_y, zoom)``: the view's centre sits ``pan`` pixels from the world's
    centre and magnifies by ``zoom``. ``noise`` is the sensor noise's standard deviation (0..255
    levels); ``blur`` the largest Gaussian blur sigma in pixels; ``light`` the relative amplitude of
    a slow brightness change (0.25: from 0.75x to 1.25x).
    """

    keys: tuple[tuple[float, float, float, float], ...]
    noise: float = 0.0
    blur: float = 0.0
    light: float = 0.0

    def view(self, t: float) -> tuple[float, float, float]:
        return _interpolate(self.keys, t)[1:]  # type: ignore[return-value]


@dataclass(frozen=True)
class _Viewed(Drawable):
    """An object as the camera sees it: the world geometry mapped into the frame."""

    obj: Drawable
    camera: Camera
    width: int
    height: int

    @property
    def shape(self) -> str:  # type: ignore[override]
        return self.obj.shape

    @property
    def shading(self) -> float:  # type: ignore[override]
        return self.obj.shading

    def angle(self, t: float) -> float:
        return self.obj.angle(t)

    def geometry(self, t: float, width: int) -> tuple[float, float, float, float]:
        cx, cy, rx, ry = self.obj.geometry(t, width)
        px, py, z = self.camera.view(t)
        return (
            z * (cx - self.width / 2 - px) + self.width / 2,
            z * (cy - self.height / 2 - py) + self.height / 2,
            rx * z,
            ry * z,
        )

    def fill_rgb(self) -> tuple[int, int, int]:
        return self.obj.fill_rgb()


@dataclass(frozen=True)
class Shot:
    """Frames from ``start`` on (until the next shot): a background and objects drawn in order.

    ``objects[target]`` is the product; objects after it are in front of it.
    """

    start: int
    background_seed: int
    objects: tuple[Drawable, ...]
    target: int
    camera: Camera | None = None


@dataclass(frozen=True)
class Scenario:
    family: str
    seed: int
    width: int
    height: int
    fps: float
    frame_count: int
    shots: tuple[Shot, ...]
    prompt: dict[str, Any]
    _bases: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def shot_of(self, index: int) -> Shot:
        return [s for s in self.shots if s.start <= index][-1]

    def _objects(self, shot: Shot) -> list[Drawable]:
        if shot.camera is None:
            return list(shot.objects)
        return [_Viewed(o, shot.camera, self.width, self.height) for o in shot.objects]

    def _base(self, shot: Shot) -> np.ndarray:
        if shot.background_seed not in self._bases:
            margin = 1.6 if shot.camera is not None else 1.0  # room to pan and zoom out
            w, h = int(self.width * margin), int(self.height * margin)
            self._bases[shot.background_seed] = _background(w, h, shot.background_seed, "textured")
        return self._bases[shot.background_seed]

    def render(self, index: int) -> np.ndarray:
        """Frame ``index`` as an RGB uint8 array."""
        shot, t = self.shot_of(index), index / self.fps
        base = self._base(shot)
        cam = shot.camera
        if cam is None:
            frame = base.copy()
        else:
            px, py, z = cam.view(t)
            bh, bw = base.shape[:2]
            # world (x, y) lives at base (x + (bw - W)/2, y + (bh - H)/2); screen = z * (world - c) + W/2
            ox, oy = (bw - self.width) / 2, (bh - self.height) / 2
            cx, cy = self.width / 2 + px + ox, self.height / 2 + py + oy
            m = np.array([[z, 0, self.width / 2 - z * cx], [0, z, self.height / 2 - z * cy]], np.float64)
            frame = cv2.warpAffine(base, m, (self.width, self.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        rng = np.random.default_rng((self.seed, index, 17))
        grain = rng.integers(-5, 6, (self.height, self.width, 1), np.int16)
        frame = np.clip(frame.astype(np.int16) + grain, 0, 255).astype(np.uint8)
        for obj in self._objects(shot):
            obj.draw(frame, t)
        if cam is not None:
            frame = _camera_effects(frame, cam, t, rng)
        return frame

    def _masks(self, index: int) -> list[np.ndarray]:
        """Visible pixels of every object of the frame's shot (later objects hide earlier ones)."""
        shot, t = self.shot_of(index), index / self.fps
        masks = []
        for obj in self._objects(shot):
            m = np.zeros((self.height, self.width), bool)
            fp = obj.footprint(t, self.width, self.height)
            if fp is not None:
                rows, cols, roi = fp
                m[rows, cols] = roi
            for earlier in masks:
                earlier &= ~m
            masks.append(m)
        return masks

    def mask(self, index: int) -> np.ndarray:
        """The bool ``(H, W)`` visible pixels of the target on frame ``index``."""
        return self._masks(index)[self.shot_of(index).target]

    def other_masks(self, index: int) -> list[np.ndarray]:
        """Visible pixels of the other objects (lookalikes, occluders) on frame ``index``."""
        target = self.shot_of(index).target
        return [m for i, m in enumerate(self._masks(index)) if i != target]

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "seed": self.seed,
            "video": {"width": self.width, "height": self.height, "fps": self.fps, "frame_count": self.frame_count},
            "prompt": self.prompt,
            "shots": [s.start for s in self.shots],
        }


def _camera_effects(frame: np.ndarray, cam: Camera, t: float, rng: np.random.Generator) -> np.ndarray:
    out = frame.astype(np.float32)
    if cam.blur > 0:
        sigma = cam.blur * (0.5 + 0.5 * math.sin(2 * math.pi * 0.7 * t))
        if sigma > 0.3:
            out = cv2.GaussianBlur(out, (0, 0), sigma)
    if cam.light > 0:
        gain = 1.0 + cam.light * math.sin(2 * math.pi * 0.25 * t)
        warm = 1.0 + 0.3 * cam.light * math.sin(2 * math.pi * 0.4 * t)  # a slight colour cast too
        out *= np.array([gain * warm, gain, gain / warm], np.float32)
    if cam.noise > 0:
        out += rng.normal(0.0, cam.noise, out.shape[:2] + (1,)).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


@dataclass
class ScenarioTruth:
    """Ground truth of a written scenario: ``boxes[i]`` is ``[x, y, w, h]`` or None (target absent)."""

    scenario: Scenario
    boxes: list[list[float] | None]

    @property
    def frame_count(self) -> int:
        return self.scenario.frame_count

    @property
    def width(self) -> int:
        return self.scenario.width

    @property
    def height(self) -> int:
        return self.scenario.height

    def mask(self, index: int) -> np.ndarray:
        return self.scenario.mask(index)

    def other_masks(self, index: int) -> list[np.ndarray]:
        return self.scenario.other_masks(index)

    def shot_starts(self) -> list[int]:
        return [s.start for s in self.scenario.shots]


def write_scenario(path: str | Path, scenario: Scenario) -> ScenarioTruth:
    """Encode ``scenario`` to an H.264 MP4 (no audio) frame by frame; return its ground truth."""
    boxes = []
    with VideoWriter(path, scenario.width, scenario.height, scenario.fps) as writer:
        for i in range(scenario.frame_count):
            writer.write(scenario.render(i))
            boxes.append(mask_box(scenario.mask(i)))
    return ScenarioTruth(scenario, boxes)


# --- the families ---------------------------------------------------------------------------------


def build(family: str, seed: int, *, width: int = 640, height: int = 360, fps: float = 25.0) -> Scenario:
    """The scenario of ``family`` for ``seed``; sizes scale with the frame."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    rng = np.random.default_rng((seed, FAMILIES.index(family), 4242))
    return _BUILDERS[family](rng, seed, width, height, fps)


def _pick_colours(rng: np.random.Generator, n: int) -> list[str]:
    return [str(c) for c in rng.choice(_COLOURS, size=n, replace=False)]


def _radius(rng: np.random.Generator, w: int, h: int) -> tuple[float, float]:
    base = 0.08 * min(w, h)
    aspect = rng.uniform(0.75, 1.35)
    return float(base * aspect), float(base / aspect)


def _text(rng: np.random.Generator, colour: str, shape: str) -> str:
    return f"the {colour} {rng.choice(_NOUNS[shape])}"


def _lissajous(rng, colour, shape, w, h, *, lane: float, scale_amplitude: float = 0.1) -> SceneObject:
    return SceneObject(
        colour=colour,
        shape=shape,
        radius=_radius(rng, w, h),
        centre=(w / 2, h * lane),
        amplitude=(float(w * rng.uniform(0.22, 0.3)), float(h * rng.uniform(0.03, 0.05))),
        frequency=(float(rng.uniform(0.15, 0.25)), float(rng.uniform(0.25, 0.45))),
        phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
        scale_amplitude=scale_amplitude,
        scale_frequency=float(rng.uniform(0.2, 0.35)),
    )


def _single_shot(family, seed, w, h, fps, seconds, objects, target, prompt, rng, camera=None) -> Scenario:
    return Scenario(
        family=family, seed=seed, width=w, height=h, fps=fps, frame_count=int(round(seconds * fps)),
        shots=(Shot(0, int(rng.integers(1 << 30)), tuple(objects), target, camera),), prompt=prompt,
    )  # fmt: skip


def _smooth(rng, seed, w, h, fps) -> Scenario:
    c, other = _pick_colours(rng, 2)
    shape = str(rng.choice(("ellipse", "rect")))
    target = _lissajous(rng, c, shape, w, h, lane=0.3, scale_amplitude=0.35)
    distractor = _lissajous(rng, other, shape, w, h, lane=0.75)
    return _single_shot("smooth", seed, w, h, fps, 5.0, [distractor, target], 1, {"text": _text(rng, c, shape)}, rng)


def _crossing_paths(rng, w, h, *, offset: float) -> tuple[tuple, tuple]:
    """Two paths that cross twice (at about 1.3 s and 3.7 s): one goes right then back, the other left."""
    y = h * rng.uniform(0.4, 0.6)
    a = ((0.0, 0.2 * w, y, 1.0), (2.5, 0.72 * w, y + 0.03 * h, 1.1), (5.0, 0.3 * w, y - 0.02 * h, 1.0))
    b = ((0.0, 0.8 * w, y + offset, 1.0), (2.5, 0.28 * w, y + offset - 0.02 * h, 1.0), (5.0, 0.7 * w, y + offset, 1.05))
    return a, b


def _crossing(rng, seed, w, h, fps) -> Scenario:
    c, other = _pick_colours(rng, 2)
    shape = str(rng.choice(("ellipse", "rect")))
    radius = _radius(rng, w, h)
    a, b = _crossing_paths(rng, w, h, offset=0.5 * radius[1])
    target = PathObject(PALETTE[c], shape, radius, a)
    lookalike = PathObject(PALETTE[other], shape, radius, b)  # in front: it hides part of the target
    return _single_shot("crossing", seed, w, h, fps, 5.0, [target, lookalike], 0, {"text": _text(rng, c, shape)}, rng)


def _visual_prompt(obj: Drawable, w: int, h: int, *, box: bool) -> dict[str, Any]:
    cx, cy, rx, ry = obj.geometry(0.0, w)
    if box:
        return {"text": "", "boxes": [[max(0.0, cx - rx - 2), max(0.0, cy - ry - 2), min(w, cx + rx + 2), min(h, cy + ry + 2), 0]]}
    return {"text": "", "points": [[cx, cy, 0, 1]]}


def _turns(rng: np.random.Generator, seconds: float) -> tuple[tuple[float, float], ...]:
    """A steady in-plane turn from upright to 30..50 degrees either way over the clip."""
    return ((0.0, 0.0), (seconds, float(rng.choice((-1, 1)) * rng.uniform(30, 50))))


def _samecolour(rng, seed, w, h, fps) -> Scenario:
    (c,) = _pick_colours(rng, 1)
    shape = str(rng.choice(("ellipse", "rect")))
    radius = _radius(rng, w, h)
    a, b = _crossing_paths(rng, w, h, offset=0.35 * radius[1])
    # Products in real clips turn in the hand as they move, so the prompted frame's view goes stale
    # (SPARROW's case against a static target token). Drawn from a generator of their own so that
    # paths, sizes, colours and background stay those of the seed.
    spin = np.random.default_rng((seed, FAMILIES.index("samecolour"), 99))
    turns = [_turns(spin, 5.0) for _ in range(2)]
    target = PathObject(PALETTE[c], shape, radius, a, turns=turns[0])
    other = "rect" if shape == "ellipse" else "ellipse"
    lookalike = PathObject(PALETTE[c], other, _radius(rng, w, h), b, turns=turns[1])
    prompt = _visual_prompt(target, w, h, box=bool(seed % 2))
    return _single_shot("samecolour", seed, w, h, fps, 5.0, [lookalike, target], 1, prompt, rng)


def _occlusion(rng, seed, w, h, fps) -> Scenario:
    c, other = _pick_colours(rng, 2)
    shape = str(rng.choice(("ellipse", "rect")))
    radius = _radius(rng, w, h)
    seconds, middle = 5.0, 2.5
    y = h * rng.uniform(0.35, 0.5)
    x0, x1 = w * rng.uniform(0.25, 0.35), w * rng.uniform(0.55, 0.65)
    target = PathObject(PALETTE[c], shape, radius, ((0.0, x0, y, 1.0), (seconds, x1, y + 0.05 * h, 1.1)))
    # The panel passes the target at a relative speed of 0.15 W/s, wide enough to hide all of it for ~1 s.
    v_target = (x1 - x0) / seconds
    v_rel = 0.15 * w
    half = radius[0] * 1.1 + 0.5 * v_rel * 1.0
    xm = x0 + v_target * middle
    v_panel = v_target - v_rel
    panel_keys = ((0.0, xm - v_panel * middle, 0.5 * h, 1.0), (seconds, xm + v_panel * (seconds - middle), 0.5 * h, 1.0))
    panel = PathObject(_CHARCOAL, "rect", (half, 0.45 * h), panel_keys, shading=0.3)
    distractor = _lissajous(rng, other, shape, w, h, lane=0.85, scale_amplitude=0.05)
    return _single_shot(
        "occlusion", seed, w, h, fps, seconds, [distractor, target, panel], 1, {"text": _text(rng, c, shape)}, rng
    )


def _exit(rng, seed, w, h, fps) -> Scenario:
    (c,) = _pick_colours(rng, 1)
    shape = str(rng.choice(("ellipse", "rect")))
    radius = _radius(rng, w, h)
    off = radius[0] * 1.3 + 3  # far enough out that no pixel is left in frame
    y1, y2 = h * rng.uniform(0.25, 0.35), h * rng.uniform(0.3, 0.45)
    keys = (
        (0.0, 0.45 * w, y1, 1.0),
        (1.8, -off, y1 + 0.03 * h, 1.0),  # leaves through the left side
        (2.0, -off, y1, 1.0),
        (2.01, w + off, y2, 1.0),  # waits out of view on the right
        (3.0, w + off, y2, 1.0),
        (4.5, 0.6 * w, y2 + 0.05 * h, 1.1),  # comes back from the right
        (6.0, 0.45 * w, y2, 1.0),
    )
    target = PathObject(PALETTE[c], shape, radius, keys)
    lookalike = _lissajous(rng, c, "rect" if shape == "ellipse" else "ellipse", w, h, lane=0.78, scale_amplitude=0.05)
    prompt = _visual_prompt(target, w, h, box=True)
    return _single_shot("exit", seed, w, h, fps, 6.0, [lookalike, target], 1, prompt, rng)


def _cut(rng, seed, w, h, fps) -> Scenario:
    c, other = _pick_colours(rng, 2)
    shape = str(rng.choice(("ellipse", "rect")))
    seconds, cut_at = 5.0, float(rng.uniform(2.2, 2.8))
    first = [_lissajous(rng, other, shape, w, h, lane=0.78), _lissajous(rng, c, shape, w, h, lane=0.28)]
    size = float(rng.uniform(0.8, 1.25))
    moved = _lissajous(rng, c, shape, w, h, lane=0.7)
    moved = SceneObject(**{**moved.__dict__, "radius": (moved.radius[0] * size, moved.radius[1] * size)})
    second = [_lissajous(rng, other, shape, w, h, lane=0.25), moved]
    start = int(round(cut_at * fps))
    shots = (
        Shot(0, int(rng.integers(1 << 30)), tuple(first), 1),
        Shot(start, int(rng.integers(1 << 30)), tuple(second), 1),
    )
    return Scenario(
        family="cut", seed=seed, width=w, height=h, fps=fps, frame_count=int(round(seconds * fps)),
        shots=shots, prompt={"text": _text(rng, c, shape)},
    )  # fmt: skip


def _camera(rng, seed, w, h, fps) -> Scenario:
    c, other = _pick_colours(rng, 2)
    shape = str(rng.choice(("ellipse", "rect")))
    target = _lissajous(rng, c, shape, w, h, lane=0.32, scale_amplitude=0.1)
    distractor = _lissajous(rng, other, shape, w, h, lane=0.72)
    sx = float(rng.choice((-1, 1)))
    camera = Camera(
        keys=((0.0, -0.08 * w * sx, 0.0, 1.0), (2.5, 0.04 * w * sx, 0.03 * h, 1.25), (5.0, 0.1 * w * sx, -0.02 * h, 1.1)),
        noise=6.0,
        blur=1.5,
        light=0.25,
    )
    return _single_shot(
        "camera", seed, w, h, fps, 5.0, [distractor, target], 1, {"text": _text(rng, c, shape)}, rng, camera
    )


_BUILDERS = {
    "smooth": _smooth,
    "crossing": _crossing,
    "samecolour": _samecolour,
    "occlusion": _occlusion,
    "exit": _exit,
    "cut": _cut,
    "camera": _camera,
}
