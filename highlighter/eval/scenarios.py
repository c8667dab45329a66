"""Scenario families for the tracking evaluation: synthetic videos with exact ground truth.

Each family is one of the ways a tracker that decides frame by frame fails (see DESIGN.md and
FACTS.md, "Anchors for tracking"). ``build(family, seed)`` returns a ``Scenario``: a pure function of
its parameters, so any frame, the target's mask on it, or the other objects' masks can be
recomputed at any time without storing the video::

    scenario = build("occlusion", seed=3)
    truth = write_scenario("clip.mp4", scenario)   # H.264, one frame at a time
    truth.mask(40)                                  # bool (H, W): the target's visible pixels
    scenario.prompt                                 # what the marketer would have said or clicked

Families (the first seven on textured backgrounds; all at 25 fps):

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

Three more put the product in a cluttered world, so that the suite cannot be passed by a tracker
that has only learnt the textured one. Their backdrop is one of the CC0 or public-domain photos
that scikit-image ships (``synthetic.PHOTOS``, with credits), cropped, scaled and mirrored per seed.

- ``clutter``: a shop wall (``_shop``) over the photo: posters, one in the product's own paint and
  one in a near colour (hue 10..25 degrees away, paler or darker), the outer ones cut by the
  frame's sides; a stripe of its paint or a near one running off the frame; shelves with small
  items, one or two of a near colour. The product crosses the wall; prompted by a description
  whose colour word covers its rendered colour. The product's paint is only on large or thin
  still things: the compact object of that colour, and the one that moves, is the product.
- ``clutterbox``: the same kind of wall, and a lookalike in the product's own paint, of another
  shape, that crosses it twice, in front of it or behind it; prompted by the product's true box
  on frame 0.
- ``photo``: the photo alone under a panning, zooming camera, with light that dims and drifts
  from warm to cool while a coloured cast turns every hue (the product's by 15..25 degrees over
  the clip), and a near-colour lookalike elsewhere; prompted by a click on the product.

Posters, stripes, shelves and their items are fixtures of the shot's ``Backdrop``: painted once,
with masks among the ``other_masks``, so a track that settles on one counts as an identity switch.

Conventions: pixels of the written video, origin top-left; boxes ``[x, y, w, h]``; frame ``i`` is
at ``i / fps`` seconds. Prompt points are ``[x, y, frame, positive]``, boxes ``[x1, y1, x2, y2,
frame]`` (``highlighter.track.prompt.Prompt.from_dict``).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.eval.synthetic import (
    PALETTE, PHOTOS, Drawable, SceneObject, _background, hue_distance, photo_background, shift_colour,
)  # fmt: skip
from highlighter.media import VideoWriter
from highlighter.trackfile import mask_box

FAMILIES = (
    "smooth", "crossing", "samecolour", "occlusion", "exit", "cut", "camera",  # over a plain texture
    "clutter", "clutterbox", "photo",  # in cluttered worlds over photos
)  # fmt: skip
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
class Lighting:
    """Light that drifts over the clip, applied to the whole frame: background and products alike.

    ``keys`` are ``(t, gain, warmth, hue)``, linear between keys: ``t`` in seconds; ``gain`` the
    brightness (1: as painted); ``warmth`` the white balance, from -1 (cool: red x0.88, blue x1.12)
    to +1 (warm: red x1.12, blue x0.88); ``hue`` a turn of every colour about the grey axis in
    degrees, as a coloured light gives (positive turns red toward yellow; greys stay grey).
    """

    keys: tuple[tuple[float, float, float, float], ...]

    def matrix(self, t: float) -> np.ndarray:
        """The 3x3 matrix that takes a painted RGB colour to the lit one at ``t`` seconds."""
        _, gain, warmth, hue = _interpolate(self.keys, t)
        a = math.radians(hue)
        c, k, q = math.cos(a), (1.0 - math.cos(a)) / 3.0, math.sin(a) / math.sqrt(3.0)
        turn = np.array([[c + k, k - q, k + q], [k + q, c + k, k - q], [k - q, k + q, c + k]])
        balance = np.diag([1.0 + 0.12 * warmth, 1.0, 1.0 - 0.12 * warmth])
        return gain * balance @ turn

    def apply(self, frame: np.ndarray, t: float) -> np.ndarray:
        """``frame`` (RGB uint8) as lit at ``t`` seconds; channels saturate at 0 and 255."""
        return cv2.transform(frame, self.matrix(t))


@dataclass(frozen=True)
class Backdrop:
    """The still world behind a shot's objects: a photo (``synthetic.PHOTOS``) with fixtures on it.

    ``zoom``, ``centre`` and ``flip`` choose the photo's crop (``synthetic.photo_background``).
    ``fixtures`` are still shapes (posters, stripes, shelves, the items on them) in world pixels,
    the frame's own when the camera does not move, back to front. They are painted once, yet have
    masks like any object (``Scenario.other_masks``): a track that settles on a poster is counted
    as an identity switch.
    """

    photo: str
    zoom: float = 1.0
    centre: tuple[float, float] = (0.5, 0.5)
    flip: bool = False
    fixtures: tuple[Drawable, ...] = ()

    def paint(self, width: int, height: int, frame_width: int, frame_height: int) -> np.ndarray:
        """The ``(height, width)`` world image around a ``frame_width`` x ``frame_height`` frame."""
        image = photo_background(width, height, self.photo, zoom=self.zoom, centre=self.centre, flip=self.flip)
        # World (x, y) sits at (x + (width - W) / 2, y + (height - H) / 2) of the image, as in Scenario.render.
        offset = Camera(((0.0, -(width - frame_width) / 2, -(height - frame_height) / 2, 1.0),))
        for fixture in self.fixtures:
            _Viewed(fixture, offset, frame_width, frame_height).draw(image, 0.0)
        return image


@dataclass(frozen=True)
class Shot:
    """Frames from ``start`` on (until the next shot): a background and objects drawn in order.

    ``objects[target]`` is the product; objects after it are in front of it. Without a
    ``backdrop`` the background is a texture drawn from ``background_seed``; the backdrop's
    fixtures lie behind every object. ``lighting`` lights the whole frame, objects included.
    """

    start: int
    background_seed: int
    objects: tuple[Drawable, ...]
    target: int
    camera: Camera | None = None
    backdrop: Backdrop | None = None
    lighting: Lighting | None = None

    @property
    def fixtures(self) -> tuple[Drawable, ...]:
        return self.backdrop.fixtures if self.backdrop is not None else ()


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
    _still_masks: dict[int, list[np.ndarray]] = field(default_factory=dict, repr=False, compare=False)

    def shot_of(self, index: int) -> Shot:
        return [s for s in self.shots if s.start <= index][-1]

    def _layers(self, shot: Shot) -> list[Drawable]:
        """Everything with a mask, back to front: the backdrop's fixtures, then the shot's objects."""
        layers = [*shot.fixtures, *shot.objects]
        if shot.camera is None:
            return layers
        return [_Viewed(o, shot.camera, self.width, self.height) for o in layers]

    def _base(self, shot: Shot) -> np.ndarray:
        if shot.background_seed not in self._bases:
            margin = 1.6 if shot.camera is not None else 1.0  # room to pan and zoom out
            w, h = int(self.width * margin), int(self.height * margin)
            if shot.backdrop is None:
                base = _background(w, h, shot.background_seed, "textured")
            else:
                base = shot.backdrop.paint(w, h, self.width, self.height)
            self._bases[shot.background_seed] = base
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
        for obj in self._layers(shot)[len(shot.fixtures) :]:  # the fixtures are in the base already
            obj.draw(frame, t)
        if shot.lighting is not None:
            frame = shot.lighting.apply(frame, t)
        if cam is not None:
            frame = _camera_effects(frame, cam, t, rng)
        return frame

    def _masks(self, index: int) -> list[np.ndarray]:
        """Visible pixels of every layer of the frame's shot (``_layers``; later ones hide earlier ones)."""
        shot, t = self.shot_of(index), index / self.fps
        layers = self._layers(shot)
        still = len(shot.fixtures) if shot.camera is None or len({k[1:] for k in shot.camera.keys}) == 1 else 0
        if still and shot.start not in self._still_masks:
            self._still_masks[shot.start] = self._stack(layers[:still], t)
        # Still fixtures keep their masks from frame to frame; the stack is the cached one, copied.
        masks = [m.copy() for m in self._still_masks[shot.start]] if still else []
        return self._stack(layers[still:], t, masks)

    def _stack(self, layers: list[Drawable], t: float, masks: list[np.ndarray] | None = None) -> list[np.ndarray]:
        masks = [] if masks is None else masks
        for obj in layers:
            m = np.zeros((self.height, self.width), bool)
            fp = obj.footprint(t, self.width, self.height)
            if fp is not None:
                rows, cols, roi = fp
                m[rows, cols] = roi
            for earlier in masks:
                earlier &= ~m
            masks.append(m)
        return masks

    def _target_layer(self, shot: Shot) -> int:
        return len(shot.fixtures) + shot.target

    def mask(self, index: int) -> np.ndarray:
        """The bool ``(H, W)`` visible pixels of the target on frame ``index``."""
        return self._masks(index)[self._target_layer(self.shot_of(index))]

    def other_masks(self, index: int) -> list[np.ndarray]:
        """Visible pixels of everything else on frame ``index``: fixtures, lookalikes, occluders."""
        target = self._target_layer(self.shot_of(index))
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


