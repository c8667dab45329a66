"""The compositor: stream a video's frames through the reframe window and the looks into encoders.

One decode feeds every output of a render (several aspects or looks of one track, the overlay, the
mask sequence), and only a few frames are in memory at a time::

    decoder thread:  ffmpeg -> raw I420 frames (the decoder's own format: no conversion, half the bytes)
    main thread:     matte (source px) -> per output: crop the window, convert only that to RGB,
                     scale to the output size, pad, map the matte, lay the looks' layers over it
    encoder threads: RGB -> I420 (OpenCV) -> ffmpeg (scale) libx264 (+ the source's audio); RGBA overlay; PNGs

Pipe reads and writes and OpenCV calls release the GIL, so decoding, drawing and encoding overlap.
Each output has the same frame count and frame rate as the input, so it lasts as long.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.errors import MediaError
from highlighter.media import VideoInfo, VideoWriter, iter_frames, prefetched, probe
from highlighter.render.layers import OverlayCanvas, blend
from highlighter.render.matte import Matte, MatteStream, union_matte
from highlighter.render.outputs import MaskSequenceWriter, OverlayWriter, product_file_name
from highlighter.render.presets import ASPECTS, SafeZone, safe_zone as safe_zone_preset
from highlighter.render.products import ProductLook, plan_looks
from highlighter.render.reframe import CameraPath, Focus, ShotPlan, plan_camera, product_cameras, shot_ranges, window_size
from highlighter.trackfile import Track

PROGRESS_EVERY = 10  # frames: a callback per frame costs a database write in the worker
SHORT_SIDE = 1080  # px: the default output's short side for a reframe ("9:16" -> 1080x1920)
QUEUE_DEPTH = 3  # frames waiting between threads: enough to overlap the stages, little memory


def parse_aspect(aspect: str) -> tuple[int, int]:
    """``"9:16"`` -> ``(9, 16)`` (width:height); any positive ``W:H`` is a custom aspect."""
    try:
        w, h = (int(part) for part in aspect.split(":"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"aspect must look like '9:16', got {aspect!r}") from None
    return w, h


def default_size(aspect: tuple[int, int]) -> tuple[int, int]:
    """The output ``(width, height)`` for an aspect: a preset's size, else short side 1080 px, even."""
    for preset in ASPECTS.values():
        if preset.aspect == tuple(aspect):
            return preset.size
    w, h = aspect
    long_side = round(SHORT_SIDE * max(w, h) / min(w, h) / 2) * 2
    return (SHORT_SIDE, long_side) if w <= h else (long_side, SHORT_SIDE)


@dataclass
class RenderSpec:
    """One output of a render. ``aspect`` None keeps the source framing (at ``out_size`` if given).

    ``look_options`` maps a look name to its settings (``presets.LOOK_CHOICES``); ``motion`` and
    ``safe_zone`` name presets (``presets.MOTIONS``, ``presets.SAFE_ZONES``) or are custom values.
    ``overlay_path`` (.webm or .mov), ``masks_dir`` and ``crop_path_out`` (JSON) are the editors'
    outputs, in the output's pixels (the crop path in source pixels).

    A track of several products: ``products`` maps a product's id or name to its ``ProductLook``
    (its looks, settings, colour, label; ``products.py``): the others get ``styles`` in their palette
    colour (``presets.PRODUCT_COLOURS``) with their name as the label. ``focus`` is whom the reframe
    camera follows (``reframe.py``): ``"auto"`` (None), ``"all"``, a product's id or name, or
    ``[(start_s, end_s, product), ...]``. ``masks_dir`` then holds a folder of PNGs per product
    (``outputs.product_file_name``), and the crop path records the focus per frame and each
    product's own path. The overlay holds every product's looks, as the MP4 does.
    """

    out_path: str | Path
    styles: Sequence[str] = ("spotlight",)
    aspect: str | None = "9:16"
    out_size: tuple[int, int] | None = None
    motion: str = "default"
    safe_zone: str | SafeZone | tuple[float, float, float, float] | None = "default"
    look_options: Mapping[str, Mapping[str, Any]] | None = None
    overlay_path: str | Path | None = None
    masks_dir: str | Path | None = None
    crop_path_out: str | Path | None = None
    products: Mapping[str, ProductLook] | None = None
    focus: Focus = None


