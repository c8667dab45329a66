"""From (video, prompt) to a ``Track``: the one entry point the workers and the CLI call.

    from highlighter.track import track_video
    from highlighter.track.prompt import Prompt
    track = track_video("ad.mp4", Prompt(text="the red handbag"))

A backend is a class built with ``(prompt, info)`` (raising ``TrackError`` when it cannot follow
this prompt) that offers ``track(video_path)``, yielding one ``FrameTrack`` per decoded frame in
order, ``shots(frame_count)`` (inclusive ``[start, end]`` frame ranges) and a ``meta`` dict.
Backends are swapped by name in ``BACKENDS``; callers never see which one ran except in
``track.meta["backend"]``. ``"auto"`` is ``"memory"``: the tracking controller
(``controller.TargetController``) over CPU parts that download nothing (``parts`` holds their
interfaces; the propagation and the embedder use the ImageNet MobileNetV2 a package ships).
``"propagate"`` and ``"framewise"`` are the baselines the evaluation compares it with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from highlighter.errors import MediaError, TrackError
from highlighter.media import VideoInfo, probe
from highlighter.models import BACKEND_NAME as MODEL_BACKEND, ModelBackend, models_available
from highlighter.track.prompt import Prompt
from highlighter.trackfile import FrameTrack, Track

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "TrackerBackend", "track_video"]


class TrackerBackend(Protocol):
    name: str

    def __init__(self, prompt: Prompt, info: VideoInfo) -> None: ...

    @property
    def meta(self) -> dict[str, Any]: ...

    def track(self, video_path: str | Path, analysed: Callable[[int], Any] | None = None) -> Iterator[FrameTrack]:
        """One ``FrameTrack`` per frame, in order; ``analysed(n)`` after each of the ``n`` frames
        analysed so far, in whatever order they are analysed (a pass backwards from a key frame
        yields nothing until it reaches frame 0)."""
        ...

    def shots(self, frame_count: int) -> list[list[int]]: ...


def _on_first_use(name: str, attr: str) -> type[TrackerBackend]:
    """A stand-in for ``highlighter.track.backends.<attr>``: building one imports it (and torch,
    for the image features); registering it does not, so the web app, which only reads prompts and
    tracks, never pays for torch."""

    def build(cls, prompt: Prompt, info: VideoInfo) -> TrackerBackend:
        from highlighter.track import backends

        return getattr(backends, attr)(prompt, info)

    return type(attr, (), {"name": name, "__new__": build})  # type: ignore[return-value]


BACKENDS: dict[str, type[TrackerBackend]] = {
    "memory": _on_first_use("memory", "MemoryTracker"),  # the full tracker: memories, motion prior, re-detection
    "propagate": _on_first_use("propagate", "PropagationTracker"),  # baseline: initialise once, then propagate
    "framewise": _on_first_use("framewise", "FramewiseTracker"),  # baseline: ground the prompt on each frame independently
}
DEFAULT_BACKEND = "memory"
BACKENDS[MODEL_BACKEND] = ModelBackend  # SAM 2 + OWLv2 + CLIP from HIGHLIGHTER_MODELS_DIR (docs/models.md)


def resolve_backend(name: str) -> str:
    """The registered backend ``name`` stands for; ``TrackError`` when there is none."""
    resolved = name
    if name == "auto":  # the model backend when its weights are installed, else the CPU one
        resolved = MODEL_BACKEND if models_available() else DEFAULT_BACKEND
    if resolved not in BACKENDS:
        choices = ", ".join(["auto", *sorted(BACKENDS)])
        raise TrackError(f"There is no tracker called '{name}'. Choose one of: {choices}.")
    return resolved


class _Progress:
    """Calls ``callback(fraction)`` at most once per percent; the callback may raise to stop the run."""

    def __init__(self, callback: Callable[[float], Any] | None, total: int) -> None:
        self.callback, self.total, self.last = callback, max(1, total), -1

    def frame_done(self, done: int) -> None:
        if self.callback is None:
            return
        percent = min(99, int(100 * done / self.total))  # 100% only once the track is assembled
        if percent > self.last:
            self.last = percent
            self.callback(percent / 100)

    def finished(self) -> None:
        if self.callback is not None:
            self.callback(1.0)


def track_video(
    video_path: str | Path,
    prompt: Prompt,
    *,
    backend: str = "auto",
    progress: Callable[[float], Any] | None = None,
) -> Track:
    """Track the product of ``prompt`` through every frame of ``video_path``.

    ``progress(fraction)`` (0..1) is called as frames are analysed, throttled to once per percent;
    whatever it raises (``Cancelled``, typically) stops the run and propagates. Raises ``TrackError``
    for an unknown backend or a prompt this backend cannot follow, ``MediaError`` for an unreadable
    video. The track has one frame per decoded frame, and ``video.frame_count`` says how many.
    """
    name = resolve_backend(backend)
    info = probe(video_path)
    if info.frame_count <= 0 or info.width <= 0 or info.height <= 0:
        raise MediaError("This video has no frames that can be read. Upload an MP4, MOV or WebM video.")
    prompt.validate_for(info.width, info.height, info.frame_count)
    tracker = BACKENDS[name](prompt, info)
    report = _Progress(progress, info.frame_count)
    started = time.monotonic()
    frames: list[FrameTrack] = []
    # Progress counts frames analysed, not yielded: the backward pass from a late key frame yields
    # nothing until it reaches frame 0, and a cancel must not wait for it.
    stream = tracker.track(video_path, analysed=report.frame_done)
    try:
        for frame in stream:
            frames.append(frame)
    finally:
        # On cancel or error, close the generator now so its decoder process is killed at once.
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    if not frames:
        raise MediaError("No frame of this video could be decoded. Upload an MP4, MOV or WebM video.")
    seconds = time.monotonic() - started
    track = Track(
        video={"width": info.width, "height": info.height, "fps": info.fps, "frame_count": len(frames)},
        prompt=prompt.to_dict(),
        frames=frames,
        shots=tracker.shots(len(frames)) or [[0, len(frames) - 1]],
        meta={
            "backend": name,
            "seconds": round(seconds, 3),
            "frames_per_second": round(len(frames) / seconds, 2) if seconds > 0 else None,
            **tracker.meta,
        },
    )
    report.finished()
    return track
