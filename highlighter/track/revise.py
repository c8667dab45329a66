"""Corrections to a track: splice a re-run into the previous version, or mark a stretch hidden.

A correction is a click or box on frame ``f``. The tracker is re-run with it, and the re-run replaces
the previous track only where the two disagree around ``f``: walking away from ``f`` (forwards, then
backwards) frames are replaced until the re-run agrees with the previous track for ``settle``
consecutive frames; from there on the previous version is kept. A walk never crosses an *anchor*
(the frame of an earlier correction): what the marketer fixed before stays fixed.

Frames are indices from 0; boxes are ``[x, y, w, h]`` in pixels of the normalised video. Pure
functions: tracks in, tracks out.

    >>> revised, (start, end) = splice(previous, rerun, frame=40, anchors=[12])
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from highlighter.errors import TrackError
from highlighter.trackfile import FrameTrack, Track

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


def _reach(previous: Track, rerun: Track, indices: Iterable[int], *, iou: float, settle: int) -> int | None:
    """The farthest index of ``indices`` (walked in order) to replace, or None when the first agree."""
    last, run = None, 0
    for i in indices:
        if frames_agree(previous.frames[i], rerun.frames[i], iou=iou):
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
) -> tuple[Track, tuple[int, int]]:
    """The previous track with the re-run's frames around ``frame`` (see the module docstring).

    Returns the revised track and the inclusive ``(start, end)`` range of frames taken from the
    re-run; ``frame`` itself is always taken. Raises ``TrackError`` when the two tracks are not of
    the same video.
    """
    n = len(previous.frames)
    if len(rerun.frames) != n or (previous.width, previous.height) != (rerun.width, rerun.height):
        raise TrackError("The corrected track does not match the video's frames. Re-run tracking from the start.")
    if not 0 <= frame < n:
        raise TrackError(f"This video has {n} frames; frame {frame} does not exist.")
    before = [a for a in anchors if a < frame]
    after = [a for a in anchors if a > frame]
    low = max(before) + 1 if before else 0
    high = min(after) - 1 if after else n - 1

    forward = _reach(previous, rerun, range(frame + 1, high + 1), iou=iou, settle=settle)
    backward = _reach(previous, rerun, range(frame - 1, low - 1, -1), iou=iou, settle=settle)
    start = frame if backward is None else backward
    end = frame if forward is None else forward

    frames = [
        copy.deepcopy(rerun.frames[i]) if start <= i <= end else copy.deepcopy(f) for i, f in enumerate(previous.frames)
    ]
    revised = Track(
        video=dict(previous.video),
        prompt=dict(rerun.prompt),
        frames=frames,
        shots=[list(s) for s in previous.shots],
        meta={**previous.meta, **rerun.meta, "revised": [start, end]},
    )
    return revised, (start, end)


def hide_range(track: Track, *, start: int, end: int) -> Track:
    """A copy of ``track`` in which frames ``start..end`` (inclusive) say the product is not in shot."""
    n = len(track.frames)
    if not (0 <= start <= end < n):
        raise TrackError(f"Choose a stretch inside the video: frames 0 to {n - 1}, the first before the last.")
    frames = [
        FrameTrack.hidden(f.index, f.time) if start <= i <= end else copy.deepcopy(f) for i, f in enumerate(track.frames)
    ]
    return Track(
        video=dict(track.video),
        prompt=dict(track.prompt),
        frames=frames,
        shots=[list(s) for s in track.shots],
        meta={**track.meta, "hidden": [start, end]},
    )
