"""Corrections to a track: splice a re-run into the previous version, or mark a stretch hidden.

A correction is a click or box on frame ``f``. The tracker is re-run with it, and the re-run replaces
the previous track only where the two disagree around ``f``: walking away from ``f`` (forwards, then
backwards) frames are replaced until the re-run agrees with the previous track for ``settle``
consecutive frames; from there on the previous version is kept. A walk never crosses an *anchor*
(the frame of an earlier correction): what the marketer fixed before stays fixed.

Frames are indices from 0; boxes are ``[x, y, w, h]`` in pixels of the normalised video. Pure
functions: tracks in, tracks out.

    >>> revised, (start, end) = splice(previous, rerun, frame=40, anchors=[12])
    >>> revised, (start, end) = splice(previous, rerun, frame=40, object_id="bag")   # one product of several

``object_id`` chooses the product of a track of several (``trackfile.TrackObject``); only that
object's frames change, every other object is kept as it was. ``None`` is the first object: on a
track of one product, exactly what these functions always did.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from highlighter.errors import TrackError
from highlighter.trackfile import FrameTrack, Track, TrackObject, default_name

AGREE_IOU = 0.5  # boxes overlapping this much (intersection over union) are the same product
SETTLE_FRAMES = 3  # consecutive agreeing frames that end a replaced stretch


def box_iou(a: list[float], b: list[float]) -> float:
    """Intersection over union of two ``[x, y, w, h]`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def frames_agree(a: FrameTrack, b: FrameTrack, *, iou: float = AGREE_IOU) -> bool:
    """Both hidden, or both visible with boxes overlapping at least ``iou``."""
    if not a.visible or not b.visible or a.box is None or b.box is None:
        return not a.visible and not b.visible
    return box_iou(a.box, b.box) >= iou


def _reach(previous: list[FrameTrack], rerun: list[FrameTrack], indices: Iterable[int], *, iou: float, settle: int) -> int | None:
    """The farthest index of ``indices`` (walked in order) to replace, or None when the first agree."""
    last, run = None, 0
    for i in indices:
        if frames_agree(previous[i], rerun[i], iou=iou):
            run += 1
            if run >= settle:
                break
        else:
            run, last = 0, i
    return last


def splice(
    previous: Track,
    rerun: Track,
    *,
    frame: int,
    anchors: Iterable[int] = (),
    iou: float = AGREE_IOU,
    settle: int = SETTLE_FRAMES,
    object_id: str | None = None,
) -> tuple[Track, tuple[int, int]]:
    """The previous track with the re-run's frames around ``frame`` (see the module docstring).

    ``object_id``: the product of ``previous`` to revise (None: the first); the re-run's object of
    that id is spliced in (or its only object). Returns the revised track and the inclusive
    ``(start, end)`` range of frames taken from the re-run; ``frame`` itself is always taken. Raises
    ``TrackError`` when the two tracks are not of the same video or a product is unknown.
    """
    target = previous.object(object_id)
    fresh = _rerun_object(rerun, object_id, target)
    n = len(target.frames)
    if len(fresh.frames) != n or (previous.width, previous.height) != (rerun.width, rerun.height):
        raise TrackError("The corrected track does not match the video's frames. Re-run tracking from the start.")
    if not 0 <= frame < n:
        raise TrackError(f"This video has {n} frames; frame {frame} does not exist.")
    before = [a for a in anchors if a < frame]
    after = [a for a in anchors if a > frame]
    low = max(before) + 1 if before else 0
    high = min(after) - 1 if after else n - 1

    forward = _reach(target.frames, fresh.frames, range(frame + 1, high + 1), iou=iou, settle=settle)
    backward = _reach(target.frames, fresh.frames, range(frame - 1, low - 1, -1), iou=iou, settle=settle)
    start = frame if backward is None else backward
    end = frame if forward is None else forward

    frames = [
        copy.deepcopy(fresh.frames[i]) if start <= i <= end else copy.deepcopy(f) for i, f in enumerate(target.frames)
    ]
    if len(previous.objects) == 1 and object_id is None:
        # One product: as it always was (the prompt is the re-run's, the meta both runs').
        revised = Track(
            video=dict(previous.video),
            shots=[list(s) for s in previous.shots],
            meta={**previous.meta, **rerun.meta, "revised": [start, end]},
            objects=[_revised(target, fresh.prompt, frames, copy.deepcopy(target.meta))],
        )
        return revised, (start, end)
    obj = _revised(target, fresh.prompt, frames, {**copy.deepcopy(target.meta), **copy.deepcopy(fresh.meta), "revised": [start, end]})
    return _with_object(previous, obj, {"revised": [start, end], "revised_object": obj.id}), (start, end)


def hide_range(track: Track, *, start: int, end: int, object_id: str | None = None) -> Track:
    """A copy of ``track`` in which frames ``start..end`` (inclusive) say the product (``object_id``,
    None: the first) is not in shot; the other products are untouched."""
    target = track.object(object_id)
    n = len(target.frames)
    if not (0 <= start <= end < n):
        raise TrackError(f"Choose a stretch inside the video: frames 0 to {n - 1}, the first before the last.")
    frames = [
        FrameTrack.hidden(f.index, f.time) if start <= i <= end else copy.deepcopy(f) for i, f in enumerate(target.frames)
    ]
    if len(track.objects) == 1 and object_id is None:
        return Track(
            video=dict(track.video),
            shots=[list(s) for s in track.shots],
            meta={**track.meta, "hidden": [start, end]},
            objects=[_revised(target, target.prompt, frames, copy.deepcopy(target.meta))],
        )
    obj = _revised(target, target.prompt, frames, {**copy.deepcopy(target.meta), "hidden": [start, end]})
    return _with_object(track, obj, {"hidden": [start, end], "hidden_object": obj.id})


def _rerun_object(rerun: Track, object_id: str | None, target: TrackObject) -> TrackObject:
    """The re-run's object for ``target``: the one of the same id, else its only one."""
    if target.id in rerun.ids:
        return rerun.object(target.id)
    if len(rerun.objects) == 1:
        return rerun.objects[0]
    raise TrackError(f"The corrected track has no product '{object_id or target.id}'. Re-run tracking for it.")


def _revised(target: TrackObject, prompt: dict, frames: list[FrameTrack], meta: dict) -> TrackObject:
    """``target`` with new frames and prompt; a name that was the default follows the new prompt."""
    name = default_name(prompt) if target.name == default_name(target.prompt) else target.name
    return TrackObject(target.id, name, dict(prompt), frames, meta)


def _with_object(track: Track, obj: TrackObject, meta: dict) -> Track:
    """A copy of ``track`` with ``obj`` in place of its object of the same id, the others deep copies."""
    objects = [obj if o.id == obj.id else copy.deepcopy(o) for o in track.objects]
    return Track(
        video=dict(track.video),
        shots=[list(s) for s in track.shots],
        meta={**copy.deepcopy(track.meta), **meta},
        objects=objects,
    )
