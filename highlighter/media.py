"""Video in and out through ffmpeg: probe, check, normalise, proxy, stream frames, encode frames.

Frames are RGB ``uint8`` arrays of shape ``(H, W, 3)``. Nothing here holds a whole video in memory:
frames are streamed through ffmpeg pipes one at a time. Every ffmpeg call is an argument list, never
a shell string. Sizes are pixels, times are seconds, frame indices count from 0.

Every ``MediaError`` raised here carries a sentence a marketer can act on; ffmpeg's own words, when
there are any, are chained as the error's ``__cause__`` for the logs. Every ffmpeg and ffprobe runs
through ``highlighter.process``: its own process group, a time limit scaled to the video, killed whole.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import numpy as np

from highlighter import process
from highlighter.errors import MediaError

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"

MIN_SIDE = 16  # px
UPLOAD_HINT = "Upload an MP4, MOV or WebM video."
# Demuxers ffprobe uses for single pictures; "a video with one frame" is the wrong message for them.
IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif_pipe",
                 "svg_pipe", "qoi_pipe", "dpx_pipe", "exr_pipe", "psd_pipe", "j2k_pipe")  # fmt: skip

# Frame rates editors and players expect; a variable-rate phone video averaging 29.94 becomes 30000/1001.
STANDARD_RATES = tuple(Fraction(r) for r in ("24000/1001", "24", "25", "30000/1001", "30", "48", "50",
                                               "60000/1001", "60", "90", "100", "120"))  # fmt: skip

Progress = Callable[[float], None]
# What ffmpeg's decoder logs for a frame over ``-max_pixels``; the frame is skipped, not decoded.
OVERSIZED = b"exceeds specified max pixel count"


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe says about a video. Sizes in pixels as displayed (rotation applied), times in seconds."""

    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    rotation: int = 0
    has_audio: bool = False
    video_codec: str = ""
    audio_codec: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _duration_text(seconds: float) -> str:
    """``"10 min"``, ``"2 h 5 min"``, ``"45 s"``: a length as a marketer reads it."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@dataclass(frozen=True)
class Limits:
    """The largest video we take in: sizes in pixels as displayed, frame rate in frames a second,
    duration in seconds. The defaults suit reels and brand films (minutes, not hours, at up to 4K).

    Checked from the probe before anything is stored (``check``) and again while ``normalise``
    decodes, because a file's header can understate what its frames hold.
    """

    max_side: int = 4096
    max_pixels: int = 4096 * 2160
    max_fps: float = 120
    max_seconds: float = 600
    max_frames: int = 36000  # ten minutes at 60 frames a second

    def too_long(self, length: str) -> str:
        return (
            f"This video is {length} long; the longest we accept is {_duration_text(self.max_seconds)}. "
            "Trim it (or split it into parts) and re-upload."
        )

    def too_many_frames(self, count: str) -> str:
        return (
            f"This video has {count} frames; the most we accept is {self.max_frames}. "
            "Trim it or export it at a lower frame rate (30 frames a second is plenty) and re-upload."
        )

    def too_large(self, size: str) -> str:
        return (
            f"This video's picture is {size}; the most we accept is {self.max_side} pixels on the longest "
            f"side and {self.max_pixels / 1e6:.1f} megapixels a frame (e.g. 4096x2160). "
            "Export it at 4K (3840x2160) or smaller and re-upload."
        )

    def check(self, info: VideoInfo) -> None:
        """Raise ``MediaError`` saying which limit ``info`` passes and what to do about it."""
        width, height = info.width, info.height
        if max(width, height) > self.max_side or width * height > self.max_pixels:
            raise MediaError(self.too_large(f"{width}x{height} pixels"))
        if info.fps > self.max_fps * 1.01:  # 120.0 fps sources report 119.88 or 120.1 as often as 120
            raise MediaError(
                f"This video runs at {info.fps:.0f} frames a second; the most we accept is {self.max_fps:g}. "
                "Export it at 60 frames a second or less and re-upload."
            )
        if info.duration > self.max_seconds:
            raise MediaError(self.too_long(_duration_text(info.duration)))
        if info.frame_count > self.max_frames:
            raise MediaError(self.too_many_frames(str(info.frame_count)))


# --- probing -------------------------------------------------------------------------------------


def _starts_like_mp4(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
    return head[4:8] == b"ftyp"


def _run_ffprobe(path: Path, extra: list[str]) -> dict[str, Any]:
    cmd = [FFPROBE, "-v", "error", "-print_format", "json", *extra, str(path)]
    try:
        # Before the probe nothing is known of the length: reading a header gets the base time.
        proc = process.run(cmd, timeout=process.time_limit(0))
    except subprocess.TimeoutExpired as e:
        raise MediaError(f"This file took too long to read; it may be damaged. {UPLOAD_HINT}") from e
    detail = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0:
        cause = RuntimeError(detail[-500:])
        # ffprobe picks the MP4 reader by file extension too, so only a file that starts like an MP4
        # (an "ftyp" box) and lacks its index is an interrupted upload rather than something else.
        if "moov atom not found" in detail and _starts_like_mp4(path):
            raise MediaError(
                "This video file is incomplete (its index is missing, so the upload or export was "
                "cut short). Export it again and re-upload."
            ) from cause
        raise MediaError(
            f"This file is not a video we can read (it may be damaged, or a different kind of file). {UPLOAD_HINT}"
        ) from cause
    return json.loads(proc.stdout or b"{}")


def _fraction(text: str | None) -> Fraction | None:
    """A positive ffprobe rate like ``"30000/1001"``, or None when it is missing or zero."""
    if not text or text in ("0/0", "N/A"):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _seconds(value: Any) -> float:
    """ffprobe's seconds (``"2.000000"``) or a Matroska tag (``"00:00:02.000000000"``); 0 when unknown."""
    if value in (None, "", "N/A"):
        return 0.0
    text = str(value)
    try:
        if ":" in text:
            h, m, s = text.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
        return float(text)
    except ValueError:
        return 0.0


