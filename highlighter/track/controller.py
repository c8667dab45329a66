"""The tracking controller: the product's own logic above the four parts (DESIGN.md, FACTS.md).

Per frame, while it follows the target:

1. The Kalman filter predicts the box (SAMURAI's motion prior); the propagator offers candidate
   masks (flow + colour), one of them re-fitted under the predicted motion.
2. Each candidate is scored by its predicted quality, its agreement with the predicted box, and its
   appearance: similarity to the target memory's prototypes minus similarity to the distractor
   memory (so a mask that slid onto a lookalike loses).
3. Drift checks: the object score has collapsed (behind something, out of frame), the appearance no
   longer matches the target or matches a lookalike better, or box and mask disagree
   (SPARROW's box-mask score under 0.35). Any of these hands over to re-detection on this frame.
4. Confident frames feed the target memory (DAM4SAM's size gate: within 0.7..1.4 of the recent
   median area, not cut by the frame edge); every few frames, same-coloured regions elsewhere feed
   the distractor memory.

While the target is lost (occlusion, exit, after a cut) every frame is re-detected: class-agnostic
proposals and every region of the target's colour, re-identified against the target memory and
rejected when they look more like a known lookalike. A product coming out from behind something is
accepted from its first sliver (3% of its usual area), since appearance, not size, says what it is.
The track says ``visible: false`` until one is accepted.

Everything is at working resolution. Processing order may be backwards in time (the part before
the key frame); nothing here depends on the direction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
    box_iou,
    box_mask_agreement,
    component_candidates,
    is_background,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControllerSettings:
    """Thresholds of the controller. Similarities are cosines of appearance vectors (0..1)."""

    min_object_score: float = 0.25  # below: the target is no longer there (SAM 2's object score)
    drift_similarity: float = 0.72  # below: the mask no longer looks like the target
    reid_similarity: float = 0.8  # re-detection accepts a candidate only from here
    reid_margin: float = 0.03  # ... and only when it is this much closer to the target than to any lookalike
    min_agreement: float = 0.35  # SPARROW's box-mask threshold
    stable_frames: int = 5  # SAMURAI: trust the motion prior after this many updates
    memory_every: int = 5  # frames between additions to the target memory
    distractors_every: int = 10  # frames between scans for lookalikes
    min_colour_share: float = 0.5  # a re-detection candidate must be mostly the target's colour
    min_partial: float = 0.03  # smallest share of the target's usual area re-detection considers when lost (a sliver)
    min_drift_partial: float = 0.2  # ... and when checking a drift (a sliver then is the followed mask's own remains)


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
        self._last_box: tuple[float, float, float, float] | None = None
        self._since_memory = 0
        self._since_scan = 0
        self.events: list[tuple[int, str]] = []  # (frame, what happened): lost, re-acquired, cut

    # -- public ---------------------------------------------------------------------------------

    def start(self, frame: WorkFrame, candidate: Candidate) -> None:
        """Begin following ``candidate`` on ``frame`` (its embedding joins the memory)."""
        vector = self.embedder.embed(frame, candidate)
        self.memory.add(vector, frame.index)
        self._acquire(frame, candidate)
        self._scan_distractors(frame, candidate)

    def step(self, frame: WorkFrame, cut: bool = False) -> tuple[np.ndarray | None, float]:
        """The target's mask on ``frame`` (None when not visible) and a confidence 0..1."""
        if cut:
            self.events.append((frame.index, "cut"))
            self._lose(frame)
            self.kalman.reset()
        if self.tracking:
            chosen = self._follow(frame)
            if chosen is not None:
                return chosen
            self._lose(frame)
        return self._redetect(frame)

    # -- following ------------------------------------------------------------------------------

    def _follow(self, frame: WorkFrame) -> tuple[np.ndarray, float] | None:
        s = self.settings
        prior = self.kalman.predict() if self.kalman.active else None
        trusted = prior is not None and self.kalman.stable >= s.stable_frames
        if hasattr(self.propagator, "prior"):  # a propagator that can use the motion prior's box
            self.propagator.prior = prior if trusted else None  # type: ignore[attr-defined]
        candidates: list[Candidate] = []
        for c in self.propagator.step(frame):
            if c.object_score < s.min_object_score:
                continue
            # The flow and the prior often fit the very same mask: embed it once, at its best quality.
            same = next((d for d in candidates if d.box == c.box and d.area == c.area and np.array_equal(d.mask, c.mask)), None)
            if same is None:
                candidates.append(c)
            else:
                same.quality = max(same.quality, c.quality)
        if not candidates:
            return None
        ref = self._reference_area()
        best, best_total, best_sims = None, -np.inf, (0.0, 0.0)
        for c in candidates:
            c.embedding = self.embedder.embed(frame, c)
            sim_t, sim_d = self.memory.similarity(c.embedding), self.distractors.similarity(c.embedding)
            total = 0.85 * c.quality + (0.15 * box_iou(prior, c.box) if trusted else 0.0) + 1.0 * (sim_t - 0.5 * sim_d)
            if ref is not None and not c.touches_border and c.area > 1.25 * ref:
                total -= 0.5 * (c.area / ref - 1.25)  # growing faster than any zoom: a lookalike merged in
            if log.isEnabledFor(logging.DEBUG):
                log.debug("frame %d %s quality %.2f area %d target %.3f lookalike %.3f total %.3f",
                          frame.index, c.source, c.quality, c.area, sim_t, sim_d, total)  # fmt: skip
            if total > best_total:
                best, best_total, best_sims = c, total, (sim_t, sim_d)
        assert best is not None
        sim_t, sim_d = best_sims
        drift = (
            sim_t < s.drift_similarity
            or (len(self.distractors) and sim_d > sim_t + 0.02)
            or (ref is not None and not best.touches_border and best.area > 2.5 * ref)
            or (trusted and box_mask_agreement(prior, best.box, best.area) < s.min_agreement and not best.touches_border)
        )
        if drift:
            found = self._redetect(frame, near=prior, min_share=s.min_drift_partial)
            if found[0] is not None:
                return found
            if sim_t < s.drift_similarity or sim_d > sim_t + 0.02:
                return None
        self._accept(frame, best, sim_t)
        return best.mask, float(np.clip(best.quality * sim_t, 0.0, 1.0))

    def _accept(self, frame: WorkFrame, cand: Candidate, sim_t: float) -> None:
        self.kalman.update(cand.box)
        self.propagator.commit(frame, cand.mask)
        self._last_box = cand.box
        ref = self._reference_area()
        self._since_memory += 1
        self._since_scan += 1
        steady = ref is None or 0.7 <= cand.area / ref <= 1.4
        if not cand.touches_border and steady:
            self.areas = (self.areas + [cand.area])[-15:]
        if (
            self._since_memory >= self.settings.memory_every
            and cand.quality > 0.6
            and sim_t >= self.settings.reid_similarity
            and steady
            and not cand.touches_border
            and cand.embedding is not None
        ):
            self.memory.add(cand.embedding, frame.index)
            self._since_memory = 0
        if self._since_scan >= self.settings.distractors_every:
            self._scan_distractors(frame, cand)

    def _acquire(self, frame: WorkFrame, cand: Candidate) -> None:
        self.kalman.initiate(cand.box)
        self.propagator.reset(frame, cand.mask)
        self._last_box = cand.box
        self.tracking = True
        if not cand.touches_border:
            self.areas = (self.areas + [cand.area])[-15:]

    def _lose(self, frame: WorkFrame) -> None:
        if self.tracking:
            self.events.append((frame.index, "lost"))
        self.tracking = False
        self.propagator.commit(frame, None)

    def _reference_area(self) -> float | None:
        return float(np.median(self.areas)) if self.areas else None

    # -- memories and re-detection --------------------------------------------------------------

    def _colour_shares(self, frame: WorkFrame, cands: list[Candidate]) -> tuple[list[float], np.ndarray | None]:
        """Each candidate's share of the target's colour, and the frame's target-colour mask (None
        for a propagator without a colour model: then appearance decides alone)."""
        colour_mask = getattr(self.propagator, "colour_mask", None)
        if colour_mask is None:
            return [1.0] * len(cands), None
        full = colour_mask(frame)
        return [np.count_nonzero(full & c.mask) / max(1, c.area) for c in cands], full

    def _colour_regions(self, full: np.ndarray, cands: list[Candidate]) -> list[Candidate]:
        """Regions of the target's colour that no proposal covers.

        The proposer keeps only the largest few segments of any colour, so on a busy frame a product
        coming out from behind something (a sliver at first) is not among them; every region of the
        target's own colour is a candidate too, from the proposer's smallest size up.
        """
        height, width = full.shape
        covered = lambda box: any(box_iou(box, c.box) > 0.5 for c in cands)  # noqa: E731
        return component_candidates(full, "colour", min_area=max(12.0, 2e-4 * width * height), skip=covered)

    def _scan_distractors(self, frame: WorkFrame, target: Candidate) -> None:
        """Remember same-coloured regions apart from the target (DAM4SAM: box IoU <= 0.7)."""
        self._since_scan = 0
        cands = self.proposer.propose(frame)
        for c, share in zip(cands, self._colour_shares(frame, cands)[0]):
            if share < self.settings.min_colour_share or box_iou(c.box, target.box) > 0.1:
                continue
            if np.count_nonzero(c.mask & target.mask) > 0.1 * c.area:
                continue
            self.distractors.add(self.embedder.embed(frame, c))

    def _redetect(
        self, frame: WorkFrame, near: tuple[float, ...] | None = None, min_share: float | None = None
    ) -> tuple[np.ndarray | None, float]:
        """The best re-identified candidate on ``frame`` (mask and confidence; None when there is none).

        ``near``: the motion prior's box, which a candidate gains by overlapping. ``min_share``: the
        smallest candidate area, as a share of the target's usual area (``min_partial`` by default).
        """
        s = self.settings
        min_share = s.min_partial if min_share is None else min_share
        cands = self.proposer.propose(frame)
        shares, full = self._colour_shares(frame, cands)
        if full is not None:
            extra = self._colour_regions(full, cands)
            cands, shares = cands + extra, shares + [1.0] * len(extra)
        ref = self._reference_area()
        text = self.grounder.can_ground()
        best, best_key = None, -np.inf
        for c, share in zip(cands, shares):
            if share < s.min_colour_share or is_background(c.box, c.area, frame.size):
                continue
            # A product coming out from behind something, or back into the frame, shows a sliver
            # first: every frame of it counts, and appearance (not size) decides what it is.
            low = 0.01 if c.touches_border else min_share
            if ref is not None and not low * ref <= c.area <= 4.0 * ref:
                continue
            c.embedding = self.embedder.embed(frame, c)
            sim_t, sim_d = self.memory.similarity(c.embedding), self.distractors.similarity(c.embedding)
            threshold = s.reid_similarity - (0.1 if c.touches_border else 0.0)  # a product half in frame
            if log.isEnabledFor(logging.DEBUG):
                log.debug("frame %d redetect area %d box %s target %.3f lookalike %.3f near %s",
                          frame.index, c.area, tuple(round(v) for v in c.box), sim_t, sim_d,
                          None if near is None else tuple(round(v) for v in near))  # fmt: skip
            if sim_t < threshold or sim_t < sim_d + s.reid_margin:
                continue
            if text and self.grounder.text_score(frame, c) < 0.3:
                continue
            key = sim_t - sim_d + (0.2 * box_iou(near, c.box) if near is not None else 0.0)
            if key > best_key:
                best, best_key = c, key
        if best is None:
            return None, 0.0
        self.events.append((frame.index, "found"))
        self._acquire(frame, best)
        return best.mask, float(np.clip(self.memory.similarity(best.embedding), 0.0, 1.0))


def _centre(box: tuple[float, ...]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2