def _single_shot(
    family, seed, w, h, fps, seconds, objects, target, prompt, rng, camera=None, *, backdrop=None, lighting=None
) -> Scenario:
    return Scenario(
        family=family, seed=seed, width=w, height=h, fps=fps, frame_count=int(round(seconds * fps)),
        shots=(Shot(0, int(rng.integers(1 << 30)), tuple(objects), target, camera, backdrop, lighting),),
        prompt=prompt,
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


# --- cluttered worlds: a shop wall, a real photo, drifting light -------------------------------------

_TRIES = 200  # shop layouts to draw until the product starts apart from its colours (a few at most, in practice)
_NEAR_HUE = (10.0, 25.0)  # degrees of hue between the product's paint and a "near" one
_FAR_HUE = 35.0  # the least hue distance of the other paints in a shop


def _near_colour(rng: np.random.Generator, rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A paint 10..25 degrees of hue from ``rgb``, either way, and paler or darker."""
    hue = float(rng.choice((-1, 1)) * rng.uniform(*_NEAR_HUE))
    if rng.random() < 0.5:
        return shift_colour(rgb, hue=hue, saturation=float(rng.uniform(0.5, 0.8)))
    return shift_colour(rgb, hue=hue, value=float(rng.uniform(0.55, 0.8)))


def _far_colour(rng: np.random.Generator, rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A random paint, muted or vivid, dark or light, at least 35 degrees of hue from ``rgb``."""
    while True:
        h, s, v = rng.uniform(0, 360), rng.uniform(0.25, 0.85), rng.uniform(0.4, 0.92)
        paint = shift_colour((255, 0, 0), hue=float(h), saturation=float(s), value=float(v))
        if hue_distance(paint, rgb) >= _FAR_HUE:
            return paint


def _still(rgb, shape, half, cx, cy, *, shading=0.12, angle=0.0) -> PathObject:
    """A shape that does not move: ``half`` its half-sides (or semi-axes), ``angle`` its turn in degrees."""
    turns = ((0.0, angle),) if angle else ()
    return PathObject(rgb, shape, half, ((0.0, cx, cy, 1.0),), shading=shading, turns=turns)


def _shop(rng: np.random.Generator, w: int, h: int, rgb: tuple[int, int, int]) -> list[PathObject]:
    """Still fixtures of a shop wall around a product painted ``rgb``, back to front (pixels of a W x H frame).

    Four posters across the wall, the outer two cut by the frame's sides: one in the product's
    own paint, one in a near colour (``_near_colour``), two in other colours. A stripe in the
    product's paint or a near one runs off the frame at both ends. A shelf with small items crosses
    the middle and another is cut by the bottom edge; one or two of the items have a near colour.
    The product's own paint is only ever on large or thin things: the compact object of that
    colour is the product.
    """
    wall_bottom = 0.56 * h
    posters = []
    paints = [rgb, _near_colour(rng, rgb), _far_colour(rng, rgb), _far_colour(rng, rgb)]
    slots = (rng.uniform(-0.01, 0.03), rng.uniform(0.33, 0.39), rng.uniform(0.61, 0.67), rng.uniform(0.97, 1.01))
    for slot, k in zip(slots, rng.permutation(4)):
        if k == 0:  # big enough that its visible part is never product-sized, even at the frame's side
            half = (w * rng.uniform(0.11, 0.14), h * rng.uniform(0.17, 0.22))
            cy = rng.uniform(half[1] + 0.03 * h, wall_bottom - half[1])
        else:  # may also be cut by the top edge
            half = (w * rng.uniform(0.08, 0.13), h * rng.uniform(0.12, 0.22))
            cy = rng.uniform(0.7 * half[1], wall_bottom - half[1])
        posters.append(_still(paints[k], "rect", half, slot * w, cy, shading=rng.uniform(0.05, 0.2)))
    stripe = _still(
        rgb if rng.random() < 0.5 else _near_colour(rng, rgb), "rect",
        (0.75 * math.hypot(w, h), h * rng.uniform(0.012, 0.022)),  # longer than the frame's diagonal
        w * rng.uniform(0.3, 0.7), h * rng.uniform(0.12, 0.88),
        shading=0.0, angle=float(rng.choice((-1, 1)) * rng.uniform(8, 35)),
    )  # fmt: skip
    grey = rng.uniform(70, 150)
    wood = tuple(int(np.clip(grey * f + rng.uniform(-8, 8), 0, 255)) for f in (1.15, 1.0, 0.82))
    middle, bottom = h * rng.uniform(0.6, 0.68), h * rng.uniform(0.9, 0.94)  # top edges of the two boards
    boards = [
        _still(wood, "rect", (0.6 * w, 0.018 * h), 0.5 * w, middle + 0.018 * h, shading=0.3),
        _still(wood, "rect", (0.6 * w, 0.06 * h), 0.5 * w, bottom + 0.06 * h, shading=0.3),
    ]
    items = []
    for top in (middle, bottom):
        n = int(rng.integers(4, 7))
        for x in np.linspace(-0.02, 1.02, n) + rng.uniform(-0.03, 0.03, n):
            half = (h * rng.uniform(0.03, 0.05), h * rng.uniform(0.045, 0.08))
            shape = "ellipse" if rng.random() < 0.25 else "rect"
            items.append(_still(_far_colour(rng, rgb), shape, half, x * w, top - half[1], shading=0.2))
    for k in rng.choice(len(items), size=int(rng.integers(1, 3)), replace=False):
        items[k] = replace(items[k], rgb=_near_colour(rng, rgb))
    return [*posters, stripe, *boards, *items]


def _clear_at_start(target: Drawable, fixtures: list[PathObject], w: int, h: int) -> bool:
    """Whether, on frame 0, the target stands apart from every fixture of its own or a near colour."""
    cx, cy, rx, ry = target.geometry(0.0, w)
    gap = 0.4 * min(rx, ry)
    halo = _still((0, 0, 0), target.shape, (rx + gap, ry + gap), cx, cy)
    fp = halo.footprint(0.0, w, h)
    if fp is None:
        return False
    rows, cols, roi = fp
    for f in fixtures:
        if hue_distance(f.rgb, target.fill_rgb()) > _NEAR_HUE[1]:
            continue
        g = f.footprint(0.0, w, h)
        if g is None:
            continue
        m = np.zeros((h, w), bool)
        m[g[0], g[1]] = g[2]
        if (m[rows, cols] & roi).any():
            return False
    return True


def _backdrop(rng: np.random.Generator, fixtures: Sequence[Drawable] = ()) -> Backdrop:
    """A random crop of one of the photos (up to 1.6x into it, anywhere, maybe mirrored) behind ``fixtures``."""
    centre = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8)))
    photo = str(rng.choice(sorted(PHOTOS)))
    return Backdrop(photo, float(rng.uniform(1.0, 1.6)), centre, bool(rng.random() < 0.5), tuple(fixtures))


