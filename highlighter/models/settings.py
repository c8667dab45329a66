"""Where model weights live and how the GPU worker runs them, read from the environment.

The engine knows nothing of Django: the worker's settings (``webapp/settings.py``, "# Models") and
the CLI both end up here through the same environment variables.

- ``HIGHLIGHTER_MODELS_DIR``: the folder ``models fetch`` writes and workers load from (never a hub).
- ``HIGHLIGHTER_DEVICE``: ``auto`` (the first GPU when there is one, else the CPU), ``cpu``, ``cuda``, ``cuda:1``.
- ``HIGHLIGHTER_HALF``: ``auto`` (bfloat16 on a GPU that has it), ``1`` or ``0``.
- ``HIGHLIGHTER_COMPILE``: ``1`` to ``torch.compile`` the SAM 2 image encoder (minutes of warm-up
  per worker process, then faster frames; off by default).
- ``HIGHLIGHTER_PROPOSER_POINTS``: SAM 2 proposals come from an N x N grid of point prompts
  (default: one point per 64 pixels of SAM 2's input, so 16 x 16 = 256 prompts at 1024 px).
- ``HIGHLIGHTER_SAM2_MODEL``, ``HIGHLIGHTER_DETECTOR_MODEL``, ``HIGHLIGHTER_EMBEDDER_MODEL``: which
  folder under the models folder each part loads (names from ``catalog.CATALOG``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "var" / "models"
DEFAULT_SAM2 = "sam2.1-hiera-base-plus"
DEFAULT_DETECTOR = "owlv2-base"
DEFAULT_EMBEDDER = "clip-vit-b32"


def _flag(value: str, name: str) -> bool | None:
    """``True``/``False`` for 1/0, yes/no, true/false, on/off; ``None`` for ``auto``."""
    v = value.strip().lower()
    if v == "auto":
        return None
    if v in {"1", "yes", "true", "on"}:
        return True
    if v in {"0", "no", "false", "off", ""}:
        return False
    raise ValueError(f"{name} must be auto, 1 or 0, not {value!r}.")


@dataclass(frozen=True)
class ModelSettings:
    """What the model backends load and where they run.

    ``half``: None means "where it is safe" (bfloat16 autocast on a CUDA device that supports it).
    """

    models_dir: Path = DEFAULT_MODELS_DIR
    device: str = "auto"
    half: bool | None = None
    compile: bool = False
    proposer_points: int | None = None  # None: one grid point per 64 px of SAM 2's input side
    sam2: str = DEFAULT_SAM2
    detector: str = DEFAULT_DETECTOR
    embedder: str = DEFAULT_EMBEDDER

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ModelSettings:
        env = os.environ if environ is None else environ
        return cls(
            models_dir=Path(env.get("HIGHLIGHTER_MODELS_DIR") or DEFAULT_MODELS_DIR),
            device=env.get("HIGHLIGHTER_DEVICE", "auto") or "auto",
            half=_flag(env.get("HIGHLIGHTER_HALF", "auto"), "HIGHLIGHTER_HALF"),
            compile=bool(_flag(env.get("HIGHLIGHTER_COMPILE", "0"), "HIGHLIGHTER_COMPILE")),
            proposer_points=int(env["HIGHLIGHTER_PROPOSER_POINTS"]) if env.get("HIGHLIGHTER_PROPOSER_POINTS") else None,
            sam2=env.get("HIGHLIGHTER_SAM2_MODEL") or DEFAULT_SAM2,
            detector=env.get("HIGHLIGHTER_DETECTOR_MODEL") or DEFAULT_DETECTOR,
            embedder=env.get("HIGHLIGHTER_EMBEDDER_MODEL") or DEFAULT_EMBEDDER,
        )

    def with_(self, **changes) -> ModelSettings:
        return replace(self, **changes)

    def roles(self) -> dict[str, str]:
        """``{role: model name}`` for the three parts the tracker loads."""
        return {"sam2": self.sam2, "detector": self.detector, "embedder": self.embedder}
