"""Scenario families with two and three products: exact ground truth per product (issue 12).

A ``MultiScenario`` is a ``scenarios.Scenario`` whose shots hold several products, each with its own
prompt, as a marketer would name them on upload (a description where the words tell the products
apart, a box or a click otherwise; a mix is realistic)::

    scenario = build_multi("cross2", seed=3)
    truth = write_multi("clip.mp4", scenario)      # H.264, one frame at a time
    truth.product_mask(40, 1)                       # bool (H, W): product 1's visible pixels
    scenario.products[1].prompt                     # what the marketer said or clicked for it

Ground truth is occlusion-aware: a product behind another (or behind anything) owns only its
visible pixels, so the products' truth masks never share a pixel. A product keeps its part in the
story per family (``ProductSpec.role``: p1 of ``exit2`` always leaves, p3 of ``trio`` is always the
other colour), so per-product means over seeds compare like with like; only which of two crossing
products passes in front changes with the seed (the summary counts each).

Families (all at 25 fps, sizes scale with the frame):

- ``cross2``: two products of different colours and sizes cross twice, one passing in front of the
  other (which one is the seed's); both turn a little in the hand. Textured background. The first
  is named by a description, the second by a description or a box.
- ``exit2``: the first product leaves through one side and comes back through the other (about
  1.2 s out of view) while the second stays in view; half the seeds paint them the same colour
  (other shapes; then they are prompted by a box and a click), the others in two colours
  (descriptions, or a description and a box). Textured background.
- ``cut2``: three shots: both products over a texture; a cut to a close-up over one of the photos
  where only the second product is (the first is absent for the whole shot, about 1.6 s); a cut
  back to the first set-up with both at new places and sizes. Two colours: descriptions, or a
  description and a box.
- ``samecolour2``: two products of the same colour and different shapes (a ball and a box) cross
  twice while they turn in the hand; prompted by a box each, or a box and a click. Textured.
- ``shelf2``: the same, in front of a shop wall over a photo (``scenarios._shop``: posters, a
  stripe and shelf items in the products' paint and near ones) under a still, noisy camera.
- ``trio``: three products over a photo under a panning, zooming camera and drifting light
  (as ``photo``): two lookalikes of one paint and different shapes that cross twice, prompted by a
  box and a click, and a third of another colour that wanders above them and may pass in front of
  or behind them, prompted by its description.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from highlighter.eval.scenarios import (
    _NOUNS, _STILL_CAMERA, _TRIES, Camera, Lighting, PathObject, Scenario, Shot, _backdrop,
    _clear_at_start, _crossing_paths, _lissajous, _pick_colours, _radius, _shop, _turn_for, _turns, _wander,
)  # fmt: skip
from highlighter.eval.synthetic import PALETTE
from highlighter.media import VideoWriter
from highlighter.trackfile import mask_box

MULTI_FAMILIES = ("cross2", "exit2", "cut2", "samecolour2", "shelf2", "trio")
BACKGROUND = 255  # label of a pixel no layer covers


@dataclass(frozen=True)
class ProductSpec:
    """One product of a scenario: its track id, the marketer's name for it, its prompt and role."""

    id: str
    name: str
    prompt: dict[str, Any]
    role: str = ""

    @property
    def kind(self) -> str:
        """How it is prompted: "text", "box" or "point"."""
        if self.prompt.get("text"):
            return "text"
        return "box" if self.prompt.get("boxes") else "point"


@dataclass(frozen=True)
class MultiScenario(Scenario):
    """A scenario with several products. ``placement[s][k]`` is the index in ``shots[s].objects`` of
    product ``k``, or None when that product is not in shot ``s`` at all. ``prompt`` is the first
    product's (code written for one product reads it as before)."""

    products: tuple[ProductSpec, ...] = ()
    placement: tuple[tuple[int | None, ...], ...] = ()

    def shot_index(self, index: int) -> int:
        return max(s for s, shot in enumerate(self.shots) if shot.start <= index)

    def product_layer(self, index: int, k: int) -> int | None:
        """Product ``k``'s layer on frame ``index`` (``Scenario._layers`` order), None if not in the shot."""
        s = self.shot_index(index)
        slot = self.placement[s][k]
        return None if slot is None else len(self.shots[s].fixtures) + slot

    def labels(self, index: int) -> np.ndarray:
        """``(H, W)`` uint8: the layer each pixel shows on frame ``index``, ``BACKGROUND`` for none."""
        out = np.full((self.height, self.width), BACKGROUND, np.uint8)
        masks = self._masks(index)
        if len(masks) >= BACKGROUND:
            raise ValueError(f"too many layers ({len(masks)}) for a uint8 label map")
        for layer, m in enumerate(masks):
            out[m] = layer
        return out

    def product_mask(self, index: int, k: int) -> np.ndarray:
        layer = self.product_layer(index, k)
        if layer is None:
            return np.zeros((self.height, self.width), bool)
        return self._masks(index)[layer]

    def mask(self, index: int) -> np.ndarray:
        return self.product_mask(index, 0)

    def other_masks(self, index: int) -> list[np.ndarray]:
        layer = self.product_layer(index, 0)
        return [m for i, m in enumerate(self._masks(index)) if i != layer]

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "products": [{"id": p.id, "name": p.name, "prompt": p.prompt, "role": p.role} for p in self.products],
        }


