"""Appearance vectors from an image-text model (CLIP or SigLIP): the target memory's embedder.

A candidate's crop is its box with a margin of ``margin`` times its size, the pixels outside its
mask faded halfway to grey: the model sees the product's outline and some context, but a
lookalike beside it does not dominate the vector. Crops of one frame are embedded in one batch
(``embed_many``); ``embed`` answers from that batch when the controller asks for a candidate it
already holds, so the per-candidate calls of the controller cost one forward pass per frame.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch

from highlighter.models.loading import Runtime
from highlighter.track.parts import Candidate, WorkFrame


class ImageTextEmbedder:
    """Implements ``highlighter.track.parts.Embedder`` with ``model.get_image_features``."""

    def __init__(self, model: Any, processor: Any, runtime: Runtime, *, margin: float = 0.1) -> None:
        self.model, self.processor, self.runtime, self.margin = model, processor, runtime, margin
        self._frame: int | None = None
        self._vectors: dict[tuple, np.ndarray] = {}

    def embed(self, frame: WorkFrame, candidate: Candidate) -> np.ndarray:
        cached = self._lookup(frame, candidate)
        if cached is not None:
            return cached
        return self.embed_many(frame, [candidate])[0]

    def embed_many(self, frame: WorkFrame, candidates: list[Candidate]) -> np.ndarray:
        """``(n, d)`` unit vectors for ``candidates`` of ``frame``, in one batch."""
        if not candidates:
            return np.zeros((0, 0), np.float32)
        vectors = self._forward([self._crop(frame, c) for c in candidates])
        if self._frame != frame.index:
            self._frame, self._vectors = frame.index, {}
        for c, v in zip(candidates, vectors):
            self._vectors[_key(c)] = v
        return vectors

    def _lookup(self, frame: WorkFrame, candidate: Candidate) -> np.ndarray | None:
        return self._vectors.get(_key(candidate)) if self._frame == frame.index else None

    @torch.inference_mode()
    def _forward(self, crops: list[np.ndarray]) -> np.ndarray:
        pixels = self._pixels(crops).to(dtype=next(self.model.parameters()).dtype)
        with self.runtime.amp():
            out = self.model.get_image_features(pixel_values=pixels)
        # transformers 5 returns the model output with the projection in pooler_output; 4.x a tensor.
        features = out if isinstance(out, torch.Tensor) else out.pooler_output
        features = torch.nn.functional.normalize(features.float(), dim=-1)
        return features.cpu().numpy()

    def _pixels(self, crops: list[np.ndarray]) -> torch.Tensor:
        """The crops as the model's input: squashed to its square input size (a centre crop, as the
        processor would make, could cut the product off), scaled and normalised as the processor's
        config says. Done here because the processor's per-image Python path costs more than a
        tiny model's forward pass."""
        side = int(self.model.config.vision_config.image_size)
        batch = np.stack([cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA) for c in crops])
        pixels = torch.from_numpy(batch).to(self.runtime.device).permute(0, 3, 1, 2).float()
        config = self.processor.image_processor
        mean = torch.tensor(config.image_mean, device=pixels.device).view(1, 3, 1, 1)
        std = torch.tensor(config.image_std, device=pixels.device).view(1, 3, 1, 1)
        return (pixels * float(config.rescale_factor) - mean) / std

    def _crop(self, frame: WorkFrame, c: Candidate) -> np.ndarray:
        x, y, w, h = c.box
        fw, fh = frame.size
        mx, my = self.margin * w, self.margin * h
        x0, y0 = int(max(0, x - mx)), int(max(0, y - my))
        x1, y1 = int(min(fw, x + w + mx + 1)), int(min(fh, y + h + my + 1))
        crop = frame.rgb[y0:y1, x0:x1].astype(np.float32)
        outside = ~c.mask[y0:y1, x0:x1]
        crop[outside] = 0.5 * crop[outside] + 0.5 * 128.0
        return crop.astype(np.uint8)


def _key(c: Candidate) -> tuple:
    return (c.box, c.area, c.source)
