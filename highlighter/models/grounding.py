"""Scores candidates against the product description with an open-vocabulary detector (OWLv2).

The detector reads the whole description ("the red leather handbag"), not only colour and shape
words. It runs once per frame (cached: the controller scores several candidates of one frame) and
gives boxes with a probability each; a candidate's text score is SPARROW's box-mask agreement with
the detection that fits it best, times that detection's confidence:

    text_score(c) = max_d  min(1, p_d / confident) * agreement(box_d, mask_c)

``confident`` maps the detector's probability scale onto 0..1: OWLv2's probabilities for a clear
match are typically 0.2 to 0.6, so 0.3 counts as sure. Clicks and boxes are scored exactly as the
weight-free ``CueGrounder`` does (it is the base class), so the controller and the initialisation
need no change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from highlighter.models.loading import Runtime
from highlighter.track.grounding import CueGrounder
from highlighter.track.parts import Candidate, WorkFrame, box_mask_agreement
from highlighter.track.prompt import Prompt


class OpenVocabularyDetector:
    """OWLv2 (``Owlv2ForObjectDetection`` + its processor) for one text query.

    ``detect(rgb)`` returns ``(boxes, probabilities)``: ``(N, 4)`` ``[x, y, w, h]`` pixel boxes of
    the image and ``(N,)`` probabilities that each box shows the query. The query is tokenised once.
    """

    def __init__(self, model: Any, processor: Any, runtime: Runtime, query: str, *, top_k: int = 20) -> None:
        self.model, self.processor, self.runtime, self.top_k = model, processor, runtime, top_k
        # OWLv2 reads at most 16 tokens (its position table): a long description is cut, not refused.
        limit = model.config.text_config.max_position_embeddings
        text = processor(text=[[query]], return_tensors="pt", truncation=True, max_length=limit)
        self._text = {k: v.to(runtime.device) for k, v in text.items() if k in ("input_ids", "attention_mask")}

    @torch.inference_mode()
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        # A copy: decoded frames are read-only views of ffmpeg's buffer, which torch warns about.
        pixels = self.processor(images=[np.array(rgb)], return_tensors="pt")["pixel_values"]
        pixels = pixels.to(self.runtime.device, dtype=next(self.model.parameters()).dtype)
        with self.runtime.amp():
            out = self.model(pixel_values=pixels, **self._text)
        probs = torch.sigmoid(out.logits[0, :, 0].float())
        k = min(self.top_k, probs.numel())
        probs, order = probs.topk(k)
        # OWLv2 pads the image to a square at the bottom and right: boxes are fractions of that square.
        side = float(max(w, h))
        cx, cy, bw, bh = (out.pred_boxes[0, order].float() * side).unbind(-1)
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, bw, bh], -1)
        return boxes.cpu().numpy(), probs.cpu().numpy()


class DetectorGrounder(CueGrounder):
    """``CueGrounder`` whose text score comes from an open-vocabulary detector.

    ``confident``: the detector probability that counts as a sure match (see the module docstring).
    """

    def __init__(self, prompt: Prompt, scale: tuple[float, float], detector: OpenVocabularyDetector | None, *, confident: float = 0.3) -> None:
        super().__init__(prompt, scale)
        self.text = prompt.text.strip()
        self.detector = detector if self.text else None
        self.confident = confident
        self._cache: tuple[tuple, tuple[np.ndarray, np.ndarray]] | None = None

    def can_ground(self) -> bool:
        return self.detector is not None

    def text_score(self, frame: WorkFrame, cand: Candidate) -> float:
        if self.detector is None:
            return 1.0
        boxes, probs = self.detections(frame)
        best = 0.0
        for box, p in zip(boxes, probs):
            agreement = box_mask_agreement(tuple(box), cand.box, cand.area)
            best = max(best, min(1.0, float(p) / self.confident) * agreement)
        return float(best)

    def detections(self, frame: WorkFrame) -> tuple[np.ndarray, np.ndarray]:
        """The detector's boxes and probabilities on ``frame``, computed once per frame."""
        key = (frame.index, id(frame.rgb))
        if self._cache is None or self._cache[0] != key:
            assert self.detector is not None
            self._cache = (key, self.detector.detect(frame.rgb))
        return self._cache[1]
