"""The reframe camera: where a crop window of another aspect ratio sits on each frame.

Pure functions on numbers; no video here. Boxes are ``[x, y, w, h]`` in source pixels, crop rects
are ``(x, y, w, h)`` integer source pixels, frames are indices from 0, speeds are in source widths
(or heights) per second.

The path is computed offline over the whole track, per shot, one axis at a time:

1. fill hidden frames by holding the last known product centre (the next known one before the first
   sighting), so the camera waits where the product was last seen;
2. a dead band: the camera target stays put while the product moves less than ``dead_band`` of the
   window, so small motions and detector jitter give a locked-off shot, not a wobble;
3. a Gaussian smoothing of ``smoothing`` seconds, zero-phase (it looks ahead, we have the whole track);
4. a speed limit, run forwards then backwards so the camera starts moving early instead of lagging;
5. containment: the product's box stays inside the window wherever it fits. Containment wins over the
   speed limit: a product that outruns the limit drags the window with it rather than leaving the shot.

Shots (``track.shots``) are treated independently: the camera cuts with the video.
"""

from __future__ import annotations

import math

import numpy as np

from highlighter.trackfile import Track

Rect = tuple[int, int, int, int]


def window_size(width: int, height: int, aspect: tuple[int, int]) -> tuple[int, int]:
    """The largest ``(w, h)`` window of ``aspect`` (width:height) inside a ``width`` x ``height`` frame.

    Both sides are even (the crop is encoded as H.264 further down when not resized).
    """
    aw, ah = aspect
    if aw <= 0 or ah <= 0:
        raise ValueError(f"aspect must be two positive numbers, got {aspect}")
    if width * ah >= height * aw:  # the source is wider than the target: full height, narrower width
        w, h = height * aw / ah, height
    else:
        w, h = width, width * ah / aw
    w, h = min(width, int(w) // 2 * 2), min(height, int(h) // 2 * 2)
    return max(2, w), max(2, h)


def shot_ranges(shots: list[list[int]], frame_count: int) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` frame ranges covering ``0..frame_count``, split at every shot boundary.

    ``shots`` are inclusive ``[start, end]`` ranges as in the track file; frames outside every shot
    form ranges of their own.
    """
    cuts = {0, frame_count}
    for start, end in shots:
        cuts.update(c for c in (int(start), int(end) + 1) if 0 < c < frame_count)
    edges = sorted(cuts)
    return list(zip(edges[:-1], edges[1:]))


def _hold(values: np.ndarray) -> np.ndarray:
    """Replace NaNs by the last finite value before them, or the first one after for a leading run."""
    known = np.flatnonzero(~np.isnan(values))
    index = np.maximum.accumulate(np.where(~np.isnan(values), np.arange(values.size), 0))
    index[: known[0]] = known[0]
    return values[index]


def _gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.5 or values.size < 3:
        return values
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    # Edge padding (not zeros) so the path does not sag towards 0 at the start and end of a shot.
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def follow_axis(
    starts: np.ndarray,
    lengths: np.ndarray,
    *,
    size: int,
    window: int,
    fps: float,
    smoothing: float = 0.25,
    dead_band: float = 0.05,
    max_speed: float = 0.5,
) -> np.ndarray:
    """Window origins (ints, pixels) along one axis for one shot.

    ``starts``/``lengths`` are the product box's position and extent on this axis per frame, NaN where
    hidden. ``size`` is the frame's extent, ``window`` the crop's. ``smoothing`` is in seconds,
    ``dead_band`` a fraction of ``window``, ``max_speed`` in frame sizes per second.
    """
    n = starts.size
    room = size - window
    if room <= 0 or n == 0:
        return np.zeros(n, dtype=int)
    visible = ~np.isnan(starts)
    if not visible.any():
        return np.full(n, room // 2, dtype=int)
    starts = np.clip(starts, 0, size)
    ends = np.clip(starts + lengths, 0, size)
    centre = _hold((starts + ends) / 2)

    # Containment interval for the origin: [end - window, start] where the box fits, else centred.
    fits = visible & (ends - starts <= window)
    lo = np.where(fits, ends - window, np.where(visible, centre - window / 2, 0.0))
    hi = np.where(fits, starts, np.where(visible, centre - window / 2, room))
    lo, hi = np.clip(lo, 0, room), np.clip(hi, 0, room)

    band = dead_band * window
    target = np.empty(n)
    held = centre[0]
    for i in range(n):  # hysteresis: move only by what exceeds the band
        delta = centre[i] - held
        if abs(delta) > band:
            held = centre[i] - math.copysign(band, delta)
        target[i] = held
    path = np.clip(_gaussian(target - window / 2, smoothing * fps), lo, hi)

    # Speed limit, then containment (which wins). The backward pass leaves every adjacent pair within
    # the limit except where containment forces a faster move, and makes the camera anticipate.
    limit = max_speed * size / fps
    for i in range(1, n):
        path[i] = min(max(path[i], path[i - 1] - limit), path[i - 1] + limit)
        path[i] = min(max(path[i], lo[i]), hi[i])
    for i in range(n - 2, -1, -1):
        path[i] = min(max(path[i], path[i + 1] - limit), path[i + 1] + limit)
        path[i] = min(max(path[i], lo[i]), hi[i])

    # Round, then re-apply containment in whole pixels (a box edge at 10.4 needs the window at <= 10).
    origin = np.rint(path)
    lo_px, hi_px = np.ceil(lo - 1e-6), np.floor(hi + 1e-6)
    origin = np.where(lo_px <= hi_px, np.clip(origin, lo_px, hi_px), origin)
    return np.clip(origin, 0, room).astype(int)


def crop_path(
    track: Track,
    *,
    aspect: tuple[int, int] = (9, 16),
    smoothing: float = 0.25,
    dead_band: float = 0.05,
    max_speed: float = 0.5,
) -> list[Rect]:
    """Per frame of ``track``, the ``(x, y, w, h)`` crop in source pixels of the largest ``aspect`` window.

    The window is the same size on every frame; its centre follows the product (see the module
    docstring for the steps). ``max_speed`` is the camera's speed limit in source frame sizes per
    second (0.5: half the width a second), ``smoothing`` seconds, ``dead_band`` a fraction of the window.
    """
    width, height = track.width, track.height
    cw, ch = window_size(width, height, aspect)
    n = len(track.frames)
    fps = float(track.video.get("fps") or 25.0)
    boxes = np.full((n, 4), np.nan)
    for i, frame in enumerate(track.frames):
        if frame.visible and frame.box:
            boxes[i] = frame.box
    xs, ys = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    options = {"fps": fps, "smoothing": smoothing, "dead_band": dead_band, "max_speed": max_speed}
    for start, stop in shot_ranges(track.shots, n):
        part = boxes[start:stop]
        xs[start:stop] = follow_axis(part[:, 0], part[:, 2], size=width, window=cw, **options)
        ys[start:stop] = follow_axis(part[:, 1], part[:, 3], size=height, window=ch, **options)
    return [(int(x), int(y), cw, ch) for x, y in zip(xs, ys)]