def _rotation(stream: dict[str, Any]) -> int:
    rotation = stream.get("tags", {}).get("rotate")
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            rotation = side["rotation"]
    try:
        return int(round(float(rotation or 0))) % 360
    except ValueError:
        return 0


def _video_stream(data: dict[str, Any]) -> dict[str, Any] | None:
    # Cover art in an audio file shows up as a one-frame "video" stream flagged attached_pic.
    return next(
        (
            s
            for s in data.get("streams", [])
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )


def _frame_rate(video: dict[str, Any]) -> Fraction | None:
    """The average frame rate; r_frame_rate (a guess at the base rate) only when the average is unknown."""
    rate = _fraction(video.get("avg_frame_rate")) or _fraction(video.get("r_frame_rate"))
    # Some containers report their timebase (e.g. 90000/1) as the rate; no real video runs above 1000 fps.
    return rate if rate and rate <= 1000 else None


def _inspect(path: Path, *, count_frames: bool) -> tuple[VideoInfo, dict[str, Any], dict[str, Any]]:
    """Probe and validate; returns the info plus ffprobe's raw video stream and format dicts."""
    if not path.is_file():
        raise MediaError(f"The video file is missing. {UPLOAD_HINT}")
    if path.stat().st_size == 0:
        raise MediaError(f"This file is empty. {UPLOAD_HINT}")
    extra = ["-show_format", "-show_streams"]
    if count_frames:
        extra = ["-count_packets", *extra]
    data = _run_ffprobe(path, extra)
    fmt = data.get("format", {})
    if fmt.get("format_name") in IMAGE_FORMATS:
        raise MediaError(f"This is a still image, not a video. {UPLOAD_HINT}")
    video = _video_stream(data)
    if video is None:
        if any(s.get("codec_type") == "audio" for s in data.get("streams", [])):
            raise MediaError(f"This file has no video stream (it is sound only). {UPLOAD_HINT}")
        raise MediaError(f"This file has no video stream. {UPLOAD_HINT}")
    audio = next((s for s in data.get("streams", []) if s.get("codec_type") == "audio"), None)

    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaError("This video file is damaged (its picture size is missing). Export it again and re-upload.")
    if min(width, height) < MIN_SIDE:
        raise MediaError(
            f"This video is only {width}x{height} pixels; it needs at least {MIN_SIDE} pixels a side. "
            "Upload the original, full-size video."
        )
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width

    rate = _frame_rate(video)
    # The video stream's own duration first: the container's may include a longer audio track.
    duration = (
        _seconds(video.get("duration"))
        or _seconds(video.get("tags", {}).get("DURATION"))
        or _seconds(fmt.get("duration"))
    )
    frames = int(video.get("nb_read_packets") or video.get("nb_frames") or 0)
    if not frames and rate and duration:
        frames = int(round(duration * rate))
    if not rate and frames and duration:
        rate = Fraction(frames / duration).limit_denominator(1001)
    if frames <= 1 or duration <= 0 or not rate:
        raise MediaError(
            "This video has no length (a single frame or none). Upload a video that plays for at least a second."
        )
    info = VideoInfo(
        width=width,
        height=height,
        fps=float(rate),
        frame_count=frames,
        duration=duration,
        rotation=rotation,
        has_audio=audio is not None,
        video_codec=str(video.get("codec_name", "")),
        audio_codec=str(audio.get("codec_name", "")) if audio else "",
    )
    return info, video, {"format": fmt, "audio": audio or {}, "rate": rate}


def probe(path: str | Path, *, count_frames: bool = False) -> VideoInfo:
    """Read a video's size, frame rate, frame count, duration and audio presence.

    ``count_frames`` counts packets instead of trusting the container's header (slower, exact).
    Raises ``MediaError`` with a marketer-readable message when the file is not a usable video:
    missing, empty, not a video, a still image, sound only, no length, too large or too small.
    """
    return _inspect(Path(path), count_frames=count_frames)[0]


def _decoded_frames(
    path: Path, *, limits: Limits, seconds: float, start: float | None = None, limit: int | None = None
) -> int:
    """How many video frames ffmpeg decodes from ``start`` seconds (to the end, or ``limit`` frames).

    A frame over ``limits.max_pixels`` is never decoded: ``MediaError`` says the picture is too large
    (the header understated it). ``seconds`` is how much video the caller expects decoded, for the time limit.
    """
    cmd = [FFMPEG, "-v", "error", "-nostdin", "-max_pixels", str(limits.max_pixels)]
    if start:
        cmd += ["-ss", f"{start:.6f}"]  # input seek: jumps to a keyframe, decodes up to start, drops those
    cmd += ["-i", str(path), "-map", "0:v:0", "-an", "-sn"]
    if limit:
        cmd += ["-frames:v", str(limit)]
    # One 8x8 grey pixel block per frame: the full decode happens, the pipe stays tiny.
    cmd += ["-vf", "scale=8:8", "-f", "rawvideo", "-pix_fmt", "gray", "-fps_mode", "passthrough", "pipe:1"]
    try:
        proc = process.run(cmd, timeout=process.time_limit(seconds))
    except subprocess.TimeoutExpired as e:
        raise MediaError("This video took too long to decode; it may be damaged. Export it again and re-upload.") from e
    if OVERSIZED in proc.stderr:
        raise MediaError(limits.too_large("larger than its file says"))
    return len(proc.stdout) // 64


def check_decodable(
    path: str | Path, info: VideoInfo | None = None, *, tail_seconds: float = 1.0, limits: Limits = Limits()
) -> VideoInfo:
    """Decode the first frames and the last ``tail_seconds`` to catch damaged or truncated files.

    A file cut short after its index was written (``+faststart`` uploads that stopped early) probes
    fine but has no pictures for its end; this finds that in well under a second instead of during
    tracking. Frames larger than ``limits.max_pixels`` count as undecodable, so a header that hides a
    huge picture never gets one decoded. Returns the probe info; raises ``MediaError`` when the start
    or the end cannot be decoded.
    """
    path = Path(path)
    info = info or probe(path)
    if _decoded_frames(path, limits=limits, seconds=0, limit=3) < min(3, info.frame_count):
        raise MediaError(
            "This video file is damaged (its first frames cannot be decoded). Export it again and re-upload."
        )
    start = max(0.0, info.duration - tail_seconds)
    expected = max(1, int(round((info.duration - start) * info.fps)))
    # Half the expected frames is lenient on purpose: variable frame rate sources bunch their frames.
    if _decoded_frames(path, limits=limits, seconds=tail_seconds, start=start) < max(1, expected // 2):
        raise MediaError(
            "This video file is damaged or incomplete (it ends early). Export it again and re-upload."
        )
    return info


# --- whole-file transcodes -----------------------------------------------------------------------


def _rate_text(fps: float | Fraction) -> str:
    """A frame rate as ffmpeg's exact fraction: 29.97 must stay 30000/1001 or timestamps drift."""
    rate = Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


def _output_rate(rate: Fraction, max_fps: float) -> Fraction:
    """The constant frame rate for the mezzanine: ``rate`` snapped to a standard one within 1%, capped."""
    nearest = min(STANDARD_RATES, key=lambda r: abs(r - rate))
    if abs(nearest / rate - 1) < 0.01:
        rate = nearest
    return min(rate, Fraction(max_fps).limit_denominator(1001))


def _stderr_tail(err: IO[bytes]) -> str:
    err.seek(0)
    return err.read().decode(errors="replace").strip()[-800:]


def _past_limits(limits: Limits, key: str, value: str) -> str | None:
    """The message when ffmpeg's progress line ``key=value`` shows the output past ``limits``."""
    if not value.isdigit():
        return None
    if key == "frame" and int(value) > limits.max_frames:
        return limits.too_many_frames(f"more than {limits.max_frames}")
    if key == "out_time_us" and int(value) / 1e6 > limits.max_seconds:
        return limits.too_long(f"more than {_duration_text(limits.max_seconds)}")
    return None


def _transcode(
    args: list[str],
    dst: Path,
    *,
    duration: float,
    progress: Progress | None,
    failure: str,
    limits: Limits | None = None,
) -> None:
    """Run ``ffmpeg <args> <dst>`` reporting progress; dst appears only when ffmpeg succeeds.

    ffmpeg writes to ``<dst>.part`` and it is renamed on success, so a reader never sees half a file.
    If ``progress`` raises (a cancel), ffmpeg is killed, the partial file removed and the error re-raised.
    With ``limits``, the output is watched as it is made and ffmpeg stopped with a ``MediaError`` once
    it passes the longest length or the most frames: ``duration`` came from a header, which can lie.
    ffmpeg is stopped too when it takes longer than ``process.time_limit(duration)``.
    """
    part = dst.with_name(dst.name + ".part")
    dst.unlink(missing_ok=True)
    cmd = [FFMPEG, "-v", "error", "-nostdin", "-y", "-nostats", "-progress", "pipe:1", *args, "-f", "mp4", str(part)]
    timeout = process.time_limit(duration)
    # stderr goes to a file, not a pipe: nobody reads it while ffmpeg runs, and a full pipe would hang it.
    with tempfile.TemporaryFile() as err:
        proc = process.Process(cmd, timeout=timeout, stdout=subprocess.PIPE, stderr=err)
        reported = -1.0
        try:
            assert proc.stdout is not None
            with proc.waiting():
                for raw in proc.stdout:
                    key, _, value = raw.decode(errors="replace").strip().partition("=")
                    if limits and (message := _past_limits(limits, key, value)):
                        raise MediaError(message)
                    if key == "out_time_us" and progress and duration > 0 and value.lstrip("-").isdigit():
                        fraction = min(1.0, max(0.0, int(value) / 1e6 / duration))
                        if fraction - reported >= 0.01:
                            reported = fraction
                            progress(fraction)
            code = proc.wait()
        except BaseException:
            proc.kill()
            part.unlink(missing_ok=True)
            raise
        err.seek(0)
        # ffmpeg skips a frame over -max_pixels and goes on: a video with such frames is refused whole.
        oversized = limits is not None and OVERSIZED in err.read()
        if code != 0 or oversized:
            part.unlink(missing_ok=True)
            if proc.timed_out:
                failure = (
                    f"This video took more than {_duration_text(timeout)} to convert; it may be damaged. "
                    "Export it again and re-upload."
                )
            elif limits and oversized:
                failure = limits.too_large("larger than its file says")
            raise MediaError(failure) from RuntimeError(_stderr_tail(err))
    os.replace(part, dst)
    if progress and reported < 1.0:
        progress(1.0)


def _audio_args(audio: dict[str, Any], bitrate: str) -> list[str]:
    if not audio:
        return ["-an"]
    args = ["-c:a", "aac", "-b:a", bitrate, "-ar", "48000"]
    if int(audio.get("channels") or 2) > 2:
        args += ["-ac", "2"]  # surround to stereo: browsers and social platforms play stereo
    return args


def normalise(
    src: str | Path,
    dst: str | Path,
    *,
    max_fps: float = 60,
    limits: Limits = Limits(),
    progress: Progress | None = None,
) -> VideoInfo:
    """Re-encode an upload to the mezzanine every later step reads: H.264 yuv420p MP4, constant frame rate.

    Applies rotation (ffmpeg rotates the pixels and the output carries no rotation), square pixels,
    even width and height (crops the odd last row/column), the source's average frame rate (snapped to a
    standard rate within 1%) capped at ``max_fps``, AAC 48 kHz audio when the source has sound, ``+faststart``. Metadata (camera, GPS
    location) is dropped. ``progress(fraction)`` is called with 0..1. Returns ``probe(dst, count_frames=True)``.
    A source past ``limits`` is refused (``MediaError``) before it is decoded, or as soon as its frames
    show it (a frame over ``limits.max_pixels`` fails to decode).
    """
    src, dst = Path(src), Path(dst)
    info, video, extra = _inspect(src, count_frames=False)
    limits.check(info)
    rate = _output_rate(extra["rate"], max_fps)
    sar = _fraction(video.get("sample_aspect_ratio", "").replace(":", "/")) or Fraction(1)
    if sar == 1:
        geometry = "crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0"
    else:
        # Anamorphic source: stretch to square pixels so tracks and crops are in displayed pixels.
        geometry = "scale=trunc(iw*sar/2)*2:trunc(ih/2)*2,setsar=1"
    rate_text = _rate_text(rate)
    args = [
        "-max_pixels", str(limits.max_pixels),
        "-i", str(src), "-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1", "-map_chapters", "-1",
        "-vf", f"fps={rate_text},{geometry},format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        # A keyframe every 2 s keeps seeking cheap for thumbnails, review scrubbing and tracking restarts.
        "-g", str(max(1, round(float(rate) * 2))),
        *_audio_args(extra["audio"], "192k"),
        "-max_muxing_queue_size", "1024", "-movflags", "+faststart",
    ]  # fmt: skip
    _transcode(
        args, dst, duration=info.duration, progress=progress, limits=limits,
        failure="This video could not be converted; it may be damaged. Export it again and re-upload.",
    )  # fmt: skip
    return probe(dst, count_frames=True)


def make_proxy(src: str | Path, dst: str | Path, *, height: int = 360, progress: Progress | None = None) -> VideoInfo:
    """A small H.264 review proxy: ``height`` px high (never upscaled), same aspect, fps and frame count.

    Every source frame is kept (no frame rate conversion), so frame ``i`` of the proxy is frame ``i`` of
    ``src`` and the review player can draw the track on it. Meant to be run on the normalised video.
    """
    src, dst = Path(src), Path(dst)
    info, _, extra = _inspect(src, count_frames=False)
    out_h = min(height, info.height) // 2 * 2
    args = [
        "-i", str(src), "-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1",
        "-vf", f"scale=-2:{out_h}:flags=area,format=yuv420p", "-fps_mode", "passthrough",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p",
        "-g", str(max(1, round(info.fps))),  # a keyframe a second: scrubbing in the browser stays snappy
        *_audio_args(extra["audio"], "96k"),
        "-max_muxing_queue_size", "1024", "-movflags", "+faststart",
    ]  # fmt: skip
    _transcode(args, dst, duration=info.duration, progress=progress,
               failure="The review copy of this video could not be made. Export it again and re-upload.")  # fmt: skip
    return probe(dst, count_frames=True)


# --- frames --------------------------------------------------------------------------------------


def _frame_shape(width: int, height: int, pix_fmt: str) -> tuple[int, ...]:
    """The array shape of one raw frame: ``(H, W, 3)`` for rgb24, ``(H * 3 / 2, W)`` for I420."""
    if pix_fmt == "rgb24":
        return (height, width, 3)
    if pix_fmt == "yuv420p":
        if width % 2 or height % 2:
            raise ValueError(f"yuv420p frames need an even size, got {width}x{height}")
        return (height * 3 // 2, width)
    raise ValueError(f"pix_fmt must be 'rgb24' or 'yuv420p', got {pix_fmt!r}")


def iter_frames(
    path: str | Path, *, size: tuple[int, int] | None = None, pix_fmt: str = "rgb24", info: VideoInfo | None = None
) -> Iterator[np.ndarray]:
    """Yield the frames of a video as RGB ``uint8`` arrays, one at a time, every decoded frame once.

    ``size`` is ``(width, height)`` to scale to while decoding (cheaper than scaling in numpy).
    ``pix_fmt="yuv420p"`` yields the decoder's own planar I420 instead, as ``(H * 3 / 2, W)`` arrays
    (OpenCV's ``COLOR_YUV2RGB_I420`` layout): no colour conversion in ffmpeg, half the bytes through
    the pipe; the renderer converts only the part of the frame it keeps.
    Rotation metadata is applied by ffmpeg, so frames are as displayed. Raises ``MediaError`` if the
    decoder fails part way (the frames before the failure have been yielded). ``info``: the video's
    ``probe``, when the caller has it already (each probe is an ffprobe run).
    """
    info = info or probe(path)
    width, height = size or (info.width, info.height)
    shape = _frame_shape(width, height, pix_fmt)
    cmd = [FFMPEG, "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0"]
    if size:
        cmd += ["-vf", f"scale={width}:{height}:flags=area"]
    cmd += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-fps_mode", "passthrough", "pipe:1"]
    frame_bytes = int(np.prod(shape))
    with tempfile.TemporaryFile() as err:
        # Only the time spent waiting for a frame counts: a slow consumer is not a stuck decoder.
        proc = process.Process(
            cmd, timeout=process.time_limit(info.duration), stdout=subprocess.PIPE, stderr=err, bufsize=frame_bytes
        )
        finished = False
        try:
            assert proc.stdout is not None
            while True:
                with proc.waiting():
                    buf = proc.stdout.read(frame_bytes)
                if len(buf) < frame_bytes:
                    break
                yield np.frombuffer(buf, dtype=np.uint8).reshape(shape)
            finished = True
        finally:
            if not finished:
                proc.kill()  # the consumer stopped early (or raised): don't decode the rest
            code = proc.wait()
        if proc.timed_out:
            raise MediaError(
                "This video took too long to decode; it may be damaged. Export it again and re-upload."
            ) from RuntimeError(_stderr_tail(err))
        if code != 0:
            raise MediaError(
                "This video could not be decoded to the end; it may be damaged. Export it again and re-upload."
            ) from RuntimeError(_stderr_tail(err))


READ_AHEAD = 3  # frames ``prefetched`` decodes ahead of its consumer by default


def prefetched(frames: Iterator[np.ndarray], depth: int = READ_AHEAD) -> Iterator[np.ndarray]:
    """``frames`` (an ``iter_frames`` generator) pulled on a thread, up to ``depth`` ahead.

    Linux's pipe holds 64 KiB, a twentieth of an 854x480 frame: read in step with the work, ffmpeg
    decodes a frame only while the consumer waits for it. Read on a thread (the pipe read releases
    the GIL), the next frames decode while the consumer works on this one. Memory holds at most
    ``depth`` frames more. The decoder's error is raised in the consumer, after the frames before
    it; a consumer that stops early (``close``) stops the thread, and the generator's own cleanup
    (killing ffmpeg) runs. Such a consumer has had up to ``depth`` + 1 frames decoded that it never
    took (the queue's and the one being read), unless it took only the first."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        """Queue ``item`` unless the consumer stopped meanwhile (then False)."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def run() -> None:
        item: object = end
        try:
            for frame in frames:
                if not put(frame):
                    break
        except BaseException as e:  # the decoder's error, re-raised in the consumer
            item = e
        finally:
            frames.close()  # type: ignore[attr-defined]  # kills ffmpeg if we stopped early
        put(item)

    thread = threading.Thread(target=run, daemon=True)
    try:
        # The first frame is read in step: a consumer that takes one frame (a prompt's) decodes no
        # more than that.
        try:
            first = next(frames)
        except StopIteration:
            return
        yield first
        thread.start()
        while True:
            item = q.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        if thread.ident is not None:  # started: it closes ``frames`` itself
            thread.join()
        else:
            frames.close()  # type: ignore[attr-defined]


def extract_frame(path: str | Path, index: int, *, info: VideoInfo | None = None) -> np.ndarray:
    """Frame ``index`` (from 0) of a constant frame rate video as an RGB ``uint8`` array.

    Seeks by time, ``index / fps`` seconds, accurately (ffmpeg decodes from the previous keyframe).
    ``info``: the video's ``probe``, when the caller has it already.
    """
    info = info or probe(path)
    if not 0 <= index < info.frame_count:
        raise MediaError(f"This video has {info.frame_count} frames; frame {index} does not exist.")
    # Aim half a frame early: timestamps are rounded to the stream's timebase, and seeking to exactly
    # index/fps can land just past the frame and return the next one.
    start = max(0.0, (index - 0.5) / info.fps)
    cmd = [FFMPEG, "-v", "error", "-nostdin", "-ss", f"{start:.6f}", "-i", str(path), "-map", "0:v:0",
           "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]  # fmt: skip
    try:
        proc = process.run(cmd, timeout=process.time_limit(0))  # one seek, one frame
    except subprocess.TimeoutExpired as e:
        raise MediaError(f"Frame {index} of this video took too long to decode; it may be damaged.") from e
    size = info.width * info.height * 3
    if len(proc.stdout) < size:
        raise MediaError(
            f"Frame {index} of this video could not be decoded; it may be damaged. Export it again and re-upload."
        ) from RuntimeError(proc.stderr.decode(errors="replace")[-500:])
    return np.frombuffer(proc.stdout[:size], dtype=np.uint8).reshape(info.height, info.width, 3)


def write_jpeg(frame: np.ndarray, path: str | Path, *, max_width: int = 640, quality: int = 85) -> None:
    """Save an RGB frame as a JPEG thumbnail no wider than ``max_width`` px (aspect kept)."""
    import cv2  # only thumbnails need OpenCV here; keep it off the import path of workers that don't

    height, width = frame.shape[:2]
    if width > max_width:
        frame = cv2.resize(frame, (max_width, max(1, round(height * max_width / width))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise MediaError("The thumbnail could not be saved.")
    Path(path).write_bytes(data.tobytes())


# --- encoding ------------------------------------------------------------------------------------


class FrameSink:
    """Raw ``uint8`` frames of ``shape`` piped into ``ffmpeg <input_args> -i pipe:0 <output_args>``.

    The output appears only when complete: on an error (or ``abort``) ffmpeg is killed and
    ``remove()`` deletes what it wrote. Use as a context manager: an exception inside the ``with``
    block aborts, a clean exit closes (and raises ``MediaError`` if ffmpeg failed).
    """

    stopped_message = "The video encoder stopped unexpectedly. Try the render again."
    failed_message = "The video could not be encoded. Try the render again."

    def __init__(self, input_args: list[str], output_args: list[str], shape: tuple[int, ...], path: Path) -> None:
        self.path, self.shape = path, shape
        cmd = [FFMPEG, "-v", "error", "-y", "-nostdin", *input_args, "-i", "pipe:0", *output_args]
        self._err = tempfile.TemporaryFile()  # a file, not a pipe: an unread full pipe would hang ffmpeg
        # The length is unknown up front: each frame handed over extends the time limit.
        self._proc = process.Process(cmd, timeout=process.time_limit(0), stdin=subprocess.PIPE, stderr=self._err)
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != self.shape or frame.dtype != np.uint8:
            raise ValueError(f"expected a {self.shape} uint8 frame, got {frame.shape} {frame.dtype}")
        assert self._proc.stdin is not None
        self._proc.allow(process.SECONDS_PER_FRAME)
        try:
            with self._proc.waiting():
                self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            detail = _stderr_tail(self._err)
            self.abort()
            raise MediaError(self.stopped_message) from RuntimeError(detail)
        self.frames_written += 1

    def _close_stdin(self) -> None:
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass

    def close(self) -> None:
        with self._proc.waiting():  # the last buffered frames go to ffmpeg here
            self._close_stdin()
        code = self._proc.wait()
        detail = _stderr_tail(self._err)
        self._err.close()
        if code != 0:
            self.remove()
            raise MediaError(self.failed_message) from RuntimeError(detail)

    def abort(self) -> None:
        self._proc.kill()
        self._close_stdin()
        if not self._err.closed:
            self._err.close()
        self.remove()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class VideoWriter(FrameSink):
    """Encode RGB frames to H.264 MP4 (yuv420p, +faststart), optionally muxing another file's audio.

    Use as a context manager; ``write(frame)`` takes ``(height, width, 3)`` ``uint8`` RGB arrays, or
    with ``pix_fmt="yuv420p"`` ``(height * 3 / 2, width)`` I420 arrays (``cv2.COLOR_RGB2YUV_I420``),
    which the encoder takes as they are (BT.601 limited range, as ffmpeg's own RGB conversion).
    ``scale_to=(W, H)`` has the encoder scale the frames to that output size (bilinear).
    The audio of ``audio_from`` (if it has any) is re-encoded as AAC and padded with silence or cut
    so it lasts exactly as long as the frames written. On an exception inside the ``with`` block the
    encoder is killed and the partial file removed.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        *,
        audio_from: str | Path | None = None,
        crf: int = 20,
        preset: str = "veryfast",
        pix_fmt: str = "rgb24",
        scale_to: tuple[int, int] | None = None,
    ) -> None:
        out_w, out_h = scale_to or (width, height)
        if out_w % 2 or out_h % 2:
            raise MediaError(f"The output size {out_w}x{out_h} must be even for H.264.")
        self.width, self.height = width, height
        source = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-framerate", _rate_text(fps)]
        output: list[str] = []
        if audio_from is not None:
            # apad + -shortest: the video decides the length, so a short audio track never cuts frames.
            output += ["-i", str(audio_from), "-map", "0:v:0", "-map", "1:a:0?", "-af", "apad",
                       "-c:a", "aac", "-b:a", "192k", "-shortest"]  # fmt: skip
        if scale_to is not None:
            # Scaling (and the RGB to YUV conversion) in the encoder process: swscale's threads do it
            # while Python draws the next frame, and the pipe carries the smaller picture.
            output += ["-vf", f"scale={out_w}:{out_h}:flags=bilinear"]
        output += [
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", "-f", "mp4", str(path),
        ]  # fmt: skip
        super().__init__(source, output, _frame_shape(width, height, pix_fmt), Path(path))
