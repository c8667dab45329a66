"""Synthetic videos shared by the tracking tests: written once per session, small and short."""

from __future__ import annotations

from pathlib import Path

import pytest

from highlighter.eval.synthetic import GroundTruth, make_moving_object_video


@pytest.fixture(scope="session")
def make_video(tmp_path_factory):
    """``make_video(name, **kwargs) -> (path, GroundTruth)``, cached by name for the session."""
    folder = tmp_path_factory.mktemp("videos")
    made: dict[str, tuple[Path, GroundTruth]] = {}

    def make(name: str, **kwargs) -> tuple[Path, GroundTruth]:
        if name not in made:
            path = folder / f"{name}.mp4"
            made[name] = (path, make_moving_object_video(path, **kwargs))
        return made[name]

    return make


@pytest.fixture(scope="session")
def red_video(make_video):
    """A red ellipse over a textured background, 640x360, 3 s at 25 fps, with audio."""
    return make_video("red", colour="red", seed=0)


@pytest.fixture(scope="session")
def red_with_blue_video(make_video):
    return make_video("red_blue", colour="red", distractor="blue", seed=2, seconds=2.0)


@pytest.fixture(scope="session")
def lookalikes_video(make_video):
    """Two green objects (the target above, a lookalike below): only a click or box can choose."""
    return make_video("green_green", colour="green", distractor="green", seed=5, width=320, height=240, seconds=2.0)


@pytest.fixture(scope="session")
def exit_video(make_video):
    """The red target is fully out of frame from 0.8 s to 1.4 s (it slides out and back in)."""
    return make_video("red_exit", colour="red", seed=6, seconds=2.0, width=320, height=240, exits=((0.8, 1.4),))
