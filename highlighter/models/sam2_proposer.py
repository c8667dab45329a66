"""Class-agnostic candidate regions from SAM 2: a grid of point prompts, plus the marketer's clicks.

SAM 2's automatic mask generation, reduced to what initialisation and re-detection need: one
image-encoder pass (shared with the propagator through ``Sam2Frames``' cache), the prompt encoder
and mask decoder on ``points_per_side`` x ``points_per_side`` points in batches, three masks a
point, filtered by predicted IoU and stability, then box non-maximum suppression. On a frame with a
click or a box, SAM 2's masks for that prompt are added (``source="prompt"``), so a point or box
prompt is segmented by SAM 2 itself rather than by colour; ``box_source`` (the detector's confident
boxes for a description) adds SAM 2's masks of those boxes on every frame it proposes for
(SPARROW's dual prompt: detector boxes re-segmented by SAM 2).

Prompts are given in working pixels, ``{frame: [(x, y, positive), ...]}`` and
``{frame: [(x, y, w, h), ...]}`` (``CueGrounder.points`` / ``.boxes``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from highlighter.models.sam2_video import Sam2Frames
from highlighter.track.parts import Candidate, WorkFrame


@dataclass(frozen=True)
class ProposerSettings:
    """``min_quality``: SAM 2's predicted IoU; ``min_stability``: IoU of the mask thresholded at
    logits +1 and -1 (a mask that barely changes is a real boundary); areas as frame fractions."""

    points_per_side: int = 16
    points_per_batch: int = 64
    min_quality: float = 0.7
    min_stability: float = 0.85
    nms_iou: float = 0.7
    min_fraction: float = 2e-4
    max_fraction: float = 0.5
    limit: int = 12


class Sam2Proposer:
    """Implements ``highlighter.track.parts.Proposer``."""

    def __init__(
        self,
        frames: Sam2Frames,
        settings: ProposerSettings = ProposerSettings(),
        *,
        points: dict[int, list[tuple[float, float, bool]]] | None = None,
        boxes: dict[int, list[tuple[float, float, float, float]]] | None = None,
        box_source: Callable[[WorkFrame], list[tuple[float, float, float, float]]] | None = None,
    ) -> None:
        self.frames, self.model, self.settings = frames, frames.model, settings
        self.points, self.boxes, self.box_source = points or {}, boxes or {}, box_source
        n = settings.points_per_side
        grid = (np.arange(n) + 0.5) / n
        xs, ys = np.meshgrid(grid, grid)
        self._grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)  # fractions of the frame

    @torch.inference_mode()
    def propose(self, frame: WorkFrame) -> list[Candidate]:
        s = self.settings
        device = self.frames.runtime.device
        size = self.frames.size
        w, h = frame.size
        feats = self.frames.encode(frame)
        embedding = feats.image_embedding(self.model, with_no_memory=True)

        logits, scores = [], []
        grid = torch.from_numpy(self._grid * size).to(device)
        for start in range(0, len(grid), s.points_per_batch):
            coords = grid[start : start + s.points_per_batch, None, :]
            labels = torch.ones(coords.shape[:2], dtype=torch.int32, device=device)
            masks, ious = self._decode(embedding, feats.high_res, coords, labels, multimask=True)
            logits.append(masks.flatten(0, 1))
            scores.append(ious.flatten())
        low_res, quality = torch.cat(logits)[:, None], torch.cat(scores)
        stability = _stability(low_res[:, 0])
        keep = (quality >= s.min_quality) & (stability >= s.min_stability)
        low_res, quality = low_res[keep], quality[keep]

        found: list[Candidate] = []
        if len(low_res):
            # Boxes from the low-resolution masks are enough to suppress duplicates.
            order = _nms(_boxes(low_res[:, 0] > 0).float(), quality, s.nms_iou, keep=3 * s.limit)
            masks = self.frames.to_working(low_res[order], (w, h))
            min_area, max_area = s.min_fraction * w * h, s.max_fraction * w * h
            for mask, q in zip(masks, quality[order].tolist()):
                cand = Candidate.from_mask(mask, quality=float(q), source="sam2-grid")
                if cand is not None and min_area <= cand.area <= max_area:
                    found.append(cand)
        return self._prompted(frame, embedding, feats.high_res) + found[: s.limit]

    def _prompted(self, frame: WorkFrame, embedding: torch.Tensor, high_res) -> list[Candidate]:
        """SAM 2's three masks for the clicks (all of one frame's clicks together) and for each box."""
        device = self.frames.runtime.device
        w, h = frame.size
        sx, sy = self.frames.size / w, self.frames.size / h
        prompts = []
        clicks = self.points.get(frame.index, [])
        if clicks:
            coords = torch.tensor([[[x * sx, y * sy] for x, y, _ in clicks]], dtype=torch.float32, device=device)
            labels = torch.tensor([[1 if positive else 0 for _, _, positive in clicks]], dtype=torch.int32, device=device)
            prompts.append((coords, labels))
        boxes = list(self.boxes.get(frame.index, []))
        if self.box_source is not None:
            boxes += self.box_source(frame)
        for x, y, bw, bh in boxes:
            # SAM's box prompt: the two corners as points labelled 2 and 3.
            coords = torch.tensor([[[x * sx, y * sy], [(x + bw) * sx, (y + bh) * sy]]], dtype=torch.float32, device=device)
            prompts.append((coords, torch.tensor([[2, 3]], dtype=torch.int32, device=device)))
        out = []
        for coords, labels in prompts:
            masks, ious = self._decode(embedding, high_res, coords, labels, multimask=True)
            for mask, q in zip(self.frames.to_working(masks[0][:, None], (w, h)), ious[0].tolist()):
                cand = Candidate.from_mask(mask, quality=float(q), source="prompt")
                if cand is not None:
                    out.append(cand)
        # Best first: the initialisation takes the first of equally good matches under a click.
        return sorted(out, key=lambda c: -c.quality)

    def _decode(self, embedding, high_res, coords, labels, *, multimask: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, M, h', w')`` mask logits and ``(B, M)`` predicted IoUs for B point prompts."""
        model = self.model
        with self.frames.runtime.amp():
            sparse, dense = model.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=None)
            masks, ious, _, _ = model.sam_mask_decoder(
                image_embeddings=embedding,
                image_pe=model.sam_prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=multimask,
                repeat_image=True,
                high_res_features=high_res,
            )
        return masks.float(), ious.float()


