"""A corpus of hostile uploads, generated (never committed): damaged, disguised, lying and extreme files.

``write_corpus(out_dir)`` makes every file with ffmpeg and a few byte-level edits, deterministically,
in about half a minute on two cores. Each ``HostileFile`` says what should become of it: accepted
(and normalised to ``size``), or refused with a message containing ``refusal``. Files whose fate
depends on which bytes the decoder trips over (bit flips) accept either, as long as a refusal is
a message the marketer can act on. Used by ``tests/hostile`` and ``scripts/hostile_corpus.py``.
"""

from __future__ import annotations

import functools
import io
import random
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from highlighter import process
from highlighter.errors import MediaError
from highlighter.media import FFMPEG

ACCEPTED = "accepted"
EITHER = "either"


@dataclass(frozen=True)
class HostileFile:
    """One upload: its name as the browser sends it (the extension may lie) and what should happen.

    ``expect`` is ``ACCEPTED``, ``EITHER``, or words the refusal must contain. ``size`` is the
    normalised video's ``(width, height)`` when it is accepted, if that is part of the point.
    """

    name: str
    what: str
    expect: str
    size: tuple[int, int] | None = None


def _ffmpeg(*args: str) -> None:
    proc = process.run([FFMPEG, "-v", "error", "-nostdin", "-y", *args], timeout=process.time_limit(60))
    if proc.returncode != 0:
        raise MediaError(f"Could not make a corpus file: {proc.stderr.decode(errors='replace')[-300:]}")


def _clip(path: Path, *, size: str = "320x240", rate: float = 25, seconds: float = 2.0, audio: bool = True,
          source: str = "testsrc2", extra: tuple[str, ...] = ()) -> None:  # fmt: skip
    """A small H.264/AAC test pattern; ``extra`` goes before the output (codec, muxer options)."""
    args = ["-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    _ffmpeg(*args, *extra, str(path))


def _flip(src: Path, dst: Path, fraction: float, *, count: int = 64, seed: int = 0) -> None:
    """``count`` bytes inverted around ``fraction`` of the way into ``src`` (0: the very first bytes)."""
    data = bytearray(src.read_bytes())
    rng = random.Random(seed)
    centre = int(len(data) * fraction)
    for _ in range(count):
        i = min(len(data) - 1, max(0, centre + rng.randrange(-256, 256)))
        data[i] ^= 0xFF
    dst.write_bytes(bytes(data))


def _truncate(src: Path, dst: Path, fraction: float) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])


def _patch_mkv_duration(src: Path, dst: Path, seconds: float) -> None:
    """A Matroska file whose header (Segment Duration and the stream's DURATION tag) claims ``seconds``."""
    data = bytearray(src.read_bytes())
    i = data.find(b"\x44\x89\x88")  # Duration element, 8-byte float, in milliseconds (TimecodeScale 1 ms)
    data[i + 3 : i + 11] = struct.pack(">d", seconds * 1000)
    j = data.find(b"DURATION")
    tag = data.find(b"00:", j)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    data[tag : tag + 18] = f"{int(h):02d}:{int(m):02d}:{s:012.9f}".encode()
    dst.write_bytes(bytes(data))


def _patch_timescale(src: Path, dst: Path, factor: float) -> None:
    """An MP4 whose video track's clock (``mdhd`` timescale) runs ``factor`` times fast: the same frames
    claim a frame rate ``factor`` times higher and a duration ``factor`` times shorter."""
    data = bytearray(src.read_bytes())
    # The first mdhd is the video track's. Version 0: 4 bytes version/flags, creation, modification, timescale.
    offset = data.find(b"mdhd") + 4 + 4 + 4 + 4
    (scale,) = struct.unpack(">I", data[offset : offset + 4])
    data[offset : offset + 4] = struct.pack(">I", max(1, int(scale * factor)))
    dst.write_bytes(bytes(data))


def _grow_mid_stream(dst: Path, tmp: Path) -> None:
    """An MKV whose header says 320x240 while its last frames are 4608x4608 (a second SPS in-band)."""
    small, large, raw = tmp / "small.h264", tmp / "large.h264", tmp / "grow.h264"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1", "-c:v", "libx264", "-preset",
            "ultrafast", "-f", "h264", str(small))  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=4608x4608:rate=25", "-t", "0.2", "-c:v", "libx264",
            "-preset", "ultrafast", "-f", "h264", str(large))  # fmt: skip
    raw.write_bytes(small.read_bytes() + large.read_bytes())
    _ffmpeg("-r", "25", "-i", str(raw), "-c", "copy", "-f", "matroska", str(dst))


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("campaign/brief.txt", "Make the handbag pop.\n" * 100)
    return buffer.getvalue()


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cf"
    "c0000003010100c9fe92ef0000000049454e44ae426082"
)


