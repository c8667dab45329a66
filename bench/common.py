"""What the benches share: paying a process's one-time start before anything is timed."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from highlighter.eval.synthetic import make_moving_object_video
from highlighter.track.prompt import BoxPrompt, Prompt
from highlighter.trackfile import mask_box


def warm_up(track: Callable[..., Any], backend: str) -> float:
    """Seconds to ``track`` (``track_video``) a tiny generated clip (10 frames, 160x120) from a box,
    with ``backend``: the one-time start a worker process pays before its first video (importing
    torch and the tracker, loading the network's weights), paid here so that no timed run counts it."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="highlighter-warm-up-") as tmp:
        path = Path(tmp) / "warm-up.mp4"
        truth = make_moving_object_video(path, width=160, height=120, seconds=0.4, audio=False)
        box = mask_box(truth.mask(0))
        assert box is not None
        x, y, w, h = (int(v) for v in box)
        track(path, Prompt(boxes=(BoxPrompt(x, y, x + w, y + h, 0),)), backend=backend)
    return time.monotonic() - started