class ProductTruth:
    """One product's truth in a ``MultiTruth``, with the single-product interface the metrics take
    (``mask``, ``other_masks``, ``boxes``, ``shot_starts``): its ``other_masks`` are every other
    layer, the other products among them."""

    def __init__(self, truth: MultiTruth, k: int) -> None:
        self.truth, self.k = truth, k
        self.frame_count, self.width, self.height = truth.frame_count, truth.width, truth.height
        self.boxes = [mask_box(truth.product_mask(i, k)) for i in range(truth.frame_count)]

    def mask(self, index: int) -> np.ndarray:
        return self.truth.product_mask(index, self.k)

    def other_masks(self, index: int) -> list[np.ndarray]:
        labels = self.truth.labels[index]
        mine = self.truth.layers[index][self.k]
        return [labels == v for v in np.unique(labels) if v != BACKGROUND and v != mine]

    def shot_starts(self) -> list[int]:
        return self.truth.shot_starts()


@dataclass
class MultiTruth:
    """Ground truth of a written multi-product scenario: a label map per frame (kept in memory: a
    byte a pixel) and each product's layer on it (``None`` where it is not in the shot)."""

    scenario: MultiScenario
    labels: list[np.ndarray]
    layers: list[tuple[int | None, ...]]
    _products: dict[int, ProductTruth] = field(default_factory=dict, repr=False)

    @property
    def frame_count(self) -> int:
        return self.scenario.frame_count

    @property
    def width(self) -> int:
        return self.scenario.width

    @property
    def height(self) -> int:
        return self.scenario.height

    @property
    def products(self) -> tuple[ProductSpec, ...]:
        return self.scenario.products

    def product_mask(self, index: int, k: int) -> np.ndarray:
        layer = self.layers[index][k]
        if layer is None:
            return np.zeros((self.height, self.width), bool)
        return self.labels[index] == layer

    def product_masks(self, index: int) -> list[np.ndarray]:
        return [self.product_mask(index, k) for k in range(len(self.products))]

    def product(self, k: int) -> ProductTruth:
        if k not in self._products:
            self._products[k] = ProductTruth(self, k)
        return self._products[k]

    def shot_starts(self) -> list[int]:
        return [s.start for s in self.scenario.shots]


def truth_of(scenario: MultiScenario) -> MultiTruth:
    """The ground truth of ``scenario`` without writing the video."""
    n = len(scenario.products)
    labels = [scenario.labels(i) for i in range(scenario.frame_count)]
    layers = [tuple(scenario.product_layer(i, k) for k in range(n)) for i in range(scenario.frame_count)]
    return MultiTruth(scenario, labels, layers)


def write_multi(path: str | Path, scenario: MultiScenario) -> MultiTruth:
    """Encode ``scenario`` to an H.264 MP4 (no audio) frame by frame; return its ground truth."""
    labels, layers = [], []
    with VideoWriter(path, scenario.width, scenario.height, scenario.fps) as writer:
        for i in range(scenario.frame_count):
            writer.write(scenario.render(i))
            labels.append(scenario.labels(i))
            layers.append(tuple(scenario.product_layer(i, k) for k in range(len(scenario.products))))
    return MultiTruth(scenario, labels, layers)


# --- building -------------------------------------------------------------------------------------