def _stability(logits: torch.Tensor, offset: float = 1.0) -> torch.Tensor:
    """SAM's stability score: IoU of the masks at logit > +offset and > -offset."""
    inner = (logits > offset).flatten(1).sum(1)
    outer = (logits > -offset).flatten(1).sum(1)
    return torch.where(outer > 0, inner.float() / outer.clamp(min=1).float(), torch.zeros_like(outer, dtype=torch.float32))


def _boxes(masks: torch.Tensor) -> torch.Tensor:
    """``[x1, y1, x2, y2]`` boxes of ``(N, H, W)`` bool masks (zeros for empty ones)."""
    n, h, w = masks.shape
    rows, cols = masks.any(2), masks.any(1)
    ar_h = torch.arange(h, device=masks.device)
    ar_w = torch.arange(w, device=masks.device)
    y1 = torch.where(rows, ar_h, h).min(1).values
    y2 = torch.where(rows, ar_h, -1).max(1).values
    x1 = torch.where(cols, ar_w, w).min(1).values
    x2 = torch.where(cols, ar_w, -1).max(1).values
    empty = ~rows.any(1)
    box = torch.stack([x1, y1, x2 + 1, y2 + 1], 1)
    box[empty] = 0
    return box


def _nms(boxes: torch.Tensor, scores: torch.Tensor, iou: float, *, keep: int) -> torch.Tensor:
    """Indices of at most ``keep`` boxes, best score first, none overlapping a kept one by more than
    ``iou`` (greedy non-maximum suppression; a few hundred boxes at most)."""
    order = torch.argsort(scores, descending=True)
    boxes = boxes[order]
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    overlap = inter / (area[:, None] + area[None, :] - inter).clamp(min=1e-6)
    kept: list[int] = []
    suppressed = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)
    for i in range(len(boxes)):
        if suppressed[i]:
            continue
        kept.append(i)
        if len(kept) == keep:
            break
        suppressed |= overlap[i] > iou
    return order[torch.tensor(kept, dtype=torch.long, device=boxes.device)]
