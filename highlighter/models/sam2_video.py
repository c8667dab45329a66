"""SAM 2 as a streaming propagator: frames fed one at a time, memory bounded whatever the length.

The stock ``SAM2VideoPredictor.init_state`` loads every frame of the video as a float tensor up
front and keeps every frame's outputs (FACTS.md: 18.5 GiB tried for 1,581 frames). Here the
propagator drives ``SAM2Base``'s per-frame methods itself:

- a frame is encoded when it arrives (``Sam2Frames.encode``; the last frame's features are cached,
  so the proposer and the propagator share one image-encoder pass per frame);
- the memory bank holds the conditioning frames (the frames where the controller gave a mask:
  initialisation and re-detections, at most ``max_cond_frames``) and the last confident frames
  only (SAMURAI: predicted IoU > 0.5 and object present), at most ``num_maskmem - 1`` with their
  spatial memories plus object pointers of a few more; everything older is dropped;
- all of SAM 2's candidate masks come back with their predicted IoU and object score, and the
  controller's choice (``commit``) is what enters the memory, not SAM 2's own argmax.

The memory bank is keyed by a "memory clock" that advances only when an entry is added, so SAM 2
sees its memories as consecutive past frames. This also makes the propagator direction-free: a
backward pass over the video looks like any other sequence of frames.

Coordinates: masks are bool ``(h, w)`` arrays of the working frame; SAM 2 itself works on a square
``image_size`` resize of it (as the stock predictor does).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from highlighter.models.loading import Runtime
from highlighter.track.parts import Candidate, WorkFrame

_MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics, as sam2's frame loader uses
_STD = (0.229, 0.224, 0.225)
_NO_LIMIT = 1 << 30  # "number of frames" for SAM 2: the stream's length is not known in advance


@dataclass
class FrameFeatures:
    """One frame's image-encoder output, flattened as SAM 2's heads take it."""

    key: tuple
    vision_feats: list[torch.Tensor]  # per level, (HW, 1, C)
    vision_pos: list[torch.Tensor]
    feat_sizes: list[tuple[int, int]]
    high_res: list[torch.Tensor] | None  # the two finer levels as (1, C, H, W), for the mask decoder

    def image_embedding(self, model, *, with_no_memory: bool) -> torch.Tensor:
        """The coarsest level as ``(1, C, H, W)``; ``with_no_memory`` adds SAM 2's no-memory token
        (how SAM 2 segments a single image)."""
        feat = self.vision_feats[-1]
        if with_no_memory:
            feat = feat + model.no_mem_embed
        h, w = self.feat_sizes[-1]
        return feat.permute(1, 2, 0).reshape(1, model.hidden_dim, h, w)


class Sam2Frames:
    """The process's SAM 2 model with its image preprocessing and a one-frame feature cache.

    One per video (``reset`` between videos drops the cache); the model itself is shared.
    """

    def __init__(self, model, runtime: Runtime) -> None:
        self.model, self.runtime = model, runtime
        self.size = int(model.image_size)
        self._mean = torch.tensor(_MEAN, device=runtime.device).view(1, 3, 1, 1)
        self._std = torch.tensor(_STD, device=runtime.device).view(1, 3, 1, 1)
        self._cached: FrameFeatures | None = None

    def reset(self) -> None:
        self._cached = None

    @staticmethod
    def frame_key(frame: WorkFrame) -> tuple:
        # The index alone is not enough: the same index is decoded again for the backward pass, and
        # a test may feed different pictures under one index. A digest of a pixel subsample is cheap.
        digest = hashlib.blake2b(np.ascontiguousarray(frame.rgb[::7, ::7]).tobytes(), digest_size=12).digest()
        return (frame.index, frame.rgb.shape, digest)

    @torch.inference_mode()
    def encode(self, frame: WorkFrame) -> FrameFeatures:
        key = self.frame_key(frame)
        if self._cached is not None and self._cached.key == key:
            return self._cached
        model = self.model
        rgb = cv2.resize(frame.rgb, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        image = torch.from_numpy(rgb).to(self.runtime.device, non_blocking=True)
        image = (image.permute(2, 0, 1)[None].float() / 255.0 - self._mean) / self._std
        with self.runtime.amp():
            backbone = model.forward_image(image)
            _, feats, pos, sizes = model._prepare_backbone_features(backbone)
        high_res = None
        if len(feats) > 1:
            high_res = [x.permute(1, 2, 0).reshape(1, x.size(2), *s) for x, s in zip(feats[:-1], sizes[:-1])]
        self._cached = FrameFeatures(key, feats, pos, sizes, high_res)
        return self._cached

    def to_working(self, logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """``(N, 1, h', w')`` mask logits to ``(N, h, w)`` bool masks at ``size`` = ``(w, h)``."""
        w, h = size
        up = F.interpolate(logits.float(), size=(h, w), mode="bilinear", align_corners=False)
        return (up[:, 0] > 0).cpu().numpy()

    def to_model_mask(self, mask: np.ndarray) -> torch.Tensor:
        """A working-resolution bool mask as SAM 2's ``(1, 1, S, S)`` float mask input."""
        t = torch.from_numpy(mask.astype(np.float32)).to(self.runtime.device)[None, None]
        t = F.interpolate(t, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return (t >= 0.5).float()


@dataclass
class _Pending:
    """What ``step`` computed for a frame, kept until ``commit`` says which candidate was chosen."""

    features: FrameFeatures
    low_res: torch.Tensor  # (1, M, h', w') mask logits
    ious: torch.Tensor  # (1, M)
    tokens: torch.Tensor  # (1, M or 1, C) SAM output tokens
    object_logit: torch.Tensor  # (1, 1)
    candidates: list[tuple[int, Candidate]]  # (index into M, candidate) for non-empty masks


class Sam2Propagator:
    """Follows one target with SAM 2's memory; implements ``highlighter.track.parts.Propagator``.

    ``min_memory_quality`` / ``min_memory_object_logit``: a committed frame joins the memory only
    above both (SAMURAI's rule: predicted IoU > 0.5 and object score logit > 0). ``max_cond_frames``:
    conditioning frames kept (the first is the initialisation; later ones are re-detections).
    """

    def __init__(
        self,
        frames: Sam2Frames,
        *,
        min_memory_quality: float = 0.5,
        min_memory_object_logit: float = 0.0,
        max_cond_frames: int = 4,
    ) -> None:
        self.frames, self.model = frames, frames.model
        self.min_memory_quality = min_memory_quality
        self.min_memory_object_logit = min_memory_object_logit
        self.max_cond_frames = max_cond_frames
        self._spatial = max(0, self.model.num_maskmem - 1)  # recent frames with spatial memory
        self._pointers = max(self._spatial, self.model.max_obj_ptrs_in_encoder - 1)  # ... with object pointers
        self._cond: OrderedDict[int, dict] = OrderedDict()
        self._recent: OrderedDict[int, dict] = OrderedDict()
        self._clock = 0
        self._pending: _Pending | None = None

    # -- Propagator protocol ----------------------------------------------------------------------

    @torch.inference_mode()
    def reset(self, frame: WorkFrame, mask: np.ndarray) -> None:
        """A conditioning frame: SAM 2 takes ``mask`` as given and starts its memory from it.

        Recent memories are dropped (they belong to the path before a loss, a drift or a cut); the
        conditioning frames, the target as confirmed before, are kept up to ``max_cond_frames``.
        """
        model = self.model
        feats = self.frames.encode(frame)
        self._clock += 1
        with self.frames.runtime.amp():
            out = model.track_step(
                frame_idx=self._clock,
                is_init_cond_frame=not self._cond,
                current_vision_feats=feats.vision_feats,
                current_vision_pos_embeds=feats.vision_pos,
                feat_sizes=feats.feat_sizes,
                point_inputs=None,
                mask_inputs=self.frames.to_model_mask(mask),
                output_dict=self._output_dict(),
                num_frames=_NO_LIMIT,
                run_mem_encoder=True,
            )
        self._cond[self._clock] = _compact(out)
        while len(self._cond) > self.max_cond_frames:
            self._cond.popitem(last=False)
        self._recent.clear()
        self._pending = None

    @torch.inference_mode()
    def step(self, frame: WorkFrame) -> list[Candidate]:
        """Every mask SAM 2's decoder proposes for ``frame`` (usually 3), each with its predicted IoU
        (``quality``) and the frame's object score (``object_score``, sigmoid of SAM 2's logit)."""
        if not self._cond:
            return []
        model = self.model
        feats = self.frames.encode(frame)
        with self.frames.runtime.amp():
            pix_feat = model._prepare_memory_conditioned_features(
                frame_idx=self._clock + 1,
                is_init_cond_frame=False,
                current_vision_feats=feats.vision_feats[-1:],
                current_vision_pos_embeds=feats.vision_pos[-1:],
                feat_sizes=feats.feat_sizes[-1:],
                output_dict=self._output_dict(),
                num_frames=_NO_LIMIT,
            )
            sparse, dense = model.sam_prompt_encoder(
                points=(
                    torch.zeros(1, 1, 2, device=pix_feat.device),
                    -torch.ones(1, 1, dtype=torch.int32, device=pix_feat.device),
                ),
                boxes=None,
                masks=None,
            )
            # The decoder directly, not SAM2Base._forward_sam_heads: that keeps only the argmax mask
            # and blanks every mask when its object score is below 0; the controller wants them all.
            low_res, ious, tokens, object_logit = model.sam_mask_decoder(
                image_embeddings=pix_feat,
                image_pe=model.sam_prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=model._use_multimask(False, None),
                repeat_image=False,
                high_res_features=feats.high_res,
            )
        low_res, ious, object_logit = low_res.float(), ious.float(), object_logit.float()
        masks = self.frames.to_working(low_res.transpose(0, 1), frame.size)
        object_score = float(torch.sigmoid(object_logit).item())
        candidates = []
        for k, mask in enumerate(masks):
            cand = Candidate.from_mask(
                mask, quality=float(ious[0, k].item()), object_score=object_score, source=f"sam2-{k}"
            )
            if cand is not None:
                candidates.append((k, cand))
        self._pending = _Pending(feats, low_res, ious, tokens, object_logit, candidates)
        return [c for _, c in candidates]

    @torch.inference_mode()
    def commit(self, frame: WorkFrame, mask: np.ndarray | None) -> None:
        """The controller's choice for the frame last stepped: it enters the memory if confident."""
        pending, self._pending = self._pending, None
        if mask is None or pending is None or not pending.candidates:
            return
        if pending.features.key != self.frames.frame_key(frame):
            return  # a commit for a frame this propagator did not step (after a reset on it)
        k = _chosen(pending.candidates, mask)
        quality = float(pending.ious[0, k].item())
        logit = float(pending.object_logit.item())
        if quality <= self.min_memory_quality or logit <= self.min_memory_object_logit:
            return
        model = self.model
        feats = pending.features
        with self.frames.runtime.amp():
            high_res = F.interpolate(
                pending.low_res[:, k : k + 1], size=(model.image_size, model.image_size), mode="bilinear", align_corners=False
            )
            token = pending.tokens[:, k] if pending.tokens.size(1) > 1 else pending.tokens[:, 0]
            obj_ptr = model.obj_ptr_proj(token)
            if model.pred_obj_scores:
                present = (pending.object_logit > 0).float()
                if model.fixed_no_obj_ptr:
                    obj_ptr = present * obj_ptr
                obj_ptr = obj_ptr + (1 - present) * model.no_obj_ptr
            memory, memory_pos = model._encode_new_memory(
                current_vision_feats=feats.vision_feats,
                feat_sizes=feats.feat_sizes,
                pred_masks_high_res=high_res,
                object_score_logits=pending.object_logit,
                is_mask_from_pts=False,
            )
        self._clock += 1
        self._recent[self._clock] = {"maskmem_features": memory, "maskmem_pos_enc": memory_pos, "obj_ptr": obj_ptr}
        self._trim()

    # -- memory bank ------------------------------------------------------------------------------

    @property
    def memory_frames(self) -> int:
        """Frames in the memory bank now (conditioning plus recent): bounded whatever the length."""
        return len(self._cond) + len(self._recent)

    def _output_dict(self) -> dict:
        return {"cond_frame_outputs": self._cond, "non_cond_frame_outputs": self._recent}

    def _trim(self) -> None:
        while len(self._recent) > self._pointers:
            self._recent.popitem(last=False)
        # Past the spatial window only the object pointer is read: drop the feature maps.
        for t in list(self._recent)[: max(0, len(self._recent) - self._spatial)]:
            entry = self._recent[t]
            if entry.get("maskmem_features") is not None:
                self._recent[t] = {"maskmem_features": None, "maskmem_pos_enc": None, "obj_ptr": entry["obj_ptr"]}


def _compact(out: dict) -> dict:
    """Only what SAM 2's memory attention reads back from a frame's output."""
    return {k: out[k] for k in ("maskmem_features", "maskmem_pos_enc", "obj_ptr")}


def _chosen(candidates: list[tuple[int, Candidate]], mask: np.ndarray) -> int:
    """Which decoder output the committed mask is: the same array, else the one it overlaps most."""
    for k, cand in candidates:
        if cand.mask is mask:
            return k
    best, best_iou = candidates[0][0], -1.0
    for k, cand in candidates:
        inter = np.count_nonzero(cand.mask & mask)
        iou = inter / max(1, np.count_nonzero(cand.mask | mask))
        if iou > best_iou:
            best, best_iou = k, iou
    return best
