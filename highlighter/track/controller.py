"""The tracking controller: the product's own logic above the four parts (DESIGN.md, FACTS.md).

Per frame, while it follows the target:

1. The Kalman filter predicts the box (SAMURAI's motion prior); the propagator offers candidate
   masks, each with a predicted quality and an object score (evidence the target is there at all).
2. Each candidate is scored by its predicted quality, its agreement with the predicted box, and its
   appearance: similarity to the target memory's prototypes minus similarity to the distractor
   memory (so a mask that slid onto a lookalike loses).
3. Drift checks: the object score has collapsed (behind something, out of frame), the appearance no
   longer matches the target or matches a lookalike better, the mask jumped to several times the
   last frame's size or, with a lookalike known, grew past 1.4 times the target's usual area (a
   merge that grows a little every frame), or box and mask disagree (SPARROW's box-mask score
   under 0.35). Any of these looks for the target on this frame (re-detection); a region found
   apart from the followed mask takes over (with a lookalike known, only one within the size gate
   itself: a larger one is as likely a merge as the mask it would replace). Near the followed
   mask a region needs only to look more like the target than the mask does and to pass the
   drift bar; elsewhere it must pass re-identification. When nothing takes over, a mask more
   like a known lookalike than the target, or under the absolute appearance floor, is dropped;
   the floor spares a mask the propagation is sure of when every other product of a joint run is
   followed apart from it (a look changed by the light or a turn, nothing known under the mask:
   the track goes on, its confidence low). A mask that passes every check but would no longer
   pass re-identification (a doubt, weaker than a drift: the mask may have stayed on something
   of the target's paint that the target passed, a poster it crossed) looks again too, but only
   a region that passes re-identification, looks more like the target than the mask and is not
   the mask's own region (IoU under 0.5) takes over; otherwise the mask stands, its confidence
   low. This is the global re-detection long-term trackers run when their verifier's score
   falls (LTMU, Dai et al., CVPR 2020). Before the checks, the objects the
   chosen mask holds (separate pieces, and objects that touch: ``_pieces``) that look more like a
   known lookalike than like the target, or alone fail the drift bar while another passes, are
   dropped (a lookalike that crossed in front of the target leaves the mask on both once they
   part, or while they touch).
4. Confident frames feed the target memory (DAM4SAM's size gate: within 0.7..1.4 of the recent
   median area, not cut by the frame edge), while they are as like the prompt's view as the
   track's views typically are or keep the shape of the last one learned that was (``_learns``:
   a zoom feeds it, a creep into scenery of the target's paint does not); every few frames,
   regions apart from the target that look like it feed the distractor memory.

Appearance thresholds are relative: how alike two views of one object are depends on the object,
the footage and the embedder (a flat red box is always itself; a dancer turning is not), so "no
longer looks like the target" means well below what this track's own frames scored (``drift_ratio``
of their median), and re-identification asks for nearly as much (``reid_ratio``); absolute floors
keep both meaningful on the first frames.

While the target is lost (occlusion, exit, after a cut) every frame is re-detected: class-agnostic
proposals and the regions that look like the target's long-term memory (the propagator's
``search``), re-identified against the target memory and rejected when they look more like a known
lookalike. A product coming out from behind something is accepted from its first sliver (3% of its
usual area), since appearance, not size, says what it is; where it was last seen (within one of
its sizes), a region that would pass the drift bar is enough, since it shows there first and
partly. The track says ``visible: false`` until one is accepted.

The confidence of a frame is the candidate's quality times its object score times how its
appearance compares with the track's typical similarity: a mask the propagation and the image
disagree on, one the propagation barely finds, or one that looks unlike the target, scores low.
A class-agnostic proposal has no object score of its own: re-detected, the propagation's
probability over it (its support) is that evidence; offered as a description's outline of the
propagated mask (the dual prompt), that mask's object score is.

Everything is at working resolution. Processing order may be backwards in time (the part before
the key frame); nothing here depends on the direction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from highlighter.track.grounding import CueGrounder
from highlighter.track.kalman import KalmanBoxFilter
from highlighter.track.memory import DistractorMemory, TargetMemory
from highlighter.track.parts import (
    Candidate,
    Embedder,
    Propagator,
    Proposer,
    WorkFrame,
    apart,
    box_iou,
    box_mask_agreement,
    is_background,
    mask_iou,
    normalised_shape,
)
from highlighter.trackfile import mask_box

log = logging.getLogger(__name__)
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


@dataclass(frozen=True)
class ControllerSettings:
    """Thresholds of the controller. Similarities are cosines of appearance vectors (0..1)."""

    min_object_score: float = 0.25  # below: the target is no longer there (SAM 2's object score)
    min_support: float = 0.3  # re-detection: the propagation's own probability over a candidate, at least
    drift_similarity: float = 0.45  # below: the mask no longer looks like the target, whatever the track
    drift_ratio: float = 0.8  # ... or below this share of the track's typical similarity: look again
    reid_similarity: float = 0.55  # re-detection accepts a candidate only from here
    reid_ratio: float = 0.9  # ... and from this share of the track's typical similarity
    reid_margin: float = 0.03  # ... and only when it is this much closer to the target than to any lookalike
    distinct_ratio: float = 0.8  # after a cut: Lowe's ratio test, the best region's cosine distance to the target over the next one's
    lookalike_ratio: float = 0.6  # a region apart from the target this alike (share of typical) is a lookalike
    min_agreement: float = 0.35  # SPARROW's box-mask threshold
    stable_frames: int = 5  # SAMURAI: trust the motion prior after this many updates
    memory_every: int = 5  # frames between additions to the target memory
    distractors_every: int = 10  # frames between scans for lookalikes
    max_redetect: float = 4.0  # largest share of the target's usual area re-detection considers
    min_partial: float = 0.03  # smallest share of the target's usual area re-detection considers when lost (a sliver)
    min_drift_partial: float = 0.2  # ... and when checking a drift (a sliver then is the followed mask's own remains)
    max_growth: float = 2.0  # a mask this many times the last frame's area has merged with something
    max_size: float = 1.4  # ... or this many times the target's usual area, with a lookalike known (DAM4SAM's size gate)
    dual_overlap: float = 0.8  # a proposal covering a propagated candidate this much (IoU) is offered too
    sure_quality: float = 0.9  # a mask the propagation is this sure of (quality) survives a changed look, apart from other products
    min_part: float = 0.5  # a piece of a mask (separate, or touching: ``_pieces``) this share of the target's usual area is judged on its own


class TargetController:
    """Follows one target through frames given in processing order; ``step`` per frame."""

    def __init__(
        self,
        proposer: Proposer,
        grounder: CueGrounder,
        propagator: Propagator,
        embedder: Embedder,
        memory: TargetMemory,
        distractors: DistractorMemory,
        settings: ControllerSettings = ControllerSettings(),
    ) -> None:
        self.proposer, self.grounder, self.propagator, self.embedder = proposer, grounder, propagator, embedder
        self.memory, self.distractors, self.settings = memory, distractors, settings
        self.kalman = KalmanBoxFilter()
        self.tracking = False
        self.areas: list[int] = []
        self.similarities: list[float] = []  # of recently accepted frames to the target memory
        self.anchor_similarities: list[float] = []  # ... and to the prompt's view (``_learns``)
        self._anchor_shape: np.ndarray | None = None  # the last learned view's shape that was like the prompt's
        self._since_memory = 0
        self._since_scan = 0
        self.events: list[tuple[int, str]] = []  # (frame, what happened): lost, found, cut
        self.learned: list[np.ndarray] = []  # vectors added to the memory, for whoever drains them (other products)
        self._exclude: np.ndarray | None = None  # this frame's pixels of other products (``decide``)
        self._last_box: tuple[float, ...] | None = None  # where the target was last accepted (until a cut)
        self._after_cut = False  # a cut came and the target has not been found in the new shot yet

    # -- public ---------------------------------------------------------------------------------

    def start(self, frame: WorkFrame, candidate: Candidate) -> None:
        """Begin following ``candidate`` on ``frame`` (its embedding joins the memory)."""
        vector = self.embedder.embed(frame, candidate)
        self.memory.add(vector, frame.index)
        self.learned.append(vector)
        self._anchor_shape = normalised_shape(candidate.mask)
        self._acquire(frame, candidate)
        self._scan_distractors(frame, candidate)

    def step(self, frame: WorkFrame, cut: bool = False) -> tuple[np.ndarray | None, float]:
        """The target's mask on ``frame`` (None when not visible) and a confidence 0..1."""
        return self.apply(frame, self.decide(frame, cut))

    def decide(self, frame: WorkFrame, cut: bool = False, exclude: np.ndarray | None = None) -> Decision:
        """What this frame shows of the target, before anything is learned from it (``apply``
        learns). ``exclude``: pixels that belong to something else for sure (another product's
        fixed mask): candidates lose them, and a re-detection mostly on them is not the target.
        Several controllers over one frame decide, their masks are made disjoint, then each applies."""
        return self.choose(frame, self.follow(frame, cut, exclude))

    def follow(
        self, frame: WorkFrame, cut: bool = False, exclude: np.ndarray | None = None, elsewhere: frozenset[str] = frozenset()
    ) -> Followed | None:
        """The first half of ``decide``: the followed target's candidates on ``frame``, none of
        them embedded yet (None when the target is not followed). Several controllers over one
        frame each ``follow``, embed all their candidates in one network pass, then ``choose``.
        ``elsewhere``: sources of lookalikes (other products) known to be apart from the target
        on this frame: the followed mask cannot have slid onto them."""
        self._exclude = exclude if exclude is not None and exclude.any() else None
        if cut:
            self.events.append((frame.index, "cut"))
            self._lose(frame)
            self.kalman.reset()
            self._last_box = None
            self._after_cut = True
        if not self.tracking:
            return None
        followed = self._candidates(frame)
        followed.elsewhere = elsewhere
        return followed

    def choose(self, frame: WorkFrame, followed: Followed | None) -> Decision:
        """The second half of ``decide``: the best of ``followed``'s candidates (those without an
        embedding are embedded here), else a re-detection."""
        expected = None
        if followed is not None:
            chosen = self._choose(frame, followed) if followed.candidates else None
            if chosen is not None:
                return chosen
            self._lose(frame)
            expected = followed.prior
        elif self.kalman.active and self.kalman.stable >= self.settings.stable_frames:
            expected = self.kalman.predict()  # a hidden product keeps moving (SAMURAI's motion prior)
        # Where the target was last seen, or where its motion would have taken it, a region that
        # would still pass as the followed target (the drift bar) is taken back: an object coming
        # out from behind another shows there first, and partly.
        # Anywhere else, a region that looks like no known lookalike needs only the drift bar too:
        # an object comes out on the far side of what hid it, and nothing like that region has
        # passed for the target in this video.
        local = [box for box in (self._last_box, expected) if box is not None]
        found = self._find(frame, local=local, local_threshold=self._drift_threshold(), anywhere=True, distinct=self._after_cut)
        if found is None:
            return Decision("none")
        return Decision("take", found, self.memory.similarity(found.embedding) if found.embedding is not None else 0.0)

    def apply(self, frame: WorkFrame, decision: Decision, mask: np.ndarray | None = None) -> tuple[np.ndarray | None, float]:
        """Commit ``decision`` (learn from its mask) and return the mask and the frame's confidence.
        ``mask``: the decision's mask with pixels given to other products removed (None: as decided);
        an empty one means the target is not visible on this frame."""
        cand = decision.candidate
        if decision.kind == "none" or cand is None:
            return None, 0.0
        if mask is not None and mask is not cand.mask:
            trimmed = Candidate.from_mask(mask, quality=cand.quality, object_score=cand.object_score, source=cand.source)
            if trimmed is None:
                if decision.kind == "accept":
                    self._lose(frame)
                return None, 0.0
            trimmed.embedding = cand.embedding
            cand = trimmed
        if decision.kind == "take":
            return self._take(frame, cand)
        self._accept(frame, cand, decision.similarity)
        return cand.mask, self._confidence(cand, decision.similarity)

    # -- following ------------------------------------------------------------------------------

    def step_crop(self, frame: WorkFrame) -> object | None:
        """The crop the propagator's step will look at on ``frame`` when ``follow`` runs next with
        no cut (None when it will not step, or cannot say): several products' crops go through
        the network together (``propagation.crop_features_together``)."""
        if not self.tracking or not hasattr(self.propagator, "step_crop"):
            return None
        prior = self.kalman.peek() if self.kalman.active else None
        return self.propagator.step_crop(frame, prior if self._trusted(prior) else None)  # type: ignore[attr-defined]

    def _trusted(self, prior: tuple[float, float, float, float] | None) -> bool:
        """Whether the motion prior's box ``prior`` places the propagator's crop."""
        return prior is not None and self.kalman.stable >= self.settings.stable_frames

    def _candidates(self, frame: WorkFrame) -> Followed:
        s = self.settings
        prior = self.kalman.predict() if self.kalman.active else None
        trusted = self._trusted(prior)
        if hasattr(self.propagator, "prior"):  # a propagator that can use the motion prior's box
            self.propagator.prior = prior if trusted else None  # type: ignore[attr-defined]
        candidates: list[Candidate] = []
        for c in self.propagator.step(frame):
            if c.object_score < s.min_object_score:
                continue
            # Two proposals of the very same mask: embed it once, at its best quality.
            same = next((d for d in candidates if d.box == c.box and d.area == c.area and np.array_equal(d.mask, c.mask)), None)
            if same is None:
                candidates.append(c)
            else:
                same.quality = max(same.quality, c.quality)
        candidates = self._without_excluded(candidates, 0.0)
        if candidates:
            candidates += self._without_excluded(self._matching_proposals(frame, candidates), 0.0)
        return Followed(prior, trusted, candidates)

    def _choose(self, frame: WorkFrame, followed: Followed) -> Decision | None:
        s = self.settings
        prior, trusted, candidates = followed.prior, followed.trusted, followed.candidates
        last = self.areas[-1] if self.areas else None
        ref = self._reference_area()
        best, best_total, best_sims = None, -np.inf, (0.0, 0.0)
        self._embed(frame, [c for c in candidates if c.embedding is None])
        for c in candidates:
            assert c.embedding is not None
            sim_t, sim_d = self.memory.similarity(c.embedding), self.distractors.similarity(c.embedding)
            total = 0.85 * c.quality + (0.15 * box_iou(prior, c.box) if trusted else 0.0) + 1.0 * (sim_t - 0.5 * sim_d)
            if ref is not None and not c.touches_border and c.area > 1.25 * ref:
                # Beyond the target's usual size: perhaps a lookalike merged in. Only the choice
                # between candidates feels it (a zoom offers one candidate, a merge also the held shape).
                total -= 0.5 * (c.area / ref - 1.25)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("frame %d %s quality %.2f presence %.2f area %d target %.3f lookalike %.3f total %.3f",
                          frame.index, c.source, c.quality, c.object_score, c.area, sim_t, sim_d, total)  # fmt: skip
            if total > best_total:
                best, best_total, best_sims = c, total, (sim_t, sim_d)
        assert best is not None
        sim_t, sim_d = best_sims
        best, sim_t, sim_d = self._without_lookalike_parts(frame, best, sim_t, sim_d)
        unlike = sim_t < self._drift_threshold()
        # Lookalikes known to be elsewhere this frame (other products the caller follows apart from
        # the target) are not what the mask slid onto.
        if followed.elsewhere and best.embedding is not None:
            sim_d = self.distractors.similarity(best.embedding, followed.elsewhere)
        nearer_lookalike = bool(len(self.distractors)) and sim_d > sim_t + 0.02
        # Beyond the target's usual size with a lookalike known: perhaps merged with it, growing a
        # little every frame. Where none is known, a zoom or a turn is the likelier cause.
        grown = not best.touches_border and (
            (last is not None and best.area > s.max_growth * last)
            or (bool(len(self.distractors)) and ref is not None and best.area > s.max_size * ref)
        )
        disagree = trusted and not best.touches_border and box_mask_agreement(prior, best.box, best.area) < s.min_agreement
        drifted = unlike or nearer_lookalike or grown or disagree
        typical = self._typical_similarity()
        if not drifted and typical is not None and sim_t < s.reid_ratio * typical:
            # Still like the target, but no longer enough to pass re-identification: the track may
            # have stayed on something the target passed (a poster of its paint, where a merged
            # mask was held) while the target went on. A region that passes re-identification
            # (no lower bar near the prior: the doubt is weaker than a drift) and looks more like
            # the target than the mask takes over; otherwise the mask stands, its confidence low.
            found = self._find(frame, near=prior, min_share=s.min_drift_partial,
                               max_share=s.max_size if len(self.distractors) else s.max_redetect)  # fmt: skip
            if found is not None and found.embedding is not None:
                sim_found = self.memory.similarity(found.embedding)
                if mask_iou(found.mask, best.mask) < 0.5 and sim_found > sim_t + s.reid_margin:
                    return Decision("take", found, sim_found)
            return Decision("accept", best, sim_t)
        if drifted:
            # Near the followed mask but apart from it, a region that looks more like the target
            # than the mask does and would pass as the followed target is the better of the two
            # hypotheses (the mask slid onto a neighbour). Further away, or within the mask (a
            # part of a zooming or turning product looks more like its first view than the whole
            # does), only a full re-identification is.
            bar = max(self._drift_threshold(), sim_t + s.reid_margin)
            local = [prior] if prior is not None else []
            # What takes over from a followed mask is held to the size gate: with a lookalike
            # known, a region past it is as likely a merge as the mask it would replace.
            found = self._find(
                frame, near=prior, min_share=s.min_drift_partial, local=local, local_threshold=bar, apart_from=best.mask,
                max_share=s.max_size if len(self.distractors) else s.max_redetect,
            )  # fmt: skip
            if found is not None and found.embedding is not None:
                # The target is elsewhere, or the followed mask took in something else and a region
                # that looks more like the target lies within it: either takes over.
                better = self.memory.similarity(found.embedding) > sim_t + s.reid_margin
                if mask_iou(found.mask, best.mask) < 0.5 or better:
                    return Decision("take", found, self.memory.similarity(found.embedding))
            if nearer_lookalike:
                return None
            if sim_t < s.drift_similarity and not (followed.elsewhere and best.quality >= s.sure_quality):
                # No longer like the target at all: dropped, unless every other product is
                # followed apart from it and the propagation is sure of its mask (a look changed
                # by the light or a turn, with nothing known under the mask).
                return None
        return Decision("accept", best, sim_t)

    def _without_lookalike_parts(
        self, frame: WorkFrame, cand: Candidate, sim_t: float, sim_d: float
    ) -> tuple[Candidate, float, float]:
        """``cand`` without its parts (``_pieces``: separate, or objects that touch) that look more
        like a known lookalike than like the target, or that alone would fail the drift bar while
        another passes, with its similarities (target, lookalike) recomputed; ``cand`` itself when
        it holds one object, when every part is the target's, or when no part passes alone and
        none is more like a lookalike (the halves of a turning product). A lookalike that passed
        in front of the target leaves the propagated mask on both while they touch and once they
        part: the union still looks like the target as a whole (two things of its paint), each
        part alone says which is which."""
        # Only a piece the size of an object like the target is judged alone: a fragment's
        # appearance vector says little.
        usual = self._reference_area() or cand.area
        min_area = self.settings.min_part * usual
        parts = [p for p in _pieces(cand.mask, min_area) if np.count_nonzero(p) >= min_area]
        if len(parts) < 2:
            return cand, sim_t, sim_d
        keep = np.zeros_like(cand.mask)
        kept, best_part, best_margin, lookalike = 0, None, -np.inf, False
        bar = self._drift_threshold()
        pieces = []
        for piece in parts:
            part = Candidate.from_mask(piece, quality=cand.quality, object_score=cand.object_score, source=cand.source)
            assert part is not None
            pieces.append(part)
        self._embed(frame, pieces)
        for part in pieces:
            assert part.embedding is not None
            pt, pd = self.memory.similarity(part.embedding), self.distractors.similarity(part.embedding)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("frame %d part area %d box %s target %.3f lookalike %.3f",
                          frame.index, part.area, tuple(round(v) for v in part.box), pt, pd)  # fmt: skip
            if pt - pd > best_margin:
                best_part, best_margin = part.mask, pt - pd
            if pd <= pt and pt >= bar:
                keep |= part.mask
                kept += 1
            lookalike |= pd > pt
        if kept == len(parts) or not (kept or lookalike):
            # Every part is the target's, or none looks like it alone and none like a lookalike
            # (parts of a turning or zooming product): the whole stays, the drift checks judge it.
            return cand, sim_t, sim_d
        if not kept:  # no part is the target's alone: the least lookalike stays, the drift checks judge it
            keep = best_part
        # Specks too small to judge go with the dropped parts.
        trimmed = Candidate.from_mask(cand.mask & keep, quality=cand.quality, object_score=cand.object_score, source=cand.source)
        assert trimmed is not None
        trimmed.embedding = self.embedder.embed(frame, trimmed)
        return trimmed, self.memory.similarity(trimmed.embedding), self.distractors.similarity(trimmed.embedding)

    def _matching_proposals(self, frame: WorkFrame, candidates: list[Candidate]) -> list[Candidate]:
        """SPARROW's dual prompt, for a description: class-agnostic proposals that match the words
        and cover nearly the same region as a propagated candidate (IoU at least ``dual_overlap``)
        are the same object outlined another way. Such a proposal joins the choice, with that
        candidate's quality, only where its outline runs on stronger image edges than the
        candidate's (``_edge_strength``): on a product of one paint a propagation that bled a
        pixel or two outward loses to it, while under blur (a moving camera) the colour threshold
        leaves out the blended rim and the propagated outline is the one on the edge. The
        appearance test then decides. A click or box has no words to score proposals by: there,
        the propagation's mask stands."""
        if not self.grounder.can_ground():
            return []
        out = []
        for p in self.proposer.propose(frame):
            if self.grounder.text_score(frame, p) < 0.5:
                continue
            overlap, c = max(((mask_iou(p.mask, c.mask), c) for c in candidates), key=lambda t: t[0])
            if overlap >= self.settings.dual_overlap and _edge_strength(frame, p.mask) > _edge_strength(frame, c.mask):
                # The same object outlined another way: the propagation's evidence is its evidence.
                p.quality, p.object_score, p.source = c.quality, c.object_score, "proposal"
                out.append(p)
        return out

    def _accept(self, frame: WorkFrame, cand: Candidate, sim_t: float) -> None:
        self.kalman.update(cand.box)
        self._last_box = cand.box
        self.propagator.commit(frame, cand.mask)
        ref = self._reference_area()
        self._since_memory += 1
        self._since_scan += 1
        steady = ref is None or 0.7 <= cand.area / ref <= 1.4
        if not cand.touches_border:
            self.areas = (self.areas + [cand.area])[-15:]
        self.similarities = (self.similarities + [sim_t])[-100:]
        typical = self._typical_similarity() or sim_t
        if cand.embedding is not None:
            self.anchor_similarities = (self.anchor_similarities + [self.memory.anchor_similarity(cand.embedding)])[-100:]
        if (
            self._since_memory >= self.settings.memory_every
            and cand.quality > 0.6
            and sim_t >= self.settings.reid_ratio * typical
            and steady
            and not cand.touches_border
            and cand.embedding is not None
            and self._learns(cand, self.anchor_similarities[-1])
        ):
            self.memory.add(cand.embedding, frame.index)
            self.learned.append(cand.embedding)
            self._since_memory = 0
        if self._since_scan >= self.settings.distractors_every:
            self._scan_distractors(frame, cand)

    def _learns(self, cand: Candidate, anchor: float) -> bool:
        """Whether a view that passed the other learning gates joins the memory: while it is as like
        the prompt's view as this track's views typically are (``reid_ratio`` of the upper quartile
        of the last hundred ``anchor_similarities``), or, when it is not, while it keeps the shape of
        the last view learned that was (``normalised_shape``, IoU at least ``dual_overlap``).

        A memory updated from its own track drifts with it (the template update problem; Matthews,
        Ishikawa and Baker, PAMI 2004, whose remedy is to update only while the first template
        agrees): a mask creeping into a poster of its paint, a few percent a frame, stays like the
        views learned just before it, each of them a little further from the product. The first
        view alone cannot tell that creep from a zoom or a change of light, which drift from it
        too; the shape can: a zoom keeps it, a creep grows a part the product's shape did not have."""
        assert self._anchor_shape is not None, "start() sets the prompt's shape"
        shape = normalised_shape(cand.mask)
        if anchor >= self.settings.reid_ratio * float(np.percentile(self.anchor_similarities, 75)):
            self._anchor_shape = shape
            return True
        return mask_iou(shape, self._anchor_shape) >= self.settings.dual_overlap

    def _acquire(self, frame: WorkFrame, cand: Candidate) -> None:
        self._after_cut = False
        self.kalman.initiate(cand.box)
        self._last_box = cand.box
        self.propagator.reset(frame, cand.mask)
        self.tracking = True
        if not cand.touches_border:
            self.areas = (self.areas + [cand.area])[-15:]

    def _take(self, frame: WorkFrame, cand: Candidate) -> tuple[np.ndarray, float]:
        """Follow a re-detected ``cand`` from ``frame`` on (``apply`` of a "take" decision)."""
        self.events.append((frame.index, "found"))
        self._acquire(frame, cand)
        sim_t = self.memory.similarity(cand.embedding) if cand.embedding is not None else 0.0
        return cand.mask, self._confidence(cand, sim_t)

    def _lose(self, frame: WorkFrame) -> None:
        if self.tracking:
            self.events.append((frame.index, "lost"))
        self.tracking = False
        self.propagator.commit(frame, None)

    def _reference_area(self) -> float | None:
        return float(np.median(self.areas)) if self.areas else None

    def _typical_similarity(self) -> float | None:
        """How alike this track's accepted frames were to its memory: the upper quartile of the last
        hundred. Not the recent median: a mask that took in a lookalike for a while would lower it
        until that looked typical."""
        return float(np.percentile(self.similarities, 75)) if self.similarities else None

    def _drift_threshold(self) -> float:
        """The similarity a followed mask must keep to stay the target (``drift_similarity``, and
        ``drift_ratio`` of the track's typical similarity)."""
        typical = self._typical_similarity()
        return max(self.settings.drift_similarity, self.settings.drift_ratio * typical if typical else 0.0)

    def _confidence(self, cand: Candidate, sim_t: float) -> float:
        """Quality (the part's own estimate of the mask) times the evidence the target is there at
        all (object score) times how the appearance compares with the track's typical similarity."""
        typical = self._typical_similarity() or 1.0  # before any frame is accepted: the prompt's own
        appearance = min(1.0, sim_t / typical) if typical > 0 else 0.0
        return float(np.clip(cand.quality * cand.object_score * appearance, 0.0, 1.0))

    # -- memories and re-detection --------------------------------------------------------------

    def _search(self, frame: WorkFrame) -> list[Candidate]:
        """Class-agnostic proposals and, from a propagator that can look for the target anywhere
        (``search``), the regions that look like it."""
        cands = self.proposer.propose(frame)
        search = getattr(self.propagator, "search", None)
        if search is not None:
            cands += search(frame)
        return cands

    def _scan_distractors(self, frame: WorkFrame, target: Candidate) -> None:
        """Remember regions apart from the target that look like it (DAM4SAM: box IoU <= 0.7; here
        apart means barely overlapping, so the target's own parts never count).

        A propagator that can look for the target anywhere (``search``) says what looks like it to
        the propagation; each such region apart from the target is a counter-example for the
        propagator (``remember_lookalike``), and joins the distractor memory when the embedder
        finds it alike too (``lookalike_ratio`` of the track's typical similarity)."""
        self._since_scan = 0
        typical = self._typical_similarity() or 1.0
        search = getattr(self.propagator, "search", None)
        remember = getattr(self.propagator, "remember_lookalike", None)
        # Only these regions are embedded (network time): the propagator's own finds when it has
        # them, else every class-agnostic proposal.
        regions = []
        for c in search(frame) if search is not None else self.proposer.propose(frame):
            if not apart(c, target):
                continue
            if remember is not None:  # a wall of the target's colour is a counter-example too
                remember(frame, c.mask, target.mask)
            if not is_background(c.box, c.area, frame.size):
                regions.append(c)
        self._embed(frame, regions)
        for c in regions:
            assert c.embedding is not None
            if self.memory.similarity(c.embedding) >= self.settings.lookalike_ratio * typical:
                self.distractors.add(c.embedding)

    def _find(
        self,
        frame: WorkFrame,
        near: tuple[float, ...] | None = None,
        min_share: float | None = None,
        local: Sequence[tuple[float, ...]] = (),
        local_threshold: float | None = None,
        apart_from: np.ndarray | None = None,
        max_share: float | None = None,
        anywhere: bool = False,
        distinct: bool = False,
    ) -> Candidate | None:
        """The best re-identified candidate on ``frame`` (its ``embedding`` set), or None: one that
        the propagation supports (``min_support``, when the propagator can say) and the embedder
        finds alike (``reid_similarity``, ``reid_ratio``), more than any known lookalike.

        ``near``: the motion prior's box, which a candidate gains by overlapping. ``local``: boxes
        where the target is expected (the motion prior's, where it was last seen); a candidate
        centred within one size of one of them (the box's, or the target's usual one) needs only
        ``local_threshold``: a local hypothesis needs less evidence than a jump across the frame.
        ``apart_from``: a mask that such a local candidate must mostly lie outside of (IoU < 0.5).
        ``anywhere``: ``local_threshold`` holds anywhere on the frame for a candidate unlike every
        known lookalike (less alike any of them than ``lookalike_ratio`` of the track's typical
        similarity: the bar at which a region apart from the target is remembered as one).
        ``min_share``: the smallest candidate area, as a share of the target's usual area
        (``min_partial`` by default); ``max_share``: the largest (``max_redetect`` by default).
        ``distinct``: the frame is of a new shot where the target has not been found yet. A new
        framing (a close-up, another background, other light) moves every region's similarity to
        the memory, so the bars learned in the last shot say little there. When no region passes
        them, the region most like the target is taken if it passes the absolute floor
        (``reid_similarity``), looks like no known lookalike, and is distinct: Lowe's ratio test,
        its cosine distance to the target at most ``distinct_ratio`` of the next region's (one
        that is not the same object: overlapping it less than half).
        """
        s = self.settings
        min_share = s.min_partial if min_share is None else min_share
        max_share = s.max_redetect if max_share is None else max_share
        ref = self._reference_area()
        typical = self._typical_similarity()
        threshold = max(s.reid_similarity, s.reid_ratio * typical if typical else 0.0)
        text = self.grounder.can_ground()
        support = getattr(self.propagator, "support", None)
        best, best_key = None, -np.inf
        seen: list[tuple[float, float, Candidate]] = []  # (similarity to the target, to a lookalike, region)
        regions = []
        for c in self._without_excluded(self._search(frame), 0.5):
            if is_background(c.box, c.area, frame.size):
                continue
            # A proposal the propagation sees nothing of the target in is something else, however
            # alike a region's summary vector (a blue box shaped like the red one).
            if support is not None:
                supported = support(frame, c.mask)
                if supported < s.min_support:
                    continue
                # A class-agnostic proposal has no evidence of its own that the target is there:
                # the propagation's is its object score, as a search region's is already.
                c.object_score = min(c.object_score, supported)
            # A product coming out from behind something, or back into the frame, shows a sliver
            # first: every frame of it counts, and appearance (not size) decides what it is.
            low = 0.01 if c.touches_border else min_share
            if ref is not None and not low * ref <= c.area <= max_share * ref:
                continue
            regions.append(c)
        self._embed(frame, regions)
        for c in regions:
            assert c.embedding is not None
            sim_t, sim_d = self.memory.similarity(c.embedding), self.distractors.similarity(c.embedding)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("frame %d redetect %s area %d box %s target %.3f lookalike %.3f near %s",
                          frame.index, c.source, c.area, tuple(round(v) for v in c.box), sim_t, sim_d,
                          None if near is None else tuple(round(v) for v in near))  # fmt: skip
            seen.append((sim_t, sim_d, c))
            # A product half in frame shows half its outline: a little less alike.
            bar = threshold
            if (
                local_threshold is not None
                and (
                    (anywhere and sim_d < s.lookalike_ratio * (typical or 1.0))
                    or any(_centred_near(c.box, b, np.sqrt(ref) if ref else 0.0) for b in local)
                )
                and (apart_from is None or mask_iou(c.mask, apart_from) < 0.5)
            ):
                bar = max(s.reid_similarity, min(threshold, local_threshold))
            if sim_t < bar - (0.1 if c.touches_border else 0.0) or sim_t < sim_d + s.reid_margin:
                continue
            if text and self.grounder.text_score(frame, c) < 0.3:
                continue
            key = sim_t - sim_d + (0.2 * box_iou(near, c.box) if near is not None else 0.0)
            if key > best_key:
                best, best_key = c, key
        if best is None and distinct and seen:
            best = self._distinct(frame, seen, typical)
        return best

    def _embed(self, frame: WorkFrame, candidates: list[Candidate]) -> None:
        """Set each candidate's ``embedding``, in one network pass where the embedder can
        (``embed_many``: six crops in one batch take about half the time of six single passes)."""
        many = getattr(self.embedder, "embed_many", None)
        if many is not None and len(candidates) > 1:
            vectors = list(many(frame, candidates))
        else:
            vectors = [self.embedder.embed(frame, c) for c in candidates]
        for c, vector in zip(candidates, vectors, strict=True):
            c.embedding = vector

    def _distinct(self, frame: WorkFrame, seen: list[tuple[float, float, Candidate]], typical: float | None) -> Candidate | None:
        """The region of ``seen`` most like the target when it passes the absolute floor, looks
        like no known lookalike, and is distinct from every other region (``_find``'s ``distinct``)."""
        s = self.settings
        sim_t, sim_d, top = max(seen, key=lambda x: x[0])
        if sim_t < s.reid_similarity or sim_t < sim_d + s.reid_margin or sim_d >= s.lookalike_ratio * (typical or 1.0):
            return None
        if self.grounder.can_ground() and self.grounder.text_score(frame, top) < 0.3:
            return None
        others = [t for t, _, c in seen if c is not top and mask_iou(c.mask, top.mask) < 0.5]
        nearest_other = max(others, default=0.0)
        if (1.0 - sim_t) > s.distinct_ratio * (1.0 - nearest_other):
            return None
        return top

    def _without_excluded(self, candidates: list[Candidate], max_share: float) -> list[Candidate]:
        """``candidates`` without this frame's excluded pixels; one that loses more than
        ``max_share`` of its area to them (any, when 0) is dropped when ``max_share`` > 0, else
        only when nothing is left."""
        if self._exclude is None:
            return candidates
        out = []
        for c in candidates:
            lost = np.count_nonzero(c.mask & self._exclude)
            if not lost:
                out.append(c)
                continue
            if max_share > 0 and lost > max_share * c.area:
                continue
            trimmed = Candidate.from_mask(c.mask & ~self._exclude, quality=c.quality, object_score=c.object_score, source=c.source)
            if trimmed is not None:
                out.append(trimmed)
        return out