def _wander(rng: np.random.Generator, w: int, h: int, seconds: float, *, ys: tuple[float, float]) -> tuple:
    """Keys ``(t, cx, cy, scale)`` from one side of the frame to the other and back, a leg per third of the clip.

    Legs of 0.2..0.7 W (0.1..0.4 W/s); ``cy`` between ``ys`` (fractions of H); scale 0.85..1.2.
    """
    side = int(rng.integers(2))
    keys = []
    for k in range(4):
        x = rng.uniform(0.15, 0.4) if (k + side) % 2 == 0 else rng.uniform(0.6, 0.85)
        keys.append((seconds * k / 3, float(w * x), float(h * rng.uniform(*ys)), float(rng.uniform(0.85, 1.2))))
    return tuple(keys)


def _prompted(scenario: Scenario, kind: str) -> Scenario:
    """``scenario`` prompted on frame 0 by the target's true box (``kind`` "box"), or by a click
    ("point") on the visible pixel of the target nearest its centroid."""
    mask = scenario.mask(0)
    if kind == "box":
        x, y, bw, bh = mask_box(mask)
        return replace(scenario, prompt={"text": "", "boxes": [[x, y, x + bw, y + bh, 0]]})
    ys, xs = np.nonzero(mask)
    k = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))
    return replace(scenario, prompt={"text": "", "points": [[float(xs[k]) + 0.5, float(ys[k]) + 0.5, 0, 1]]})


