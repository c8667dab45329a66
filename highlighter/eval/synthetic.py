"""Synthetic test videos with exact ground truth.

A scene is a textured background plus coloured objects drawn in order (later objects in front).
Everything is a pure function of the scene's parameters and the frame index, so a frame, or the
target's mask on it, can be recomputed at any time without storing the video::

    gt = make_moving_object_video("clip.mp4", colour="red", distractor="blue", seed=3)
    gt.boxes[10]   # [x, y, w, h] in pixels, or None when the target is out of frame
    gt.mask(10)    # bool (H, W): the target's visible pixels on frame 10

Conventions: pixels of the written video, origin top-left; boxes ``[x, y, w, h]``; times in
seconds, frame ``i`` is at ``i / fps``. A pixel belongs to a shape when its centre ``(x + 0.5,
y + 0.5)`` lies inside it.

Families beyond "one object moving over a texture" (lookalikes, occlusion, cuts, camera pan) are
meant to be added as new ``SceneObject`` kinds, background options or scene builders; the
``Scene`` / ``GroundTruth`` contract stays the same. ``photo_background`` (a crop of one of the
CC0 or public-domain photos scikit-image ships, ``PHOTOS``) and ``shift_colour`` (a paint near
another one) are such options, used by the cluttered families in ``highlighter.eval.scenarios``.
"""

from __future__ import annotations

import colorsys
import functools
import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter import process
from highlighter.errors import MediaError
from highlighter.media import FFMPEG, VideoWriter, probe
from highlighter.trackfile import mask_box

# sRGB fill colours of the named objects: saturated and clearly inside the tracker's colour words.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (205, 30, 35),
    "orange": (235, 120, 25),
    "yellow": (230, 205, 40),
    "green": (40, 160, 60),
    "blue": (35, 70, 200),
    "purple": (125, 45, 170),
    "pink": (240, 110, 175),
    "white": (242, 242, 240),
    "black": (18, 18, 20),
}

SHAPES = ("ellipse", "rect")
BACKGROUNDS = ("textured", "flat")

# Colour photos that ship inside scikit-image (no download) and are free to use: name -> credit, as
# each loader's docstring in ``skimage.data`` gives it. Others there are left out on purpose: their
# licence is unstated ("no known copyright restrictions" is not a release) or they are greyscale.
PHOTOS: dict[str, str] = {
    "coffee": "Coffee cup, courtesy of Pikolo Espresso Bar; CC0 by the photographer, Rachel Michetti",
    "chelsea": "Chelsea the cat; CC0 by the photographer, Stefan van der Walt",
    "astronaut": "Eileen Collins, NASA Great Images database; public domain",
    "rocket": "DSCOVR on Falcon 9 at launch, SpaceX; released into the public domain",
}


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