def _even(value: int) -> int:
    return max(2, value // 2 * 2)


def _resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (frame.shape[1], frame.shape[0]) == size:
        return frame.copy()  # the caller draws on it; the decoded frame is read-only
    shrinking = size[0] * size[1] < frame.shape[0] * frame.shape[1]
    # AREA averages the pixels it drops (no aliasing shimmer); LINEAR is the cheap smooth upscale.
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def rgb_region(frame: np.ndarray, width: int, height: int, x: int, y: int, w: int, h: int) -> np.ndarray:
    """RGB pixels of the source rectangle ``(x, y, w, h)`` (inside the frame) of a decoded frame.

    ``frame`` is RGB ``(H, W, 3)`` or I420 ``(H * 3 / 2, W)``; for I420 only the rectangle (grown to
    even edges, for the half-resolution chroma) is converted, so a 9:16 window of a 16:9 frame costs
    a third of a full conversion.
    """
    if frame.ndim == 3:
        return frame[y : y + h, x : x + w]
    x0, y0 = x & ~1, y & ~1
    x1, y1 = min(width, (x + w + 1) & ~1), min(height, (y + h + 1) & ~1)
    cw, ch = x1 - x0, y1 - y0
    flat = frame.reshape(-1)
    luma, quarter = width * height, width * height // 4
    u = flat[luma : luma + quarter].reshape(height // 2, width // 2)
    v = flat[luma + quarter : luma + 2 * quarter].reshape(height // 2, width // 2)
    buf = np.empty((ch * 3 // 2, cw), np.uint8)
    out = buf.reshape(-1)
    buf[:ch] = frame[y0:y1, x0:x1]
    out[cw * ch : cw * ch + cw * ch // 4] = u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2].reshape(-1)
    out[cw * ch + cw * ch // 4 :] = v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2].reshape(-1)
    return cv2.cvtColor(buf, cv2.COLOR_YUV2RGB_I420)[y - y0 : y - y0 + h, x - x0 : x - x0 + w]


def blurred_fill(content: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A background for padding: ``content`` scaled to cover ``size``, heavily blurred and dimmed."""
    out_w, out_h = size
    ch, cw = content.shape[:2]
    if cw * out_h > ch * out_w:  # wider than the output: take the middle part
        keep = max(1, ch * out_w // out_h)
        content = content[:, (cw - keep) // 2 : (cw - keep) // 2 + keep]
    else:
        keep = max(1, cw * out_h // out_w)
        content = content[(ch - keep) // 2 : (ch - keep) // 2 + keep]
    # Blurring a 1/24 size copy looks the same as a huge blur at full size, at a fraction of the cost.
    small = cv2.resize(content, (max(2, out_w // 24), max(2, out_h // 24)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.5, borderType=cv2.BORDER_REFLECT)
    return cv2.convertScaleAbs(cv2.resize(small, size, interpolation=cv2.INTER_LINEAR), alpha=0.7)


def window_picture(frame: np.ndarray, width: int, height: int, window: tuple[float, float, int, int], size: tuple[int, int]) -> np.ndarray:
    """The output picture (RGB, ``size``) showing source ``window``; past the frame's edge, padding.

    ``x, y`` may be sub-pixel: inside the frame and not shrinking, the window is cropped between
    pixels (a linear blend of the two neighbouring whole-pixel crops, at source resolution, before
    scaling), so a slow pan glides instead of stepping a whole source pixel (1.8 output pixels at
    9:16) at a time. Shrinking outputs and padded windows are cropped at the nearest whole pixel.
    """
    x, y, w, h = window
    w, h = int(w), int(h)
    ix, iy = math.floor(x), math.floor(y)
    dx, dy = x - ix, y - iy
    if dx < 1e-3 or dx > 1 - 1e-3:
        ix, dx = int(round(x)), 0.0
    if dy < 1e-3 or dy > 1 - 1e-3:
        iy, dy = int(round(y)), 0.0
    inside = ix >= 0 and iy >= 0 and ix + w + (dx > 0) <= width and iy + h + (dy > 0) <= height
    if (dx or dy) and inside and size[0] >= w:
        content = rgb_region(frame, width, height, ix, iy, w + (dx > 0), h + (dy > 0))
        if dx:
            content = cv2.addWeighted(content[:, :w], 1 - dx, content[:, 1:], dx, 0)
        if dy:
            content = cv2.addWeighted(content[:h], 1 - dy, content[1:], dy, 0)
        return _resize(content, size)
    x, y = int(round(x)), int(round(y))
    ix0, iy0, ix1, iy1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    content = rgb_region(frame, width, height, ix0, iy0, ix1 - ix0, iy1 - iy0)
    if (ix0, iy0, ix1, iy1) == (x, y, x + w, y + h):
        return _resize(content, size)
    sx, sy = size[0] / w, size[1] / h
    ox0, oy0 = round((ix0 - x) * sx), round((iy0 - y) * sy)
    ox1, oy1 = min(size[0], round((ix1 - x) * sx)), min(size[1], round((iy1 - y) * sy))
    picture = blurred_fill(content, size)
    picture[oy0:oy1, ox0:ox1] = _resize(content, (ox1 - ox0, oy1 - oy0))
    return picture


class _Background:
    """A sink's ``write`` run on its own thread behind a small queue (encoding overlaps drawing)."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self._queue: queue.Queue = queue.Queue(QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self.sink.write(item)
                except BaseException as e:  # handed to the main thread at its next write
                    self._error = e

    def write(self, frame: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(frame)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        self.sink.close()

    def abort(self) -> None:
        while True:  # drop what is queued so the thread sees the end at once
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join()
        self.sink.abort()


def _off_picture(matte: Matte) -> bool:
    """Whether a (mapped) product lies wholly outside the picture: nothing of it shows."""
    if matte.alpha is not None or matte.box is None:
        return False
    height, width = matte.shape
    x, y, w, h = matte.box
    return x + w <= 0 or y + h <= 0 or x >= width or y >= height


class _Output:
    """The state of one ``RenderSpec`` during a render: its camera, looks and writers."""

    def __init__(self, spec: RenderSpec, info: VideoInfo, track: Track) -> None:
        self.spec = spec
        self.track = track
        self.steps = plan_looks(track, spec.styles, spec.look_options, spec.products)
        self.looks = [step.look for step in self.steps]
        self.several = len(track.objects) > 1
        # Several products: one mask folder each. One product: the folder itself, as it always was.
        self.mask_dirs: list[tuple[int, Path]] = []
        if spec.masks_dir:
            if len(track.objects) == 1:
                self.mask_dirs = [(0, Path(spec.masks_dir))]
            else:
                self.mask_dirs = [(k, Path(spec.masks_dir) / product_file_name(o.id, o.name)) for k, o in enumerate(track.objects)]
        # The products whose mattes this output needs.
        self.needed = {k for step in self.steps for k in step.members} | {k for k, _ in self.mask_dirs}
        n = max(1, len(track.frames))
        if spec.aspect is None:
            w, h = _even(info.width), _even(info.height)
            self.size = spec.out_size or (w, h)
            windows = np.tile(np.array([0, 0, w, h]), (n, 1))
            self.camera = CameraPath(info.width, info.height, info.fps, (w, h), "none",
                                     safe_zone_preset(None), windows, [ShotPlan(0, n, "steady", 1.0)])  # fmt: skip
        else:
            ratio = parse_aspect(spec.aspect)
            self.size = spec.out_size or default_size(ratio)
            cw, ch = window_size(info.width, info.height, ratio)
            if abs(self.size[0] / self.size[1] - cw / ch) > 0.02 * cw / ch:
                raise ValueError(f"out_size {self.size} does not have the aspect {spec.aspect}")
            if track.frames:
                self.camera = plan_camera(track, aspect=ratio, motion=spec.motion, safe_zone=spec.safe_zone,
                                          focus=spec.focus)  # fmt: skip
            else:
                windows = np.tile(np.array([(info.width - cw) // 2, (info.height - ch) // 2, cw, ch]), (n, 1))
                self.camera = CameraPath(info.width, info.height, info.fps, ratio, spec.motion,
                                         safe_zone_preset(spec.safe_zone), windows, [])  # fmt: skip
        if self.size[0] % 2 or self.size[1] % 2:
            raise ValueError(f"out_size must be even for H.264, got {self.size}")
        self.cuts = {start for start, _ in shot_ranges(track.shots, len(track.frames))}
        self.canvas = OverlayCanvas(self.size[1], self.size[0]) if spec.overlay_path else None
        self.sinks: list[_Background] = []

    def open(self, video_path: Path, fps: float) -> None:
        width, height = self.size
        # When the camera's window has one size and the output enlarges it (a 9:16 window of a 1080p
        # source is 608 px wide, the output 1080), draw the looks at the window's size and let the
        # encoder scale: a third of the pixels to draw, convert and pipe. Looks size themselves from
        # the picture's short side, so they look the same. Editor outputs keep the output size.
        sizes = np.unique(np.asarray(self.camera.windows)[:, 2:].astype(int), axis=0)
        self.work_size = self.size
        if (
            self.spec.aspect is not None
            and not self.spec.overlay_path
            and not self.spec.masks_dir
            and len(sizes) == 1
            and sizes[0][0] < width
        ):
            self.work_size = (int(sizes[0][0]), int(sizes[0][1]))
        # I420 into the encoder: half the bytes of RGB, and ffmpeg's scaler then only resamples planes
        # (as a bare crop-and-scale does) instead of converting colour as well. Odd sizes have no
        # exact I420 layout, so they go as RGB.
        self.yuv = self.work_size[0] % 2 == 0 and self.work_size[1] % 2 == 0
        writer = VideoWriter(
            self.spec.out_path, *self.work_size, fps, audio_from=video_path,
            pix_fmt="yuv420p" if self.yuv else "rgb24",
            scale_to=self.size if self.work_size != self.size else None,
        )  # fmt: skip
        self.video = _Background(writer)
        self.sinks.append(self.video)
        if self.spec.overlay_path:
            self.overlay = _Background(OverlayWriter(self.spec.overlay_path, width, height, fps))
            self.sinks.append(self.overlay)
        self.masks = []
        for k, directory in self.mask_dirs:
            self.masks.append((k, _Background(MaskSequenceWriter(directory, width, height))))
            self.sinks.append(self.masks[-1][1])

    def add(self, frame: np.ndarray, index: int, width: int, height: int, mattes: Sequence[Matte | None]) -> None:
        """Draw frame ``index``; ``mattes`` has one matte per product of the track (None where this
        output does not need it)."""
        x, y, w, h = self.camera.windows[min(index, len(self.camera.windows) - 1)].tolist()
        window = (x, y, int(w), int(h))
        picture = window_picture(frame, width, height, window, self.work_size)  # type: ignore[arg-type]
        local = {k: mattes[k].mapped(window, self.work_size) for k in self.needed}  # type: ignore[union-attr,arg-type]
        if index in self.cuts:
            for look in self.looks:
                look.reset()
        if self.canvas is not None:
            self.canvas.clear()
        for step in self.steps:
            matte = union_matte([local[k] for k in step.members])
            if self.several and not step.whole_frame and _off_picture(matte):
                continue  # another product is in focus: no label or inset pinned to the edge for this one
            layer = step.look.layer(picture, matte)
            picture = blend(picture, layer, matte.presence, inplace=True)  # our own array
            if self.canvas is not None:
                self.canvas.paint(layer, matte.presence)
        # At the window's size when the encoder scales up (see ``open``).
        self.video.write(cv2.cvtColor(picture, cv2.COLOR_RGB2YUV_I420) if self.yuv else picture)
        if self.canvas is not None:
            self.overlay.write(self.canvas.rgba())
        for k, sink in self.masks:
            sink.write(local[k].full())

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
        if self.spec.crop_path_out:
            per_product = None
            if self.spec.aspect is not None and self.camera.focus is not None:
                per_product = product_cameras(self.track, aspect=self.camera.aspect, motion=self.spec.motion,
                                              safe_zone=self.spec.safe_zone)  # fmt: skip
            self.camera.save(self.spec.crop_path_out, output_size=self.size, per_product=per_product)

    def abort(self) -> None:
        for sink in self.sinks:
            sink.abort()


def render_outputs(
    video_path: str | Path,
    track: Track,
    specs: Sequence[RenderSpec],
    *,
    progress: Callable[[float], None] | None = None,
) -> list[VideoInfo]:
    """Render every ``RenderSpec`` from one decode of ``video_path``; returns each MP4's ``probe``.

    ``progress(fraction)`` is called with 0..1 every few frames; if it raises (a cancel), every
    partial output is removed and the exception propagates.
    """
    video_path = Path(video_path)
    info = probe(video_path)
    if (track.width, track.height) != (info.width, info.height):
        raise MediaError(
            f"This track was made for a {track.width}x{track.height} video, but this video is "
            f"{info.width}x{info.height}. Track the product in this video again, then render."
        )
    outputs = [_Output(spec, info, track) for spec in specs]  # bad settings fail before any encoding
    needed = sorted(set().union(*(out.needed for out in outputs)))
    # One stream per product some output draws (a product without looks or masks costs nothing).
    if len(track.objects) == 1:
        streams = {0: MatteStream(track)} if needed else {}
    else:
        streams = {k: MatteStream(track.single(track.objects[k].id)) for k in needed}
    # I420 halves the pipe and skips ffmpeg's colour conversion; odd sizes have no exact I420 layout.
    pix_fmt = "yuv420p" if info.width % 2 == 0 and info.height % 2 == 0 else "rgb24"
    total = max(1, info.frame_count)
    threads = cv2.getNumThreads()
    # The encoders and the decoder already keep both cores busy; OpenCV's own thread pool on
    # product-sized patches costs more in hand-offs than it gains.
    cv2.setNumThreads(1)
    opened: list[_Output] = []
    try:
        for out in outputs:
            out.open(video_path, info.fps)
            opened.append(out)
        count = 0
        for index, frame in enumerate(prefetched(iter_frames(video_path, pix_fmt=pix_fmt, info=info), QUEUE_DEPTH)):
            mattes = [streams[k].matte(index) if k in streams else None for k in range(len(track.objects))]
            for out in outputs:
                out.add(frame, index, info.width, info.height, mattes)
            count += 1
            if progress and index % PROGRESS_EVERY == 0:
                progress(min(index / total, 0.99))
        if count == 0:
            raise MediaError("This video has no frames that could be decoded. Export it again and re-upload.")
        for out in outputs:
            out.close()
    except BaseException:
        for out in opened:
            out.abort()
        raise
    finally:
        cv2.setNumThreads(threads)
    if progress:
        progress(1.0)
    return [probe(out.spec.out_path, count_frames=True) for out in outputs]


def render_video(
    video_path: str | Path,
    track: Track,
    out_path: str | Path,
    *,
    styles: Sequence[str] = ("spotlight",),
    aspect: str | None = "9:16",
    out_size: tuple[int, int] | None = None,
    progress: Callable[[float], None] | None = None,
    motion: str = "default",
    safe_zone: str | SafeZone | tuple[float, float, float, float] | None = "default",
    look_options: Mapping[str, Mapping[str, Any]] | None = None,
    overlay_path: str | Path | None = None,
    masks_dir: str | Path | None = None,
    crop_path_out: str | Path | None = None,
    products: Mapping[str, ProductLook] | None = None,
    focus: Focus = None,
) -> VideoInfo:
    """Render ``video_path`` with the looks ``styles`` drawn from ``track``, optionally reframed.

    ``aspect`` ``"9:16"`` (or ``"1:1"``, ``"4:5"``, ``"16:9"``, any ``"W:H"``) frames a window that
    follows the product and scales it to ``out_size`` (``(width, height)`` pixels; default: the
    preset's size, 1080 px on the short side). ``None`` keeps the whole frame at the source size, or at
    ``out_size``. The rest (``products`` and ``focus`` for a track of several products) is
    ``RenderSpec``'s. Returns the output's ``probe`` (frames counted).
    """
    spec = RenderSpec(
        out_path=out_path, styles=tuple(styles), aspect=aspect, out_size=out_size, motion=motion,
        safe_zone=safe_zone, look_options=look_options, overlay_path=overlay_path, masks_dir=masks_dir,
        crop_path_out=crop_path_out, products=products, focus=focus,
    )  # fmt: skip
    return render_outputs(video_path, track, [spec], progress=progress)[0]
