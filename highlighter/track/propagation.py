"""Carries the target's mask to the next frame without weights: optical flow plus a colour model.

DIS optical flow (on a half-size grey frame) says how the target moved: the median flow inside its
last mask, robust to the flat, textureless inside of a product. The shifted mask is then re-fitted
to the pixels of the target's colour around it. Several candidates come back, as SAM 2's decoder
gives several masks: the re-fitted mask held to the shifted outline (it stays off a same-coloured
lookalike that touches the product), the whole colour blobs under it (they follow a zoom), and the
re-fitted mask under the motion prior's shift, when the caller gives one.

A same-coloured background region (a wall or a stripe of the target's colour, or any region several
times the target's size) is remembered while it is apart from the target and left out of the
target's colour from then on, moved with its own flow: where the target passes over it, the mask
keeps to the part of the target outside it instead of growing into it.

``quality`` is the IoU of a candidate with the outline it was fitted to (a stand-in for SAM 2's
predicted IoU); ``object_score`` is the share of the shifted outline that still has the target's
colour: it falls towards 0 as the product goes behind something or out of frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from highlighter.track.colour import ColourModel
from highlighter.track.parts import Candidate, WorkFrame, box_mask_agreement, fill_holes, is_background

_BACKGROUND_TIMES = 3.0  # a same-coloured region this many times the target's area is background


class FlowColourPropagator:
    """Follows one mask with DIS flow and the target's ``ColourModel`` (learned at the first reset)."""

    def __init__(self, colour: ColourModel | None = None) -> None:
        self.colour = colour
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._prev: WorkFrame | None = None
        self._mask: np.ndarray | None = None
        self._template: np.ndarray | None = None  # the last shape seen without a same-coloured neighbour
        self._sizes: list[int] = []  # areas of the recent templates, in pixels
        self.in_contact = False  # whether a same-coloured region touched the target lately
        self.leave_contact_after = 5  # frames alone before contact is over
        self._alone_frames = 0
        self._template_at: np.ndarray | None = None  # ... moved along with the flow since
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.prior: tuple[float, float, float, float] | None = None  # the motion prior's box, set by the caller
        self._background: np.ndarray | None = None  # same-coloured background regions, moved with their flow

    def reset(self, frame: WorkFrame, mask: np.ndarray) -> None:
        if self.colour is None:
            self.colour = ColourModel.from_pixels(frame.hsv[mask])
        self._prev, self._mask = frame, mask
        self._background = None
        self._learn_background(frame, mask)
        # Recent sizes are kept across a re-detection: a product re-entering the frame shows a
        # sliver first, and its full size is what tells growth from a merge with a lookalike.
        self._template = self._template_at = None
        self.in_contact, self._alone_frames = False, 0
        self._remember_shape(frame, mask)

    def commit(self, frame: WorkFrame, mask: np.ndarray | None) -> None:
        self._prev = frame
        self._mask = mask if mask is not None and mask.any() else None
        if self._mask is None:
            self._template = self._template_at = None
            self._background = None
        else:
            self._learn_background(frame, self._mask)
            self._remember_shape(frame, self._mask)

    def _learn_background(self, frame: WorkFrame, mask: np.ndarray) -> None:
        """Remember the regions of the target's colour that are background and apart from ``mask``:
        ``is_background``, or several times the target's size (a same-coloured lookalike product is
        about the target's size, and the contact template keeps the target off it).

        A background region the target touches merges with it into one blob and cannot be told
        from it on this frame: what was seen of it apart before (moved with its flow) is kept.
        """
        full = self.colour_mask(frame)
        known = max(self._sizes, default=np.count_nonzero(mask))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(full.astype(np.uint8), connectivity=8)
        touching = np.unique(labels[mask & full])
        background = np.zeros_like(full)
        for label in range(1, count):
            x, y, bw, bh, area = (int(v) for v in stats[label])
            if label not in touching and (area >= _BACKGROUND_TIMES * known or is_background((x, y, bw, bh), area, frame.size)):
                background[y : y + bh, x : x + bw] |= labels[y : y + bh, x : x + bw] == label
        if self._background is not None:
            # Where the target's blob takes in a known background region, that region is everything
            # away from the target (its own look changes: a shadow or a line crossing it), and what
            # was seen of it before, up to the target.
            held = touching[(touching > 0) & np.isin(touching, labels[self._background & full])]
            if held.size:
                k = 2 * max(2, int(0.15 * np.sqrt(np.count_nonzero(mask)))) + 1
                near = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
                background |= np.isin(labels, held) & ~mask & (self._background | ~near)
        self._background = background if background.any() else None

    def _remember_shape(self, frame: WorkFrame, mask: np.ndarray) -> None:
        """Keep ``mask`` as the shape template when no other region of its colour touches it.

        While a same-coloured lookalike touches the product their colours merge into one blob, and
        an outline re-fitted frame after frame creeps onto the lookalike. The template is the last
        shape seen alone; it moves with the flow and is not re-fitted until the product has been
        alone for ``leave_contact_after`` frames, so it holds the product's outline through the
        contact.
        """
        ys, xs = np.nonzero(mask)
        w, h = frame.size
        mx, my = int(0.5 * (xs.max() - xs.min())) + 4, int(0.5 * (ys.max() - ys.min())) + 4
        roi = (max(0, xs.min() - mx), max(0, ys.min() - my), min(w, xs.max() + 1 + mx), min(h, ys.max() + 1 + my))
        colour = self._target_colour(frame, roi)
        _, labels = cv2.connectedComponents(colour.astype(np.uint8), connectivity=8)
        touching = np.unique(labels[mask & colour])
        blob = fill_holes(np.isin(labels, touching[touching > 0]))
        # The largest recent view is the product's full size: a product coming out from behind
        # something grows fast, but never beyond it; one merged with a lookalike does.
        known = max(self._sizes, default=np.count_nonzero(mask))
        # A lookalike mostly hidden behind the product adds less than any growth allowance, so size
        # alone cannot tell: a solid piece of colour outside the kept mask is someone else. Thinner
        # pieces (a few percent of the product's size) are the product's own change since the held
        # template: it grew, turned or moved a little; the opening removes them.
        k = max(5, int(0.15 * np.sqrt(np.count_nonzero(mask))) | 1)
        piece = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        beyond = cv2.morphologyEx((blob & ~mask).astype(np.uint8), cv2.MORPH_OPEN, piece)
        touched = np.count_nonzero(beyond) > 0.03 * np.count_nonzero(mask)
        alone = not touched and blob.any() and np.count_nonzero(blob) <= 1.15 * known
        self._alone_frames = self._alone_frames + 1 if alone else 0
        # A lookalike leaving from behind the product shows a thin edge first: contact ends only
        # after a few frames alone, or the template would take that edge in and creep after it.
        self.in_contact = self._alone_frames < (self.leave_contact_after if self.in_contact else 1)
        if not self.in_contact:
            self._template = self._template_at = blob
            self._sizes = (self._sizes + [int(np.count_nonzero(blob))])[-25:]

    def colour_mask(self, frame: WorkFrame, roi: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Bool mask of the target's colour on ``frame`` (only inside ``roi`` ``[x0, y0, x1, y1]``)."""
        assert self.colour is not None
        w, h = frame.size
        x0, y0, x1, y1 = roi or (0, 0, w, h)
        raw = self.colour.mask(frame.hsv[y0:y1, x0:x1])
        raw = cv2.morphologyEx(raw, cv2.MORPH_OPEN, self._open)
        raw = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, self._close)
        out = np.zeros((h, w), bool)
        out[y0:y1, x0:x1] = raw > 0
        return out

    def _target_colour(self, frame: WorkFrame, roi: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """``colour_mask`` less the remembered background regions: where the target may be."""
        colour = self.colour_mask(frame, roi)
        return colour if self._background is None else colour & ~self._background

    def _flow_field(self, frame: WorkFrame) -> np.ndarray:
        """DIS flow from the previous frame to ``frame`` at half size, ``(h/2, w/2, 2)`` in half-size pixels."""
        assert self._prev is not None
        a = cv2.resize(self._prev.grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        b = cv2.resize(frame.grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        return self._flow.calc(a, b, None)

    def step(self, frame: WorkFrame) -> list[Candidate]:
        if self._mask is None:
            return []
        flow = self._flow_field(frame)
        if self._background is not None:
            self._background = _shift(self._background, *_median_motion(flow, self._background))
        shifts = [("flow", _median_motion(flow, self._mask))]
        if self._template_at is not None and self.in_contact and self.prior is not None:
            # In contact the flow mixes the two objects' motions: the motion prior moves the template.
            ys, xs = np.nonzero(self._template_at)
            if xs.size:
                px, py, pw, ph = self.prior
                dx, dy = px + pw / 2 - (xs.min() + xs.max() + 1) / 2, py + ph / 2 - (ys.min() + ys.max() + 1) / 2
                self._template_at = _shift(self._template_at, dx, dy)
        elif self._template_at is not None and self.in_contact:
            self._template_at = _shift(self._template_at, *_median_motion(flow, self._template_at))
        elif self._template_at is not None:
            self._template_at = _shift(self._template_at, *shifts[0][1])
        if self.prior is not None:
            ys, xs = np.nonzero(self._mask)
            cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
            px, py, pw, ph = self.prior
            shifts.append(("prior", (px + pw / 2 - cx, py + ph / 2 - cy)))
        out: list[Candidate] = []
        for name, (dx, dy) in shifts:
            out += self._fit(frame, _shift(self._mask, dx, dy), name)
        if self.prior is not None and self.in_contact:
            # Only in contact with a lookalike: elsewhere a prior box sized on a partial view (a
            # product coming out from behind something) would hold the mask to that part.
            boxed = self._in_box(frame, self.prior)
            if boxed is not None:
                out.append(boxed)
        if not self.in_contact:
            return out
        if self._template_at is not None and self._template_at.any():
            held = Candidate.from_mask(fill_holes(self._template_at & self._target_colour(frame)), source="template")
            if held is not None:
                out.append(held)
        if self._template_at is not None and self._template_at.any():
            # Judge every candidate against the template's outline: creeping onto a lookalike costs.
            for c in out:
                c.quality = np.count_nonzero(c.mask & self._template_at) / max(1, np.count_nonzero(c.mask | self._template_at))
        return out

    def _in_box(self, frame: WorkFrame, box: tuple[float, float, float, float]) -> Candidate | None:
        """SPARROW's re-segmentation of a box: the target's colour inside the prior box (5% larger).

        It separates the product from a same-coloured lookalike it touches, where the flow-shifted
        outline creeps onto the lookalike; ``quality`` is the box-mask agreement."""
        w, h = frame.size
        x, y, bw, bh = box
        x0, y0 = max(0, int(x - 0.05 * bw)), max(0, int(y - 0.05 * bh))
        x1, y1 = min(w, int(np.ceil(x + 1.05 * bw))), min(h, int(np.ceil(y + 1.05 * bh)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        mask = fill_holes(self._target_colour(frame, (x0, y0, x1, y1)))
        cand = Candidate.from_mask(mask, source="box")
        if cand is None:
            return None
        cand.quality = box_mask_agreement(box, cand.box, cand.area)
        cand.object_score = cand.area / max(1.0, bw * bh)
        return cand

    def _fit(self, frame: WorkFrame, outline: np.ndarray, name: str) -> list[Candidate]:
        if not outline.any():
            return []
        w, h = frame.size
        ys, xs = np.nonzero(outline)
        bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        area = int(outline.sum())
        r = max(2, int(round(0.06 * np.sqrt(area))))
        if xs.min() == 0 or ys.min() == 0 or xs.max() == w - 1 or ys.max() == h - 1:
            # Entering through the frame edge, the visible part grows by the product's speed each frame.
            r = int(0.05 * max(w, h) + 0.5 * np.sqrt(area)) + 4
        # Look well around the outline: a zoom can double the product between frames at low fps.
        mx, my = max(int(0.6 * bw), 2 * r) + 4, max(int(0.6 * bh), 2 * r) + 4
        roi = (max(0, xs.min() - mx), max(0, ys.min() - my), min(w, xs.max() + 1 + mx), min(h, ys.max() + 1 + my))
        colour = self._target_colour(frame, roi)
        object_score = float(np.count_nonzero(colour & outline)) / area
        grown = cv2.dilate(outline.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
        count, labels = cv2.connectedComponents(colour.astype(np.uint8), connectivity=8)
        touching = np.unique(labels[grown & colour])
        touching = touching[touching > 0]
        if touching.size == 0:
            return []
        blobs = np.isin(labels, touching)
        known = max(self._sizes, default=0)
        if known and np.count_nonzero(blobs) <= 1.15 * known:
            # Alone in its colour and no bigger than the product: the whole blob is the product, however
            # it grew (coming back into view, from behind something, a zoom).
            cand = Candidate.from_mask(fill_holes(blobs), object_score=object_score, source=f"{name}-alone")
            if cand is not None:
                cand.quality = max(0.9, np.count_nonzero(cand.mask & outline) / max(1, np.count_nonzero(cand.mask | outline)))
            return [cand] if cand is not None else []
        out = []
        for mask, source in ((fill_holes(blobs & grown), "fit"), (fill_holes(blobs), "blob")):
            inter = np.count_nonzero(mask & outline)
            quality = inter / max(1, np.count_nonzero(mask | outline))
            cand = Candidate.from_mask(mask, quality=quality, object_score=object_score, source=f"{name}-{source}")
            # A blob that has grown into most of the frame, or into an edge-to-edge stripe, is
            # background the target merged with (its holes filled), never the product.
            if cand is not None and not is_background(cand.box, cand.area, frame.size):
                out.append(cand)
        return out


def _median_motion(flow: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Median flow over a full-size mask's pixels, in full-size pixels; (0, 0) for an empty mask."""
    small = cv2.resize(mask.astype(np.uint8), (flow.shape[1], flow.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    if not small.any():
        return 0.0, 0.0
    vectors = flow[small]
    return 2.0 * float(np.median(vectors[:, 0])), 2.0 * float(np.median(vectors[:, 1]))


def _shift(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The bool mask moved by ``(dx, dy)`` pixels (rounded), cut at the frame's edges."""
    h, w = mask.shape
    ix, iy = int(round(dx)), int(round(dy))
    out = np.zeros_like(mask)
    xs, xd = (slice(0, w - ix), slice(ix, w)) if ix >= 0 else (slice(-ix, w), slice(0, w + ix))
    ys, yd = (slice(0, h - iy), slice(iy, h)) if iy >= 0 else (slice(-iy, h), slice(0, h + iy))
    if abs(ix) < w and abs(iy) < h:
        out[yd, xd] = mask[ys, xs]
    return out
