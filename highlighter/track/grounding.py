"""Scores candidates against what the marketer said: colour words, shape words, clicks and boxes.

Weight-free: a colour word is an HSV box (``colour.COLOUR_WORDS``), a shape word a bounding-box fill
ratio (an ellipse fills pi/4 of its box, a rectangle all of it). A click on a frame scores the
candidate under it, a box the candidate that fills it. A model grounder (an open-vocabulary
detector) replaces this behind the same ``Grounder`` interface.

Words name a product, and a product is an object: of all the regions of the named colour, the one
meant is the subject, not the scenery. Scenery of the product's colour is a wall, a poster cut by
the frame, a stripe or a shelf edge; so a region scores less the less solid it is (its area over
its convex hull's: a stripe that runs into another region, a ragged patch), the more elongated
(its minimum-area rectangle's aspect: a shelf edge), and when the frame's edge cuts it (less, as a
close-up product can be cut too). ``colour_regions`` gives every region of the named colour as a
candidate, however many larger regions of other colours a busy frame holds, and where such a region
merges the product with scenery of a near shade, the product's segment of the frame's graph
segmentation (``graph_segments``).
"""

from __future__ import annotations

import math
import re

import cv2
import numpy as np

from highlighter.track.colour import COLOUR_WORDS, colour_word
from highlighter.track.parts import Candidate, WorkFrame, box_iou, component_candidates, fill_holes, is_background, mask_iou
from highlighter.track.prompt import Prompt

ROUND_WORDS = frozenset("round ball balls circle circular oval sphere disc disk ellipse orb globe".split())
BOXY_WORDS = frozenset("box boxes square rectangle rectangular block cube crate carton brick package".split())
_FILL = {"round": math.pi / 4, "boxy": 1.0}
# The least fill of any part of a shape cut by a frame edge: a rectangle cut straight is still a
# rectangle; an ellipse's thin cap fills 2/3 of its box (a parabolic segment).
_CUT_FILL = {"round": 2 / 3, "boxy": 1.0}
BACKGROUND_FACTOR = 0.2  # SPARROW's score factor for a mask that is mostly the frame
BORDER_FACTOR = 0.6  # a region the frame's edge cuts is less likely the product meant
GRAPH_SIGMA, GRAPH_K = 0.8, 500  # Felzenszwalb's smoothing and scale at working resolution (his defaults' range)
GRAPH_MIN = 0.001  # of the frame: a graph segment's least size (a 16 x 8 patch at 480 x 270)
GRAPH_SHARE = 0.5  # a graph segment is a region of the named colour when most of its pixels are
_OPEN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


def shape_word(text: str) -> str | None:
    """``"round"``, ``"boxy"`` or None for the first shape word of a description."""
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in ROUND_WORDS:
            return "round"
        if word in BOXY_WORDS:
            return "boxy"
    return None


