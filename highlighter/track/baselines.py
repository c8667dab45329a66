"""The two baselines the evaluation compares the controller with, built from the same parts.

- ``FramewiseController``: grounds the prompt on every frame independently, as models with a static
  target token do (SPARROW's starting point). With a description it keeps the grounder's best
  candidate; with a click or box only, the "token" is the appearance vector of the prompted region
  and each frame takes the most similar candidate among the proposals and the regions that look like
  the prompted one (the propagator's ``search``, from the prompt's frame alone). No state between frames.
- ``PropagationController``: initialises once and propagates: each frame keeps the propagator's
  candidate of highest predicted quality. No memory, no re-detection, no motion prior; once the
  object score collapses the target stays lost.

Both expose ``start(frame, candidate)`` and ``step(frame, cut) -> (mask or None, score)`` like
``TargetController``.
"""

from __future__ import annotations

import numpy as np

from highlighter.track.controller import ControllerSettings
from highlighter.track.grounding import CueGrounder
from highlighter.track.initialise import MIN_TEXT_SCORE
from highlighter.track.parts import Candidate, Embedder, Propagator, Proposer, WorkFrame
from highlighter.track.propagation import LabelPropagator


class FramewiseController:
    def __init__(
        self,
        proposer: Proposer,
        grounder: CueGrounder,
        embedder: Embedder,
        search: LabelPropagator,
        settings: ControllerSettings = ControllerSettings(),
    ) -> None:
        self.proposer, self.grounder, self.embedder, self.search, self.settings = proposer, grounder, embedder, search, settings
        self.token: np.ndarray | None = None

    def start(self, frame: WorkFrame, candidate: Candidate) -> None:
        self.token = self.embedder.embed(frame, candidate)
        self.search.reset(frame, candidate.mask)  # its memory: the prompted frame, never updated

    def step(self, frame: WorkFrame, cut: bool = False) -> tuple[np.ndarray | None, float]:
        cands = self.proposer.propose(frame)
        if self.grounder.can_ground():
            if not cands:
                return None, 0.0
            scores = self.grounder.score(frame, cands)
            best = int(np.argmax(scores))
            if scores[best] < MIN_TEXT_SCORE:
                return None, 0.0
            return cands[best].mask, float(scores[best])
        assert self.token is not None
        best_c, best_sim = None, -1.0
        for c in cands + self.search.search(frame):
            sim = float(self.embedder.embed(frame, c) @ self.token)
            if sim > best_sim:
                best_c, best_sim = c, sim
        if best_c is None or best_sim < self.settings.reid_similarity:
            return None, 0.0
        return best_c.mask, best_sim


class PropagationController:
    def __init__(self, propagator: Propagator, settings: ControllerSettings = ControllerSettings()) -> None:
        self.propagator, self.settings = propagator, settings
        self.lost = False

    def start(self, frame: WorkFrame, candidate: Candidate) -> None:
        self.propagator.reset(frame, candidate.mask)

    def step(self, frame: WorkFrame, cut: bool = False) -> tuple[np.ndarray | None, float]:
        if self.lost:
            return None, 0.0
        cands = [c for c in self.propagator.step(frame) if c.object_score >= self.settings.min_object_score]
        if not cands:
            self.lost = True
            self.propagator.commit(frame, None)
            return None, 0.0
        best = max(cands, key=lambda c: c.quality)
        self.propagator.commit(frame, best.mask)
        return best.mask, float(best.quality)
