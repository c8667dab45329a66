"""Random-weight SAM 2, OWLv2 and CLIP written once per session in the layout ``models fetch`` writes,
and small synthetic videos. Everything runs on the CPU; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from highlighter.eval.synthetic import make_moving_object_video, moving_object_scene
from highlighter.media import VideoWriter

SIZE = {"width": 160, "height": 120, "fps": 10}


@pytest.fixture(scope="session", autouse=True)
def _steady_threads():
    torch.set_num_threads(1)  # per-frame times jump between runs on 2 cores otherwise (FACTS.md)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    from highlighter.models.testing import write_random_models

    folder = tmp_path_factory.mktemp("models")
    write_random_models(folder, size="tiny")
    return folder


@pytest.fixture
def model_env(models_dir, monkeypatch):
    """The environment a GPU worker would have, pointed at the random models, on the CPU."""
    from highlighter.models.loading import clear_caches

    for key, value in {
        "HIGHLIGHTER_MODELS_DIR": str(models_dir),
        "HIGHLIGHTER_SAM2_MODEL": "sam2.1-hiera-tiny",
        "HIGHLIGHTER_DETECTOR_MODEL": "owlv2-base",
        "HIGHLIGHTER_EMBEDDER_MODEL": "clip-vit-b32",
        "HIGHLIGHTER_DEVICE": "cpu",
    }.items():
        monkeypatch.setenv(key, value)
    yield models_dir
    clear_caches()


@pytest.fixture(scope="session")
def videos(tmp_path_factory):
    """``videos(name) -> (path, GroundTruth)``: 160x120 at 10 fps, 1.2 s, made once per session."""
    folder = tmp_path_factory.mktemp("model-videos")
    made = {}
    kinds = {
        "red": dict(colour="red", seed=0),
        "blue": dict(colour="blue", seed=3),
    }

    def make(name: str):
        if name not in made:
            made[name] = (folder / f"{name}.mp4", make_moving_object_video(folder / f"{name}.mp4", seconds=1.2, audio=False, **SIZE, **kinds[name]))
        return made[name]

    return make


@pytest.fixture(scope="session")
def cut_video(tmp_path_factory):
    """Two shots: a red object on a textured background (frames 0-5), then on flat grey (6-11)."""
    path = tmp_path_factory.mktemp("cut") / "cut.mp4"
    first = moving_object_scene(colour="red", seed=0, seconds=0.6, **SIZE)
    second = moving_object_scene(colour="red", seed=1, seconds=0.6, background="flat", **SIZE)
    boxes = []
    with VideoWriter(path, SIZE["width"], SIZE["height"], SIZE["fps"]) as writer:
        for scene in (first, second):
            for i in range(scene.frame_count):
                writer.write(scene.render(i))
                boxes.append(scene.target_mask(i))
    return path, 6, boxes