class Drawable:
    """A filled ``shape`` (``"ellipse"`` or ``"rect"``) whose ``geometry(t, width)`` gives
    ``(cx, cy, rx, ry)`` in pixels at time ``t`` seconds, ``angle(t)`` its in-plane rotation in
    degrees (clockwise on screen, about the centre; 0 unless a subclass turns it) and ``fill_rgb()``
    its sRGB colour."""

    shape: str
    shading: float

    def geometry(self, t: float, width: int) -> tuple[float, float, float, float]:
        raise NotImplementedError

    def angle(self, t: float) -> float:
        return 0.0

    def fill_rgb(self) -> tuple[int, int, int]:
        raise NotImplementedError

    def footprint(self, t: float, width: int, height: int) -> tuple[slice, slice, np.ndarray] | None:
        """The shape's pixels at time ``t`` as ``(rows, cols, bool ROI)``, or None when off-frame."""
        cx, cy, rx, ry = self.geometry(t, width)
        turn = math.radians(self.angle(t))
        # Half-extents of the (turned) shape's bounding box; a rect's corners reach furthest.
        c, s = abs(math.cos(turn)), abs(math.sin(turn))
        ex, ey = rx * c + ry * s, rx * s + ry * c
        x0, x1 = max(0, math.floor(cx - ex)), min(width, math.ceil(cx + ex) + 1)
        y0, y1 = max(0, math.floor(cy - ey)), min(height, math.ceil(cy + ey) + 1)
        if x0 >= x1 or y0 >= y1:
            return None
        xs = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5 - cx
        ys = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5 - cy
        if turn:  # the pixel's offset in the shape's own axes
            xs, ys = xs * math.cos(turn) + ys * math.sin(turn), ys * math.cos(turn) - xs * math.sin(turn)
        if self.shape == "ellipse":
            roi = (xs / rx) ** 2 + (ys / ry) ** 2 <= 1.0
        else:
            roi = (np.abs(xs) <= rx) & (np.abs(ys) <= ry)
        if not roi.any():
            return None
        return slice(y0, y1), slice(x0, x1), roi

    def draw(self, frame: np.ndarray, t: float) -> None:
        """Paint the object onto ``frame`` (RGB uint8, in place) with a vertical shading ramp."""
        height, width = frame.shape[:2]
        fp = self.footprint(t, width, height)
        if fp is None:
            return
        rows, cols, roi = fp
        _, cy, _, ry = self.geometry(t, width)
        ys = np.arange(rows.start, rows.stop, dtype=np.float64) + 0.5
        shade = 1.0 + self.shading * np.clip((cy - ys) / max(ry, 1.0), -1.0, 1.0)  # lighter on top
        fill = np.clip(np.array(self.fill_rgb(), np.float64)[None, :] * shade[:, None], 0, 255)
        patch = frame[rows, cols]
        patch[roi] = np.broadcast_to(fill[:, None, :], roi.shape + (3,))[roi].astype(np.uint8)


@dataclass(frozen=True)
class SceneObject(Drawable):
    """A filled shape moving along a Lissajous path, with mild breathing scale and optional exits.

    ``centre``/``amplitude`` and ``radius`` are in pixels (``radius`` is the semi-axes, or the
    half-sides of a rect, at scale 1); ``frequency`` in Hz; ``phase`` in radians.
    ``exits`` are ``(start, end)`` seconds during which the object is entirely outside the frame;
    it slides out over ``exit_ramp`` seconds before ``start`` and back in after ``end``.
    """

    colour: str
    shape: str
    radius: tuple[float, float]
    centre: tuple[float, float]
    amplitude: tuple[float, float]
    frequency: tuple[float, float]
    phase: tuple[float, float]
    scale_amplitude: float = 0.0
    scale_frequency: float = 0.0
    shading: float = 0.12  # relative brightness change from top to bottom: the fill is not flat
    exits: tuple[tuple[float, float], ...] = ()
    exit_ramp: float = 0.4

    def geometry(self, t: float, width: int) -> tuple[float, float, float, float]:
        """``(cx, cy, rx, ry)`` in pixels at time ``t`` seconds."""
        cx = self.centre[0] + self.amplitude[0] * math.sin(2 * math.pi * self.frequency[0] * t + self.phase[0])
        cy = self.centre[1] + self.amplitude[1] * math.sin(2 * math.pi * self.frequency[1] * t + self.phase[1])
        scale = 1.0 + self.scale_amplitude * math.sin(2 * math.pi * self.scale_frequency * t)
        rx, ry = self.radius[0] * scale, self.radius[1] * scale
        for start, end in self.exits:
            out = _smoothstep((t - (start - self.exit_ramp)) / self.exit_ramp) * (
                1.0 - _smoothstep((t - end) / self.exit_ramp)
            )
            if out > 0.0:
                # Leave through the nearer side edge, far enough that no pixel centre stays inside.
                cx_base = self.centre[0] + self.amplitude[0] * math.sin(
                    2 * math.pi * self.frequency[0] * start + self.phase[0]
                )
                off = -rx - 2.0 if cx_base < width / 2 else width + rx + 2.0
                cx = (1.0 - out) * cx + out * off
        return cx, cy, rx, ry

    def fill_rgb(self) -> tuple[int, int, int]:
        return PALETTE[self.colour]