class CueGrounder:
    """Grounds a ``Prompt`` with colour and shape words and the clicks and boxes on each frame.

    ``scale`` maps prompt pixels (the video's) to working pixels: ``(sx, sy)``.
    """

    def __init__(self, prompt: Prompt, scale: tuple[float, float]) -> None:
        self.colour = colour_word(prompt.text)
        self.shape = shape_word(prompt.text)
        sx, sy = scale
        self.points: dict[int, list[tuple[float, float, bool]]] = {}
        for p in prompt.points:
            self.points.setdefault(p.frame, []).append((p.x * sx, p.y * sy, p.positive))
        self.boxes: dict[int, list[tuple[float, float, float, float]]] = {}
        for b in prompt.boxes:
            self.boxes.setdefault(b.frame, []).append((b.x1 * sx, b.y1 * sy, (b.x2 - b.x1) * sx, (b.y2 - b.y1) * sy))

    def can_ground(self) -> bool:
        return self.colour is not None or self.shape is not None

    def prompted_frames(self) -> list[int]:
        """Frames with a box or a positive click, in order."""
        positive = {f for f, pts in self.points.items() if any(p[2] for p in pts)}
        return sorted(positive | set(self.boxes))

    def score(self, frame: WorkFrame, candidates: list[Candidate]) -> list[float]:
        text = [self.text_score(frame, c) for c in candidates]
        if frame.index not in self.points and frame.index not in self.boxes:
            return text
        visual = [self.visual_score(frame.index, c) for c in candidates]
        if not self.can_ground():
            return visual
        return [v * (0.5 + 0.5 * t) for v, t in zip(visual, text)]

    def colour_regions(self, frame: WorkFrame, *, min_fraction: float = 2e-4) -> list[Candidate]:
        """Every connected region of the named colour (holes filled) of at least ``min_fraction`` of
        the frame, and every segment of the frame's graph segmentation (``graph_segments``) that is
        mostly of that colour; none without a colour word.

        The colour's regions alone merge a product with scenery of a near shade that touches it (a
        red box against a dark red saucer, both "red"); the graph segmentation cuts where the
        colour changes sharply, so the product is a segment of its own."""
        if self.colour is None:
            return []
        w, h = frame.size
        min_area = max(12.0, min_fraction * w * h)
        named = COLOUR_WORDS[self.colour].mask(frame.hsv)
        raw = cv2.morphologyEx(named, cv2.MORPH_OPEN, _OPEN)
        raw = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, _CLOSE)
        regions = component_candidates(raw > 0, "colour", min_area=min_area)
        labels = graph_segments(frame)
        count = int(labels.max()) + 1
        sizes = np.bincount(labels.ravel(), minlength=count)
        of_colour = np.bincount(labels.ravel(), weights=(named > 0).ravel(), minlength=count)
        merged = []
        for label in np.flatnonzero((of_colour >= GRAPH_SHARE * sizes) & (sizes >= min_area)):
            cand = Candidate.from_mask(fill_holes(labels == label), source="graph")
            # Only a segment that a region of the colour merged with more: the rest are those regions.
            if cand is not None and not any(mask_iou(cand.mask, r.mask) >= 0.5 for r in regions if box_iou(cand.box, r.box) > 0):
                merged.append(cand)
        return regions + merged

    def text_score(self, frame: WorkFrame, cand: Candidate) -> float:
        """Colour-word match (share of the region's pixels of that colour) times shape-word fit,
        times how much the region looks like an object rather than scenery (``object_factor``), times
        ``BACKGROUND_FACTOR`` for a region that looks like background (``parts.is_background``)."""
        score = object_factor(cand)
        if self.colour is not None:
            key = ("colour-word", self.colour)  # one mask per frame, for every candidate and product
            if key not in frame.cache:
                frame.cache[key] = COLOUR_WORDS[self.colour].mask(frame.hsv)
            inside = frame.cache[key][cand.mask]
            score *= float(np.count_nonzero(inside)) / max(1, inside.size)
        if self.shape is not None:
            fill = cand.area / max(1.0, cand.box[2] * cand.box[3])
            if cand.touches_border:
                # Cut by the frame edge the full shape is unknown: only a fill below any cut of it counts.
                miss = max(0.0, _CUT_FILL[self.shape] - fill)
            else:
                miss = abs(fill - _FILL[self.shape])
            score *= float(np.clip(1.0 - miss / 0.2, 0.1, 1.0))
        if is_background(cand.box, cand.area, frame.size):
            score *= BACKGROUND_FACTOR
        return score

    def visual_score(self, index: int, cand: Candidate) -> float:
        """1 for the candidate under a positive click (0 under a negative one); box IoU for a box."""
        best = 0.0
        h, w = cand.mask.shape
        for x, y, positive in self.points.get(index, []):
            inside = bool(cand.mask[min(h - 1, int(y)), min(w - 1, int(x))])
            if inside and not positive:
                return 0.0
            if inside:
                best = 1.0
        for box in self.boxes.get(index, []):
            best = max(best, box_iou(box, cand.box))
        return best


def graph_segments(frame: WorkFrame) -> np.ndarray:
    """The frame's graph-based segmentation (Felzenszwalb and Huttenlocher 2004, OpenCV's
    ``ximgproc``): an ``int32`` label per pixel, computed once per frame. A segment grows while the
    colour differences inside it stay small against those at its boundary, so it ends at an
    object's edge even where the object's hue runs on. Segments under ``GRAPH_MIN`` of the frame
    join a neighbour: the thin bands of in-between colour along a soft edge, which would otherwise
    leave an object's rim out of its segment."""
    if "graph-segments" not in frame.cache:
        w, h = frame.size
        segmenter = cv2.ximgproc.segmentation.createGraphSegmentation(GRAPH_SIGMA, GRAPH_K, int(GRAPH_MIN * w * h))
        frame.cache["graph-segments"] = segmenter.processImage(np.ascontiguousarray(frame.rgb[..., ::-1]))
    return frame.cache["graph-segments"]


def object_factor(cand: Candidate) -> float:
    """0.1..1: how much a region looks like an object rather than scenery (see the module docstring):
    solidity under 0.8 and a minimum-area rectangle thinner than 1:4 cost, and so does the frame's edge."""
    contours, _ = cv2.findContours(cand.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0.0
    points = np.concatenate(contours)
    hull = cv2.contourArea(cv2.convexHull(points))
    solidity = cand.area / max(hull, 1.0)
    (_, _), (rw, rh), _ = cv2.minAreaRect(points)
    aspect = min(rw, rh) / max(rw, rh, 1.0)
    factor = float(np.clip((solidity - 0.4) / 0.4, 0.1, 1.0)) * float(np.clip(aspect / 0.25, 0.2, 1.0))
    return factor * (BORDER_FACTOR if cand.touches_border else 1.0)