def build_multi(family: str, seed: int, *, width: int = 640, height: int = 360, fps: float = 25.0) -> MultiScenario:
    """The multi-product scenario of ``family`` for ``seed``; sizes scale with the frame."""
    if family not in MULTI_FAMILIES:
        raise ValueError(f"unknown multi-product family {family!r}; expected one of {MULTI_FAMILIES}")
    rng = np.random.default_rng((seed, MULTI_FAMILIES.index(family), 5151))
    return _BUILDERS[family](rng, seed, width, height, fps)


def _name(colour: str, shape: str, noun: str | None = None) -> str:
    return f"the {colour} {noun or _NOUNS[shape][0]}"


def _noun(rng: np.random.Generator, shape: str) -> str:
    return str(rng.choice(_NOUNS[shape]))


def _prompt(scenario: MultiScenario, k: int, kind: str, name: str, frame: int = 0) -> dict[str, Any]:
    """Product ``k``'s prompt: its ``name`` ("text"), its true box on ``frame`` ("box"), or a click
    on its visible pixel nearest its centroid ("point")."""
    if kind == "text":
        return {"text": name}
    mask = scenario.product_mask(frame, k)
    if not mask.any():
        raise ValueError(f"product {k} is not visible on frame {frame}: it cannot be prompted there")
    if kind == "box":
        x, y, bw, bh = mask_box(mask)
        return {"text": "", "boxes": [[x, y, x + bw, y + bh, frame]]}
    ys, xs = np.nonzero(mask)
    i = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))
    return {"text": "", "points": [[float(xs[i]) + 0.5, float(ys[i]) + 0.5, frame, 1]]}


def _assemble(
    family: str, seed: int, w: int, h: int, fps: float, seconds: float, shots: tuple[Shot, ...],
    placement: tuple[tuple[int | None, ...], ...], products: list[tuple[str, str, str]],
) -> MultiScenario:  # fmt: skip
    """The scenario, with each product ``(name, prompt kind, role)`` prompted on frame 0."""
    specs = tuple(ProductSpec(f"p{k + 1}", name, {}, role) for k, (name, _, role) in enumerate(products))
    scenario = MultiScenario(
        family=family, seed=seed, width=w, height=h, fps=fps, frame_count=int(round(seconds * fps)),
        shots=shots, prompt={}, products=specs, placement=placement,
    )  # fmt: skip
    prompts = [_prompt(scenario, k, kind, name) for k, (name, kind, _) in enumerate(products)]
    specs = tuple(replace(p, prompt=q) for p, q in zip(specs, prompts))
    return replace(scenario, products=specs, prompt=prompts[0])


def _one_shot(rng, objects: list, order: list[int], **kw) -> tuple[tuple[Shot, ...], tuple[tuple[int | None, ...], ...]]:
    """One shot of ``objects`` drawn in ``order`` (back to front); the placement of each product
    (``objects[k]`` is product ``k`` for the first products)."""
    drawn = tuple(objects[i] for i in order)
    placement = tuple(order.index(k) for k in range(len(objects)))
    first = placement[0]
    return (Shot(0, int(rng.integers(1 << 30)), drawn, first, **kw),), (placement,)


def _cross2(rng, seed, w, h, fps) -> MultiScenario:
    c1, c2 = _pick_colours(rng, 2)
    s1, s2 = (str(rng.choice(("ellipse", "rect"))) for _ in range(2))
    r1, r2 = _radius(rng, w, h), _radius(rng, w, h)
    size = float(rng.uniform(0.8, 1.25))  # the products differ in size, as real ones do
    r2 = (r2[0] * size, r2[1] * size)
    a, b = _crossing_paths(rng, w, h, offset=0.5 * min(r1[1], r2[1]))
    spin = np.random.default_rng((seed, 77))
    p1 = PathObject(PALETTE[c1], s1, r1, a, turns=_turns(spin, 5.0))
    p2 = PathObject(PALETTE[c2], s2, r2, b, turns=_turns(spin, 5.0))
    front = int(rng.integers(2))  # product 0 or 1 passes in front of the other
    order = [1, 0] if front == 0 else [0, 1]
    shots, placement = _one_shot(rng, [p1, p2], order)
    n1, n2 = _name(c1, s1, _noun(rng, s1)), _name(c2, s2, _noun(rng, s2))
    kind2 = "text" if rng.random() < 0.5 else "box"
    roles = ("in front" if front == 0 else "behind", "behind" if front == 0 else "in front")
    return _assemble("cross2", seed, w, h, fps, 5.0, shots, placement, [(n1, "text", roles[0]), (n2, kind2, roles[1])])


