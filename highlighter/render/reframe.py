"""The reframe camera: where a window of another aspect ratio sits on each frame.

Pure functions on numbers; no video here. Boxes are ``[x, y, w, h]`` in source pixels, windows are
``(x, y, w, h)`` integer source pixels (a window may reach past the frame's edge: that part is
padded with a blurred background), frames are indices from 0, speeds are source frame sizes per
second. The camera works shot by shot (``track.shots``), so it cuts only where the video cuts.

Per shot, as Google's AutoFlip does (FACTS.md, "Anchors for reframing"):

1. **Zoom.** The window is the largest of the aspect that fits the frame; when the product does
   not fit the window's safe zone somewhere in the shot, the window grows for the whole shot and the
   frame is padded (no zooming within a shot: it reads as a lurch).
2. **Steady** when one still window keeps the product inside the safe zone on every visible frame
   (snapped to the frame's centre when that is within 8% of where it would be).
3. **Sweep** when a constant-speed pan under the speed limit does, and the product moves along it
   (the shot lasts at least 1 s).
4. **Track** otherwise: the L1-style camera (Grundmann et al. 2011): ``taut_string`` through the
   corridor of origins that keep the product in the safe zone, narrowed by the motion preset's
   ``follow`` and by the easing; each bend then eased with a Gaussian of the preset's time constant,
   then a hard speed limit run forwards and backwards. Hidden frames inside a run leave the
   corridor open. While the product is away for more than ``LONG_GAP`` the camera waits where it
   was last seen, then glides to where it comes back.

Origins are sub-pixel (the compositor crops between pixels): rounding a slow pan to whole pixels
would shake it by a pixel every few frames.

Containment wins over the speed limit: a product that outruns the limit drags the window with it
rather than leaving the shot.

**Several products** (``focus``): the camera follows one *target* per frame, and the steps above run
on the target's box. ``focus_targets`` chooses it:

- ``"auto"`` (the default): per shot, the product most in view (mask area, weighed by the tracker's
  score, averaged over ``FOCUS_WINDOW``), or all of them (their union box) while they fit the
  window's safe zone together. Another product takes the focus only when the current one has had
  it for ``FOCUS_DWELL`` and the other is ``FOCUS_MARGIN`` times more in view, so the camera does
  not flip back and forth; "all" is left as soon as the products stop fitting together.
- a product's id or name: that product throughout; ``"all"``: every product (the window widens and
  pads where they do not fit, as for a product too big for it).
- ``[(start_s, end_s, product), ...]``: the marketer's choice per time range; "auto" elsewhere.

Where the product in focus is hidden, the camera does what it does for a hidden product (it waits).
A switch inside a shot is a move, not a jump: the target is left open from the switch for as long
as the camera needs to get there under the motion's speed limit, so the camera waits, then glides
to the new target, arriving as it does (the same glide as for a product that comes back). At a shot
cut the camera cuts. ``CameraPath.focus`` records the ids framed on each frame.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
from pycocotools import mask as coco_mask

from highlighter.errors import HighlighterError
from highlighter.render.presets import MOTIONS, MotionPreset, SafeZone
from highlighter.render.presets import motion as motion_preset
from highlighter.render.presets import safe_zone as safe_zone_preset
from highlighter.trackfile import Track, TrackObject

Rect = tuple[int, int, int, int]
SNAP_TO_CENTRE = 0.08  # of the frame: AutoFlip's "snap to centre" distance for still shots
SWEEP_RESIDUAL = 0.1  # of the window: how far the product may stray from a constant-speed pan
LONG_GAP = 0.5  # s: the product away longer than this: the camera waits, then glides to its return
FOCUS_DWELL = 1.5  # s: auto focus keeps a target at least this long before another may take over
FOCUS_MARGIN = 1.3  # auto focus: another target must be this many times more in view to take over
FOCUS_WINDOW = 1.0  # s: auto focus compares how much each product is in view over this long
AUTO, ALL = "auto", "all"
# "auto", "all", a product's id or name, or the marketer's [(start_s, end_s, product), ...].
Focus = Union[str, Sequence[tuple[float, float, str]], None]


class UnknownProduct(HighlighterError, ValueError):
    """A product id or name that is not one of the track's products."""


