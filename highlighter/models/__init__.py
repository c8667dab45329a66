"""Model backends for the GPU workers: SAM 2 (propagator, proposer), OWLv2 (grounder), CLIP (embedder).

Importing this package is cheap (no torch): ``models_available()`` answers whether the weights are
installed, which is how ``track_video(backend="auto")`` chooses between the ``sam2`` backend and
the weight-free ``memory`` one. The heavy modules are imported when a model tracker is built.

    python -m highlighter models fetch     # once, on a machine with internet
    python -m highlighter models check     # what is in HIGHLIGHTER_MODELS_DIR

See docs/models.md for the worker settings.
"""

from __future__ import annotations

from highlighter.models.settings import ModelSettings
from highlighter.models.store import models_available

BACKEND_NAME = "sam2"

__all__ = ["BACKEND_NAME", "ModelBackend", "ModelSettings", "models_available", "model_tracker_class"]


def model_tracker_class():
    """The ``sam2`` tracker backend class (imports torch, sam2 and transformers)."""
    from highlighter.models.tracker import ModelTracker

    return ModelTracker


class ModelBackend:
    """Stands for ``ModelTracker`` in ``highlighter.track.BACKENDS``: building one imports torch,
    registering it does not (the CPU workers and the web app never pay for it)."""

    name = BACKEND_NAME

    def __new__(cls, prompt, info):
        return model_tracker_class()(prompt, info)
