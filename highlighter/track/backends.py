"""Tracker backends for ``track_video``: the memory controller and the two baselines, on the CPU parts.

Each is built with ``(prompt, info)`` and streams one ``FrameTrack`` per frame from ``track``:

1. find the initial target (the prompted frame, or the best of several key frames);
2. if that is not frame 0, track backwards to frame 0 first (decoding earlier frames in chunks),
   holding only the compact track frames (COCO RLE) until they can be yielded in order;
3. track forwards from the initial frame to the end.

The ``memory`` backend first looks on the start frame for lookalikes that appearance cannot tell
from the target (of its paint and size, ``joint.lookalikes_of``: the proposals' regions, opened
apart from thinner scenery of their paint, and what moves on its own against the frame
``motion.GAP_SECONDS`` later, read ahead and then tracked from that buffer); when there are any,
it follows them beside the target as products of their own (``joint.JointTracker``, KeepTrack's
idea) and yields the target's track alone.

Frames are analysed at a working resolution (long side at most ``max_side`` pixels); masks are
scaled back to the video's size before encoding.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.errors import TrackError
from highlighter.media import VideoInfo
from highlighter.track.baselines import FramewiseController, PropagationController
from highlighter.track.controller import ControllerSettings, TargetController
from highlighter.track.embedding import AppearanceEmbedder
from highlighter.track.features import ImageNetFeatures
from highlighter.track.frames import FrameSource, work_size
from highlighter.track.grounding import CueGrounder
from highlighter.track.initialise import InitialTarget, find_initial_target
from highlighter.track.memory import DistractorMemory, TargetMemory
from highlighter.track.motion import GAP_SECONDS
from highlighter.track.parts import Candidate, WorkFrame
from highlighter.track.prompt import BoxPrompt, Prompt
from highlighter.track.propagation import LabelPropagator
from highlighter.track.proposals import ColourSegmentProposer
from highlighter.track.shots import CutWalk
from highlighter.trackfile import FrameTrack

NO_CUE_MESSAGE = (
    "Name the product's colour or shape (for example 'the red handbag' or 'the round box') "
    "or click on it; this tracker needs one of them."
)


def memory_controller(
    proposer: ColourSegmentProposer,
    grounder: CueGrounder,
    propagator: LabelPropagator,
    embedder: AppearanceEmbedder,
    settings: ControllerSettings,
    init: InitialTarget,
) -> TargetController:
    """A controller with empty memories, started on ``init`` (its seed views join the target memory)."""
    controller = TargetController(proposer, grounder, propagator, embedder, TargetMemory(), DistractorMemory(), settings)
    controller.start(init.frame, init.candidate)
    for index, vector in init.seeds:
        controller.memory.add(vector, index)
    return controller


class _StreamingTracker:
    """The shared driver; subclasses say which controller follows the target."""

    name = ""

    def __init__(self, prompt: Prompt, info: VideoInfo, *, max_side: int = 480) -> None:
        self.prompt, self.info = prompt, info
        self.fps = info.fps or 25.0
        self.work_size = work_size(info, max_side)
        scale = (self.work_size[0] / info.width, self.work_size[1] / info.height)
        self.grounder = CueGrounder(prompt, scale)
        if not self.grounder.can_ground() and not self.grounder.prompted_frames():
            raise TrackError(NO_CUE_MESSAGE)
        self.proposer = ColourSegmentProposer()
        self.features = ImageNetFeatures()
        self.embedder = AppearanceEmbedder(self.features)
        self.settings = ControllerSettings()
        self._cuts: set[int] = set()
        self._meta: dict[str, Any] = {}

    def make_controller(self, init: InitialTarget):
        raise NotImplementedError

    @property
    def meta(self) -> dict[str, Any]:
        return {
            "colour": self.grounder.colour or "learned from the prompt",
            "work_size": list(self.work_size),
            **self._meta,
        }

    def shots(self, frame_count: int) -> list[list[int]]:
        starts = [0, *sorted(c for c in self._cuts if 0 < c < frame_count)]
        ends = [s - 1 for s in starts[1:]] + [frame_count - 1]
        return [[s, e] for s, e in zip(starts, ends)]

    def track(self, video_path: str | Path, analysed: Callable[[int], Any] | None = None) -> Iterator[FrameTrack]:
        count = 0

        def done(track: FrameTrack) -> FrameTrack:
            nonlocal count
            count += 1
            if analysed is not None:
                analysed(count)
            return track

        source = FrameSource(video_path, self.info, self.work_size)
        init = find_initial_target(source, self.info.frame_count, self.proposer, self.grounder, self.embedder)
        key = init.frame.index
        self._meta.update({"init_frame": key, "init_score": round(init.score, 3)})
        # The frames just after the start are read ahead, to see what moves, and tracked from this
        # buffer: each is decoded once.
        ahead = source.forward(key + 1)
        try:
            gap = max(1, round(GAP_SECONDS * self.fps))
            soon = list(itertools.islice(ahead, gap))
            if soon:
                later = soon[-1]
            else:  # the start is the last frame: the one a gap before it
                before = list(itertools.islice(source.backward(key, chunk=gap), gap))
                later = before[-1] if before else None
            lookalikes = self.lookalikes(init, later)
            if lookalikes:
                yield from self._with_lookalikes(video_path, init, lookalikes, analysed)
                return
            events: list[tuple[int, str]] = []
            if key > 0:
                # Backwards first: frames before the key frame must be yielded before it.
                controller = self.make_controller(init)
                walk, held = CutWalk(self.fps, init.frame.rgb, self._cuts, backward=True), []
                for frame in source.backward(key):
                    cut = walk.step(frame.rgb, frame.index)
                    held.append(done(self._frame_track(frame.index, *controller.step(frame, cut))))
                events += getattr(controller, "events", [])
                yield from reversed(held)
                del held
            controller = self.make_controller(init)
            yield done(self._frame_track(key, init.candidate.mask, init.score))
            walk = CutWalk(self.fps, init.frame.rgb, self._cuts)
            for frame in itertools.chain(soon, ahead):
                yield done(self._frame_track(frame.index, *controller.step(frame, walk.step(frame.rgb, frame.index))))
            events += getattr(controller, "events", [])
            self._meta["events"] = sorted(events)
        finally:
            ahead.close()

    def lookalikes(self, init: InitialTarget, later: WorkFrame | None) -> list[Candidate]:
        """Regions on the start frame to follow beside the target (none: the target alone);
        ``later``: the frame ``motion.GAP_SECONDS`` after the start frame, to see what moves (the
        video's last frame when it is nearer; the frame that far before the start when the start
        is the last frame; None in a one-frame video)."""
        return []

    def _with_lookalikes(
        self, video_path: str | Path, init: InitialTarget, lookalikes: list[Candidate], analysed: Callable[[int], Any] | None
    ) -> Iterator[FrameTrack]:
        """The target's frames when it is followed jointly with ``lookalikes`` (``joint.JointTracker``,
        each lookalike a product of its own from its region on the start frame); only the target's
        track is yielded."""
        from highlighter.track.joint import JointTracker
        from highlighter.track.product import Product

        key = init.frame.index
        sx, sy = self.info.width / self.work_size[0], self.info.height / self.work_size[1]
        products, inits, boxes = [Product("target", "", self.prompt)], [init], []
        for k, c in enumerate(lookalikes, 1):
            x, y, w, h = c.box
            box = [round(x * sx), round(y * sy), round((x + w) * sx), round((y + h) * sy)]
            products.append(Product(f"lookalike-{k}", "", Prompt(boxes=(BoxPrompt(*box, key),))))
            inits.append(InitialTarget(init.frame, c, 1.0))
            boxes.append(box)
        joint = JointTracker(products, self.info)
        stream = joint.track(video_path, analysed, inits=inits)
        try:
            for row in stream:
                yield row[0]
        finally:
            stream.close()
        self._cuts |= joint.cut_frames
        self._meta["events"] = joint.object_meta[0].get("events", [])
        self._meta["lookalikes"] = boxes

    def _frame_track(self, index: int, mask: np.ndarray | None, score: float) -> FrameTrack:
        time = index / self.fps
        if mask is None or not mask.any():
            return FrameTrack.hidden(index, time)
        if mask.shape[::-1] != (self.info.width, self.info.height):
            # Linear interpolation then a 50% threshold gives smoother edges than nearest neighbour.
            up = cv2.resize(mask.astype(np.uint8) * 255, (self.info.width, self.info.height), interpolation=cv2.INTER_LINEAR)
            mask = up > 127
        return FrameTrack.from_mask(index, time, mask, float(np.clip(score, 0.0, 1.0)))


class MemoryTracker(_StreamingTracker):
    """The full tracker: target and distractor memories, Kalman prior, drift detection, re-detection."""

    name = "memory"

    def make_propagator(self):
        """The propagator for one pass (the backward and forward passes each start from the key frame)."""
        return LabelPropagator(features=self.features)

    def make_controller(self, init: InitialTarget) -> TargetController:
        return memory_controller(self.proposer, self.grounder, self.make_propagator(), self.embedder, self.settings, init)

    def lookalikes(self, init: InitialTarget, later: WorkFrame | None) -> list[Candidate]:
        """Lookalikes of the target's paint and size on its start frame (``joint.lookalikes_of``,
        with what moves between it and ``later``), followed beside it: appearance cannot tell them
        from it."""
        from highlighter.track.joint import lookalikes_of

        return lookalikes_of(init.frame, init.candidate, self.proposer, later)


class PropagationTracker(_StreamingTracker):
    """Baseline: initialise once, then propagate (no memory, re-detection or motion prior)."""

    name = "propagate"

    def make_controller(self, init: InitialTarget) -> PropagationController:
        controller = PropagationController(LabelPropagator(features=self.features), self.settings)
        controller.start(init.frame, init.candidate)
        return controller


class FramewiseTracker(_StreamingTracker):
    """Baseline: ground the prompt on every frame independently."""

    name = "framewise"

    def make_controller(self, init: InitialTarget) -> FramewiseController:
        controller = FramewiseController(
            self.proposer, self.grounder, self.embedder, LabelPropagator(features=self.features), self.settings
        )
        controller.start(init.frame, init.candidate)
        return controller