@dataclass
class Followed:
    """The followed target's candidates on a frame (``TargetController.follow``), the motion
    prior's box they are scored against (``trusted`` once the prior has been stable), and the
    sources of lookalikes known to be apart from the target on that frame."""

    prior: tuple[float, float, float, float] | None
    trusted: bool
    candidates: list[Candidate]
    elsewhere: frozenset[str] = frozenset()


@dataclass
class Decision:
    """What ``decide`` made of a frame: ``"accept"`` (the followed mask), ``"take"`` (a re-detected
    region takes over) or ``"none"`` (not visible); ``similarity`` to the target memory."""

    kind: str
    candidate: Candidate | None = None
    similarity: float = 0.0

    @property
    def mask(self) -> np.ndarray | None:
        return None if self.candidate is None else self.candidate.mask


def _pieces(mask: np.ndarray, min_area: float = 0.0) -> list[np.ndarray]:
    """The objects ``mask`` seems to hold: its connected components of at least ``min_area``
    pixels, each split where it narrows between two cores (two objects of one paint that touch).
    The textbook split of touching blobs: a core is a connected region where the distance to the
    component's edge is at least half its largest, and each pixel goes to its nearest core. A
    convex object, or a long one, has one core; a product beside a lookalike has two."""
    box = mask_box(mask)
    if box is None:
        return []
    # Within the mask's box and a pixel of margin (where the frame has one): the same distances.
    bx, by, bw, bh = (int(v) for v in box)
    y0, x0 = max(0, by - 1), max(0, bx - 1)
    y1, x1 = min(mask.shape[0], by + bh + 1), min(mask.shape[1], bx + bw + 1)
    m = mask[y0:y1, x0:x1].astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    dist = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    out = []

    def whole(part: np.ndarray, x: int, y: int) -> np.ndarray:
        full = np.zeros(mask.shape, bool)
        full[y0 + y : y0 + y + part.shape[0], x0 + x : x0 + x + part.shape[1]] = part
        return full

    for k in range(1, count):
        if stats[k, cv2.CC_STAT_AREA] < min_area:
            continue
        x, y, w, h = (int(v) for v in stats[k, :4])
        comp = labels[y : y + h, x : x + w] == k
        d = np.where(comp, dist[y : y + h, x : x + w], 0.0)
        cores, core_labels = cv2.connectedComponents((d >= 0.5 * d.max()).astype(np.uint8), connectivity=8)
        if cores <= 2:
            out.append(whole(comp, x, y))
            continue
        _, nearest = cv2.distanceTransformWithLabels(
            (core_labels == 0).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP
        )
        out += [whole(comp & (nearest == label), x, y) for label in np.unique(nearest[comp])]
    return out