class FocusError(HighlighterError, ValueError):
    """Focus time ranges that do not make sense."""


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


def dead_band(values: np.ndarray, band: float) -> np.ndarray:
    """Hysteresis: the output moves only by what ``values`` move beyond ``band`` from it."""
    out = np.empty_like(values)
    held = float(values[0])
    for i, v in enumerate(values.tolist()):
        if abs(v - held) > band:
            held = v - math.copysign(band, v - held)
        out[i] = held
    return out


def limit_speed(path: np.ndarray, limit: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """At most ``limit`` px a frame, forwards then backwards (so the camera starts early instead of
    lagging), with containment re-applied after each step: where both cannot hold, containment wins."""
    p = path.tolist()
    lo_, hi_ = lo.tolist(), hi.tolist()
    for i in range(1, len(p)):
        p[i] = min(max(p[i], p[i - 1] - limit), p[i - 1] + limit)
        p[i] = min(max(p[i], lo_[i]), hi_[i])
    for i in range(len(p) - 2, -1, -1):
        p[i] = min(max(p[i], p[i + 1] - limit), p[i + 1] + limit)
        p[i] = min(max(p[i], lo_[i]), hi_[i])
    return np.array(p)


def taut_string(lo: np.ndarray, hi: np.ndarray, start: float, end: float) -> np.ndarray:
    """The shortest path from ``(0, start)`` to ``(n - 1, end)`` with ``lo[i] <= p[i] <= hi[i]``.

    The taut string through the corridor: piecewise linear, bending only where a bound forces it,
    so it is still where one still window will do and pans at constant speed between bends. It
    minimises every convex function of the velocity at once (the largest move, the sum of squared
    moves) and, with its few bends, the summed |acceleration| is close to the least any path inside
    the corridor can have (the L1-optimal camera of Grundmann et al. 2011). A funnel walk: from
    each bend, go straight as far as the bounds allow; where they close, bend at the tightest one.
    """
    n = lo.size
    path = np.empty(n)
    if n == 0:
        return path
    lo_, hi_ = lo.tolist(), hi.tolist()
    lo_[0] = hi_[0] = float(start)
    lo_[-1] = hi_[-1] = float(end)
    apex, ay = 0, float(start)
    path[0] = ay
    while apex < n - 1:
        smin, smax, jmin, jmax = -math.inf, math.inf, apex + 1, apex + 1
        bend = None
        for k in range(apex + 1, n):
            d = k - apex
            su, sl = (hi_[k] - ay) / d, (lo_[k] - ay) / d
            if sl > smax:  # the lower bound here rises past the upper bound's tightest line
                bend = (jmax, smax)
                break
            if su < smin:
                bend = (jmin, smin)
                break
            if su < smax:
                smax, jmax = su, k
            if sl > smin:
                smin, jmin = sl, k
        if bend is None:
            bend = (n - 1, (lo_[-1] - ay) / (n - 1 - apex))
        j, slope = bend
        path[apex + 1 : j + 1] = ay + slope * np.arange(1, j - apex + 1)
        apex, ay = j, float(path[j])
    return path


def _free_end(lo: np.ndarray, hi: np.ndarray) -> float:
    """Where a path with a free start begins: it is still until a bound makes it move, so at the
    level of the bound it will bend away from (or the middle of the band if nothing does)."""
    top, bottom = math.inf, -math.inf
    for a, b in zip(lo.tolist(), hi.tolist()):
        if a > top:
            return top
        if b < bottom:
            return bottom
        top, bottom = min(top, b), max(bottom, a)
    return (top + bottom) / 2


def l1_path(lo: np.ndarray, hi: np.ndarray, sigma: float, follow: float = 0.0) -> np.ndarray:
    """A still-or-constant-pan camera inside ``[lo, hi]`` with its bends eased over ``sigma`` frames.

    The taut string is planned in the corridor narrowed by how far easing can move it (so the eased
    path still fits), then eased with a Gaussian (which adds no acceleration: it only spreads each
    bend), then clipped to the corridor.
    """
    n = lo.size
    if n < 3:
        return np.clip((lo + hi) / 2, lo, hi)
    slack = np.maximum(hi - lo, 0)
    margin = np.minimum(0.45 * slack, np.maximum(2.0 * sigma, follow * slack))
    a, b = lo + margin, hi - margin
    path = taut_string(a, b, _free_end(a, b), _free_end(a[::-1], b[::-1]))
    if sigma >= 0.5:
        radius = int(3 * sigma)
        kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        kernel /= kernel.sum()
        # Extend linearly past the ends, so a pan that runs to the end is not bent by the padding.
        left = path[0] - (path[1] - path[0]) * np.arange(radius, 0, -1)
        right = path[-1] + (path[-1] - path[-2]) * np.arange(1, radius + 1)
        path = np.convolve(np.concatenate([left, path, right]), kernel, mode="valid")
    return np.clip(path, lo, hi)


def follow_axis(
    starts: np.ndarray,
    lengths: np.ndarray,
    *,
    size: int,
    window: int,
    fps: float,
    motion: MotionPreset | str = "default",
    margins: tuple[float, float] = (0.0, 0.0),
    arrive_on_path: bool = False,
) -> tuple[np.ndarray, str]:
    """Window origins (ints, pixels) along one axis for one shot, and the camera mode chosen.

    ``starts``/``lengths`` are the product box's position and extent on this axis per frame, NaN
    where hidden. ``size`` is the frame's extent, ``window`` the crop's (larger than ``size`` means
    padding: the window is then centred). ``margins`` are the safe zone's (before, after) margins as
    fractions of the window. Modes: ``"steady"``, ``"sweep"`` or ``"track"``.

    ``arrive_on_path``: a glide across a long gap ends where the camera's path after the gap begins
    (no settling move after it), rather than centred on the product; the focus camera of several
    products glides so between them. Off, one product's camera is as it always was.
    """
    m = motion_preset(motion)
    n = starts.size
    room = size - window
    if n == 0:
        return np.zeros(0, dtype=int), "steady"
    if room <= 0:
        return np.full(n, int(math.floor(room / 2)), dtype=int), "steady"
    visible = ~np.isnan(starts)
    if not visible.any():
        return np.full(n, room // 2, dtype=int), "steady"
    s = np.clip(starts, 0, size)
    e = np.clip(starts + lengths, 0, size)
    centre = _hold((s + e) / 2)
    before, after = margins[0] * window, margins[1] * window
    # The origins that keep [s, e] inside the safe zone [o + before, o + window - after].
    lo, hi = e - window + after, s - before
    squeezed = lo > hi  # larger than the safe zone here (zoom failed to cover it): centre it
    mid = (lo + hi) / 2
    lo, hi = np.where(squeezed, mid, lo), np.where(squeezed, mid, hi)
    lo, hi = np.where(visible, lo, 0.0), np.where(visible, hi, float(room))
    lo, hi = np.clip(lo, 0, room), np.clip(hi, 0, room)
    offset = before + (window - before - after) / 2  # the safe zone's centre, from the window's origin
    speed = m.max_speed * size / fps  # px a frame

    low, high = lo[visible].max(), hi[visible].min()
    if low <= high:
        origin = float(np.clip(np.median(centre[visible]) - offset, low, high))
        middle = room / 2
        if low <= middle <= high and abs(origin - middle) < SNAP_TO_CENTRE * size:
            origin = middle
        return _to_pixels(np.full(n, origin), lo, hi, room), "steady"

    seen = np.flatnonzero(visible)
    if n >= fps and seen.size >= 2:
        slope, intercept = np.polyfit(seen, centre[seen] - offset, 1)
        line = intercept + slope * np.arange(n)
        # A pan that the product itself makes: a product that stands still and then jumps can be
        # covered by a pan too, but the camera would then drift past a still product.
        follows = np.abs(line[seen] + offset - centre[seen]).max() <= SWEEP_RESIDUAL * window
        inside = np.all(line[seen] >= lo[seen] - 0.5) and np.all(line[seen] <= hi[seen] + 0.5)
        if abs(slope) <= speed and follows and inside:
            if line.min() >= -0.5 and line.max() <= room + 0.5:
                return _to_pixels(line, lo, hi, room), "sweep"

    target = dead_band(centre, m.dead_band * window) - offset
    path = np.empty(n)
    runs = _sighted_runs(visible, gap=max(1, round(LONG_GAP * fps)))
    parts = [l1_path(lo[start:stop], hi[start:stop], m.smoothing * fps, m.follow) for start, stop in runs]
    for k, (start, stop) in enumerate(runs):
        part = parts[k]
        path[start:stop] = part
        # While the product is away the camera waits where it was last seen, then glides (ease in,
        # ease out) to where it comes back, arriving as it does.
        end = runs[k + 1][0] if k + 1 < len(runs) else n
        if stop < end:
            path[stop:end] = part[-1]
            if k + 1 < len(runs):
                goal = parts[k + 1][0] if arrive_on_path else target[end]
                gap = end - stop
                glide = min(gap, max(2, int(math.ceil(1.5 * abs(goal - part[-1]) / max(speed, 1e-6)))))
                x = np.linspace(0, 1, glide + 2)[1:-1]
                path[end - glide : end] = part[-1] + (goal - part[-1]) * x * x * (3 - 2 * x)
    path[: runs[0][0]] = path[runs[0][0]]
    path = limit_speed(np.clip(path, lo, hi), speed, lo, hi)
    return _to_pixels(path, lo, hi, room), "track"


def _sighted_runs(visible: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Half-open ranges from a sighting to a sighting, split where the product is away for more
    than ``gap`` frames (shorter gaps stay inside a run)."""
    seen = np.flatnonzero(visible)
    runs, start = [], int(seen[0])
    for a, b in zip(seen[:-1].tolist(), seen[1:].tolist()):
        if b - a > gap + 1:
            runs.append((start, a + 1))
            start = b
    runs.append((start, int(seen[-1]) + 1))
    return runs


def _to_pixels(path: np.ndarray, lo: np.ndarray, hi: np.ndarray, room: int) -> np.ndarray:
    """Sub-pixel origins (the compositor crops between pixels: rounding would add a pixel of shake
    on every slow pan), with containment re-applied."""
    origin = np.where(lo <= hi, np.clip(path, lo, hi), path)
    return np.clip(origin, 0, room).astype(float)


def resolve_product(track: Track, key: str) -> str:
    """The id of the product ``key`` names: its id, or its name (case and spacing aside)."""
    if key in track.ids:
        return key
    wanted = " ".join(str(key).split()).casefold()
    for obj in track.objects:
        if " ".join(obj.name.split()).casefold() == wanted:
            return obj.id
    names = ", ".join(o.id if o.name == o.id else f"{o.id} ({o.name})" for o in track.objects)
    raise UnknownProduct(f"This video has no product '{key}'. Its products: {names}.")


def object_boxes(obj: TrackObject, n: int) -> np.ndarray:
    """``(n, 4)`` boxes of one product, NaN rows where it is hidden."""
    boxes = np.full((n, 4), np.nan)
    for i, frame in enumerate(obj.frames[:n]):
        if frame.visible and frame.box:
            boxes[i] = frame.box
    return boxes


def in_view(obj: TrackObject, n: int) -> np.ndarray:
    """Per frame, how much of the product is in view: its mask's area (pixels, the box's when there
    is no mask) weighed by the tracker's score (x0.5 at score 0 .. x1 at 1); 0 where hidden."""
    out = np.zeros(n)
    for i, frame in enumerate(obj.frames[:n]):
        if not (frame.visible and frame.box):
            continue
        if frame.mask is not None:
            rle = {"size": list(frame.mask["size"]), "counts": frame.mask["counts"].encode("ascii")}
            area = float(coco_mask.area(rle))
        else:
            area = float(frame.box[2] * frame.box[3])
        out[i] = area * (0.5 + 0.5 * min(max(float(frame.score), 0.0), 1.0))
    return out


def _union(boxes: np.ndarray) -> np.ndarray:
    """``(K, n, 4)`` boxes -> ``(n, 4)``: per frame the union of the visible ones, NaN where none is."""
    hidden = np.isnan(boxes[..., 0])
    x0 = np.where(hidden, np.inf, boxes[..., 0]).min(axis=0)
    y0 = np.where(hidden, np.inf, boxes[..., 1]).min(axis=0)
    x1 = np.where(hidden, -np.inf, boxes[..., 0] + boxes[..., 2]).max(axis=0)
    y1 = np.where(hidden, -np.inf, boxes[..., 1] + boxes[..., 3]).max(axis=0)
    out = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
    out[hidden.all(axis=0)] = np.nan
    return out


def _moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """The centred moving mean of ``values`` (last axis) over ``width`` frames, shorter at the ends."""
    kernel = np.ones(width)
    count = np.convolve(np.ones(values.shape[-1]), kernel, mode="same")
    return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), -1, values) / count


