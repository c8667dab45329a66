"""Where the target is first found: the prompted frame, or the most confident of several key frames.

With a click or a box, the target is the candidate the grounder puts under it on that frame (with
a colour re-segmentation of the clicked spot as a fallback candidate). With a description only,
DEVA's rule: ground it on ``KEY_FRAMES`` uniformly spaced frames and start from the most confident;
the other key frames where the same product was found confidently seed the target memory (SPARROW's
target-specific features are crops from uniformly spaced frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from highlighter.errors import TrackError
from highlighter.track.colour import COLOUR_WORDS, ColourModel
from highlighter.track.frames import FrameSource
from highlighter.track.grounding import CueGrounder
from highlighter.track.parts import Candidate, Embedder, Proposer, WorkFrame, fill_holes

KEY_FRAMES = 10
MIN_TEXT_SCORE = 0.35
MIN_VISUAL_SCORE = 0.3


@dataclass
class InitialTarget:
    """The target on frame ``frame.index``, how sure the grounding was, and appearance seeds."""

    frame: WorkFrame
    candidate: Candidate
    score: float
    seeds: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (frame index, embedding)


def find_initial_target(
    source: FrameSource, frame_count: int, proposer: Proposer, grounder: CueGrounder, embedder: Embedder
) -> InitialTarget:
    prompted = grounder.prompted_frames()
    if prompted:
        return _from_visual_prompt(source, prompted[0], proposer, grounder, embedder)
    keys = sorted({int(round(k)) for k in np.linspace(0, max(0, frame_count - 1), KEY_FRAMES)})
    found: list[tuple[float, WorkFrame, Candidate]] = []
    for frame in source.forward():
        if frame.index in keys:
            cands = proposer.propose(frame)
            if cands:
                scores = grounder.score(frame, cands)
                best = int(np.argmax(scores))
                found.append((scores[best], WorkFrame(frame.index, frame.rgb.copy()), cands[best]))
        if frame.index >= keys[-1]:
            break
    if not found or max(f[0] for f in found) < MIN_TEXT_SCORE:
        raise TrackError(
            "No product matching the description was found in the video. "
            "Check the colour or shape words, or click on the product instead."
        )
    score, frame, cand = max(found, key=lambda f: (f[0], -f[1].index))
    anchor = embedder.embed(frame, cand)
    seeds = []
    for s, f, c in found:
        if f.index != frame.index and s >= 0.7 * score:
            vector = embedder.embed(f, c)
            if float(vector @ anchor) >= 0.85:
                seeds.append((f.index, vector))
    return InitialTarget(frame, cand, float(score), seeds)


def _from_visual_prompt(
    source: FrameSource, index: int, proposer: Proposer, grounder: CueGrounder, embedder: Embedder
) -> InitialTarget:
    for frame in source.forward(index):
        frame = WorkFrame(frame.index, frame.rgb.copy())
        cands = proposer.propose(frame)
        clicked = _segment_prompt(frame, grounder)
        if clicked is not None:
            cands.append(clicked)
        scores = grounder.score(frame, cands) if cands else []
        if not scores or max(scores) < MIN_VISUAL_SCORE:
            raise TrackError(
                f"Nothing distinct was found under the click or box on frame {index}. "
                "Click on the middle of the product, or draw the box tightly around it."
            )
        best = int(np.argmax(scores))
        return InitialTarget(frame, cands[best], float(scores[best]))
    raise TrackError(f"Frame {index} of the prompt could not be read from the video. Click on an earlier frame.")


def _segment_prompt(frame: WorkFrame, grounder: CueGrounder) -> Candidate | None:
    """The region of the clicked spot's (or the box centre's) colour that holds it, as a candidate."""
    w, h = frame.size
    hsv = frame.hsv
    spots = [(x, y) for x, y, positive in grounder.points.get(frame.index, []) if positive]
    spots += [(bx + bw / 2, by + bh / 2) for bx, by, bw, bh in grounder.boxes.get(frame.index, [])]
    if not spots:
        return None
    x, y = (int(min(max(v, 0), lim - 1)) for v, lim in zip(spots[0], (w, h)))
    r = max(2, int(round(0.01 * max(w, h))))
    patch = hsv[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1].reshape(-1, 3)
    model = ColourModel.from_pixels(patch)
    if grounder.colour is not None:  # the description's colour, where it agrees with the click
        word = COLOUR_WORDS[grounder.colour]
        if word.mask(hsv[y : y + 1, x : x + 1]).any():
            model = word
    raw = model.mask(hsv)
    raw = cv2.morphologyEx(raw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    count, labels = cv2.connectedComponents(raw, connectivity=8)
    label = labels[y, x]
    if label == 0:
        return None
    return Candidate.from_mask(fill_holes(labels == label), source="prompt")