def _centred_near(box: tuple[float, ...], near: tuple[float, ...], side: float = 0.0) -> bool:
    """Whether ``box``'s centre lies within one size of ``near``'s centre (``[x, y, w, h]``): its
    width and height, or ``side`` where that is more (a partly hidden target's box is small)."""
    dx = abs(box[0] + box[2] / 2 - near[0] - near[2] / 2)
    dy = abs(box[1] + box[3] / 2 - near[1] - near[3] / 2)
    return dx <= max(near[2], side) and dy <= max(near[3], side)


def _edge_strength(frame: WorkFrame, mask: np.ndarray) -> float:
    """How strongly the image changes along ``mask``'s outline: the mean colour-gradient magnitude
    (Sobel, the largest of the three channels) over the pixels within one pixel of it. Two outlines
    of one object differ by where they run: on its edge, or a pixel or two inside (a colour
    threshold that left out the blended rim) or outside it (a propagation that bled)."""
    box = mask_box(mask)
    if box is None:
        return 0.0
    x, y, w, h = (int(v) for v in box)
    height, width = mask.shape
    x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(width, x + w + 2), min(height, y + h + 2)
    m = mask[y0:y1, x0:x1].astype(np.uint8)
    band = cv2.dilate(m, _CROSS) != cv2.erode(m, _CROSS)
    rgb = frame.rgb[y0:y1, x0:x1].astype(np.float32)
    gx, gy = cv2.Sobel(rgb, cv2.CV_32F, 1, 0), cv2.Sobel(rgb, cv2.CV_32F, 0, 1)
    magnitude = np.sqrt(gx * gx + gy * gy).max(axis=2)
    return float(magnitude[band].mean()) if band.any() else 0.0