@dataclass(frozen=True)
class Scene:
    """A background and objects drawn in order; ``objects[target]`` is the product to track."""

    width: int
    height: int
    fps: float
    frame_count: int
    seed: int
    background: str
    objects: tuple[SceneObject, ...]
    target: int = 0
    _base: np.ndarray | None = field(default=None, repr=False, compare=False)

    def time(self, index: int) -> float:
        return index / self.fps

    def base_background(self) -> np.ndarray:
        """The static background texture (H, W, 3) uint8; computed once per scene."""
        if self._base is None:
            object.__setattr__(self, "_base", _background(self.width, self.height, self.seed, self.background))
        assert self._base is not None
        return self._base

    def render(self, index: int, *, with_objects: bool = True) -> np.ndarray:
        """Frame ``index`` as an RGB uint8 array: background, per-frame grain, then the objects."""
        frame = self.base_background().copy()
        if self.background == "textured":
            # Monochrome sensor grain, seeded per frame so any frame can be re-rendered alone.
            grain = np.random.default_rng((self.seed, index)).integers(-5, 6, (self.height, self.width, 1), np.int16)
            frame = np.clip(frame.astype(np.int16) + grain, 0, 255).astype(np.uint8)
        if with_objects:
            t = self.time(index)
            for obj in self.objects:
                obj.draw(frame, t)
        return frame

    def object_mask(self, obj: SceneObject, index: int) -> np.ndarray:
        mask = np.zeros((self.height, self.width), dtype=bool)
        fp = obj.footprint(self.time(index), self.width, self.height)
        if fp is not None:
            rows, cols, roi = fp
            mask[rows, cols] = roi
        return mask

    def target_mask(self, index: int) -> np.ndarray:
        """The target's visible pixels on frame ``index``: its shape minus objects drawn in front."""
        mask = self.object_mask(self.objects[self.target], index)
        for obj in self.objects[self.target + 1 :]:
            if mask.any():
                mask &= ~self.object_mask(obj, index)
        return mask


@dataclass
class GroundTruth:
    """Exact per-frame truth for a synthetic video. ``boxes[i]`` is ``[x, y, w, h]`` or None (absent)."""

    scene: Scene
    boxes: list[list[float] | None]

    @property
    def width(self) -> int:
        return self.scene.width

    @property
    def height(self) -> int:
        return self.scene.height

    @property
    def fps(self) -> float:
        return self.scene.fps

    @property
    def frame_count(self) -> int:
        return self.scene.frame_count

    def visible(self, index: int) -> bool:
        return self.boxes[index] is not None

    def mask(self, index: int) -> np.ndarray:
        """The bool ``(H, W)`` mask of the target on frame ``index``, recomputed from the scene."""
        return self.scene.target_mask(index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": {"width": self.width, "height": self.height, "fps": self.fps, "frame_count": self.frame_count},
            "seed": self.scene.seed,
            "background": self.scene.background,
            "target": self.scene.target,
            "objects": [asdict(o) for o in self.scene.objects],
            "boxes": self.boxes,
        }