class _Sources:
    """The clips other files are cut, flipped or patched from, made in ``tmp`` on first use."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    @functools.cached_property
    def base(self) -> Path:
        path = self.tmp / "base.mp4"
        _clip(path, extra=("-movflags", "+faststart"))
        return path

    @functools.cached_property
    def plain(self) -> Path:
        path = self.tmp / "base-moov-at-end.mp4"
        _clip(path)
        return path

    @functools.cached_property
    def long_still(self) -> Path:
        path = self.tmp / "long-still.mkv"
        _clip(path, size="160x120", rate=1, seconds=660, audio=False, extra=("-g", "600"))
        return path


def _cases(tmp: Path) -> list[tuple[HostileFile, Callable[[Path], None]]]:
    src = _Sources(tmp)

    def copy(name: str) -> Callable[[Path], None]:
        return lambda dst: dst.write_bytes(getattr(src, name).read_bytes())

    def clip(**kwargs) -> Callable[[Path], None]:
        return lambda dst: _clip(dst, **kwargs)

    damaged = "damaged"
    cases: list[tuple[HostileFile, Callable[[Path], None]]] = [
        (HostileFile("control.mp4", "a plain 2 s 320x240 H.264/AAC clip", ACCEPTED, (320, 240)), copy("base")),
        (HostileFile("moov-at-end.mp4", "index after the frames (no +faststart)", ACCEPTED), copy("plain")),
        (HostileFile("cut-at-1k.mp4", "truncated after 1 KB", EITHER), lambda d: _truncate(src.base, d, 0.02)),
        (HostileFile("cut-at-10pct.mp4", "truncated at 10%", damaged), lambda d: _truncate(src.base, d, 0.10)),
        (HostileFile("cut-at-50pct.mp4", "truncated at 50%", damaged), lambda d: _truncate(src.base, d, 0.50)),
        (HostileFile("cut-at-90pct.mp4", "truncated at 90% (the decoder may recover most of it)", EITHER), lambda d: _truncate(src.base, d, 0.90)),
        (HostileFile("cut-no-index.mp4", "truncated at 50%, index at the end (lost)", "incomplete"),
         lambda d: _truncate(src.plain, d, 0.50)),  # fmt: skip
    ]
    for fraction in (0.0, 0.01, 0.25, 0.5, 0.75, 0.99):
        name = f"flip-at-{int(fraction * 100)}pct.mp4"
        cases.append((HostileFile(name, f"64 bytes inverted at {fraction:.0%}", EITHER),
                      lambda d, f=fraction: _flip(src.base, d, f, seed=int(f * 100))))  # fmt: skip
    cases += [
        (HostileFile("garbage.mp4", "100 KB of random bytes", "not a video"),
         lambda d: d.write_bytes(random.Random(1).randbytes(100_000))),  # fmt: skip
        (HostileFile("zero-length.mp4", "an empty file", "empty"), lambda d: d.write_bytes(b"")),
        (HostileFile("photo.mp4", "a PNG named .mp4", "still image"), lambda d: d.write_bytes(PNG_1PX)),
        (HostileFile("photo-jpeg.mp4", "a JPEG named .mp4", "still image"),
         lambda d: _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-f", "mjpeg", str(d))),
        (HostileFile("page.mp4", "an HTML page named .mp4", "not a video"),
         lambda d: d.write_bytes(b"<!doctype html><html><body><video src=x.mp4></video></body></html>\n" * 40)),
        (HostileFile("brief.mp4", "a ZIP archive named .mp4", "not a video"), lambda d: d.write_bytes(_zip_bytes())),
        (HostileFile("webm-as.mp4", "a WebM (VP9/Opus) named .mp4", ACCEPTED, (320, 240)),
         clip(extra=("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", "-f", "webm"))),
        (HostileFile("mp4-as.avi", "an MP4 named .avi", ACCEPTED), copy("base")),
        (HostileFile("voiceover.mp4", "audio only", "sound only"),
         lambda d: _ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", str(d))),
        (HostileFile("no-video-frames.mp4", "a video stream with no frames beside 2 s of sound", "no video stream"),
         clip(extra=("-frames:v", "0"))),  # fmt: skip
        (HostileFile("one-frame.mp4", "a single frame", "no length"), clip(audio=False, extra=("-frames:v", "1"))),
        (HostileFile("tiny-8x8.mp4", "8x8 pixels", "at least 16 pixels"), clip(size="8x8", audio=False)),
        (HostileFile("huge-7680x7680.mp4", "7680x7680 at a tiny bitrate", "longest side"),
         clip(size="7680x7680", rate=2, seconds=1, audio=False, source="color")),  # fmt: skip
        (HostileFile("huge-4096x4096.mp4", "4096x4096: no side too long, too many pixels", "megapixels"),
         clip(size="4096x4096", rate=2, seconds=1, audio=False, source="color")),  # fmt: skip
        (HostileFile("fps-240.mp4", "240 frames a second", "frames a second"),
         clip(size="160x120", rate=240, seconds=1, audio=False)),  # fmt: skip
        (HostileFile("frames-36120.mp4", "120 fps for 301 s: 36120 frames", "frames; the most"),
         clip(size="16x16", rate=120, seconds=301, audio=False)),  # fmt: skip
        (HostileFile("still-2h-1fps.mp4", "a tiny still at 1 fps for two hours", "long; the longest"),
         clip(size="160x120", rate=1, seconds=7200, audio=False, source="color", extra=("-g", "7200"))),
        (HostileFile("claims-25000fps.mp4", "its clock patched: claims 25000 fps", "frames a second"),
         lambda d: _patch_timescale(src.base, d, 1000)),  # fmt: skip
        (HostileFile("claims-33min.mp4", "its clock patched: 2 s of frames claim 33 min", EITHER),
         lambda d: _patch_timescale(src.base, d, 0.001)),  # fmt: skip
        (HostileFile("lies-2s-is-11min.mkv", "header claims 2 s; 11 min of frames (caught while decoding)",
                     "more than 10 min long"), lambda d: _patch_mkv_duration(src.long_still, d, 2.0)),  # fmt: skip
        (HostileFile("grows-to-4608.mkv", "header says 320x240; its last frames are 4608x4608", "larger than its file says"),
         lambda d: _grow_mid_stream(d, tmp)),  # fmt: skip
        (HostileFile("two-video-streams.mp4", "two video streams (320x240 and 640x480)", ACCEPTED, (320, 240)),
         lambda d: _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i",
                           "testsrc=size=640x480:rate=25", "-t", "2", "-map", "0", "-map", "1", "-c:v", "libx264",
                           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(d))),  # fmt: skip
        (HostileFile("variable-rate.mp4", "variable frame rate (frames at jittered times)", ACCEPTED),
         clip(extra=("-vf", "setpts='N/25/TB+0.013*sin(N)/TB'", "-fps_mode", "vfr"))),  # fmt: skip
        (HostileFile("rotated-90.mp4", "rotation metadata 90", ACCEPTED, (240, 320)),
         lambda d: _ffmpeg("-i", str(src.base), "-c", "copy", "-metadata:s:v", "rotate=90", str(d))),
        (HostileFile("rotated-270.mov", "rotation metadata 270", ACCEPTED, (240, 320)),
         lambda d: _ffmpeg("-i", str(src.base), "-c", "copy", "-metadata:s:v", "rotate=270", str(d))),
        (HostileFile("hevc-10bit.mp4", "HEVC Main 10 (yuv420p10le)", ACCEPTED, (320, 240)),
         clip(extra=("-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", "-tag:v", "hvc1"))),
        (HostileFile("no-audio.mp4", "no audio stream", ACCEPTED, (320, 240)), clip(audio=False)),
        (HostileFile("odd-641x359.mp4", "odd width and height", ACCEPTED, (640, 358)), clip(size="641x359", audio=False)),
    ]
    return cases


def corpus_entries() -> list[HostileFile]:
    """What the corpus holds, without making any of it (e.g. to name parametrised tests)."""
    return [entry for entry, _ in _cases(Path("unused"))]


def write_corpus(out_dir: str | Path, names: set[str] | None = None) -> list[tuple[HostileFile, Path]]:
    """Write the hostile files (all, or those ``names``) into ``out_dir`` and return them with their paths."""
    out = Path(out_dir)
    tmp = out / ".sources"
    tmp.mkdir(parents=True, exist_ok=True)
    corpus = []
    for entry, make in _cases(tmp):
        if names is not None and entry.name not in names:
            continue
        path = out / entry.name
        make(path)
        corpus.append((entry, path))
    shutil.rmtree(tmp)
    return corpus
