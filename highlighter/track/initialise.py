"""Where the target is first found: the prompted frame, or the most confident of several key frames.

With a click or a box, the target is the candidate the grounder puts under it on that frame, the
prompt's own segmentation among them (GrabCut of the box, or of the smallest box around the click
that holds its object: ``segment``). A click or box is never refused: it is the marketer saying the
product is there, so when nothing else fits, its own segmentation is the target. With a description only,
DEVA's rule: ground it on ``KEY_FRAMES`` uniformly spaced frames and start from the most confident;
the other key frames where the same product was found confidently seed the target memory (SPARROW's
target-specific features are crops from uniformly spaced frames). A region that sits unchanged on
most key frames is scenery (a poster, a wall, a shelf) unless nothing else matches: it scores
``STATIC_FACTOR`` of itself, so a product that moves or is handled wins over a poster of its colour;
a speck (under ``SPECK`` of the frame) scores in proportion to its area. The start is the surest
key frame's region that another key frame's best region looks like (``_consensus``): the product
shows on most key frames, one frame's accident on one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from highlighter.errors import TrackError
from highlighter.track.features import ImageNetFeatures
from highlighter.track.frames import FrameSource
from highlighter.track.grounding import CueGrounder
from highlighter.track.parts import Candidate, Embedder, Proposer, WorkFrame, box_iou
from highlighter.track.segment import mask_from_box, mask_from_click

KEY_FRAMES = 10
MIN_TEXT_SCORE = 0.35
PROMPT_BONUS = 0.05  # the prompt's own segmentation wins a near tie with a proposal
STATIC_FACTOR = 0.7  # of the score of a region unchanged on most key frames
ALIKE = 0.85  # appearance cosine at which two key frames' regions are one product
SPECK = 0.002  # of the frame (a 16 x 16 square at 480 x 270): a start region smaller scores in proportion


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
    seen: list[tuple[WorkFrame, list[Candidate], list[float]]] = []
    for frame in source.forward():
        if frame.index in keys:
            cands = proposer.propose(frame) + grounder.colour_regions(frame)
            if cands:
                seen.append((WorkFrame(frame.index, frame.rgb.copy()), cands, grounder.score(frame, cands)))
        if frame.index >= keys[-1]:
            break
    found: list[tuple[float, WorkFrame, Candidate]] = []
    for frame, cands, scores in seen:
        others = [[c.box for c in o] for f, o, _ in seen if f is not frame]
        scores = _start_scores(frame, cands, scores, others)
        best = int(np.argmax(scores))
        found.append((scores[best], frame, cands[best]))
    if not found or max(f[0] for f in found) < MIN_TEXT_SCORE:
        raise TrackError(
            "No product matching the description was found in the video. "
            "Check the colour or shape words, or click on the product instead."
        )
    score, frame, cand = _consensus(embedder, found)
    return InitialTarget(frame, cand, float(score), _seeds(embedder, frame, cand, score, found))


def _consensus(embedder: Embedder, found: list[tuple[float, WorkFrame, Candidate]]) -> tuple[float, WorkFrame, Candidate]:
    """The start among the key frames' best regions ``found``: the surest of those that another
    key frame's best looks like (cosine ``ALIKE``), the earlier frame on a tie; the surest of all
    when no two agree. A region that no other key frame agrees with is more often one frame's
    accident (a region that fits the words on that frame alone) than the product, which shows on
    most key frames (DEVA's in-clip consensus, over key frames)."""
    if len(found) < 3:  # two agree or neither does: the surest either way, no embedding needed
        return max(found, key=lambda f: (f[0], -f[1].index))
    vectors = [embedder.embed(f, c) for _, f, c in found]
    agreed = [
        entry for k, entry in enumerate(found)
        if any(float(vectors[k] @ u) >= ALIKE for m, u in enumerate(vectors) if m != k)
    ]  # fmt: skip
    return max(agreed or found, key=lambda f: (f[0], -f[1].index))


def _seeds(embedder: Embedder, frame: WorkFrame, cand: Candidate, score: float, found) -> list[tuple[int, np.ndarray]]:
    """Views of the chosen target on other key frames, to seed its memory: those the description
    found nearly as surely (0.7 of the best score) that look like the chosen one (cosine ``ALIKE``).
    A graph segment (``grounding.graph_segments``) is a start where nothing else separates the
    product, never a seed: it may leave part of the product out, and the memory would learn that."""
    anchor = embedder.embed(frame, cand)
    seeds = []
    for s, f, c in found:
        if f.index != frame.index and s >= 0.7 * score and c.source != "graph":
            vector = embedder.embed(f, c)
            if float(vector @ anchor) >= ALIKE:
                seeds.append((f.index, vector))
    return seeds


def _start_scores(frame: WorkFrame, cands: list[Candidate], scores: list[float], others) -> list[float]:
    """A description's scores on a key frame, as a start: scenery unchanged on most key frames
    (``_static``) scores ``STATIC_FACTOR`` of itself, and a speck (under ``SPECK`` of the frame) in
    proportion to its area, since a product a marketer names is rarely a few dozen pixels and a
    busy backdrop has many specks of any colour."""
    w, h = frame.size
    speck = SPECK * w * h
    return [
        s * (STATIC_FACTOR if _static(c, others) else 1.0) * min(1.0, c.area / speck)
        for c, s in zip(cands, scores)
    ]


def _static(cand: Candidate, others: list[list[tuple[float, float, float, float]]]) -> bool:
    """Whether ``cand``'s box recurs, unmoved (box IoU over 0.9), on most of the other key frames."""
    if len(others) < 2:
        return False
    same = sum(any(box_iou(cand.box, b) > 0.9 for b in boxes) for boxes in others)
    return same >= 0.5 * len(others)


def _from_visual_prompt(
    source: FrameSource, index: int, proposer: Proposer, grounder: CueGrounder, embedder: Embedder
) -> InitialTarget:
    for frame in source.forward(index):
        frame = WorkFrame(frame.index, frame.rgb.copy())
        cands = proposer.propose(frame)
        scores = grounder.score(frame, cands) if cands else []
        own = _segment_prompt(frame, grounder, source.full_frame(frame.index))
        own_score = grounder.score(frame, [own])[0]
        best = int(np.argmax(scores)) if scores else -1
        if best < 0 or own_score + PROMPT_BONUS >= scores[best]:
            return InitialTarget(frame, own, float(own_score))
        return InitialTarget(frame, cands[best], float(scores[best]))
    raise TrackError(f"Frame {index} of the prompt could not be read from the video. Click on an earlier frame.")


def _segment_prompt(frame: WorkFrame, grounder: CueGrounder, full: np.ndarray | None = None) -> Candidate:
    """The prompt's own segmentation on ``frame``: GrabCut of its first box, else of its first
    positive click (never empty). ``full``: the same frame at the video's own size, where the cut
    sees the product's edges in full detail (a small product is a few dozen working pixels)."""
    image = frame.rgb if full is None else full
    w, h = frame.size
    sx, sy = image.shape[1] / w, image.shape[0] / h
    boxes = grounder.boxes.get(frame.index, [])
    if boxes:
        x, y, bw, bh = boxes[0]
        mask = mask_from_box(image, (x * sx, y * sy, bw * sx, bh * sy), features=ImageNetFeatures())
    else:
        x, y = next((x, y) for x, y, positive in grounder.points[frame.index] if positive)
        mask = mask_from_click(image, x * sx, y * sy, features=ImageNetFeatures())
    if full is not None:
        small = cv2.resize(mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA) > 127
        mask = small if small.any() else cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    cand = Candidate.from_mask(mask, source="prompt")
    assert cand is not None  # both segmentations are never empty
    return cand


COMMON_FRAME_SHARE = 0.9  # a description's start may move to another product's start frame at this share of its best score
TAKEN_OVERLAP = 0.5  # a candidate this much (share of its area) on another product's start mask is that product


def initial_targets(
    source: FrameSource, frame_count: int, proposer: Proposer, grounders: list[CueGrounder], embedder: Embedder
) -> list[InitialTarget]:
    """``find_initial_target`` for several products of one video, decoding the frames it needs once.

    Clicks and boxes start their products on the prompted frame, as for one product. Descriptions
    are grounded on the same key frames, one after another in order of their best score; a
    candidate lying on a product already started on that frame belongs to that product, and a
    description starts on another product's start frame when it scores nearly as well there
    (``COMMON_FRAME_SHARE``): the passes before and after a shared start frame decode each frame
    once. With one grounder this is ``find_initial_target``."""
    prompted = [g.prompted_frames() for g in grounders]
    text_only = [i for i, p in enumerate(prompted) if not p]
    keys = sorted({int(round(k)) for k in np.linspace(0, max(0, frame_count - 1), KEY_FRAMES)}) if text_only else []
    visual_frames = sorted({p[0] for p in prompted if p})
    needed = set(keys) | set(visual_frames)
    frames: dict[int, WorkFrame] = {}
    for frame in source.forward():
        if frame.index in needed:
            frames[frame.index] = WorkFrame(frame.index, frame.rgb.copy())
        if frame.index >= max(needed):
            break
    out: list[InitialTarget | None] = [None] * len(grounders)
    for i, p in enumerate(prompted):
        if p:
            if p[0] not in frames:
                raise TrackError(f"Frame {p[0]} of the prompt could not be read from the video. Click on an earlier frame.")
            out[i] = _visual_target(frames[p[0]], proposer, grounders[i], embedder, source.full_frame(p[0]))
    if text_only:
        proposals = {f: proposer.propose(frames[f]) for f in sorted(set(keys) | set(visual_frames)) if f in frames}
        # Each description's best start, alone; then chosen in order of that score, so the clearest
        # product takes its region first.
        seen = {i: _seen(frames, proposals, keys, visual_frames, grounders[i]) for i in text_only}
        order = sorted(text_only, key=lambda i: -max((s for _, _, sc in seen[i] for s in sc), default=0.0))
        for i in order:
            taken = [t for t in out if t is not None]
            out[i] = _text_target(seen[i], keys, taken, embedder)
    return out  # type: ignore[return-value]


def _seen(frames, proposals, keys, extra, grounder) -> list[tuple[WorkFrame, list[Candidate], list[float]]]:
    """Per frame (key frames and ``extra`` frames), the candidates and their scores for ``grounder``,
    a region unchanged on most key frames scoring ``STATIC_FACTOR`` of itself."""
    seen = []
    for index in sorted(set(keys) | set(extra)):
        if index not in frames:
            continue
        frame = frames[index]
        cands = [_copy(c) for c in proposals[index]] + grounder.colour_regions(frame)
        if cands:
            seen.append((frame, cands, grounder.score(frame, cands)))
    out = []
    key_seen = [s for s in seen if s[0].index in keys]
    for frame, cands, scores in seen:
        others = [[c.box for c in o] for f, o, _ in key_seen if f is not frame]
        out.append((frame, cands, _start_scores(frame, cands, scores, others)))
    return out


def _copy(c: Candidate) -> Candidate:
    return Candidate(c.mask, c.box, c.area, c.touches_border, c.quality, c.object_score, c.source, c.embedding)


def _text_target(seen, keys: list[int], taken: list[InitialTarget], embedder: Embedder) -> InitialTarget:
    """The start of one description among ``seen`` frames, avoiding the regions ``taken`` by
    products already started on the same frame; the key-frame seeds as ``find_initial_target``."""
    found: list[tuple[float, WorkFrame, Candidate]] = []
    for frame, cands, scores in seen:
        on_frame = [t.candidate.mask for t in taken if t.frame.index == frame.index]
        ranked = [
            (s, c) for s, c in zip(scores, cands)
            if not any(np.count_nonzero(c.mask & m) > TAKEN_OVERLAP * c.area for m in on_frame)
        ]  # fmt: skip
        if ranked:
            s, c = max(ranked, key=lambda sc: sc[0])
            found.append((s, frame, c))
    on_keys = [f for f in found if f[1].index in keys]
    if not on_keys or max(f[0] for f in on_keys) < MIN_TEXT_SCORE:
        raise TrackError(
            "No product matching the description was found in the video. "
            "Check the colour or shape words, or click on the product instead."
        )
    score, frame, cand = _consensus(embedder, on_keys)
    # Another product's start frame, when this description is nearly as sure there.
    starts = {t.frame.index for t in taken}
    common = [f for f in found if f[1].index in starts and f[1].index != frame.index and f[0] >= COMMON_FRAME_SHARE * score]
    if common and frame.index not in starts:
        score, frame, cand = max(common, key=lambda f: (f[0], -f[1].index))
    return InitialTarget(frame, cand, float(score), _seeds(embedder, frame, cand, score, on_keys))


def _visual_target(
    frame: WorkFrame, proposer: Proposer, grounder: CueGrounder, embedder: Embedder, full: np.ndarray | None
) -> InitialTarget:
    """``_from_visual_prompt`` on an already decoded ``frame``."""
    cands = [_copy(c) for c in proposer.propose(frame)]
    scores = grounder.score(frame, cands) if cands else []
    own = _segment_prompt(frame, grounder, full)
    own_score = grounder.score(frame, [own])[0]
    best = int(np.argmax(scores)) if scores else -1
    if best < 0 or own_score + PROMPT_BONUS >= scores[best]:
        return InitialTarget(frame, own, float(own_score))
    return InitialTarget(frame, cands[best], float(scores[best]))