def _exit2(rng, seed, w, h, fps) -> MultiScenario:
    same = bool(rng.random() < 0.5)
    c1, c2 = _pick_colours(rng, 2)
    c2 = c1 if same else c2
    s1 = str(rng.choice(("ellipse", "rect")))
    s2 = ("rect" if s1 == "ellipse" else "ellipse") if same else str(rng.choice(("ellipse", "rect")))
    radius = _radius(rng, w, h)
    off = radius[0] * 1.3 + 3  # far enough out that no pixel is left in frame
    y1, y2 = h * rng.uniform(0.25, 0.35), h * rng.uniform(0.3, 0.45)
    side = float(rng.choice((-1, 1)))  # -1: leaves by the left and comes back from the right
    out, back = (-off, w + off) if side < 0 else (w + off, -off)
    xs = (0.45 * w, 0.4 * w + 0.2 * w * (side < 0))
    keys = (
        (0.0, xs[0], y1, 1.0),
        (1.8, out, y1 + 0.03 * h, 1.0),  # leaves through one side
        (2.0, out, y1, 1.0),
        (2.01, back, y2, 1.0),  # waits out of view on the other
        (3.0, back, y2, 1.0),
        (4.5, xs[1], y2 + 0.05 * h, 1.1),  # comes back
        (6.0, 0.45 * w, y2, 1.0),
    )
    leaver = PathObject(PALETTE[c1], s1, radius, keys)
    stayer = _lissajous(rng, c2, s2, w, h, lane=0.76, scale_amplitude=0.08)
    shots, placement = _one_shot(rng, [leaver, stayer], [1, 0])
    n1, n2 = _name(c1, s1), _name(c2, s2)
    if same:
        kinds = ("box", "point") if rng.random() < 0.5 else ("point", "box")
    else:
        kinds = ("text", "text") if rng.random() < 0.5 else ("text", "box")
    products = [(n1, kinds[0], "leaves and comes back"), (n2, kinds[1], "stays in view")]
    return _assemble("exit2", seed, w, h, fps, 6.0, shots, placement, products)


def _cut2(rng, seed, w, h, fps) -> MultiScenario:
    c1, c2 = _pick_colours(rng, 2)
    s1, s2 = (str(rng.choice(("ellipse", "rect"))) for _ in range(2))
    wide = int(rng.integers(1 << 30))
    cut1, cut2 = float(rng.uniform(1.8, 2.2)), float(rng.uniform(3.6, 4.0))
    a = _lissajous(rng, c1, s1, w, h, lane=0.3)
    b = _lissajous(rng, c2, s2, w, h, lane=0.72)
    # The close-up: the second product alone, bigger, over a photo.
    zoom = float(rng.uniform(1.4, 1.7))
    close = _lissajous(rng, c2, s2, w, h, lane=0.5, scale_amplitude=0.08)
    close = replace(close, radius=(close.radius[0] * zoom, close.radius[1] * zoom),
                    amplitude=(close.amplitude[0] * 0.6, close.amplitude[1]))  # fmt: skip
    # Back to the wide set-up: the products have swapped lanes and changed sizes.
    sizes = rng.uniform(0.85, 1.2, 2)
    a2 = _lissajous(rng, c1, s1, w, h, lane=0.7)
    b2 = _lissajous(rng, c2, s2, w, h, lane=0.28)
    a2 = replace(a2, radius=(a2.radius[0] * sizes[0], a2.radius[1] * sizes[0]))
    b2 = replace(b2, radius=(b2.radius[0] * sizes[1], b2.radius[1] * sizes[1]))
    shots = (
        Shot(0, wide, (a, b), 0),
        Shot(int(round(cut1 * fps)), int(rng.integers(1 << 30)), (close,), 0, backdrop=_backdrop(rng)),
        Shot(int(round(cut2 * fps)), wide, (b2, a2), 1),
    )
    placement = ((0, 1), (None, 0), (1, 0))
    kind2 = "text" if rng.random() < 0.5 else "box"
    products = [(_name(c1, s1), "text", "absent from the middle shot"), (_name(c2, s2), kind2, "in every shot")]
    return _assemble("cut2", seed, w, h, fps, 6.0, shots, placement, products)


