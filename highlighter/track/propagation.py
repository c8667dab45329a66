"""Carries the target's mask to the next frame: label propagation over ImageNet features, then a graph cut.

Label propagation (the protocol of Jabri et al., "Space-Time Correspondence as a Contrastive Random
Walk", 2020, used by DINO and others to test frozen features on DAVIS): every cell of the new frame
takes the labels (target or not) of the ``top_k`` most similar cells in a memory of labelled frames,
weighted by ``softmax(similarity / temperature)``, looking only within ``radius`` of itself. The
memory holds the prompt's frame (the marketer's own view, always kept), a few long-term frames spread
over the track and the last few frames. It follows texture and shape, not a colour range, and a
region the target never looked like stays out, however close its colour. While no lookalike is
known, the prompt's and long-term frames also vote alone for a share of each label (``anchored``),
so a part the last frames lost comes back where the first views say it is the target's.

The cells are 8x8 pixels of a square crop around the target (``context`` times its long side,
resized to ``crop`` pixels), so the target is seen at the same detail whatever its size. The cells'
probabilities are then refined at the working resolution by a graph cut (``segment.graph_cut``) with
the target's colour likelihood, so the mask follows the image's edges. That likelihood learns from
every mask; the prompt frame's own colour model never does. While no lookalike is known, the
likelihood is a mixture: both its histograms, the target's and the background's, are half the
prompt frame's (``first_colour_share``). A running model alone learns as background whatever a mask
once left out (a dog's lighter flank and legs), and the masks shrink frame by frame, while the
marketer's view still calls those colours the target's. A colour the prompt's frame never saw (what
is around the product now) is in neither of its histograms, so there the mixture's ratio is nearly
the running model's. A piece of the cut apart from its largest whose colours the prompt frame's model
calls background goes (a still object the target brushed against).

Candidates carry an honest ``object_score`` (the propagated probability over the cut: it falls as
the target goes behind something or out of frame, where no cell looks like it) and ``quality`` (how
well the cut agrees with the propagation: low when colour and edges pull elsewhere). ``search`` looks for
the target anywhere in a frame, from the long-term memory only: the re-detection candidates.

Masks are bool ``(h, w)`` at the working resolution; boxes ``[x, y, w, h]`` in working pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from highlighter.track.features import STRIDE, ImageNetFeatures
from highlighter.track.parts import Candidate, WorkFrame, component_candidates, fill_holes, mask_iou
from highlighter.track.segment import ColourLikelihood, graph_cut, logit


@dataclass(frozen=True)
class PropagationSettings:
    crop: int = 224  # pixels of the square crop the features see (a multiple of 16)
    context: float = 2.0  # crop side / the target's long side: room for a frame's motion
    top_k: int = 10  # memory cells each cell takes its label from
    temperature: float = 0.1  # of the softmax over their similarities
    radius: float = 0.4  # a cell matches memory cells within this share of the crop side
    recent: int = 2  # last frames kept in memory
    long_term: int = 3  # frames spread over the track kept in memory (besides the prompt's)
    long_every: int = 10  # committed frames between two long-term frames
    colour_weight: float = 0.5  # of the colour log-likelihood ratio next to the propagated log-odds
    first_colour_share: float = 0.5  # of both colour histograms the prompt frame's gives while no lookalike is known
    smoothness: float = 4.0  # graph cut's cost of a boundary between pixels of the same colour
    margin: float = 0.6  # the cut looks this share of the target's size around its box
    search_side: int = 480  # long side of a frame searched whole by ``search`` (a multiple of 16)
    cut_pixels: int = 40_000  # a larger region is cut at a reduced size (the cut's cost grows with its pixels)
    held_overlap: float = 0.9  # the moved last mask is offered besides the cut when they overlap less than this (IoU)
    memory_growth: float = 1.25  # a frame joins the memory only within this factor of the recent areas
    lookalikes: int = 2  # crops of lookalikes kept in memory as counter-examples
    anchored: float = 0.5  # share of a cell's label that the prompt's and long-term frames give alone (none once a lookalike is known)


@dataclass
class _Entry:
    """One memory frame: cell descriptors ``(C, N)``, cell centres in working pixels ``(N, 2)``, labels ``(N,)``."""

    features: torch.Tensor
    positions: torch.Tensor
    labels: torch.Tensor
    crop: _Crop | None = None  # the target's crop on that frame (None for a counter-example, which never votes alone)


@dataclass
class _Crop:
    """A square crop of a frame: top-left corner and side in working pixels."""

    x: float
    y: float
    side: float

    def affine(self, size: int) -> np.ndarray:
        s = size / self.side
        return np.array([[s, 0, -self.x * s], [0, s, -self.y * s]], np.float32)


def _crop_key(crop: _Crop, size: int) -> tuple:
    return ("crop-dense", crop.x, crop.y, crop.side, size)


def crop_features_together(frame: WorkFrame, crops: list[tuple[LabelPropagator, _Crop]]) -> None:
    """The features of several products' crops of ``frame`` (each ``(propagator, its step_crop)``)
    in one network pass, left in ``frame.cache`` where each propagator's ``step`` finds its own: the
    arrays it would compute alone (``ImageNetFeatures.dense_many``). A crop its step does not take
    after all is simply not used."""
    if len(crops) < 2:
        return
    by_size: dict[int, list[tuple[LabelPropagator, _Crop]]] = {}
    for propagator, crop in crops:
        by_size.setdefault(propagator.settings.crop, []).append((propagator, crop))
    for size, group in by_size.items():
        todo = [(p, c) for p, c in group if _crop_key(c, size) not in frame.cache]
        if not todo:
            continue
        dense = todo[0][0].features.dense_many([p._crop_image(frame, c) for p, c in todo])
        for (_, crop), array in zip(todo, dense):
            frame.cache[_crop_key(crop, size)] = array


class LabelPropagator:
    """Follows one mask through frames given in processing order (see the module docstring)."""

    def __init__(self, settings: PropagationSettings = PropagationSettings(), features: ImageNetFeatures | None = None) -> None:
        self.settings = settings
        self.features = features or ImageNetFeatures()
        self.colour = ColourLikelihood()
        self.first_colour: ColourLikelihood | None = None  # the prompt frame's colour model, never updated
        self.prior: tuple[float, float, float, float] | None = None  # the motion prior's box, set by the controller
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._first: _Entry | None = None
        self._long: list[_Entry] = []
        self._recent: list[_Entry] = []
        self._lookalikes: list[_Entry] = []
        self._committed = 0
        self._prev: WorkFrame | None = None
        self._mask: np.ndarray | None = None
        self._box: tuple[float, float, float, float] | None = None
        self._areas: list[int] = []
        self._pending: tuple[int, _Crop, torch.Tensor, torch.Tensor] | None = None
        self._template: np.ndarray | None = None  # the last mask the memory learned, moved along since
        self._searched: tuple[int, np.ndarray] | None = None  # the last search: frame index, probability map
        self._stepped: tuple[int, np.ndarray] | None = None  # the last step: frame index, probability map
        self._moved: tuple | None = None  # the flow to a frame: (index, warp, motion, moved last mask, from frame)
        self._others: dict[str, _Entry] = {}  # crops of other products, labelled "not the target"

    # -- the Propagator interface ---------------------------------------------------------------

    def reset(self, frame: WorkFrame, mask: np.ndarray) -> None:
        """Start from ``mask`` on ``frame``: the prompt (kept for the whole track) or a re-detection
        (the long-term memory stays; the recent frames restart here)."""
        crop = self._crop_for(_box(mask))
        features, positions = self._crop_features(frame, crop)
        entry = _Entry(features, positions, self._labels(mask, crop), crop)
        if self._first is None:
            self._first = entry
        self._recent = [entry]
        self._areas = [int(np.count_nonzero(mask))]
        self._template = mask
        self._remember(frame, mask)
        x0, y0, x1, y1 = self._roi(None)
        self.colour.update(frame.rgb[y0:y1, x0:x1], mask[y0:y1, x0:x1])
        if self.first_colour is None:
            self.first_colour = ColourLikelihood()
            self.first_colour.update(frame.rgb[y0:y1, x0:x1], mask[y0:y1, x0:x1])

    def commit(self, frame: WorkFrame, mask: np.ndarray | None) -> None:
        """The controller's decision for ``frame``: learn from ``mask``, or hold still when None."""
        if mask is None or not mask.any():
            self._mask = self._box = None
            self._pending = None
            return
        if self._pending is not None and self._pending[0] == frame.index:
            _, crop, features, positions = self._pending
        else:
            crop = self._crop_for(_box(mask))
            features, positions = self._crop_features(frame, crop)
        area = int(np.count_nonzero(mask))
        last = self._areas[-1] if self._areas else area
        # DAM4SAM's gate: a mask that suddenly grew or shrank since the last frame (merged with a
        # lookalike, half hidden) is followed but not learned from, or the memory would teach the
        # next frames its mistake. A zoom grows a little every frame and passes.
        if 1 / self.settings.memory_growth <= area / max(1.0, last) <= self.settings.memory_growth:
            self._template = mask
            entry = _Entry(features, positions, self._labels(mask, crop), crop)
            self._recent = (self._recent + [entry])[-self.settings.recent :]
            self._committed += 1
            if self.settings.long_term and self._committed % self.settings.long_every == 0:
                self._long = (self._long + [entry])[-self.settings.long_term :]
        self._areas = (self._areas + [area])[-15:]
        self._remember(frame, mask)

    def remember_lookalike(self, frame: WorkFrame, lookalike: np.ndarray, target: np.ndarray) -> None:
        """Keep a crop of a lookalike (a region apart from the target that looks like it: another
        product of its colour, a wall) as a counter-example: its cells are labelled "not the target"
        (the ``target`` mask keeps its own label where it reaches in). Without one, every cell of the
        target's colour the memory knows is the target's, and a same-coloured lookalike that comes
        close is taken in (DAM4SAM's distractor memory, as labels).

        The crop is the target's own crop size (so its cells match the target's at the same scale),
        centred on the lookalike's pixel nearest the target: the part that would touch it."""
        tx, ty, tw, th = _box(target)
        ys, xs = np.nonzero(lookalike)
        if xs.size == 0 or tw == 0:
            return
        nearest = int(np.argmin((xs - (tx + tw / 2)) ** 2 + (ys - (ty + th / 2)) ** 2))
        side = self.settings.context * max(tw, th, 16.0)
        crop = _Crop(xs[nearest] - side / 2, ys[nearest] - side / 2, side)
        features, positions = self._crop_features(frame, crop)
        keep = self.settings.lookalikes
        entry = _Entry(features, positions, self._labels(target, crop))
        self._lookalikes = (self._lookalikes + [entry])[-keep:] if keep else []

    def remember_other(self, key: str, frame: WorkFrame, other: np.ndarray, target: np.ndarray | None) -> None:
        """Keep a crop of another product (``key``) as a counter-example, as ``remember_lookalike``
        does for lookalikes, one per product (the latest replaces the earlier): another product is
        a lookalike that is always around. The crop is centred on the other product (on its pixel
        nearest the target when the target is visible), at the target's crop size."""
        ys, xs = np.nonzero(other)
        if xs.size == 0:
            return
        if target is not None and target.any():
            tx, ty, tw, th = _box(target)
            nearest = int(np.argmin((xs - (tx + tw / 2)) ** 2 + (ys - (ty + th / 2)) ** 2))
            cx, cy = float(xs[nearest]), float(ys[nearest])
        else:
            ox, oy, ow, oh = _box(other)
            tw = th = float(np.sqrt(np.median(self._areas))) if self._areas else max(ow, oh)
            cx, cy = ox + ow / 2, oy + oh / 2
            target = np.zeros_like(other)
        side = self.settings.context * max(tw, th, 16.0)
        crop = _Crop(cx - side / 2, cy - side / 2, side)
        features, positions = self._crop_features(frame, crop)
        self._others[key] = _Entry(features, positions, self._labels(target, crop))

    def moved(self, frame: WorkFrame) -> np.ndarray | None:
        """The last committed mask moved into ``frame`` by the optical flow: where the target's
        pixels went, before anything else is known of ``frame`` (what ``step`` starts from; several
        products' predictions tell each one where the others will be). None when there is no last
        mask (the target is lost) or ``frame`` is not the next one."""
        if self._mask is None or self._box is None or self._first is None:
            return None
        self._flow_to(frame)
        assert self._moved is not None
        return self._moved[3]

    def motion(self, frame: WorkFrame) -> tuple[float, float] | None:
        """The last mask's median motion ``(dx, dy)`` into ``frame`` (working pixels), as ``moved``."""
        if self._mask is None or self._box is None or self._first is None:
            return None
        return self._flow_to(frame)[1]

    def _flow_to(self, frame: WorkFrame):
        """``_warp`` from the last frame to ``frame`` around the last box, computed once per frame."""
        if self._moved is None or self._moved[0] != frame.index or self._moved[4] is not self._prev:
            warp, moved_by = self._warp(frame, self._roi(None))
            self._moved = (frame.index, warp, moved_by, warp(self._mask), self._prev)
        return self._moved[1], self._moved[2]

    def probability(self, frame: WorkFrame, *, search: bool = False) -> np.ndarray | None:
        """The propagated probability map of ``frame`` (working size, 0..1): of the last ``step``
        of that frame (of its ``search`` with ``search``); None when that did not run on it."""
        done = self._searched if search else self._stepped
        return done[1] if done is not None and done[0] == frame.index else None

    def support(self, frame: WorkFrame, mask: np.ndarray) -> float:
        """How much the region ``mask`` of ``frame`` looks like the target to the propagation: the
        mean of ``search``'s probability over it (0..1)."""
        if self._searched is None or self._searched[0] != frame.index:
            self.search(frame)
        assert self._searched is not None
        prob = self._searched[1]
        return float(prob[mask].mean()) if mask.any() else 0.0

    def step(self, frame: WorkFrame) -> list[Candidate]:
        """The target's mask on ``frame`` as one candidate (none when nothing of it is found)."""
        if self._mask is None or self._box is None or self._first is None:
            return []
        s = self.settings
        width, height = frame.size
        # The flow around the last box says where the target went: the crop is centred there (or
        # on the motion prior's box, when the controller trusts it), so a fast product stays inside.
        warp, _ = self._flow_to(frame)
        crop = self.step_crop(frame, self.prior)
        assert crop is not None
        features, positions = self._crop_features(frame, crop)
        self._pending = (frame.index, crop, features, positions)
        memory = [self._first, *self._long, *self._recent, *self._lookalikes, *self._others.values()]
        # While no lookalike is known, the prompt's and the long-term frames also vote alone (the
        # anchored share): a part the last frames lost (a dog's legs against dry grass) is the
        # target's again where the first views say so. Once lookalikes are known, the recent
        # frames' counter-examples are what keeps them out, and the whole memory votes together.
        anchored = 1 + len(self._long) if s.anchored > 0 and not self._lookalikes and not self._others else 0
        cells = self._propagate(features, positions, memory, crop.side * s.radius, anchored=anchored, crop=crop)
        prob = self._paste(cells, crop, (width, height))
        self._stepped = (frame.index, prob)
        roi = self._roi(prob)
        x0, y0, x1, y1 = roi
        assert self._prev is not None
        self.colour.update(self._prev.rgb[y0:y1, x0:x1], self._mask[y0:y1, x0:x1])
        cut = np.zeros((height, width), bool)
        rgb = frame.rgb[y0:y1, x0:x1]
        cut[y0:y1, x0:x1] = self._without_unlike_pieces(rgb, self._cut(rgb, prob[y0:y1, x0:x1]))
        cand = Candidate.from_mask(cut, source="propagated")
        if cand is None:
            return []
        found = prob > 0.5
        cand.quality = mask_iou(found, cut)
        cand.object_score = float(prob[cut].mean())
        out = [cand]
        # SAM 2 offers several masks and the memory picks; here the second is the last mask the
        # memory learned (before a sudden growth), moved along by the optical flow, within the cut:
        # the target's own shape where the cut also took in a same-coloured lookalike it touches.
        # The controller's appearance test chooses.
        self._template = warp(self._template)
        held = fill_holes(self._template & cut)
        if held.any() and mask_iou(held, cut) < s.held_overlap and _solid_piece(cut & ~held, held):
            other = Candidate.from_mask(held, source="held")
            if other is not None:
                other.quality = mask_iou(found, held)
                other.object_score = float(prob[held].mean())
                out.append(other)
        return out

    def step_crop(self, frame: WorkFrame, prior: tuple[float, float, float, float] | None) -> _Crop | None:
        """The crop ``step`` looks at on ``frame`` with the motion prior's box ``prior`` (None: not
        trusted): centred where the flow around the last box says the target went, or on the prior's
        box. None when there is no step (no last mask)."""
        if self._mask is None or self._box is None or self._first is None:
            return None
        _, moved_by = self._flow_to(frame)
        x, y, w, h = self._box
        return self._crop_for(prior or (x + moved_by[0], y + moved_by[1], w, h))

    def search(self, frame: WorkFrame) -> list[Candidate]:
        """Regions anywhere in ``frame`` that look like the target's long-term memory (re-detection).

        Each candidate's ``quality`` and ``object_score`` are the propagated probability averaged
        over it."""
        if self._first is None:
            return []
        s = self.settings
        width, height = frame.size
        scale = min(1.0, s.search_side / max(width, height))
        # Sides rounded up to multiples of 16 (the stride-16 features), the margin left black.
        sw, sh = int(round(width * scale)), int(round(height * scale))
        pw, ph = -(-sw // 16) * 16, -(-sh // 16) * 16
        image = np.zeros((ph, pw, 3), np.uint8)
        image[:sh, :sw] = cv2.resize(frame.rgb, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1 else frame.rgb
        key = ("search-dense", pw, ph)  # the same whole frame for every product: one network pass
        if key not in frame.cache:
            frame.cache[key] = self.features.dense(image)
        dense = frame.cache[key]
        gh, gw = dense.shape[1:]
        ys, xs = np.mgrid[0:gh, 0:gw]
        positions = np.stack([(xs.ravel() + 0.5) * STRIDE / scale, (ys.ravel() + 0.5) * STRIDE / scale], 1)
        memory = [self._first, *self._long, *self._lookalikes, *self._others.values()]
        cells = self._propagate(torch.from_numpy(dense.reshape(dense.shape[0], -1)), torch.from_numpy(positions.astype(np.float32)), memory, None)
        grid = cells.reshape(gh, gw)[: int(np.ceil(sh / STRIDE)), : int(np.ceil(sw / STRIDE))]
        prob = cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        self._searched = (frame.index, prob)
        usual = float(np.median(self._areas)) if self._areas else 0.0
        out = []
        for blob in component_candidates(prob > 0.5, "search", min_area=max(16.0, 0.05 * usual)):
            # The cells are coarse: each region is cut again at the working size around its box.
            x, y, bw, bh = blob.box
            x0, y0 = max(0, int(x - 0.5 * bw)), max(0, int(y - 0.5 * bh))
            x1, y1 = min(width, int(np.ceil(x + 1.5 * bw))), min(height, int(np.ceil(y + 1.5 * bh)))
            mask = np.zeros((height, width), bool)
            if self.colour.fg is not None:
                mask[y0:y1, x0:x1] = self._cut(frame.rgb[y0:y1, x0:x1], prob[y0:y1, x0:x1])
                mask = self._near(mask, blob.mask)
            cand = Candidate.from_mask(mask, source="search") if mask.any() else blob
            if cand is None:
                continue
            cand.quality = cand.object_score = float(prob[cand.mask].mean())
            out.append(cand)
        return out

    # -- internals ------------------------------------------------------------------------------

    def _remember(self, frame: WorkFrame, mask: np.ndarray) -> None:
        self._prev, self._mask, self._box = frame, mask, _box(mask)

    def _crop_for(self, box: tuple[float, float, float, float]) -> _Crop:
        x, y, w, h = box
        side = self.settings.context * max(w, h, 16.0)
        return _Crop(x + w / 2 - side / 2, y + h / 2 - side / 2, side)

    def _crop_image(self, frame: WorkFrame, crop: _Crop) -> np.ndarray:
        size = self.settings.crop
        return cv2.warpAffine(frame.rgb, crop.affine(size), (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def _crop_features(self, frame: WorkFrame, crop: _Crop) -> tuple[torch.Tensor, torch.Tensor]:
        size = self.settings.crop
        dense = frame.cache.get(_crop_key(crop, size))  # computed with other products' (``crop_features_together``)
        if dense is None:
            dense = self.features.dense(self._crop_image(frame, crop))
        g = size // STRIDE
        centres = (np.arange(g) + 0.5) * crop.side / g
        gx, gy = np.meshgrid(crop.x + centres, crop.y + centres)
        positions = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
        return torch.from_numpy(dense.reshape(dense.shape[0], -1)), torch.from_numpy(positions)

    def _labels(self, mask: np.ndarray, crop: _Crop) -> torch.Tensor:
        size = self.settings.crop
        inside = cv2.warpAffine(mask.astype(np.float32), crop.affine(size), (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT)
        return torch.from_numpy(cv2.resize(inside, (size // STRIDE, size // STRIDE), interpolation=cv2.INTER_AREA).ravel())

    def _propagate(
        self,
        features: torch.Tensor,
        positions: torch.Tensor,
        memory: list[_Entry],
        radius: float | None,
        *,
        anchored: int = 0,
        crop: _Crop | None = None,
    ) -> np.ndarray:
        """Each query cell's label from its ``top_k`` most similar memory cells (within ``radius``
        working pixels when given).

        ``anchored``: the first entries of ``memory`` (the prompt's and long-term frames) also vote
        alone, and a cell's label is ``anchored`` share (``settings.anchored``) of theirs, the rest
        the whole memory's: FEELVOS's matching to the first frame beside the matching to the last
        ones. Their radius is measured on the target: each of those frames' cells is moved and
        scaled with the target's crop of its frame onto ``crop`` (``_on_target``), so the prompt's
        frame still counts once the product has walked across the frame."""
        s = self.settings
        keys = torch.cat([e.features for e in memory], 1)
        labels = torch.cat([e.labels for e in memory])
        n = sum(int(e.labels.shape[0]) for e in memory[:anchored]) if anchored and crop is not None else 0
        where = torch.cat([e.positions for e in memory]) if radius is not None else None
        # A memory cell beyond ``radius`` of every query cell is in no cell's match (another
        # product's crop across the frame): left out of the products (``_in_reach``).
        cols = _in_reach(positions, where, radius, n) if where is not None and radius is not None else None
        affinity = features.T @ (keys if cols is None else keys.index_select(1, cols))
        first_views = None
        if n:
            on_target = torch.cat([_on_target(e, crop) for e in memory[:anchored]]) if radius is not None else None
            own = _beyond(affinity[:, :n].clone(), positions, on_target, radius)  # the first n cells are always kept
            first_views, _ = self._vote(own, labels[:n])
        if cols is None:
            cells, _ = self._vote(_beyond(affinity, positions, where, radius), labels)
        else:
            assert where is not None
            cells, lowest = self._vote(_beyond(affinity, positions, where.index_select(0, cols), radius), labels[cols])
            if lowest <= -2.0 or cols.numel() < s.top_k:
                # A cell with fewer than ``top_k`` memory cells within reach took some beyond (or
                # would have, among more cells), and which ones depends on what was left out: the
                # whole memory decides, as without it.
                cells, _ = self._vote(_beyond(features.T @ keys, positions, where, radius), labels)
        if first_views is not None:
            cells = (1 - s.anchored) * cells + s.anchored * first_views
        return cells

    def _vote(self, affinity: torch.Tensor, labels: torch.Tensor) -> tuple[np.ndarray, float]:
        """Each row's label: the softmax-weighted labels of its ``top_k`` most similar memory
        cells; and the lowest similarity any row took (-2: a row took a cell beyond its reach)."""
        s = self.settings
        top, index = affinity.topk(min(s.top_k, affinity.shape[1]), dim=1)
        weights = torch.softmax(top / s.temperature, dim=1)
        return (weights * labels[index]).sum(1).numpy(), float(top[:, -1].min())

    def _paste(self, cells: np.ndarray, crop: _Crop, size: tuple[int, int]) -> np.ndarray:
        """The crop's cell probabilities at the frame's working size (0 outside the crop)."""
        g = self.settings.crop // STRIDE
        up = cv2.resize(cells.reshape(g, g).astype(np.float32), (self.settings.crop,) * 2, interpolation=cv2.INTER_LINEAR)
        return cv2.warpAffine(up, crop.affine(self.settings.crop), size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)

    def _warp(self, frame: WorkFrame, roi: tuple[int, int, int, int]):
        """Dense optical flow (DIS) from ``frame`` back to the last frame within ``roi``: a function
        moving a mask of the last frame into ``frame`` (where its pixels went; nothing outside
        ``roi``), and the last mask's median motion ``(dx, dy)`` in pixels."""
        assert self._prev is not None and self._mask is not None
        x0, y0, x1, y1 = _at_least(roi, _MIN_FLOW_SIDE, frame.size)
        h, w = y1 - y0, x1 - x0
        if min(h, w) >= _MIN_FLOW_SIDE:
            now, before = (np.ascontiguousarray(f.grey[y0:y1, x0:x1]) for f in (frame, self._prev))
            back = self._flow.calc(now, before, None)
        else:  # a frame too small for the flow's pyramid: no motion
            back = np.zeros((h, w, 2), np.float32)
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        map_x, map_y = gx + back[..., 0], gy + back[..., 1]

        def warp(mask: np.ndarray | None) -> np.ndarray:
            out = np.zeros(frame.size[::-1], bool)
            if mask is not None:
                out[y0:y1, x0:x1] = cv2.remap(mask[y0:y1, x0:x1].astype(np.uint8), map_x, map_y, cv2.INTER_NEAREST) > 0
            return out

        moved = warp(self._mask)[y0:y1, x0:x1]
        motion = (-float(np.median(back[moved][:, 0])), -float(np.median(back[moved][:, 1]))) if moved.any() else (0.0, 0.0)
        return warp, motion

    def _near(self, cut: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """The regions of ``cut`` that touch the last mask moved into this frame (grown by a tenth
        of the target's size): a separate region elsewhere in the crop is something else that looks
        like it. The whole cut when no region touches it (the flow lost the target)."""
        if not moved.any():
            return cut
        r = int(0.1 * np.sqrt(np.count_nonzero(moved))) + 2
        near = cv2.dilate(moved.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
        count, labels = cv2.connectedComponents(cut.astype(np.uint8), connectivity=8)
        keep = np.unique(labels[near & cut])
        keep = keep[keep > 0]
        return np.isin(labels, keep) if keep.size else cut

    def _cut(self, rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """The graph cut of a region from its propagated probabilities and the colour model; a
        region over ``cut_pixels`` is cut at a reduced size and its mask scaled back."""
        s = self.settings
        h, w = prob.shape
        scale = min(1.0, np.sqrt(s.cut_pixels / max(1, h * w)))
        if scale < 1.0:
            size = (max(2, int(w * scale)), max(2, int(h * scale)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            prob = cv2.resize(prob, size, interpolation=cv2.INTER_AREA)
        # While no lookalike is known, the colour model is half the marketer's view, which never
        # learns, and half what the recent frames saw (module docstring).
        first = self.first_colour if not self._lookalikes and not self._others else None
        unary = logit(prob) + s.colour_weight * self.colour.log_ratio(rgb, first, s.first_colour_share)
        cut = graph_cut(rgb, unary, s.smoothness)
        if scale < 1.0:
            cut = cv2.resize(cut.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR) > 127
        return cut

    def _without_unlike_pieces(self, rgb: np.ndarray, cut: np.ndarray) -> np.ndarray:
        """``cut`` without its pieces, apart from the largest, whose colours the prompt's frame says
        are more likely the background's than the target's (the mean log-likelihood ratio under
        its colour model is negative). The running colour model learns whatever the mask took in:
        a still object of another colour that the target brushed against stays in the mask as a
        piece of its own after the target moved on, and each frame teaches the model its colour.
        The marketer's own view never saw it as the target. A limb or a strap apart from the body
        is of the target's colours and stays."""
        if self.first_colour is None:
            return cut
        count, labels, stats, _ = cv2.connectedComponentsWithStats(cut.astype(np.uint8), connectivity=8)
        if count <= 2:
            return cut
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        ratio = self.first_colour.log_ratio(rgb)
        sums = np.bincount(labels.ravel(), weights=ratio.ravel(), minlength=count)
        unlike = [k for k in range(1, count) if k != largest and sums[k] < 0]
        return cut & ~np.isin(labels, unlike) if unlike else cut

    def _roi(self, prob: np.ndarray | None) -> tuple[int, int, int, int]:
        """``[x0, y0, x1, y1]``: the last box and where the target was propagated to (``prob``, when
        given), with a margin."""
        assert self._box is not None and self._prev is not None
        w, h = self._prev.size
        x, y, bw, bh = self._box
        x0, y0, x1, y1 = x, y, x + bw, y + bh
        found = _box(prob > 0.3) if prob is not None else (0, 0, 0, 0)
        if found[2] > 0:
            x0, y0 = min(x0, found[0]), min(y0, found[1])
            x1, y1 = max(x1, found[0] + found[2]), max(y1, found[1] + found[3])
        m = self.settings.margin
        mx, my = m * bw + 4, m * bh + 4
        return max(0, int(x0 - mx)), max(0, int(y0 - my)), min(w, int(np.ceil(x1 + mx))), min(h, int(np.ceil(y1 + my)))


_MIN_FLOW_SIDE = 32  # OpenCV's DIS flow crashes (segfault) on a long image less than ~25 px high or wide


def _at_least(roi: tuple[int, int, int, int], side: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``roi`` ``[x0, y0, x1, y1]`` grown about its centre to at least ``side`` pixels each way, within ``size``."""
    x0, y0, x1, y1 = roi
    width, height = size
    if x1 - x0 < side:
        x0 = max(0, min(width - side, (x0 + x1) // 2 - side // 2))
        x1 = min(width, x0 + side)
    if y1 - y0 < side:
        y0 = max(0, min(height - side, (y0 + y1) // 2 - side // 2))
        y1 = min(height, y0 + side)
    return x0, y0, x1, y1


def _beyond(affinity: torch.Tensor, positions: torch.Tensor, where: torch.Tensor | None, radius: float | None) -> torch.Tensor:
    """``affinity`` (query cells at ``positions`` by memory cells at ``where``) with -2 where the
    memory cell lies beyond ``radius`` of the query cell: below any cosine, so only picked when
    nothing is near. Unchanged without ``where`` (a search over the whole frame)."""
    if where is not None and radius is not None:
        affinity.masked_fill_(torch.cdist(positions, where) > radius, -2.0)
    return affinity


_LEFT_OUT = 0.1  # memory cells beyond reach are left out when they are at least this share (else the copy costs more)


def _in_reach(positions: torch.Tensor, where: torch.Tensor, radius: float, keep: int) -> torch.Tensor | None:
    """The indices of the memory cells (centres ``where``) that may lie within ``radius`` of a
    query cell (centres ``positions``), the first ``keep`` always among them; None to keep every
    cell (when fewer than ``_LEFT_OUT`` would go).

    A cell goes when it lies beyond ``radius`` (plus a pixel, for rounding) of the box of all
    query cells, so beyond ``radius`` of each: it is in no cell's match while every query cell
    has ``top_k`` memory cells within reach (``_propagate`` checks, and otherwise matches over the
    whole memory). Crops of lookalikes and of other products are kept as counter-examples after
    the target moved away from them: 31% of the cells of 128 steps' memories captured from a video
    of ``bench/track_speed.py`` (tracked with two products, then one). Each similarity is a
    column's own dot product; on the CPU measured (an AMD EPYC) the kept columns were the whole
    affinity's to the bit and the tracks the same (docs/tracking.md, "Memory cells beyond reach")."""
    lo, hi = positions.min(0).values, positions.max(0).values
    gap = torch.clamp(torch.maximum(lo - where, where - hi), min=0.0)
    reach = (gap * gap).sum(1) <= (radius + 1.0) ** 2
    reach[:keep] = True
    if int(reach.sum()) > (1 - _LEFT_OUT) * reach.numel():
        return None
    return reach.nonzero().squeeze(1)


def _solid_piece(extra: np.ndarray, held: np.ndarray) -> bool:
    """Whether ``extra`` holds a solid piece, not only a thin rim: what is left after an opening by
    a disc a tenth of ``held``'s size (a zoom or a turn adds a rim around the target; a lookalike
    it merged with adds a piece of itself)."""
    r = max(2, int(0.1 * np.sqrt(np.count_nonzero(held))))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return bool(cv2.morphologyEx(extra.astype(np.uint8), cv2.MORPH_OPEN, disc).any())


def _box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """``[x, y, w, h]`` of a bool mask; zero width and height when it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))


def _on_target(entry: _Entry, crop: _Crop) -> torch.Tensor:
    """``entry``'s cell centres placed on the target of ``crop``: moved and scaled with the target's
    crop of the entry's frame (its ``crop``) onto ``crop``. Only the target's own frames vote alone,
    and each has its crop."""
    a = entry.crop
    assert a is not None
    scale = crop.side / a.side
    out = entry.positions.clone()
    out[:, 0] = (out[:, 0] - (a.x + a.side / 2)) * scale + crop.x + crop.side / 2
    out[:, 1] = (out[:, 1] - (a.y + a.side / 2)) * scale + crop.y + crop.side / 2
    return out