def _turn_for(rgb: tuple[int, int, int], shift: float, gain: float) -> float:
    """The light's hue turn (degrees) that moves ``rgb``'s hue by about ``shift`` degrees from frame 0's
    warm light to a cool one of ``gain``: the white balance alone moves some paints by as much as
    the turn, one way or the other, so the turn is sized to the paint."""

    def hue(light: Lighting) -> float:
        lit = np.clip(light.matrix(0.0) @ np.array(rgb, np.float64), 0, 255)
        return colorsys.rgb_to_hsv(*(lit / 255.0))[0] * 360.0

    start = hue(Lighting(((0.0, 1.0, 1.0, 0.0),)))
    moved = lambda turn: (hue(Lighting(((0.0, gain, -1.0, turn),))) - start + 180.0) % 360.0 - 180.0  # noqa: E731
    return float(min(np.linspace(-45.0, 45.0, 181), key=lambda turn: abs(moved(turn) - shift)))


# A tripod: no motion, but sensor noise on everything, the products too, so flat paint does not
# give the products away.
_STILL_CAMERA = Camera(keys=((0.0, 0.0, 0.0, 1.0),), noise=4.0)


def _clutter(rng, seed, w, h, fps) -> Scenario:
    (c,) = _pick_colours(rng, 1)
    shape = str(rng.choice(("ellipse", "rect")))
    radius = _radius(rng, w, h)
    for _ in range(_TRIES):  # a fair start: on frame 0 the product is apart from everything of its colour
        fixtures = _shop(rng, w, h, PALETTE[c])
        target = PathObject(PALETTE[c], shape, radius, _wander(rng, w, h, 5.0, ys=(0.3, 0.7)))
        if _clear_at_start(target, fixtures, w, h):
            break
    else:
        raise RuntimeError(f"no fair start for clutter seed {seed} in {_TRIES} tries")
    return _single_shot(
        "clutter", seed, w, h, fps, 5.0, [target], 0, {"text": _text(rng, c, shape)}, rng, _STILL_CAMERA,
        backdrop=_backdrop(rng, fixtures),
    )  # fmt: skip