def _lookalikes(rng, seed, w, h, colour: str, *, spin_key: int) -> tuple[PathObject, PathObject, str, str]:
    """Two products of one paint, a ball and a box, on paths that cross twice, turning in the hand."""
    s1 = str(rng.choice(("ellipse", "rect")))
    s2 = "rect" if s1 == "ellipse" else "ellipse"
    r1, r2 = _radius(rng, w, h), _radius(rng, w, h)
    a, b = _crossing_paths(rng, w, h, offset=0.35 * min(r1[1], r2[1]))
    spin = np.random.default_rng((seed, spin_key, 99))
    p1 = PathObject(PALETTE[colour], s1, r1, a, turns=_turns(spin, 5.0))
    p2 = PathObject(PALETTE[colour], s2, r2, b, turns=_turns(spin, 5.0))
    return p1, p2, _name(colour, s1, "ball" if s1 == "ellipse" else "box"), _name(colour, s2, "ball" if s2 == "ellipse" else "box")


def _samecolour2(rng, seed, w, h, fps) -> MultiScenario:
    (c,) = _pick_colours(rng, 1)
    p1, p2, n1, n2 = _lookalikes(rng, seed, w, h, c, spin_key=3)
    front = int(rng.integers(2))
    shots, placement = _one_shot(rng, [p1, p2], [1, 0] if front == 0 else [0, 1])
    kind2 = "box" if rng.random() < 0.5 else "point"
    roles = ("in front" if front == 0 else "behind", "behind" if front == 0 else "in front")
    return _assemble("samecolour2", seed, w, h, fps, 5.0, shots, placement, [(n1, "box", roles[0]), (n2, kind2, roles[1])])


def _shelf2(rng, seed, w, h, fps) -> MultiScenario:
    (c,) = _pick_colours(rng, 1)
    for _ in range(_TRIES):  # a fair start: on frame 0 both products are apart from every fixture of their paint
        fixtures = _shop(rng, w, h, PALETTE[c])
        p1, p2, n1, n2 = _lookalikes(rng, seed, w, h, c, spin_key=4)
        if _clear_at_start(p1, fixtures, w, h) and _clear_at_start(p2, fixtures, w, h):
            break
    else:
        raise RuntimeError(f"no fair start for shelf2 seed {seed} in {_TRIES} tries")
    front = int(rng.integers(2))
    order = [1, 0] if front == 0 else [0, 1]
    shots, placement = _one_shot(rng, [p1, p2], order, camera=_STILL_CAMERA, backdrop=_backdrop(rng, fixtures))
    roles = ("in front" if front == 0 else "behind", "behind" if front == 0 else "in front")
    return _assemble("shelf2", seed, w, h, fps, 5.0, shots, placement, [(n1, "box", roles[0]), (n2, "box", roles[1])])


def _trio(rng, seed, w, h, fps) -> MultiScenario:
    c, other = _pick_colours(rng, 2)
    p1, p2, n1, n2 = _lookalikes(rng, seed, w, h, c, spin_key=5)
    s3 = str(rng.choice(("ellipse", "rect")))
    p3 = PathObject(PALETTE[other], s3, _radius(rng, w, h), _wander(rng, w, h, 5.0, ys=(0.16, 0.3)))
    sx = float(rng.choice((-1, 1)))
    pans = ((0.0, -0.08 * w * sx, -0.02 * h, 1.0), (2.5, 0.02 * w * sx, 0.02 * h, 1.25), (5.0, 0.1 * w * sx, 0.0, 1.1))
    camera = Camera(keys=pans, noise=4.0)
    middle, end = float(rng.uniform(0.7, 0.85)), float(rng.uniform(0.9, 1.15))
    turn = _turn_for(PALETTE[c], float(rng.choice((-1, 1)) * rng.uniform(15, 25)), end)
    lighting = Lighting(((0.0, 1.0, 1.0, 0.0), (2.5, middle, 0.0, turn / 2), (5.0, end, -1.0, turn)))
    third_in_front = bool(rng.random() < 0.5)
    order = [0, 1, 2] if third_in_front else [2, 0, 1]
    shots, placement = _one_shot(rng, [p1, p2, p3], order, camera=camera, backdrop=_backdrop(rng), lighting=lighting)
    n3 = _name(other, s3, _noun(rng, s3))
    products = [(n1, "box", "lookalike"), (n2, "point", "lookalike"), (n3, "text", "another colour")]
    return _assemble("trio", seed, w, h, fps, 5.0, shots, placement, products)


_BUILDERS = {
    "cross2": _cross2,
    "exit2": _exit2,
    "cut2": _cut2,
    "samecolour2": _samecolour2,
    "shelf2": _shelf2,
    "trio": _trio,
}