def _background(width: int, height: int, seed: int, kind: str) -> np.ndarray:
    """A muted, low-saturation texture: multi-octave value noise mapped between two colours, plus a gradient."""
    if kind == "flat":
        return np.full((height, width, 3), 128, np.uint8)
    if kind not in BACKGROUNDS:
        raise ValueError(f"unknown background {kind!r}; expected one of {BACKGROUNDS}")
    rng = np.random.default_rng((seed, 7919))
    noise = np.zeros((height, width), np.float32)
    for cell, weight in ((96, 0.55), (24, 0.3), (6, 0.15)):
        coarse = rng.random((height // cell + 2, width // cell + 2)).astype(np.float32)
        noise += weight * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = (noise - noise.min()) / max(float(noise.max() - noise.min()), 1e-6)
    # Two muted tones (warm stone and cool slate: saturation well under the tracker's colour words).
    warm, cool = np.array([168, 152, 132], np.float32), np.array([88, 98, 112], np.float32)
    warm, cool = warm + rng.uniform(-12, 12, 3), cool + rng.uniform(-12, 12, 3)
    image = cool[None, None, :] + noise[:, :, None] * (warm - cool)[None, None, :]
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (math.cos(angle) * xx / width + math.sin(angle) * yy / height) * 40.0 - 20.0
    return np.clip(image + ramp[:, :, None], 0, 255).astype(np.uint8)


@functools.cache
def _photo(name: str) -> np.ndarray:
    import skimage.data  # only the photo backdrops need scikit-image, so only they pay for importing it

    image = getattr(skimage.data, name)()
    image.setflags(write=False)  # shared by every scenario that crops it
    return image


def photo_background(
    width: int,
    height: int,
    name: str,
    *,
    zoom: float = 1.0,
    centre: tuple[float, float] = (0.5, 0.5),
    flip: bool = False,
) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 crop of the photo ``name`` (one of ``PHOTOS``), scaled to fill.

    The crop is the largest of the frame's aspect ratio, made ``zoom`` (>= 1) times smaller about
    ``centre`` (fractions of the photo's width and height; moved as little as needed to stay
    inside the photo). ``flip`` mirrors it left to right.
    """
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; expected one of {sorted(PHOTOS)}")
    image = _photo(name)
    ph, pw = image.shape[:2]
    cw = min(pw, ph * width / height) / zoom
    ch = cw * height / width
    x0 = min(max(0.0, centre[0] * pw - cw / 2), pw - cw)
    y0 = min(max(0.0, centre[1] * ph - ch / 2), ph - ch)
    part = image[round(y0) : round(y0 + ch), round(x0) : round(x0 + cw)]
    shrink = part.shape[1] > width
    out = cv2.resize(part, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return np.ascontiguousarray(out[:, ::-1] if flip else out)


def shift_colour(
    rgb: tuple[int, int, int], *, hue: float = 0.0, saturation: float = 1.0, value: float = 1.0
) -> tuple[int, int, int]:
    """``rgb`` with its hue turned by ``hue`` degrees and its HSV saturation and value scaled."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    r, g, b = colorsys.hsv_to_rgb((h + hue / 360.0) % 1.0, min(1.0, s * saturation), min(1.0, v * value))
    return round(r * 255), round(g * 255), round(b * 255)


def hue_distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """The angle between two colours' hues in degrees, 0..180."""
    ha = colorsys.rgb_to_hsv(*(c / 255.0 for c in a))[0]
    hb = colorsys.rgb_to_hsv(*(c / 255.0 for c in b))[0]
    d = abs(ha - hb) * 360.0 % 360.0
    return min(d, 360.0 - d)


def _random_object(rng: np.random.Generator, colour: str, shape: str, width: int, height: int, *, lane: int) -> SceneObject:
    """An object with a smooth path; ``lane`` 0 sweeps the upper part, 1 the lower.

    Sizes and vertical swings are bounded so objects in different lanes never touch: crossing
    lookalikes are a family of their own.
    """
    base = 0.08 * min(width, height)
    aspect = rng.uniform(0.75, 1.35)
    radius = (base * aspect, base / aspect)
    cy = height * (0.27 if lane == 0 else 0.73)
    return SceneObject(
        colour=colour,
        shape=shape,
        radius=(float(radius[0]), float(radius[1])),
        centre=(width / 2, float(cy)),
        amplitude=(float(width * rng.uniform(0.25, 0.32)), float(height * rng.uniform(0.03, 0.05))),
        frequency=(float(rng.uniform(0.18, 0.3)), float(rng.uniform(0.25, 0.45))),
        phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
        scale_amplitude=float(rng.uniform(0.05, 0.15)),
        scale_frequency=float(rng.uniform(0.2, 0.4)),
    )


def moving_object_scene(
    *,
    width: int = 640,
    height: int = 360,
    fps: float = 25,
    seconds: float = 3.0,
    colour: str = "red",
    shape: str = "ellipse",
    seed: int = 0,
    background: str = "textured",
    distractor: str | None = None,
    exits: tuple[tuple[float, float], ...] = (),
) -> Scene:
    """The scene of ``make_moving_object_video`` without writing it (see there for the arguments)."""
    for name in (colour, distractor):
        if name is not None and name not in PALETTE:
            raise ValueError(f"unknown colour {name!r}; expected one of {sorted(PALETTE)}")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    rng = np.random.default_rng(seed)
    target = _random_object(rng, colour, shape, width, height, lane=0)
    if exits:
        target = SceneObject(**{**asdict(target), "exits": tuple(tuple(e) for e in exits)})
    objects: list[SceneObject] = []
    if distractor is not None:
        # Drawn first, so it passes behind the target and never hides it.
        objects.append(_random_object(rng, distractor, "rect" if shape == "ellipse" else "ellipse", width, height, lane=1))
    objects.append(target)
    return Scene(
        width=width,
        height=height,
        fps=float(fps),
        frame_count=int(round(seconds * fps)),
        seed=seed,
        background=background,
        objects=tuple(objects),
        target=len(objects) - 1,
    )


def _sine_wav(path: Path, seconds: float) -> None:
    cmd = [
        FFMPEG, "-v", "error", "-y", "-nostdin", "-f", "lavfi",
        "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds + 0.5:.3f}", str(path),
    ]  # fmt: skip
    proc = process.run(cmd, timeout=process.time_limit(seconds))
    if proc.returncode != 0:
        raise MediaError(f"Could not make the test tone: {proc.stderr.decode(errors='replace')[-300:]}")


def write_scene(path: str | Path, scene: Scene, *, audio: bool = True) -> GroundTruth:
    """Encode ``scene`` to an H.264 MP4 at ``path`` frame by frame and return its ground truth."""
    path = Path(path)
    boxes: list[list[float] | None] = []
    with tempfile.TemporaryDirectory(prefix="highlighter-synth-") as tmp:
        wav = None
        if audio:
            wav = Path(tmp) / "tone.wav"
            _sine_wav(wav, scene.frame_count / scene.fps)
        with VideoWriter(path, scene.width, scene.height, scene.fps, audio_from=wav) as writer:
            for i in range(scene.frame_count):
                writer.write(scene.render(i))
                boxes.append(mask_box(scene.target_mask(i)))
    written = probe(path, count_frames=True).frame_count
    if written != scene.frame_count:
        raise MediaError(f"The synthetic video has {written} frames instead of {scene.frame_count}.")
    return GroundTruth(scene=scene, boxes=boxes)


def make_moving_object_video(
    path: str | Path,
    *,
    width: int = 640,
    height: int = 360,
    fps: float = 25,
    seconds: float = 3.0,
    colour: str = "red",
    shape: str = "ellipse",
    seed: int = 0,
    audio: bool = True,
    background: str = "textured",
    distractor: str | None = None,
    exits: tuple[tuple[float, float], ...] = (),
) -> GroundTruth:
    """Write a video of one ``colour`` ``shape`` moving smoothly over a background; return its truth.

    ``distractor`` adds a second object of that colour (the other shape) moving in the lower half,
    behind the target. ``exits`` are ``(start, end)`` seconds during which the target is fully out
    of frame. ``audio`` muxes a 440 Hz tone. Deterministic for a given ``seed`` and arguments.
    """
    scene = moving_object_scene(
        width=width,
        height=height,
        fps=fps,
        seconds=seconds,
        colour=colour,
        shape=shape,
        seed=seed,
        background=background,
        distractor=distractor,
        exits=exits,
    )
    return write_scene(path, scene, audio=audio)
