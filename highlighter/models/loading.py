"""Loads the models from the models folder, once per worker process, onto the chosen device.

Workers load only from ``HIGHLIGHTER_MODELS_DIR`` (``local_files_only``: no hub call at job time).
Each loader is cached per process by (folder, device, precision, compile): a GPU worker builds the
SAM 2 model once and every video reuses it; per-video state lives in the propagator, not here.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from highlighter.errors import TrackError
from highlighter.models.settings import ModelSettings
from highlighter.models.store import SAM2_CONFIG, SAM2_WEIGHTS, is_complete, model_folder

MISSING_MESSAGE = (
    "The {role} model is not installed in {folder}. "
    "Run 'python -m highlighter models fetch' on a machine with internet, or choose the weight-free tracker."
)

# The inference settings sam2's build_sam2_video_predictor applies on top of the model configs.
_SAM2_INFERENCE = {
    "sam_mask_decoder_extra_args": {
        # fall back to multi-mask output when the single mask is not stable
        "dynamic_multimask_via_stability": True,
        "dynamic_multimask_stability_delta": 0.05,
        "dynamic_multimask_stability_thresh": 0.98,
    },
    # masks from clicks are binarised before the memory encoder, as the user saw them
    "binarize_mask_from_pts_for_mem_enc": True,
}


@dataclass(frozen=True)
class Runtime:
    """Where models run and in which precision.

    ``autocast``: the dtype of mixed-precision regions (bfloat16 on a GPU that has it), or None for
    float32. SAM 2 and the transformers models are run under it; masks come back as float32.
    """

    device: torch.device
    autocast: torch.dtype | None = None
    compile: bool = False

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> Runtime:
        name = settings.device
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise TrackError("HIGHLIGHTER_DEVICE asks for a GPU but this machine has none. Set it to 'cpu' or 'auto'.")
        bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        # float16 overflows in SAM 2's attention; bfloat16 keeps float32's range. Half only where bf16 exists.
        half = bf16 if settings.half is None else (settings.half and bf16)
        return cls(device=device, autocast=torch.bfloat16 if half else None, compile=settings.compile)

    def amp(self) -> contextlib.AbstractContextManager:
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)

    @property
    def key(self) -> tuple[str, str, bool]:
        return (str(self.device), str(self.autocast), self.compile)


def _require(settings: ModelSettings, role: str) -> Path:
    folder = model_folder(settings, role)
    if not is_complete(folder):
        raise TrackError(MISSING_MESSAGE.format(role=role, folder=folder))
    return folder


def load_sam2(settings: ModelSettings, runtime: Runtime):
    """The SAM 2 model (``SAM2Base``) of the settings' SAM 2 folder, built once per process."""
    return _load_sam2(str(_require(settings, "sam2")), runtime)


@functools.lru_cache(maxsize=2)
def _load_sam2(folder: str, runtime: Runtime):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(Path(folder) / SAM2_CONFIG)
    # The streaming propagator drives SAM2Base's per-frame methods itself: no video predictor, which
    # would load every frame of the video up front.
    cfg.model._target_ = "sam2.modeling.sam2_base.SAM2Base"
    cfg.model.compile_image_encoder = False  # compiled below, without CUDA graphs (see Runtime.compile)
    cfg = OmegaConf.merge(cfg, {"model": _SAM2_INFERENCE})
    OmegaConf.resolve(cfg)
    model = instantiate(cfg.model, _recursive_=True)
    weights = Path(folder) / SAM2_WEIGHTS
    state = torch.load(weights, map_location="cpu", weights_only=True)
    missing, unexpected = model.load_state_dict(state["model"] if "model" in state else state)
    if missing or unexpected:
        raise TrackError(f"The SAM 2 weights in {folder} do not match its config.yaml. Fetch the model again.")
    model = model.to(runtime.device).eval()
    if runtime.compile:
        # Fixed input size, so no dynamic shapes. The default mode, not max-autotune: no CUDA graphs
        # (their output buffers are reused by the next call, while the propagator still holds the
        # previous frame's features) and a warm-up of about a minute instead of several.
        model.image_encoder.forward = torch.compile(model.image_encoder.forward, dynamic=False)
    return model


def load_detector(settings: ModelSettings, runtime: Runtime) -> tuple[Any, Any]:
    """``(model, processor)`` of the open-vocabulary detector (OWLv2), built once per process."""
    return _load_transformers(str(_require(settings, "detector")), runtime, "detector")


def load_embedder(settings: ModelSettings, runtime: Runtime) -> tuple[Any, Any]:
    """``(model, processor)`` of the image-text model (CLIP or SigLIP), built once per process."""
    return _load_transformers(str(_require(settings, "embedder")), runtime, "embedder")


@functools.lru_cache(maxsize=4)
def _load_transformers(folder: str, runtime: Runtime, role: str) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoModelForZeroShotObjectDetection, AutoProcessor

    model_class = AutoModelForZeroShotObjectDetection if role == "detector" else AutoModel
    dtype = runtime.autocast or torch.float32
    model = model_class.from_pretrained(folder, local_files_only=True, dtype=dtype).to(runtime.device).eval()
    processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    return model, processor


def clear_caches() -> None:
    """Forget the loaded models (tests; a worker keeps them for its lifetime)."""
    _load_sam2.cache_clear()
    _load_transformers.cache_clear()
