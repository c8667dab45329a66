"""Several products of one video, tracked together: the ``memory`` backend's joint driver.

One job, one decoder: every product gets its own ``TargetController`` (memories, Kalman prior,
propagator, re-detection, as for one product), and all of them step over the same decoded frame.
What the products share is computed once per frame: the decode and resize, cut detection, the
class-agnostic proposals, the whole-frame features a search or a lookalike scan needs, the
appearance vector of a region several products look at (``WorkFrame.cache``), and the network pass
that embeds every product's candidates (each controller ``follow``s, the candidates of all are
embedded together, then each ``choose``s), and one network pass over every product's crop (the
crop each product's step will take, asked of it before it steps). What stays per product is what
is at its own place and scale: its crop's label propagation (most of a product's cost).

Products know each other:

- each product's appearance (its start and every vector its target memory learns) joins the
  others' distractor memories, so a re-detection that looks more like another product is refused
  and a followed mask that slid onto another product is dropped (a product that every other
  product is followed apart from leaves their looks out of that check: it cannot be on them, and
  a look changed past the appearance floor by the light or a turn does not drop its mask while
  its propagation is sure of it);
- when two products come near each other, each one's crop of the other joins the other's
  propagation memory as a counter-example (``LabelPropagator.remember_other``), so the propagation
  labels the other product's cells "not the target";
- a pixel belongs to at most one product on every frame. All controllers first ``decide`` on the
  frame; where their masks overlap, each pixel goes to the product whose propagation is surest of
  it (the propagated probability, plus a bonus where the optical flow carries the product's last
  mask: a product passing in front takes the pixels of the one it hides);
  only then does each controller ``apply`` (learn from) its mask. A product left with a sliver of
  what it decided, that is also a sliver of its usual size, is not visible on that frame;
- a product hidden while it touches another (most likely behind it) is not forgotten: its shape
  keeps moving at the velocity it had for up to ``HIDDEN_SECONDS``, and it shows again from the
  first frame where a fair share of that moved shape still looks as it did, outside what the one
  in front keeps. A product of the same paint merges with it in the proposals and looks like it
  to the re-detection, so neither would bring it back in time. Apart again, a product whose
  propagation kept only part of it (the part the other one left it while they touched) is
  completed from that shape where the frame still shows it as it was, never on another
  product's mask. Two products are in contact while their predicted shapes touch, until the
  frame shows them apart (both followed masks accepted, not touching): after a long contact the
  held shapes, moving at the old velocities, may touch long after the products parted. Touching
  one of its paint, a shape is also fitted each frame to where the frame shows it (``_register``:
  the blob's outline against the scenery), so it does not drift off a product that turned;
- two products of one paint (the colour histograms of their last whole views, or of their first
  views, alike: ``ONE_PAINT``) that overlap leave no trace in the frame of which one is in front:
  the union's outline is the same either way and no edge runs between them. Their last whole
  views, moved along, differ there by little more than noise: summed over a contact they chose
  the wrong one in about half the crossings of ``samecolour2`` when this was built, and a test
  over the contact's frames strict enough to make no wrong call decides few of them
  (docs/tracking.md). Such an overlap is shown as neither's: each product still follows and
  learns its own shape there (so neither memory learns a truncated product), but its track shows
  only its own part, with its score scaled by the share it keeps, down to a sliver at a
  crossing's peak (said "not visible", the product in front would be hidden in plain view), but
  not a speck under the smallest sliver re-detection takes (``min_partial`` of its usual area),
  which cannot be placed on one product rather than the other. An honest "not sure" instead of a
  confident highlight on the other product.

The same driver follows one product beside its lookalikes of the same paint (``lookalikes_of``:
of its paint and size, apart from it on its start frame), which appearance cannot tell from it: the
``memory`` backend finds them on a one-product track's start frame and follows each as a product of
its own, keeping the target's track alone (KeepTrack's "what not to track"; docs/tracking.md,
"Lookalikes of the target's paint followed beside it").

Start frames may differ (a box on frame 40 for one product, a description found best on frame 12
for another). The driver then decodes backwards once from the latest start frame to frame 0 (each
product joining that pass at its own start frame) and forwards once from the earliest start
frame to the end (each product joining at its own start frame); a frame between two start frames
is decoded once per direction, whatever the number of products. Where one product's mask on a
frame is settled already (its start mask, or the backward pass's), the others treat its pixels as
taken (``decide(exclude=...)``). A correction's re-run treats the previous track's other objects
the same way (``exclude``): their pixels are never given to it, and their appearance is known.

Frames are yielded in order, one row (a ``FrameTrack`` per product) per frame; the rows held
until then are the compact encoded frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.errors import TrackError
from highlighter.media import VideoInfo
from highlighter.track.backends import NO_CUE_MESSAGE, memory_controller
from highlighter.track.controller import ControllerSettings, Decision, TargetController
from highlighter.track.embedding import COLOUR_BINS, AppearanceEmbedder, colour_bins, colour_histogram
from highlighter.track.features import ImageNetFeatures
from highlighter.track.frames import FrameSource, work_size
from highlighter.track.grounding import CueGrounder
from highlighter.track.initialise import InitialTarget, initial_targets
from highlighter.track.motion import MIN_SHIFT, motion_field
from highlighter.track.parts import Candidate, WorkFrame, apart, fill_holes, is_background
from highlighter.track.product import Product
from highlighter.track.propagation import LabelPropagator, _box, crop_features_together
from highlighter.track.proposals import ColourSegmentProposer
from highlighter.track.shots import CutWalk
from highlighter.trackfile import FrameTrack, decode_mask, encode_mask

TWIN_SIMILARITY = 0.95  # another product this alike to a product's memory is not a distractor of it (twins)
HELD_BONUS = 0.3  # an overlapping pixel leans to the product whose last mask the optical flow carries onto it
SLIVER = 0.3  # a product left with less than this share of its decided mask and of its usual area is not visible
NEAR_EVERY = 5  # frames between two crops of a nearby product kept as a counter-example
HIDDEN_SECONDS = 2.0  # a product hidden by another keeps moving at its velocity this long (its ghost)
LOOK_TOLERANCE = 48  # a pixel within this (largest channel difference, 0..255) of a product's moved look shows it
SHOWS = 0.3  # a hidden product shows again where this share of its shape's pixels show it
SHORT = 0.8  # a product apart again whose mask is under this share of its held shape is completed from it
ONE_PAINT = 0.9  # two products whose colour histograms are this alike (Hellinger affinity) are of one paint
LOOKALIKE_SIZE = 2.0  # a region of a product's paint is a lookalike of it when each side of its box is within this factor of the product's
MAX_LOOKALIKES = 3  # the most lookalikes of one product followed beside it (each costs about half a product's time)
PAINT_SHARE = 0.05  # a pixel is of a product's paint when its colour bin holds this share of the product's pixels


class SharedProposer:
    """The proposer's regions of a frame, computed once per frame for every product; each caller
    gets its own ``Candidate`` objects (controllers set their quality, source and embedding)."""

    def __init__(self, proposer: Any) -> None:
        self.proposer = proposer

    def propose(self, frame: WorkFrame) -> list[Candidate]:
        if "proposals" not in frame.cache:
            frame.cache["proposals"] = self.proposer.propose(frame)
        return [_copy(c) for c in frame.cache["proposals"]]


class SharedEmbedder:
    """The embedder's vector of a region, computed once per frame for every product looking at
    the very same mask (the same array, from ``SharedProposer``); ``embed_all`` embeds the
    candidates of every product of a frame in one network pass."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def embed(self, frame: WorkFrame, candidate: Candidate) -> np.ndarray:
        vector = self._done(frame, candidate)
        if vector is None:
            vector = self.embedder.embed(frame, candidate)
            frame.cache["embeddings"].append((candidate.mask, candidate.box, vector))
        return vector

    def embed_many(self, frame: WorkFrame, candidates: list[Candidate]) -> list[np.ndarray]:
        """``embed`` of each of ``candidates`` (``embed_all``), their ``embedding`` set too."""
        self.embed_all(frame, candidates)
        return [c.embedding for c in candidates]  # type: ignore[misc]

    def embed_all(self, frame: WorkFrame, candidates: list[Candidate]) -> None:
        """Set every candidate's ``embedding``, those not done yet in one network pass."""
        todo = []
        for c in candidates:
            c.embedding = self._done(frame, c)
            if c.embedding is None and not any(c.mask is d.mask and c.box == d.box for d in todo):
                todo.append(c)
        if todo:
            vectors = self.embedder.embed_many(frame, todo)
            frame.cache["embeddings"] += [(c.mask, c.box, v) for c, v in zip(todo, vectors)]
        for c in candidates:
            if c.embedding is None:
                c.embedding = self._done(frame, c)

    def _done(self, frame: WorkFrame, candidate: Candidate) -> np.ndarray | None:
        for mask, box, vector in frame.cache.setdefault("embeddings", []):
            if mask is candidate.mask and box == candidate.box:
                return vector
        return None