def _travel(a: np.ndarray, b: np.ndarray, speed: tuple[float, float], fps: float) -> int:
    """Frames the camera takes to glide from box ``a`` to box ``b`` under the speed limit ``speed``
    (px a frame, x and y): the glide eases in and out, so its top speed is 1.5x its mean."""
    dx = abs((a[0] + a[2] / 2) - (b[0] + b[2] / 2)) / max(speed[0], 1e-6)
    dy = abs((a[1] + a[3] / 2) - (b[1] + b[3] / 2)) / max(speed[1], 1e-6)
    return max(round(0.3 * fps), int(math.ceil(1.5 * max(dx, dy))) + 2)


def _auto_focus(
    views: np.ndarray,
    targets: np.ndarray,
    fits: np.ndarray,
    labels: list[str],
    shots: list[tuple[int, int]],
    fps: float,
    speed: tuple[float, float],
) -> list[str]:
    """Per frame, the auto focus (see the module docstring): a product's id, or ``ALL``.

    ``views`` ``(K, n)`` is how much each product is in view, ``targets`` ``(K + 1, n, 4)`` the boxes
    the camera would follow for each product and for ALL. The dwell counts from when the camera has
    arrived at its new target, so it stays a while with each product it goes to.
    """
    k, n = views.shape
    width = 2 * max(1, round(FOCUS_WINDOW * fps / 2)) + 1
    dwell = max(1, round(FOCUS_DWELL * fps))
    out: list[str] = [labels[0]] * n
    labels = [*labels, ALL]

    def arrival(i: int, old: int, new: int, start: int, stop: int) -> int:
        """When the camera, switching at ``i`` from target ``old`` to ``new``, is there."""
        before = np.flatnonzero(~np.isnan(targets[old, start:i, 0]))
        after = np.flatnonzero(~np.isnan(targets[new, i:stop, 0]))
        if before.size == 0 or after.size == 0:
            return i
        return i + after[0] + _travel(targets[old, start + before[-1]], targets[new, i + after[0]], speed, fps)

    for start, stop in shots:
        view = _moving_mean(views[:, start:stop], width)
        together = _moving_mean(fits[start:stop].astype(float), width) > 1 - 1e-9  # fit all the window long
        # ALL is taken only where they will fit together for the dwell and half a window to come (or
        # to the shot's end), so it is not left again at once; it is kept while ``together`` holds.
        part = np.concatenate([fits[start:stop], [False]])
        breaks = np.flatnonzero(~part)
        next_break = breaks[np.searchsorted(breaks, np.arange(stop - start))]
        lasting = (next_break >= np.minimum(stop - start, np.arange(stop - start) + dwell + width // 2)) & together
        scores = np.vstack([view, np.where(lasting, view.sum(axis=0), 0.0)])  # the products, then ALL
        current = int(np.argmax(scores[:, 0]))  # a tie goes to a product before ALL, the first before the next
        since = start  # when the camera got to the current target
        out[start] = labels[current]
        for i in range(start + 1, stop):
            j = i - start
            if current == k and not together[j]:  # they no longer fit together: the one most in view
                best = int(np.argmax(view[:, j]))
                current, since = best, arrival(i, current, best, start, stop)
            else:
                if current == k:
                    scores[k, j] = view[:, j].sum()  # while ALL holds, it is scored as such
                best = int(np.argmax(scores[:, j]))
                if best != current and i - since >= dwell and scores[best, j] > FOCUS_MARGIN * scores[current, j]:
                    current, since = best, arrival(i, current, best, start, stop)
            out[i] = labels[current]
    return out


def focus_ranges(items: Sequence) -> list[tuple[float, float, str]]:
    """The marketer's focus ranges ``[(start_s, end_s, product), ...]`` checked and in time order
    (the product as given: an id, a name or ``"all"``, stripped). A range ends where the next may
    start; ``FocusError`` for one that is not three values, has a negative or non-finite time,
    ends before it starts, or overlaps another. The web app checks a render's ranges with this
    before it queues the render, the engine again before it plans the camera."""
    out = []
    for item in items:
        try:
            if isinstance(item, (str, bytes)):
                raise TypeError(item)
            start_s, end_s, key = item
            start_s, end_s = float(start_s), float(end_s)
        except (TypeError, ValueError):
            raise FocusError(f"A focus range is (start seconds, end seconds, product), got {item!r}.") from None
        if not (math.isfinite(start_s) and math.isfinite(end_s) and 0 <= start_s < end_s):
            raise FocusError(f"A focus range must start at 0 s or later and end after it starts, got {start_s:g}-{end_s:g} s.")
        out.append((start_s, end_s, str(key).strip()))
    out.sort()
    for (s0, e0, _), (s1, e1, _) in zip(out, out[1:]):
        if s1 < e0:
            raise FocusError(f"The focus range {s1:g}-{e1:g} s overlaps {s0:g}-{e0:g} s. Give each moment one product.")
    return out


def focus_targets(
    track: Track,
    focus: Focus,
    *,
    fits: tuple[float, float],
    shots: list[tuple[int, int]],
    speed: tuple[float, float],
) -> tuple[np.ndarray, list[str], str]:
    """What the camera follows on each frame of a track of several products.

    ``fits`` is the safe zone's ``(w, h)`` in source pixels (products fit together when their union
    box does), ``speed`` the camera's speed limit ``(x, y)`` in px a frame. Returns the target boxes
    ``(n, 4)`` (NaN where the target is hidden, or while the camera moves to a new one), the focus
    per frame (an id, or ``ALL``), and the focus mode (``"auto"``, ``"all"``, an id, ``"ranges"``).
    """
    n = len(track.frames)
    fps = float(track.video.get("fps") or 25.0)
    ids = track.ids
    boxes = np.stack([object_boxes(o, n) for o in track.objects])
    union = _union(boxes)

    def auto() -> list[str]:
        views = np.stack([in_view(o, n) for o in track.objects])
        fits_now = ~np.isnan(union[:, 0]) & (union[:, 2] <= fits[0]) & (union[:, 3] <= fits[1])
        return _auto_focus(views, np.concatenate([boxes, union[None]]), fits_now, ids, shots, fps, speed)

    if focus is None or (isinstance(focus, str) and focus.strip().lower() == AUTO):
        labels, mode = auto(), AUTO
    elif isinstance(focus, str):
        key = focus.strip()
        if key.lower() == ALL:
            labels, mode = [ALL] * n, ALL
        else:
            chosen = resolve_product(track, key)
            labels, mode = [chosen] * n, chosen
    else:
        labels, mode = auto(), "ranges"
        for start_s, end_s, key in focus_ranges(focus):
            chosen = ALL if key.lower() == ALL else resolve_product(track, key)
            first, last = math.ceil(start_s * fps - 1e-6), min(n, math.ceil(end_s * fps - 1e-6))
            labels[first:last] = [chosen] * max(0, last - first)

    index = {object_id: k for k, object_id in enumerate(ids)}
    target = np.array([union[i] if label == ALL else boxes[index[label], i] for i, label in enumerate(labels)])
    if n == 0:
        return np.full((0, 4), np.nan), labels, mode
    # A switch inside a shot: leave the target open while the camera glides to the new one.
    for start, stop in shots:
        switches = [i for i in range(start + 1, stop) if labels[i] != labels[i - 1]]
        for j, f in enumerate(switches):
            end = switches[j + 1] if j + 1 < len(switches) else stop
            before = np.flatnonzero(~np.isnan(target[start:f, 0]))
            after = np.flatnonzero(~np.isnan(target[f:end, 0]))
            if before.size == 0 or after.size == 0:
                continue  # nothing to move from or to: the camera holds, as for a hidden product
            frames = after[0] + _travel(target[start + before[-1]], target[f + after[0]], speed, fps)
            target[f : min(end, f + frames)] = np.nan
    return target, labels, mode


@dataclass
class ShotPlan:
    start: int  # first frame
    stop: int  # one past the last frame
    mode: str  # "steady", "sweep" or "track" (the busier of the two axes)
    zoom: float  # window size / the largest window of the aspect; > 1 means padding


@dataclass
class CameraPath:
    """The reframe camera for a whole video: one window per frame, and how each shot was shot."""

    width: int  # source frame, px
    height: int
    fps: float
    aspect: tuple[int, int]
    motion: str
    safe_zone: SafeZone
    windows: np.ndarray  # (n, 4): x, y (sub-pixel), w, h (whole) in source px
    shots: list[ShotPlan] = field(default_factory=list)
    # Several products only (None for one): the ids the camera frames on each frame, the focus mode
    # ("auto", "all", an id, "ranges") and the products as (id, name), in the track's order.
    focus: list[tuple[str, ...]] | None = None
    focus_mode: str | None = None
    products: list[tuple[str, str]] | None = None

    def rects(self) -> list[Rect]:
        return [tuple(int(round(v)) for v in row) for row in self.windows]  # type: ignore[misc]

    def to_dict(
        self, *, output_size: tuple[int, int] | None = None, per_product: dict[str, CameraPath] | None = None
    ) -> dict[str, Any]:
        """The crop path for editors: windows in source pixels per frame, and the shots.

        With several products, each frame also says which products are in ``focus`` (their ids),
        ``focus`` at the top gives the mode and the products, and ``per_product`` (the camera that
        would follow each product alone, e.g. from ``product_cameras``) is added as ``products``.
        One product's document is as it always was.
        """
        data = self._document(output_size)
        if self.focus is not None:
            for frame, ids in zip(data["frames"], self.focus):
                frame["focus"] = list(ids)
            data["focus"] = {"mode": self.focus_mode, "products": [{"id": i, "name": n} for i, n in self.products or []]}
        if per_product:
            names = dict(self.products or [])
            data["products"] = [
                {"id": object_id, "name": names.get(object_id, object_id),
                 "frames": [{"index": i, "x": round(x, 2), "y": round(y, 2), "w": int(w), "h": int(h)}
                            for i, (x, y, w, h) in enumerate(camera.windows.tolist())]}
                for object_id, camera in per_product.items()
            ]  # fmt: skip
        return data

    def _document(self, output_size: tuple[int, int] | None) -> dict[str, Any]:
        zone = self.safe_zone
        return {
            "version": 1,
            "units": "source pixels, origin top-left, x and y sub-pixel; a window may extend past the frame (padded with blur)",
            "source": {"width": self.width, "height": self.height, "fps": self.fps, "frame_count": len(self.windows)},
            "aspect": f"{self.aspect[0]}:{self.aspect[1]}",
            "output": {"width": output_size[0], "height": output_size[1]} if output_size else None,
            "motion": self.motion,
            "safe_zone": {"top": zone.top, "bottom": zone.bottom, "left": zone.left, "right": zone.right},
            "shots": [{"start": s.start, "end": s.stop - 1, "mode": s.mode, "zoom": round(s.zoom, 4)} for s in self.shots],
            "frames": [
                {"index": i, "time": round(i / self.fps, 6), "x": round(x, 2), "y": round(y, 2), "w": int(w), "h": int(h)}
                for i, (x, y, w, h) in enumerate(self.windows.tolist())
            ],
        }

    def save(
        self, path: str | Path, *, output_size: tuple[int, int] | None = None, per_product: dict[str, CameraPath] | None = None
    ) -> None:
        Path(path).write_text(json.dumps(self.to_dict(output_size=output_size, per_product=per_product)))


_BUSIER = {"steady": 0, "sweep": 1, "track": 2}


def plan_camera(
    track: Track,
    *,
    aspect: tuple[int, int] = (9, 16),
    motion: MotionPreset | str = "default",
    safe_zone: SafeZone | str | tuple[float, float, float, float] | None = "none",
    focus: Focus = None,
) -> CameraPath:
    """The camera for ``track`` reframed to ``aspect``: see the module docstring for the steps.

    ``focus`` chooses the product the camera follows when the track has several (see the module
    docstring; default ``"auto"``); a one-product track is followed as it always was.
    """
    m = motion_preset(motion)
    zone = safe_zone_preset(safe_zone)
    width, height = track.width, track.height
    cw, ch = window_size(width, height, aspect)
    n = len(track.frames)
    fps = float(track.video.get("fps") or 25.0)
    safe_w, safe_h = 1 - zone.left - zone.right, 1 - zone.top - zone.bottom
    labels: list[str] | None = None
    if len(track.objects) > 1:
        speed = (m.max_speed * width / fps, m.max_speed * height / fps)
        boxes, labels, mode = focus_targets(track, focus, fits=(cw * safe_w, ch * safe_h),
                                            shots=shot_ranges(track.shots, n), speed=speed)  # fmt: skip
    else:
        if isinstance(focus, str) and focus.strip().lower() not in (AUTO, ALL):
            resolve_product(track, focus.strip())  # a name that is not this track's product: say so
        boxes = object_boxes(track.objects[0], n)
    windows = np.zeros((n, 4))
    plans: list[ShotPlan] = []
    most = max(width / cw, height / ch) / min(safe_w, safe_h)  # past this the whole frame shows anyway
    for start, stop in shot_ranges(track.shots, n):
        part = boxes[start:stop]
        seen = ~np.isnan(part[:, 0])
        zoom = 1.0
        if seen.any():
            x0, y0 = np.clip(part[seen, 0], 0, width), np.clip(part[seen, 1], 0, height)
            x1 = np.clip(part[seen, 0] + part[seen, 2], 0, width)
            y1 = np.clip(part[seen, 1] + part[seen, 3], 0, height)
            need = max(float(np.max(x1 - x0)) / (cw * safe_w), float(np.max(y1 - y0)) / (ch * safe_h))
            zoom = min(max(1.0, need * 1.01), most)  # 1% slack: rounding must not squeeze it back out
        ww, wh = (cw, ch) if zoom == 1.0 else (int(math.ceil(cw * zoom / 2)) * 2, int(math.ceil(ch * zoom / 2)) * 2)
        several = labels is not None
        xs, mode_x = follow_axis(part[:, 0], part[:, 2], size=width, window=ww, fps=fps, motion=m,
                                 margins=(zone.left, zone.right), arrive_on_path=several)  # fmt: skip
        ys, mode_y = follow_axis(part[:, 1], part[:, 3], size=height, window=wh, fps=fps, motion=m,
                                 margins=(zone.top, zone.bottom), arrive_on_path=several)  # fmt: skip
        windows[start:stop] = np.stack([xs, ys, np.full_like(xs, ww), np.full_like(xs, wh)], axis=1)
        plans.append(ShotPlan(start, stop, max(mode_x, mode_y, key=_BUSIER.get), zoom))
    name = next((k for k, v in MOTIONS.items() if v == m), "custom")
    camera = CameraPath(width, height, fps, tuple(aspect), name, zone, windows, plans)
    if labels is not None:
        every = tuple(track.ids)
        camera.focus = [every if label == ALL else (label,) for label in labels]
        camera.focus_mode = mode
        camera.products = [(o.id, o.name) for o in track.objects]
    return camera


def product_cameras(
    track: Track,
    *,
    aspect: tuple[int, int] = (9, 16),
    motion: MotionPreset | str = "default",
    safe_zone: SafeZone | str | tuple[float, float, float, float] | None = "none",
) -> dict[str, CameraPath]:
    """Per product id, the camera that would follow that product alone (the editors' crop path per
    product); empty for a one-product track, whose camera already is that."""
    if len(track.objects) < 2:
        return {}
    return {o.id: plan_camera(track.single(o.id), aspect=aspect, motion=motion, safe_zone=safe_zone) for o in track.objects}


def crop_path(
    track: Track,
    *,
    aspect: tuple[int, int] = (9, 16),
    motion: MotionPreset | str = "default",
    safe_zone: SafeZone | str | tuple[float, float, float, float] | None = "none",
    focus: Focus = None,
) -> list[Rect]:
    """Per frame of ``track``, the ``(x, y, w, h)`` window in source pixels (see ``plan_camera``)."""
    return plan_camera(track, aspect=aspect, motion=motion, safe_zone=safe_zone, focus=focus).rects()
