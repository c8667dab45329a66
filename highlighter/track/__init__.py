"""From (video, prompt) to a ``Track``: the one entry point the workers and the CLI call.

    from highlighter.track import Product, track_video
    from highlighter.track.prompt import Prompt
    track = track_video("ad.mp4", Prompt(text="the red handbag"))          # one product, as always
    track = track_video("ad.mp4", [Product("bag", "the red bag", Prompt(text="the red bag")),
                                   Product("shoes", "the white sneakers", Prompt(boxes=(...,)))])
    rerun = track_video("ad.mp4", [Product("bag", ...)], exclude=previous)  # a correction of one product

Several products are tracked in one job (``joint.JointTracker``): each frame is decoded once (per
direction, see there), each product has its own controller, products are each other's known
distractors and a pixel belongs to at most one of them. The track has one object per product, in
the given order (``trackfile.TrackObject``: the product's id, name and prompt, per-object meta such
as events and the start frame); shots are shared. ``exclude``: a previous track whose objects other
than the given products' ids are known other products on every frame: their pixels are never
given to the tracked products (a correction re-runs one product of a track this way).

With a list, the ``memory`` backend tracks jointly; the baselines (``propagate``, ``framewise``) and
the SAM 2 ``ModelBackend`` run the products one after another (one decode each); a pixel two of
them claim then goes to the product whose frame is more confident (the earlier one on a tie).

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from highlighter.errors import MediaError, TrackError
from highlighter.media import VideoInfo, probe
from highlighter.models import BACKEND_NAME as MODEL_BACKEND, ModelBackend, models_available
from highlighter.track.product import Product, product_ids
from highlighter.track.prompt import Prompt
from highlighter.trackfile import FrameTrack, Track, TrackObject, decode_mask, default_name, encode_mask, mask_box

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Product", "TrackerBackend", "product_ids", "track_video"]


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
    prompt: Prompt | Sequence[Product],
    *,
    backend: str = "auto",
    progress: Callable[[float], Any] | None = None,
    exclude: Track | None = None,
) -> Track:
    """Track the product of ``prompt`` (or each of several ``Product``s) through every frame of ``video_path``.

    ``progress(fraction)`` (0..1) is called as frames are analysed, throttled to once per percent;
    whatever it raises (``Cancelled``, typically) stops the run and propagates. Raises ``TrackError``
    for an unknown backend or a prompt this backend cannot follow, ``MediaError`` for an unreadable
    video. The track has one frame per decoded frame, and ``video.frame_count`` says how many.

    With a ``Prompt`` and no ``exclude``: a track of one object, exactly as it always was. With a
    list of products (or ``exclude``): one object per product, in order (module docstring).
    """
    if isinstance(prompt, Prompt) and exclude is None:
        return _track_one(video_path, prompt, backend=backend, progress=progress)
    products = [Product("1", "", prompt)] if isinstance(prompt, Prompt) else list(prompt)
    return _track_products(video_path, products, backend=backend, progress=progress, exclude=exclude)


def _track_one(
    video_path: str | Path,
    prompt: Prompt,
    *,
    backend: str,
    progress: Callable[[float], Any] | None,
) -> Track:
    name = resolve_backend(backend)
    info = probe(video_path)
    if info.frame_count <= 0 or info.width <= 0 or info.height <= 0:
        raise MediaError("This video has no frames that can be read. Upload an MP4, MOV or WebM video.")
    prompt = prompt.on_video(info.width, info.height, info.frame_count)
    tracker = BACKENDS[name](prompt, info)
    report = _Progress(progress, info.frame_count)
    started = time.monotonic()
    # Progress counts frames analysed, not yielded: the backward pass from a late key frame yields
    # nothing until it reaches frame 0, and a cancel must not wait for it.
    frames = _collect(tracker.track(video_path, analysed=report.frame_done))
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


def _collect(stream: Iterator[FrameTrack]) -> list[FrameTrack]:
    """Every frame a backend's ``track`` yields; on cancel or error the generator is closed at once,
    so its decoder process is killed."""
    try:
        return list(stream)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _check_products(products: list[Product]) -> None:
    if not products:
        raise TrackError("Name at least one product to track.")
    for p in products:
        if not isinstance(p, Product):
            raise TrackError("Each product to track needs an id, a name and a prompt.")
    ids = [p.id for p in products]
    if len(set(ids)) != len(ids):
        raise TrackError("Two products have the same id; give each product its own name.")


def _track_products(
    video_path: str | Path,
    products: list[Product],
    *,
    backend: str,
    progress: Callable[[float], Any] | None,
    exclude: Track | None,
) -> Track:
    _check_products(products)
    name = resolve_backend(backend)
    info = probe(video_path)
    if info.frame_count <= 0 or info.width <= 0 or info.height <= 0:
        raise MediaError("This video has no frames that can be read. Upload an MP4, MOV or WebM video.")
    placed = []
    for p in products:
        try:
            placed.append(replace(p, prompt=p.prompt.on_video(info.width, info.height, info.frame_count)))
        except TrackError as e:
            raise TrackError(str(e) if len(products) == 1 else f"{p.label}: {e}") from e
    products = placed
    others = []
    if exclude is not None:
        if (exclude.width, exclude.height) != (info.width, info.height):
            raise TrackError("The previous track is of another video. Re-run tracking from the start.")
        ids = {p.id for p in products}
        others = [o for o in exclude.objects if o.id not in ids]
    report = _Progress(progress, info.frame_count)
    started = time.monotonic()
    if name == DEFAULT_BACKEND:
        from highlighter.track.joint import JointTracker

        tracker = JointTracker(products, info, exclude=others)
        columns: list[list[FrameTrack]] = [[] for _ in products]
        stream = tracker.track(video_path, analysed=report.frame_done)
        try:
            for row in stream:
                for column, frame in zip(columns, row):
                    column.append(frame)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        object_meta = tracker.object_meta
        shots_of = tracker.shots
        extra = {**tracker.meta, "decoded_frames": tracker.decoded}
    else:
        columns, object_meta, shots_of, extra = _one_after_another(video_path, products, name, info, report, others)
    if not columns[0]:
        raise MediaError("No frame of this video could be decoded. Upload an MP4, MOV or WebM video.")
    n = min(len(c) for c in columns)
    seconds = time.monotonic() - started
    objects = [
        TrackObject(
            id=p.id,
            name=p.name.strip() or default_name(p.prompt.to_dict()),
            prompt=p.prompt.to_dict(),
            frames=column[:n],
            meta=meta,
        )
        for p, column, meta in zip(products, columns, object_meta)
    ]
    track = Track(
        video={"width": info.width, "height": info.height, "fps": info.fps, "frame_count": n},
        shots=shots_of(n) or [[0, n - 1]],
        meta={
            "backend": name,
            "seconds": round(seconds, 3),
            "frames_per_second": round(n / seconds, 2) if seconds > 0 else None,
            **extra,
        },
        objects=objects,
    )
    report.finished()
    return track


def _one_after_another(video_path, products, name, info, report, others):
    """The products tracked one by one by a backend that follows one product, then made disjoint:
    an excluded object keeps its pixels, and a pixel two products claim goes to the one whose frame
    is more confident (the earlier one on a tie)."""
    columns, metas, shots = [], [], []
    total = max(1, info.frame_count * len(products))
    for k, p in enumerate(products):
        tracker = BACKENDS[name](p.prompt, info)

        def analysed(n: int, k: int = k) -> None:
            report.frame_done(round((k * info.frame_count + n) * info.frame_count / total))

        columns.append(_collect(tracker.track(video_path, analysed=analysed)))
        metas.append(dict(tracker.meta))
        shots.append(tracker.shots)
    n = min(len(c) for c in columns)
    for index in range(n):
        row = [c[index] for c in columns]
        taken = None
        for o in others:
            if index < len(o.frames) and o.frames[index].visible and o.frames[index].mask is not None:
                m = decode_mask(o.frames[index].mask)
                taken = m if taken is None else taken | m
        order = sorted(range(len(row)), key=lambda i: (-row[i].score if row[i].visible else 1.0, i))
        if taken is None and sum(f.visible for f in row) < 2:
            continue
        for i in order:
            f = row[i]
            if not f.visible or f.mask is None:
                continue
            m = decode_mask(f.mask)
            if taken is not None and (m & taken).any():
                m &= ~taken
                box = mask_box(m)
                columns[i][index] = (
                    FrameTrack(f.index, f.time, True, f.score, box, encode_mask(m)) if box is not None
                    else FrameTrack.hidden(f.index, f.time)
                )  # fmt: skip
            taken = m.copy() if taken is None else taken | m
    meta = {k: v for k, v in metas[0].items() if k in ("work_size",)}
    object_meta = [{k: v for k, v in m.items() if k != "work_size"} for m in metas]
    return columns, object_meta, shots[0], meta