def _clutterbox(rng, seed, w, h, fps) -> Scenario:
    (c,) = _pick_colours(rng, 1)
    shape = str(rng.choice(("ellipse", "rect")))
    other = "rect" if shape == "ellipse" else "ellipse"
    radius, lookalike_radius = _radius(rng, w, h), _radius(rng, w, h)
    in_front = bool(rng.random() < 0.5)
    for _ in range(_TRIES):
        fixtures = _shop(rng, w, h, PALETTE[c])
        a, b = _crossing_paths(rng, w, h, offset=0.35 * radius[1])
        target = PathObject(PALETTE[c], shape, radius, a)
        if _clear_at_start(target, fixtures, w, h):
            break
    else:
        raise RuntimeError(f"no fair start for clutterbox seed {seed} in {_TRIES} tries")
    lookalike = PathObject(PALETTE[c], other, lookalike_radius, b)
    objects, index = ([target, lookalike], 0) if in_front else ([lookalike, target], 1)
    backdrop = _backdrop(rng, fixtures)
    scenario = _single_shot(
        "clutterbox", seed, w, h, fps, 5.0, objects, index, {}, rng, _STILL_CAMERA, backdrop=backdrop
    )
    return _prompted(scenario, "box")


def _photo_family(rng, seed, w, h, fps) -> Scenario:
    (c,) = _pick_colours(rng, 1)
    shape = str(rng.choice(("ellipse", "rect")))
    radius = _radius(rng, w, h)
    target = PathObject(PALETTE[c], shape, radius, _wander(rng, w, h, 5.0, ys=(0.25, 0.42)))
    near_paint, near_radius = _near_colour(rng, PALETTE[c]), _radius(rng, w, h)
    near = PathObject(near_paint, shape, near_radius, _wander(rng, w, h, 5.0, ys=(0.62, 0.75)))
    sx = float(rng.choice((-1, 1)))
    pans = ((0.0, -0.1 * w * sx, -0.03 * h, 1.0), (2.5, 0.02 * w * sx, 0.03 * h, 1.3), (5.0, 0.12 * w * sx, 0.0, 1.1))
    camera = Camera(keys=pans, noise=4.0)
    # White balance from warm to cool, a dimmer middle, and a coloured light: the product's colour
    # on the last frame is not the one that was clicked.
    middle, end = float(rng.uniform(0.7, 0.85)), float(rng.uniform(0.9, 1.15))
    turn = _turn_for(PALETTE[c], float(rng.choice((-1, 1)) * rng.uniform(15, 25)), end)
    lighting = Lighting(((0.0, 1.0, 1.0, 0.0), (2.5, middle, 0.0, turn / 2), (5.0, end, -1.0, turn)))
    backdrop = _backdrop(rng)
    scenario = _single_shot(
        "photo", seed, w, h, fps, 5.0, [near, target], 1, {}, rng, camera, backdrop=backdrop, lighting=lighting
    )
    return _prompted(scenario, "point")


_BUILDERS = {
    "smooth": _smooth,
    "crossing": _crossing,
    "samecolour": _samecolour,
    "occlusion": _occlusion,
    "exit": _exit,
    "cut": _cut,
    "camera": _camera,
    "clutter": _clutter,
    "clutterbox": _clutterbox,
    "photo": _photo_family,
}