def _copy(c: Candidate) -> Candidate:
    return Candidate(c.mask, c.box, c.area, c.touches_border, c.quality, c.object_score, c.source, c.embedding)


class _Known:
    """Masks settled before a frame is stepped, by key: the previous track's other objects
    (``exclude``), each product's start mask and the backward pass's held frames."""

    def __init__(self, exclude: list[Any], info: VideoInfo, work: tuple[int, int]) -> None:
        self.exclude, self.info, self.work = exclude, info, work

    def excluded(self, index: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{key: (working-size mask, video-size mask)}`` of the excluded objects visible on ``index``."""
        out = {}
        for obj in self.exclude:
            if index < len(obj.frames) and obj.frames[index].visible and obj.frames[index].mask is not None:
                full = decode_mask(obj.frames[index].mask)
                out[f"exclude:{obj.id}"] = (self.to_work(full), full)
        return out

    def to_work(self, full: np.ndarray) -> np.ndarray:
        """A video-size mask at the working size; a working pixel any of whose area is in it counts."""
        if full.shape[::-1] == self.work:
            return full.copy()
        return cv2.resize(full.astype(np.uint8) * 255, self.work, interpolation=cv2.INTER_AREA) > 0


class JointTracker:
    """Tracks several ``Product``s of one video together (module docstring). ``track`` yields one
    row per frame, in order: a ``FrameTrack`` per product, in the products' order."""

    name = "memory"

    def __init__(self, products: list[Product], info: VideoInfo, *, exclude: list[Any] | None = None, max_side: int = 480) -> None:
        self.products, self.info = products, info
        self.fps = info.fps or 25.0
        self.work_size = work_size(info, max_side)
        scale = (self.work_size[0] / info.width, self.work_size[1] / info.height)
        self.grounders = [CueGrounder(p.prompt, scale) for p in products]
        for p, g in zip(products, self.grounders):
            if not g.can_ground() and not g.prompted_frames():
                raise TrackError(NO_CUE_MESSAGE if len(products) == 1 else f"{p.label}: {NO_CUE_MESSAGE}")
        self.proposer = SharedProposer(ColourSegmentProposer())
        self.features = ImageNetFeatures()
        self.embedder = SharedEmbedder(AppearanceEmbedder(self.features))
        self.settings = ControllerSettings()
        self.known = _Known(list(exclude or []), info, self.work_size)
        self._cuts: set[int] = set()
        self.object_meta: list[dict[str, Any]] = [
            {"colour": g.colour or "learned from the prompt"} for g in self.grounders
        ]
        self.decoded = 0  # frames decoded by the tracking passes (not the start frames' search)

    @property
    def meta(self) -> dict[str, Any]:
        return {"work_size": list(self.work_size)}

    @property
    def cut_frames(self) -> set[int]:
        """The frames a new shot starts on, found so far."""
        return set(self._cuts)

    def shots(self, frame_count: int) -> list[list[int]]:
        starts = [0, *sorted(c for c in self._cuts if 0 < c < frame_count)]
        ends = [s - 1 for s in starts[1:]] + [frame_count - 1]
        return [[s, e] for s, e in zip(starts, ends)]

    # -- the passes -----------------------------------------------------------------------------

    def track(
        self, video_path: str | Path, analysed: Callable[[int], Any] | None = None, inits: list[InitialTarget] | None = None
    ) -> Iterator[list[FrameTrack]]:
        """One row (a ``FrameTrack`` per product) per frame, in order. ``inits``: the products'
        start targets when the caller found them already (one per product, in order)."""
        n = self.info.frame_count
        source = FrameSource(video_path, self.info, self.work_size)
        if inits is None:
            try:
                inits = initial_targets(source, n, self.proposer, self.grounders, self.embedder)
            except TrackError as e:
                if len(self.products) == 1:
                    raise
                raise TrackError(f"{self._which_failed(source, n, e)}{e}") from e
        else:
            inits = list(inits)
        self._settle_starts(inits)
        starts = [t.frame.index for t in inits]
        first, last = min(starts), max(starts)
        for i, t in enumerate(inits):
            self.object_meta[i].update({"init_frame": t.frame.index, "init_score": round(t.score, 3)})
        self._vectors = [self.embedder.embed(t.frame, t.candidate) for t in inits]
        self._events: list[list[tuple[int, str]]] = [[] for _ in inits]
        steps = last + (n - first)  # frames analysed: backwards from the last start, forwards from the first
        count = 0

        def done() -> None:
            nonlocal count
            count += 1
            if analysed is not None:
                analysed(max(1, round(count * n / max(1, steps))))

        held: dict[int, list[FrameTrack | None]] = {}
        held_work: dict[int, dict[int, dict]] = {}  # frame -> product -> working-size RLE of the backward pass
        self._reset_shapes()
        if last > 0:
            controllers: dict[int, TargetController] = {}
            top = next(t for t in inits if t.frame.index == last)
            walk = CutWalk(self.fps, top.frame.rgb, self._cuts, backward=True)
            for frame in source.backward(last):
                self.decoded += 1
                f = frame.index
                cut = walk.step(frame.rgb, f)
                active = [i for i, s in enumerate(starts) if s > f]
                for i in active:
                    if i not in controllers:
                        controllers[i] = self._controller(i, inits)
                fixed = self._fixed(f, inits, starts, {}, {})
                masks = self._step(frame, cut, active, controllers, fixed)
                held[f], held_work[f] = self._row(f, inits, starts, masks, fixed, active)
                done()
            for i, c in controllers.items():
                self._events[i] += c.events
            del controllers
        for f in range(first):
            yield held.pop(f)  # type: ignore[misc]
            held_work.pop(f, None)
        # The first start frame: the backward pass's products, and the products starting there.
        fixed = self._fixed(first, inits, starts, held.get(first, []), held_work.get(first, {}))
        row, _ = self._row(first, inits, starts, {}, fixed, [])
        yield self._merge(held.pop(first, None), row)
        held_work.pop(first, None)
        done()
        controllers = {}
        self._reset_shapes()
        first_frame = next(t for t in inits if t.frame.index == first)
        walk = CutWalk(self.fps, first_frame.frame.rgb, self._cuts, known=last)  # up to ``last`` the backward pass saw the cuts
        for frame in source.forward(first + 1):
            self.decoded += 1
            f = frame.index
            cut = walk.step(frame.rgb, f)
            active = [i for i, s in enumerate(starts) if s < f]
            for i in active:
                if i not in controllers:
                    controllers[i] = self._controller(i, inits)
            fixed = self._fixed(f, inits, starts, held.get(f, []), held_work.get(f, {}))
            masks = self._step(frame, cut, active, controllers, fixed)
            row, _ = self._row(f, inits, starts, masks, fixed, active)
            yield self._merge(held.pop(f, None), row)
            held_work.pop(f, None)
            done()
        for i, c in controllers.items():
            self._events[i] += c.events
        for i, events in enumerate(self._events):
            self.object_meta[i]["events"] = sorted(events)

    def _which_failed(self, source: FrameSource, n: int, error: TrackError) -> str:
        """``"<name>: "`` of the first product whose start cannot be found alone (for the message)."""
        for p, g in zip(self.products, self.grounders):
            try:
                initial_targets(source, n, self.proposer, [g], self.embedder)
            except TrackError:
                return f"{p.label}: "
        return ""

    def _settle_starts(self, inits: list[InitialTarget]) -> None:
        """Start masks on one frame made disjoint (a product listed earlier keeps a shared pixel),
        and none on an excluded object's pixels."""
        for i, t in enumerate(inits):
            mask = t.candidate.mask.copy()
            for j in range(i):
                if inits[j].frame.index == t.frame.index:
                    mask &= ~inits[j].candidate.mask
            for work, _ in self.known.excluded(t.frame.index).values():
                mask &= ~work
            if not mask.any():
                raise TrackError(
                    f"{self.products[i].label} was found where another product is, on frame {t.frame.index}. "
                    "Click on it or draw a box around it on a frame where it is apart."
                )
            if not np.array_equal(mask, t.candidate.mask):
                cand = Candidate.from_mask(mask, quality=t.candidate.quality, object_score=t.candidate.object_score,
                                           source=t.candidate.source)  # fmt: skip
                assert cand is not None
                inits[i] = InitialTarget(t.frame, cand, t.score, t.seeds)

    def _controller(self, i: int, inits: list[InitialTarget]) -> TargetController:
        """Product ``i``'s controller for a pass, started on its start frame and told the others."""
        init = inits[i]
        controller = memory_controller(
            self.proposer, self.grounders[i], LabelPropagator(features=self.features), self.embedder, self.settings, init
        )
        controller.learned.clear()
        for j, vector in enumerate(self._vectors):
            if j != i:
                self._add_distractor(controller, vector, self.products[j].id)
        for key, (work, _) in self.known.excluded(init.frame.index).items():
            self._learn_other(controller, key, init.frame, work, init.candidate.mask, embed=True)
        for j, other in enumerate(inits):
            if j != i and other.frame.index == init.frame.index and _near(other.candidate.mask, init.candidate.mask):
                controller.propagator.remember_other(self.products[j].id, init.frame, other.candidate.mask, init.candidate.mask)
        controller.since_others = 0  # type: ignore[attr-defined]
        return controller

    def _fixed(self, f: int, inits, starts, held_row, held_work_row) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Masks settled on frame ``f`` before its step: ``{key: (working mask, video mask)}``:
        the excluded objects', the start masks of the products starting on ``f`` (less the excluded
        objects' pixels) and the backward pass's held masks."""
        fixed = dict(self.known.excluded(f))
        taken = None
        for _, full in fixed.values():
            taken = full.copy() if taken is None else taken | full
        for i, s in enumerate(starts):
            if s == f:
                work = inits[i].candidate.mask
                full = self._upscale(work)
                if taken is not None:
                    full &= ~taken
                    taken |= full
                else:
                    taken = full.copy()
                fixed[self.products[i].id] = (work, full)
        for i, ft in enumerate(held_row or []):
            if ft is not None and ft.visible and ft.mask is not None and starts[i] != f:
                work = decode_mask(held_work_row[i]) if i in held_work_row else self.known.to_work(decode_mask(ft.mask))
                fixed[self.products[i].id] = (work, decode_mask(ft.mask))
        return fixed

    # -- one frame ------------------------------------------------------------------------------

    def _step(self, frame: WorkFrame, cut: bool, active: list[int], controllers, fixed) -> dict[int, tuple[np.ndarray | None, float]]:
        """Every active product's mask on ``frame`` (working size, disjoint) and confidence.

        Each product first predicts where it is: its shape (its last whole mask, held while it
        touches another product) moved by its optical flow. A product then decides without the
        pixels only another product is predicted on (nor the settled ones of ``fixed``), so a
        same-coloured product passing in front or behind is not merged in."""
        if cut:  # a hidden product is not behind anything of the next shot, nor cut short by a contact
            self._hidden.clear()
            self._touched.clear()
        taken = None
        if fixed:
            taken = np.zeros(frame.size[::-1], bool)
            for work, _ in fixed.values():
                taken |= work
        predicted: dict[int, np.ndarray] = {}
        if not cut and len(active) > 1:
            for i in active:
                if controllers[i].tracking or i in self._hidden:
                    p = self._predict(i, frame, controllers[i])
                    if p is not None and p.any():
                        predicted[i] = p
        contacts = [(i, j) for k, i in enumerate(predicted) for j in list(predicted)[k + 1 :] if _touch(predicted[i], predicted[j])]
        if not cut:  # every product's crop through the network together (one pass a frame)
            crops = [(controllers[i].propagator, controllers[i].step_crop(frame)) for i in active]
            crop_features_together(frame, [(p, c) for p, c in crops if c is not None])
        # A product apart from all the others, each of them followed and none touching it, has not
        # slid onto one of them: their looks do not make its mask a lookalike's.
        touching = {k for pair in contacts for k in pair}
        followed = {}
        for i in active:
            apart = i not in touching and not self._hidden and all(j in predicted for j in active if j != i)
            elsewhere = frozenset(self.products[j].id for j in active if j != i) if apart else frozenset()
            exclude = taken
            others = [m for j, m in predicted.items() if j != i]
            if others:
                exclude = np.zeros(frame.size[::-1], bool) if taken is None else taken.copy()
                for m in others:
                    exclude |= m
                if i in predicted:
                    exclude &= ~predicted[i] | (taken if taken is not None else False)
            followed[i] = controllers[i].follow(frame, cut, exclude, elsewhere)
        # Every product's candidates through the appearance network together (one pass a frame).
        self.embedder.embed_all(frame, [c for f in followed.values() if f is not None for c in f.candidates])
        decisions = {i: controllers[i].choose(frame, followed[i]) for i in active}
        contacts = self._still_touching(contacts, decisions)
        contacts = self._from_shapes(frame, decisions, controllers, predicted, contacts, taken)
        trimmed, unsure = self._resolve(frame, decisions, controllers, predicted, contacts)
        out = {i: controllers[i].apply(frame, decisions[i], trimmed.get(i)) for i in active}
        self._update_shapes(frame, active, controllers, out, predicted, contacts)
        self._share(frame, active, controllers, out, fixed, decisions)
        if not unsure:
            return out
        floors = {i: controllers[i].settings.min_partial * (controllers[i]._reference_area() or 0.0) for i in out}
        return _shown(out, unsure, floors)

    def _reset_shapes(self) -> None:
        """Forget the shapes, velocities and depth orders (a new pass starts)."""
        self._shapes: dict[int, np.ndarray] = {}
        self._looks: dict[int, np.ndarray] = {}  # the frame each shape was taken from (its pixels' colours)
        self._offset: dict[int, tuple[float, float]] = {}
        self._centroid: dict[int, tuple[float, float]] = {}
        self._velocity: dict[int, tuple[float, float]] = {}
        self._front: dict[tuple[int, int], int] = {}
        self._hidden: dict[int, int] = {}  # products hidden by another, moving on as a shape: frames hidden
        self._paint: dict[tuple[int, int], bool] = {}  # for products in contact: whether they are of one paint
        self._first_paint: dict[int, np.ndarray] = {}  # each product's colour histogram on the first view its shape was taken from
        self._evidence: dict[tuple[int, int], float] = {}  # for "i in front of j": the sum of j's error less i's
        self._touched: set[int] = set()  # products apart again after a contact, until their propagation has all of them again

    def _predict(self, i: int, frame: WorkFrame, controller: TargetController) -> np.ndarray | None:
        """Product ``i``'s predicted mask on ``frame``: its held shape moved by its flow's median
        motion (by its velocity while it touches another product or is hidden; then fitted to the
        frame while it touches one of its paint, ``_register``), else its last mask moved by the
        flow."""
        moved = controller.propagator.moved(frame)
        shape = self._shapes.get(i)
        if shape is None:
            return moved
        # While it touches another product, the flow between two products of one paint is smeared:
        # the shape keeps the velocity it had before (its centroid's, over the last frames).
        touching = any(i in pair for pair in self._front)
        if not controller.tracking:  # hidden behind another product: it moves on as it moved
            motion = self._velocity.get(i, (0.0, 0.0))
        else:
            motion = self._velocity.get(i) if touching else controller.propagator.motion(frame)
        if motion is None:
            return moved
        self._offset[i] = (self._offset.get(i, (0.0, 0.0))[0] + motion[0], self._offset.get(i, (0.0, 0.0))[1] + motion[1])
        if any(self._paint.get(pair) for pair in self._front if i in pair):
            self._offset[i] = self._register(frame, i, shape, self._offset[i])
        ox, oy = self._offset[i]
        shifted = _translate(shape, (ox, oy))
        return shifted

    def _register(self, frame: WorkFrame, i: int, shape: np.ndarray, offset: tuple[float, float]) -> tuple[float, float]:
        """The offset near ``offset`` (within the shape's ``_slack``) at which product ``i``'s held
        shape, as it looked when last seen whole, best matches ``frame``: the fewest of its pixels
        off by more than ``LOOK_TOLERANCE`` (a pixel moved out of the frame is off), the nearest to
        ``offset`` on a tie. Within a blob of one paint the flow is smeared and the velocity held
        from before the contact drifts; the blob's outline against the scenery still says where
        the shape fits."""
        look = self._looks.get(i)
        if look is None or look.shape != frame.rgb.shape:
            return offset
        x, y, w, h = (int(v) for v in _box(shape))
        if w == 0 or h == 0:
            return offset
        r = _slack(shape)
        ox, oy = (int(round(v)) for v in offset)
        template = look[y : y + h, x : x + w].astype(np.int16)
        inside = shape[y : y + h, x : x + w]
        fh, fw = frame.rgb.shape[:2]
        # The frame around the moved shape, r pixels more each side; what lies outside the frame
        # matches no colour.
        x0, y0 = x + ox - r, y + oy - r
        region = np.full((h + 2 * r, w + 2 * r, 3), 10_000, np.int16)
        sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(fw, x0 + w + 2 * r), min(fh, y0 + h + 2 * r)
        if sx1 > sx0 and sy1 > sy0:
            region[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = frame.rgb[sy0:sy1, sx0:sx1]
        best, best_key = (0, 0), None
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                window = region[r + dy : r + dy + h, r + dx : r + dx + w]
                off = np.count_nonzero((np.abs(window - template).max(axis=2) > LOOK_TOLERANCE) & inside)
                key = (off, dx * dx + dy * dy)
                if best_key is None or key < best_key:
                    best, best_key = (dx, dy), key
        if best == (0, 0):  # the velocity's own offset, its fraction of a pixel kept for the next frame
            return offset
        return float(ox + best[0]), float(oy + best[1])

    def _update_shapes(self, frame: WorkFrame, active, controllers, out, predicted, contacts) -> None:
        """A product's shape is its mask while it touches no other product and keeps its usual
        size (its centroid's velocity is followed then); while it touches one, the shape moved
        along (``_predict``) stands for it, and it stays after a product is hidden by another."""
        touching = {i for pair in contacts for i in pair}
        limit = int(round(HIDDEN_SECONDS * self.fps))
        for i in active:
            mask = out[i][0]
            if i in touching:
                self._touched.add(i)
            if not controllers[i].tracking or mask is None or not mask.any():
                # Hidden while it touches another product (or hidden already): most likely behind
                # it, so its shape moves on and may show again (``_from_shapes``).
                if i in self._shapes and (i in touching or i in self._hidden) and self._hidden.get(i, 0) < limit:
                    self._hidden[i] = self._hidden.get(i, 0) + 1
                    continue
                self._hidden.pop(i, None)
                self._touched.discard(i)
                self._shapes.pop(i, None)
                self._looks.pop(i, None)
                self._centroid.pop(i, None)
                self._velocity.pop(i, None)
                continue
            self._hidden.pop(i, None)
            if i in touching and i in self._shapes:
                continue
            ref = controllers[i]._reference_area()
            area = np.count_nonzero(mask)
            if i not in touching and (ref is None or 0.8 <= area / ref <= 1.25):
                self._shapes[i], self._offset[i] = mask, (0.0, 0.0)
                self._looks[i] = frame.rgb
                ys, xs = np.nonzero(mask)
                c = (float(xs.mean()), float(ys.mean()))
                if i in self._centroid:
                    step = (c[0] - self._centroid[i][0], c[1] - self._centroid[i][1])
                    v = self._velocity.get(i, step)
                    self._velocity[i] = (0.6 * v[0] + 0.4 * step[0], 0.6 * v[1] + 0.4 * step[1])
                self._centroid[i] = c
            elif i not in self._shapes:
                self._shapes[i], self._offset[i] = mask, (0.0, 0.0)
                self._looks[i] = frame.rgb
                self._centroid.pop(i, None)
            if i not in self._first_paint and i in self._shapes:  # the first view its shape was taken from
                self._first_paint[i] = _paint(self._looks[i], self._shapes[i])
        for pair in list(self._front):
            if pair not in contacts:
                del self._front[pair]
                self._evidence.pop(pair, None)
                self._paint.pop(pair, None)
        for pair in contacts:
            self._front.setdefault(pair, pair[0])

    @staticmethod
    def _still_touching(contacts: list[tuple[int, int]], decisions: dict[int, Decision]) -> list[tuple[int, int]]:
        """``contacts`` (pairs whose predicted shapes touch) without those the frame shows apart:
        both followed masks accepted, not touching. While two products touch, each is kept within
        its held shape, which moves on at the velocity it had before the contact; after a long
        contact (a turn, a change of direction) the shapes may still touch when the products have
        parted, and ``_resolve`` would keep cutting each product to its stale shape. A product not
        found may be behind the other, and one found again elsewhere (``take``) may be a
        re-detection's mistake: neither says they parted."""
        return [
            (i, j) for i, j in contacts
            if not (decisions[i].kind == decisions[j].kind == "accept" and not _touch(decisions[i].mask, decisions[j].mask))
        ]  # fmt: skip

    def _from_shapes(self, frame: WorkFrame, decisions: dict[int, Decision], controllers, predicted, contacts, taken) -> list:
        """Decisions completed from the products' held shapes, where a same-coloured product in
        contact misleads the propagation and the re-detection. A product hidden by another (or
        lost while touching one) takes the pixels of its moved shape that still look as it did
        (``_shows``) when they are a fair share of it (``SHOWS``); ``_resolve`` then gives the
        overlap to the one in front, so a product still behind stays hidden and one coming out
        shows from its first part. Its own re-detection still runs: when it finds the product
        (another colour is found where it is, wherever its shape went), the shape is dropped.
        A product apart again after a contact whose accepted mask is under ``SHORT`` of its shape
        gains the shape's pixels that show it (none of another product's mask), on every frame
        until its propagation has the whole product again. Returns ``contacts`` without the
        products whose shape was dropped."""
        touching = {i for pair in contacts for i in pair}
        dropped = set()
        for i, d in decisions.items():
            shape = predicted.get(i)
            if shape is None or i not in self._shapes:
                continue
            if d.kind == "take" and i in self._hidden:
                del predicted[i]
                dropped.add(i)
            elif d.kind != "accept" and (i in self._hidden or i in touching):
                shows = self._shows(frame, i, shape, taken)
                if np.count_nonzero(shows) >= SHOWS * np.count_nonzero(shape):
                    cand = Candidate.from_mask(fill_holes(shows), source="held")
                    assert cand is not None
                    cand.quality = cand.object_score = np.count_nonzero(shows) / np.count_nonzero(shape)
                    cand.embedding = self.embedder.embed(frame, cand)
                    decisions[i] = Decision("take", cand, controllers[i].memory.similarity(cand.embedding))
            elif d.kind == "accept" and i not in touching and i in self._touched and d.mask is not None:
                # Apart again, but the propagation kept only part of the product (it followed the
                # part the other one left it during the contact): the held shape's pixels that
                # still show the product, and no other product's mask, complete it.
                area = np.count_nonzero(d.mask)
                if area >= SHORT * np.count_nonzero(shape):
                    self._touched.discard(i)  # the propagation has the whole product again
                    continue
                others = [decisions[j].mask for j in decisions if j != i and decisions[j].mask is not None]
                shows = self._shows(frame, i, shape, taken)
                for m in others:
                    shows &= ~m
                if np.count_nonzero(shows & ~d.mask) < (1 - SHORT) * area or np.count_nonzero(shows) < SHOWS * np.count_nonzero(shape):
                    continue
                cand = Candidate.from_mask(fill_holes(d.mask | shows), quality=d.candidate.quality, object_score=d.candidate.object_score, source="held")
                assert cand is not None
                cand.embedding = self.embedder.embed(frame, cand)
                decisions[i] = Decision("accept", cand, controllers[i].memory.similarity(cand.embedding))
        return [pair for pair in contacts if not dropped.intersection(pair)]

    def _shows(self, frame: WorkFrame, i: int, shape: np.ndarray, taken: np.ndarray | None) -> np.ndarray:
        """The pixels of product ``i``'s moved ``shape`` whose colour is still its own: within
        ``LOOK_TOLERANCE`` of the frame it was last seen whole on, moved along as the shape."""
        look = self._looks.get(i)
        out = np.zeros_like(shape)
        if look is None or look.shape != frame.rgb.shape or not shape.any():
            return out
        x, y, w, h = (int(v) for v in _box(shape))
        ox, oy = (int(round(v)) for v in self._offset.get(i, (0.0, 0.0)))
        moved = _translate(look, (ox, oy))[y : y + h, x : x + w]
        diff = np.abs(frame.rgb[y : y + h, x : x + w].astype(np.int16) - moved.astype(np.int16)).max(axis=2)
        out[y : y + h, x : x + w] = shape[y : y + h, x : x + w] & (diff <= LOOK_TOLERANCE)
        if taken is not None:
            out &= ~taken
        return out

    def _resolve(
        self, frame: WorkFrame, decisions: dict[int, Decision], controllers, predicted=None, contacts=()
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Each decided mask less the pixels another product is surer of (module docstring), and
        per product the pixels it keeps but is not shown on.

        Products in contact first keep within their predicted shapes (a few pixels of slack for
        a turn or a zoom), and where their shapes overlap the product in front keeps the pixels:
        the one the propagation is surer of there when they first overlap, until they part. Two
        products of one paint both keep their shapes' overlap, and it is shown as neither's."""
        claims = {i: d.mask for i, d in decisions.items() if d.mask is not None}
        out: dict[int, np.ndarray] = {}
        unsure: dict[int, np.ndarray] = {}
        predicted = predicted or {}
        for i, j in contacts:
            if i not in claims or j not in claims:
                continue
            both = predicted[i] & predicted[j]
            if self._one_paint(i, j):
                for k in (i, j):
                    out[k] = out.get(k, claims[k]) & _dilate(predicted[k], _slack(predicted[k]))
                    unsure[k] = unsure[k] | both if k in unsure else both
                continue
            if both.any():
                self._front[(i, j)] = self._in_front(frame, i, j, both, decisions, controllers)
            front = self._front.get((i, j), i)
            back = j if front == i else i
            for k in (i, j):
                mask = out.get(k, claims[k])
                mask = mask & _dilate(predicted[k], _slack(predicted[k]))
                if k == back:
                    mask = mask & ~(both & out.get(front, claims[front]))
                    # Mostly within the shape of the one in front: what shows of it is too little
                    # to tell from the front one's edge; not visible on this frame.
                    if np.count_nonzero(mask & predicted[front]) > 0.5 * np.count_nonzero(mask):
                        mask = np.zeros_like(mask)
                out[k] = mask
        current = {i: out.get(i, m) for i, m in claims.items()}
        if len(current) >= 2:
            stack = np.stack(list(current.values()))
            claimants = stack.sum(axis=0)
            overlap = claimants > 1
            if unsure:
                # Pixels that only products of one paint claim, within their shapes' overlap, stay
                # with each of them (none shows them); a third product there still competes.
                doubt = sum((current[k] & unsure[k]).astype(np.int64) for k in current if k in unsure)
                overlap &= claimants > doubt
            if overlap.any():
                keys = list(current)
                strength = np.full(stack.shape, -np.inf, np.float32)
                for k, i in enumerate(keys):
                    d = decisions[i]
                    prob = controllers[i].propagator.probability(frame, search=d.kind == "take")
                    value = prob[overlap] if prob is not None else np.full(np.count_nonzero(overlap), d.candidate.object_score, np.float32)
                    if i in predicted:
                        value = value + HELD_BONUS * predicted[i][overlap]
                    strength[k][overlap] = np.where(current[i][overlap], value, -np.inf)
                winner = np.argmax(strength[:, overlap], axis=0)
                for k, i in enumerate(keys):
                    lost = np.zeros_like(overlap)
                    lost[overlap] = winner != k
                    lost &= current[i]
                    if lost.any():
                        out[i] = current[i] & ~lost
        for i in list(out):
            kept, decided = np.count_nonzero(out[i]), np.count_nonzero(claims[i])
            if kept == decided:
                del out[i]
                continue
            ref = controllers[i]._reference_area()
            if kept < SLIVER * decided and (ref is None or kept < SLIVER * ref):
                out[i] = np.zeros_like(out[i])
        return out, unsure

    def _one_paint(self, i: int, j: int) -> bool:
        """Whether products ``i`` and ``j`` (in contact) are of one paint: the colour histograms
        (``embedding.colour_histogram``) of their last whole views, or of the first views their
        shapes were taken from in this pass (the first frame after the prompt's, as a rule), at
        least ``ONE_PAINT`` alike. A mask that took in a piece of scenery since its start (a shelf
        item it uncovered) makes its last view unlike the other product's; its first view is the
        product's own paint. Decided once per contact; False while either has no whole view yet."""
        pair = (i, j)
        if pair not in self._paint:
            last = []
            for k in pair:
                look, shape = self._looks.get(k), self._shapes.get(k)
                if look is None or shape is None or not shape.any():
                    return False
                last.append(_paint(look, shape))
            alike = float(last[0] @ last[1]) >= ONE_PAINT
            if not alike and i in self._first_paint and j in self._first_paint:
                alike = float(self._first_paint[i] @ self._first_paint[j]) >= ONE_PAINT
            self._paint[pair] = alike
        return self._paint[pair]

    def _in_front(self, frame: WorkFrame, i: int, j: int, both: np.ndarray, decisions, controllers) -> int:
        """Which of two touching products is in front where their shapes overlap: the one whose
        own pixels, as they looked when last seen whole and moved along since, match the frame
        there better (a product of the same paint still differs in shading and texture). The
        evidence adds up over the frames they touch (each frame weighs by its overlap), so one
        frame's near tie does not flip it. Without such views: the one the propagation is surer
        of there (the earlier one on a tie)."""
        now = frame.rgb[both].astype(np.float32)
        errors = []
        for k in (i, j):
            look = self._looks.get(k)
            if look is None or look.shape != frame.rgb.shape:
                break
            moved = _translate(look, self._offset.get(k, (0.0, 0.0)))
            errors.append(float(np.abs(moved[both].astype(np.float32) - now).mean()))
        if len(errors) < 2:
            errors = []
            for k in (i, j):
                prob = controllers[k].propagator.probability(frame, search=decisions[k].kind == "take")
                errors.append(-float(prob[both].mean()) if prob is not None else 0.0)
        self._evidence[(i, j)] = self._evidence.get((i, j), 0.0) + (errors[1] - errors[0]) * np.count_nonzero(both)
        return i if self._evidence[(i, j)] >= 0 else j

    def _share(self, frame: WorkFrame, active: list[int], controllers, out, fixed, decisions) -> None:
        """What each product learned of itself joins the others' distractors; a product near
        another keeps a crop of it as a counter-example (every ``NEAR_EVERY`` frames)."""
        learned = {i: controllers[i].learned[:] for i in active}
        for i in active:
            controllers[i].learned.clear()
        for i in active:
            c = controllers[i]
            for j, vectors in learned.items():
                if j != i:
                    for v in vectors:
                        self._add_distractor(c, v, self.products[j].id)
            c.since_others += 1
            own = out[i][0]
            if own is None or c.since_others < NEAR_EVERY:
                continue
            others = {self.products[j].id: out[j][0] for j in active if j != i and out[j][0] is not None}
            others.update({k: work for k, (work, _) in fixed.items()})
            for key, mask in others.items():
                if _near(mask, own):
                    self._learn_other(c, key, frame, mask, own, embed=key.startswith("exclude:"))
                    c.since_others = 0

    def _learn_other(self, c: TargetController, key: str, frame: WorkFrame, mask: np.ndarray, own: np.ndarray | None, *, embed: bool) -> None:
        if not mask.any():
            return
        c.propagator.remember_other(key, frame, mask, own)
        if embed:
            cand = Candidate.from_mask(mask, source="other")
            if cand is not None:
                self._add_distractor(c, self.embedder.embed(frame, cand), key)

    def _add_distractor(self, c: TargetController, vector: np.ndarray, source: str) -> None:
        if len(c.memory) == 0 or c.memory.similarity(vector) < TWIN_SIMILARITY:
            c.distractors.add(vector, source)

    # -- rows -----------------------------------------------------------------------------------

    def _row(self, f: int, inits, starts, masks, fixed, active) -> tuple[list[FrameTrack | None], dict[int, dict]]:
        """Frame ``f``'s ``FrameTrack`` per product decided here (None for the others), disjoint at
        the video's size too, and the working-size RLE of the stepped ones."""
        time = f / self.fps
        row: list[FrameTrack | None] = [None] * len(self.products)
        claimed = None
        for _, full in fixed.values():
            claimed = full.copy() if claimed is None else claimed | full
        for i, s in enumerate(starts):
            if s == f:
                row[i] = self._encode(f, time, fixed[self.products[i].id][1], inits[i].score)
        work: dict[int, dict] = {}
        for i in active:
            mask, score = masks[i]
            if mask is None or not mask.any():
                row[i] = FrameTrack.hidden(f, time)
                continue
            full = self._upscale(mask)
            if claimed is not None:
                full &= ~claimed
                claimed |= full
            else:
                claimed = full.copy()
            row[i] = self._encode(f, time, full, score)
            work[i] = encode_mask(mask)
        return row, work

    def _merge(self, a: list[FrameTrack | None] | None, b: list[FrameTrack | None]) -> list[FrameTrack]:
        out = [x if x is not None else y for x, y in zip(a or [None] * len(b), b)]
        assert all(x is not None for x in out)
        return out  # type: ignore[return-value]

    def _upscale(self, mask: np.ndarray) -> np.ndarray:
        if mask.shape[::-1] == (self.info.width, self.info.height):
            return mask.copy()
        # As one product's driver: linear interpolation then a 50% threshold.
        up = cv2.resize(mask.astype(np.uint8) * 255, (self.info.width, self.info.height), interpolation=cv2.INTER_LINEAR)
        return up > 127

    def _encode(self, f: int, time: float, full: np.ndarray, score: float) -> FrameTrack:
        if not full.any():
            return FrameTrack.hidden(f, time)
        return FrameTrack.from_mask(f, time, full, float(np.clip(score, 0.0, 1.0)))


def _shown(
    out: dict[int, tuple[np.ndarray | None, float]], unsure: dict[int, np.ndarray], floors: dict[int, float] | None = None
) -> dict[int, tuple[np.ndarray | None, float]]:
    """What the track shows of each product: its mask less its ``unsure`` pixels (the overlap with
    a product of its paint), its score scaled by the share it keeps, however small that share (a
    product passing in front of one of its paint is in plain view, and the part outside the overlap
    is the part the frame can place); not visible when nothing is left, or less than its
    ``floors`` pixels: the smallest sliver re-detection takes for the product (``min_partial`` of
    its usual area), since a speck under it cannot be placed on one product rather than the other.
    A product of another colour in front of that overlap still shows there."""
    shown = {}
    for i, (mask, score) in out.items():
        if mask is None or i not in unsure or not (mask & unsure[i]).any():
            shown[i] = (mask, score)
            continue
        sure = mask & ~unsure[i]
        kept = np.count_nonzero(sure)
        floor = max(1.0, (floors or {}).get(i, 0.0))
        shown[i] = (sure, score * kept / np.count_nonzero(mask)) if kept >= floor else (None, 0.0)
    return shown


def _paint(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The colour histogram (``embedding.colour_histogram``) of ``mask``'s pixels of ``rgb``."""
    x, y, w, h = (int(v) for v in _box(mask))
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb[y : y + h, x : x + w]), cv2.COLOR_RGB2HSV)
    return colour_histogram(hsv[mask[y : y + h, x : x + w]])


def lookalikes_of(frame: WorkFrame, target: Candidate, proposer: Any, later: WorkFrame | None = None) -> list[Candidate]:
    """The regions of ``frame`` that appearance cannot tell from ``target``: apart from it, of its
    paint (colour histograms at least ``ONE_PAINT`` alike, as two products of one paint), about its
    size (each side of the box within ``LOOKALIKE_SIZE`` of the target's), whole in the frame and
    not background; the most alike first, at most ``MAX_LOOKALIKES``.

    A lookalike of another paint is kept apart by the appearance memories; one of the same paint
    is not (a red cup among red cups: the appearance vectors and the colour models say "the
    target" for both, and where they touch no edge runs between them). KeepTrack (Mayer et al.,
    ICCV 2021) keeps track of what not to track: such a lookalike is followed as a product of its
    own, so that the joint tracker's identities, held shapes and "a pixel belongs to one product"
    keep the target's track off it through a crossing.

    The proposals are of one frame: a lookalike touching scenery of its paint (a blue box sliding
    along a blue stripe) is one region with it. Such a region, too large or cut by the frame's
    edge, is opened (``opened_parts``): what is thinner than the target (the stripe) falls away
    and the parts the target's build fits in are regions too. With ``later`` (a frame
    ``motion.GAP_SECONDS`` after ``frame``, or before it), the pixels of the target's paint that
    move on their own between the two are regions too (``moving_lookalikes``)."""
    paint = _paint(frame.rgb, target.mask)
    regions = []
    for c in proposer.propose(frame):
        pieces = [c] if _could_be_lookalike(c, target, frame) else opened_parts(c, target)
        regions += [p for p in pieces if p is c or _could_be_lookalike(p, target, frame)]
    found = [(float(_paint(frame.rgb, c.mask) @ paint), c) for c in regions]
    found = [(alike, c) for alike, c in found if alike >= ONE_PAINT]
    found.sort(key=lambda x: -x[0])
    out: list[Candidate] = []
    for _, c in found:  # the proposer may offer one object twice (two layers of its paint)
        if len(out) < MAX_LOOKALIKES and all(np.count_nonzero(c.mask & o.mask) <= 0.1 * min(c.area, o.area) for o in out):
            out.append(c)
    if later is not None and len(out) < MAX_LOOKALIKES:
        out += moving_lookalikes(frame, later, target, out)[: MAX_LOOKALIKES - len(out)]
    return out


def opened_parts(region: Candidate, target: Candidate) -> list[Candidate]:
    """The parts of ``region`` that a morphological opening with a disc of half the target's
    inscribed radius (the largest distance from a pixel of its mask to its edge) leaves, when it
    takes away more than corners: none when the one part left spans the region's box.

    An opening keeps what the disc fits in and removes what is thinner (Serra's granulometry):
    an object of the target's build keeps all but its corners, a stripe or neck thinner than the
    disc falls away, so a box lying against a thin stripe of its paint comes apart from it. The
    part is what the opening leaves, not grown back: grown back by the disc within the region, it
    would keep a stub of the stripe as long as the disc is wide."""
    d = cv2.distanceTransform(np.pad(target.mask, 1).astype(np.uint8), cv2.DIST_L2, 5)
    r = max(1, round(0.5 * float(d.max())))
    x, y, w, h = (int(v) for v in region.box)
    height, width = region.mask.shape
    x0, y0, x1, y1 = max(0, x - r), max(0, y - r), min(width, x + w + r), min(height, y + h + r)
    inside = region.mask[y0:y1, x0:x1].astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    count, labels = cv2.connectedComponents(cv2.morphologyEx(inside, cv2.MORPH_OPEN, disc), connectivity=8)
    if count <= 1:
        return []
    parts = []
    for k in range(1, count):
        mask = np.zeros_like(region.mask)
        mask[y0:y1, x0:x1] = labels == k
        part = Candidate.from_mask(mask, source="opened")
        if part is not None:
            parts.append(part)
    return [] if len(parts) == 1 and parts[0].box == region.box else parts


def moving_lookalikes(frame: WorkFrame, later: WorkFrame, target: Candidate, known: list[Candidate]) -> list[Candidate]:
    """Regions of ``frame`` of the target's paint that move on their own between ``frame`` and
    ``later`` (``motion.motion_field``) and move apart from their surround by ``motion.MIN_SHIFT``,
    as ``lookalikes_of`` asks of a region (apart from the target, of its paint and size, whole in
    the frame, not background), and apart from the ``known`` lookalikes; the most alike first.

    A pixel is of the target's paint when its colour's bin (``embedding.colour_histogram``'s hue
    and saturation) holds at least ``PAINT_SHARE`` of the target's pixels. A region found so is
    the part of a product that moved and showed its paint: a product sliding along a stripe of its
    paint is found, the stripe is not."""
    field = motion_field(frame.grey, later.grey)
    moving = field.moving() & _of_paint(frame, target.mask)
    # Specks of noise off, gaps within one product's flow closed.
    moving = cv2.morphologyEx(moving.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    moving = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    count, labels = cv2.connectedComponents(moving, connectivity=8)
    paint = _paint(frame.rgb, target.mask)
    found = []
    for k in range(1, count):
        c = Candidate.from_mask(labels == k, source="motion")
        if c is None or not _could_be_lookalike(c, target, frame):
            continue
        if any(np.count_nonzero(c.mask & o.mask) > 0.1 * c.area for o in known):
            continue
        alike = float(_paint(frame.rgb, c.mask) @ paint)
        if alike >= ONE_PAINT and field.surround_shift(c.mask) >= MIN_SHIFT:
            found.append((alike, c))
    found.sort(key=lambda x: -x[0])
    return [c for _, c in found]


def _could_be_lookalike(c: Candidate, target: Candidate, frame: WorkFrame) -> bool:
    """Whether region ``c`` is whole in ``frame``, not background, apart from ``target`` and about
    its size (each side of the box within ``LOOKALIKE_SIZE`` of the target's)."""
    if c.touches_border or is_background(c.box, c.area, frame.size) or not apart(c, target):
        return False
    _, _, tw, th = target.box
    _, _, w, h = c.box
    return all(1 / LOOKALIKE_SIZE <= a / b <= LOOKALIKE_SIZE for a, b in ((w, tw), (h, th)))


def _of_paint(frame: WorkFrame, mask: np.ndarray) -> np.ndarray:
    """The pixels of ``frame`` whose colour bin (``colour_histogram``'s hue and saturation) holds
    at least ``PAINT_SHARE`` of ``mask``'s pixels."""
    bins = colour_bins(frame.hsv)
    share = np.bincount(bins[mask], minlength=COLOUR_BINS) / max(1, np.count_nonzero(mask))
    return share[bins] >= PAINT_SHARE


def _near(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two masks' boxes are within one crop of each other (the larger box's long side)."""
    ax, ay, aw, ah = _box(a)
    bx, by, bw, bh = _box(b)
    if aw == 0 or bw == 0:
        return False
    reach = max(aw, ah, bw, bh)
    gap_x = max(0.0, max(ax, bx) - min(ax + aw, bx + bw))
    gap_y = max(0.0, max(ay, by) - min(ay + ah, by + bh))
    return gap_x <= reach and gap_y <= reach


def _translate(mask: np.ndarray, motion: tuple[float, float]) -> np.ndarray:
    """``mask`` (or an image) moved by ``(dx, dy)`` pixels (nearest pixel; what leaves the frame is lost)."""
    dx, dy = int(round(motion[0])), int(round(motion[1]))
    if dx == 0 and dy == 0:
        return mask
    h, w = mask.shape[:2]
    out = np.zeros_like(mask)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    if abs(dx) < w and abs(dy) < h:
        out[yd, xd] = mask[ys, xs]
    return out


def _slack(mask: np.ndarray) -> int:
    """Pixels a product may reach beyond its predicted shape while it touches another: a tenth of its size."""
    return max(2, int(0.1 * np.sqrt(np.count_nonzero(mask))))


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), disc) > 0


def _touch(a: np.ndarray, b: np.ndarray, gap: int = 3) -> bool:
    """Whether two masks overlap or come within ``gap`` pixels of each other."""
    ax, ay, aw, ah = _box(a)
    bx, by, bw, bh = _box(b)
    if ax > bx + bw + gap or bx > ax + aw + gap or ay > by + bh + gap or by > ay + ah + gap:
        return False
    return bool((_dilate(a, gap) & b).any())
