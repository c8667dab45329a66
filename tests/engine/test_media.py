"""highlighter.media: probing and checking uploads, normalising, proxies, frames in and out."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import cv2
import numpy as np
import pytest

from highlighter import media
from highlighter.errors import Cancelled, MediaError
from highlighter.media import VideoWriter, check_decodable, extract_frame, iter_frames, make_proxy, normalise, prefetched, probe

from .conftest import ffmpeg


def ffprobe_json(path) -> dict:
    out = subprocess.run(
        [media.FFPROBE, "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def stream(path, kind: str) -> dict | None:
    return next((s for s in ffprobe_json(path)["streams"] if s["codec_type"] == kind), None)


def error_of(path, check=probe) -> str:
    with pytest.raises(MediaError) as info:
        check(path)
    return str(info.value)


# --- probe: what a marketer might upload by mistake ---------------------------------------------


def test_it_probes_a_video(make_clip):
    info = probe(make_clip(size=(320, 240), seconds=1.0, fps=25), count_frames=True)
    assert (info.width, info.height, info.fps, info.frame_count) == (320, 240, 25.0, 25)
    assert info.duration == pytest.approx(1.0, abs=0.05)
    assert info.has_audio and info.video_codec == "h264" and info.audio_codec == "aac"


def test_it_probes_a_webm_whose_streams_carry_no_duration(make_clip):
    # Matroska keeps a stream's length in a DURATION tag, not in the stream's duration field.
    info = probe(make_clip("clip.webm", audio=False, extra=("-c:v", "libvpx-vp9", "-deadline", "realtime")))
    assert (info.video_codec, info.frame_count, info.fps) == ("vp9", 25, 25.0)
    assert info.duration == pytest.approx(1.0, abs=0.05)


def test_it_rejects_a_text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("Brief: make the handbag pop.\n" * 20)
    assert "not a video" in error_of(path)


def test_it_rejects_random_bytes(tmp_path):
    path = tmp_path / "noise.mov"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    assert "not a video" in error_of(path)


@pytest.mark.parametrize("name", ["still.png", "still.jpg"])
def test_it_rejects_a_still_image(tmp_path, name):
    path = tmp_path / name
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", str(path))
    assert error_of(path).startswith("This is a still image, not a video.")


def test_it_rejects_an_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    assert error_of(path).startswith("This file is empty.")


def test_it_rejects_a_missing_file(tmp_path):
    assert "missing" in error_of(tmp_path / "nowhere.mp4")


def test_it_rejects_an_mp4_cut_in_half_before_its_index(make_clip):
    # Without +faststart the index (moov) is at the end: the first half has none, ffprobe fails.
    path = make_clip("whole.mp4", seconds=2.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = error_of(path)
    assert "incomplete" in message and "Export it again" in message


def test_it_rejects_a_corrupt_file(make_clip):
    path = make_clip("corrupt.mp4")
    data = bytearray(path.read_bytes())
    data[:4096] = np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    assert "damaged" in error_of(path)


def test_it_rejects_an_audio_only_file(tmp_path):
    path = tmp_path / "voiceover.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(path))
    assert error_of(path).startswith("This file has no video stream")


def test_it_rejects_a_video_of_one_frame(make_clip):
    path = make_clip("one.mp4", audio=False, extra=("-frames:v", "1"))
    assert "no length" in error_of(path)


def test_it_refuses_an_absurdly_wide_video_by_its_limits(make_clip):
    path = make_clip("wide.mp4", size=(8200, 32), seconds=0.2, audio=False, source="color=c=gray")
    message = error_of(path, check=lambda p: media.Limits().check(probe(p)))
    assert "8200x32" in message and "4096 pixels on the longest side" in message


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (media.Limits(max_side=200), "320x240 pixels; the most we accept is 200 pixels"),
        (media.Limits(max_pixels=320 * 200), "0.1 megapixels"),
        (media.Limits(max_fps=24), "runs at 25 frames a second; the most we accept is 24"),
        (media.Limits(max_seconds=0.5), "is 1 s long; the longest we accept is 0 s"),
        (media.Limits(max_frames=20), "has 25 frames; the most we accept is 20"),
    ],
)
def test_each_limit_says_what_it_is(make_clip, limits, words):
    info = probe(make_clip(size=(320, 240), seconds=1.0, fps=25, audio=False))
    with pytest.raises(MediaError, match=words):
        limits.check(info)
    media.Limits().check(info)  # the defaults take a reel


def _transcode_with(src, out, limits: media.Limits) -> None:
    """Convert ``src`` watching its frames against ``limits``, as ``normalise`` does after the probe
    passed: here the probe is skipped, as if the file's header had understated the video."""
    args = ["-max_pixels", str(limits.max_pixels), "-i", str(src), "-c:v", "libx264", "-preset", "ultrafast"]
    media._transcode(args, out, duration=1.0, progress=None, failure="not this one", limits=limits)


def test_a_video_longer_than_its_header_says_is_stopped_while_decoding(make_clip, tmp_path):
    src = make_clip(size=(160, 120), seconds=3.0, fps=25, audio=False)
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaError, match="has more than 30 frames"):
        _transcode_with(src, out, media.Limits(max_frames=30))
    with pytest.raises(MediaError, match="is more than 2 s long"):
        _transcode_with(src, out, media.Limits(max_seconds=2))
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_frames_larger_than_their_header_says_are_refused_while_decoding(make_clip, tmp_path):
    src = make_clip(size=(320, 240), seconds=1.0, audio=False)
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaError, match="larger than its file says"):
        _transcode_with(src, out, media.Limits(max_pixels=320 * 200))
    assert not out.exists()


def test_it_rejects_a_tiny_video(make_clip):
    path = make_clip("tiny.mp4", size=(8, 8), seconds=0.2, audio=False, source="color=c=gray")
    assert "at least 16 pixels" in error_of(path)


def test_it_reports_rotation_and_displayed_size(make_clip, tmp_path):
    rotated = tmp_path / "rotated.mov"
    ffmpeg("-i", str(make_clip()), "-c", "copy", "-metadata:s:v", "rotate=90", str(rotated))
    info = probe(rotated)
    assert info.rotation in (90, 270) and (info.width, info.height) == (240, 320)


# --- check_decodable: files that probe fine but cannot be played to the end ----------------------


def test_it_accepts_a_decodable_video(make_clip):
    path = make_clip(seconds=2.0)
    assert check_decodable(path).frame_count == 50


def test_it_rejects_a_video_that_ends_early(make_clip):
    # With +faststart the index comes first, so a file cut short still probes as 2 s long.
    path = make_clip("faststart.mp4", seconds=2.0, audio=False, extra=("-movflags", "+faststart"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert probe(path).duration == pytest.approx(2.0, abs=0.05)
    assert error_of(path, check_decodable) == (
        "This video file is damaged or incomplete (it ends early). Export it again and re-upload."
    )


# --- normalise ------------------------------------------------------------------------------------


def test_normalise_applies_rotation(make_clip, tmp_path):
    # A red block in the top-left corner of a 320x240 source stored with a 90 degree display rotation.
    source = tmp_path / "marker.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=blue:size=320x240:rate=25:duration=1",
        "-vf", "drawbox=x=0:y=0:w=80:h=60:color=red:t=fill",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source),
    )  # fmt: skip
    rotated = tmp_path / "rotated.mov"
    ffmpeg("-i", str(source), "-c", "copy", "-metadata:s:v", "rotate=90", str(rotated))
    assert any("rotation" in side for side in stream(rotated, "video").get("side_data_list", []))

    info = normalise(rotated, tmp_path / "norm.mp4")

    assert (info.width, info.height, info.rotation) == (240, 320, 0)
    video = stream(tmp_path / "norm.mp4", "video")
    assert not any("rotation" in side for side in video.get("side_data_list", []))
    assert "rotate" not in video.get("tags", {})
    frame = extract_frame(tmp_path / "norm.mp4", 5)
    red = (frame[..., 0] > 150) & (frame[..., 2] < 100)
    ys, xs = np.nonzero(red)
    # The block is now 60 wide and 80 tall, in a corner other than the top-left.
    assert xs.max() - xs.min() + 1 == pytest.approx(60, abs=2) and ys.max() - ys.min() + 1 == pytest.approx(80, abs=2)
    assert not red[:40, :40].any()


def test_normalise_makes_an_odd_size_even_and_keeps_audio(make_clip, tmp_path):
    info = normalise(make_clip(size=(321, 241), seconds=1.0), tmp_path / "norm.mp4")
    assert (info.width, info.height) == (320, 240)
    assert info.video_codec == "h264" and info.has_audio and info.audio_codec == "aac"
    audio = stream(tmp_path / "norm.mp4", "audio")
    assert audio["sample_rate"] == "48000"
    assert stream(tmp_path / "norm.mp4", "video")["pix_fmt"] == "yuv420p"


def test_normalise_leaves_a_silent_video_silent(make_clip, tmp_path):
    info = normalise(make_clip(audio=False), tmp_path / "norm.mp4")
    assert not info.has_audio and stream(tmp_path / "norm.mp4", "audio") is None


def test_normalise_makes_a_variable_frame_rate_constant(tmp_path):
    source = tmp_path / "vfr.mp4"
    # Drop every third frame of a 30 fps source: timestamps step 1/30, 2/30, 1/30, ...; 20 fps average.
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=2",
        "-vf", "select='not(eq(mod(n\\,3)\\,2))'", "-fps_mode", "vfr",
        "-c:v", "libx264", "-preset", "ultrafast", str(source),
    )  # fmt: skip
    info = normalise(source, tmp_path / "norm.mp4")
    video = stream(tmp_path / "norm.mp4", "video")
    assert video["avg_frame_rate"] == video["r_frame_rate"]
    assert info.fps == pytest.approx(20.0, rel=0.05)
    assert info.frame_count == pytest.approx(info.duration * info.fps, abs=1)
    times = subprocess.run(
        [media.FFPROBE, "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0",
         str(tmp_path / "norm.mp4")], capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    steps = np.diff(sorted(float(t) for t in times))
    assert steps.max() - steps.min() < 1e-3


def test_normalise_caps_the_frame_rate(make_clip, tmp_path):
    info = normalise(make_clip(fps=60, seconds=1.0, audio=False), tmp_path / "norm.mp4", max_fps=30)
    assert info.fps == 30.0 and info.frame_count == 30


def test_normalise_reports_progress_up_to_one(make_clip, tmp_path):
    seen: list[float] = []
    normalise(make_clip(seconds=2.0), tmp_path / "norm.mp4", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)


def test_normalise_stops_and_cleans_up_when_cancelled(make_clip, tmp_path):
    dst = tmp_path / "norm.mp4"

    def cancel(fraction: float) -> None:
        raise Cancelled("The upload was cancelled.")

    with pytest.raises(Cancelled):
        normalise(make_clip(seconds=2.0), dst, progress=cancel)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("norm")) == []


# --- proxy, frames, thumbnails, writer -----------------------------------------------------------


def test_the_proxy_is_small_and_keeps_every_frame(clip, tmp_path):
    info = make_proxy(clip, tmp_path / "proxy.mp4", height=120)
    assert info.height == 120 and info.width % 2 == 0 and info.width == pytest.approx(120 * 16 / 9, abs=2)
    assert info.frame_count == 50 and info.fps == 25.0 and info.has_audio
    data = (tmp_path / "proxy.mp4").read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart: the index comes first, playback starts early


def test_the_proxy_never_upscales(make_clip, tmp_path):
    info = make_proxy(make_clip(size=(320, 240), audio=False), tmp_path / "proxy.mp4", height=360)
    assert (info.width, info.height) == (320, 240)


def numbered_video(path, count: int = 20, fps: float = 25) -> None:
    """Frame i is flat grey at level 10*i, so a decoded frame says which one it is."""
    with VideoWriter(path, 64, 48, fps) as writer:
        for i in range(count):
            writer.write(np.full((48, 64, 3), 10 * i, dtype=np.uint8))


def test_extract_frame_returns_the_frame_asked_for(tmp_path):
    path = tmp_path / "numbered.mp4"
    numbered_video(path, fps=30000 / 1001)
    for index in (0, 7, 19):
        assert extract_frame(path, index).mean() == pytest.approx(10 * index, abs=3)
    with pytest.raises(MediaError):
        extract_frame(path, 20)


def test_iter_frames_streams_every_frame_and_scales(tmp_path):
    path = tmp_path / "numbered.mp4"
    numbered_video(path)
    levels = [frame.mean() for frame in iter_frames(path)]
    assert levels == pytest.approx([10 * i for i in range(20)], abs=3)
    small = next(iter_frames(path, size=(32, 24)))
    assert small.shape == (24, 32, 3) and small.dtype == np.uint8


def test_prefetched_frames_come_in_order_with_the_decoder_s_error_after_them(tmp_path):
    path = tmp_path / "numbered.mp4"
    numbered_video(path)
    levels = [frame.mean() for frame in prefetched(iter_frames(path), depth=2)]
    assert levels == pytest.approx([10 * i for i in range(20)], abs=3)

    def failing():
        yield np.zeros((2, 2, 3), np.uint8)
        yield np.ones((2, 2, 3), np.uint8)
        raise MediaError("This video could not be decoded to the end")

    got = []
    with pytest.raises(MediaError, match="to the end"):
        for frame in prefetched(failing()):
            got.append(int(frame.max()))
    assert got == [0, 1]


def test_a_consumer_that_stops_early_stops_the_prefetching_decoder():
    state = {"made": 0, "closed": False, "threads": set()}

    def endless():
        try:
            while True:
                state["threads"].add(threading.current_thread())
                state["made"] += 1
                yield np.zeros((2, 2, 3), np.uint8)
        finally:
            state["closed"] = True  # iter_frames kills ffmpeg here

    frames = prefetched(endless(), depth=3)
    for _ in zip(range(5), frames):
        pass
    frames.close()
    assert state["closed"] and not any(t.is_alive() for t in state["threads"] - {threading.current_thread()})
    assert 5 <= state["made"] <= 5 + 3 + 1  # never more than ``depth`` ahead (and one in hand)
    # A consumer that takes one frame (a prompt's) has no more decoded, and no thread started.
    state.update(made=0, closed=False, threads=set())
    frames = prefetched(endless(), depth=3)
    next(frames)
    frames.close()
    assert state["made"] == 1 and state["closed"] and state["threads"] == {threading.current_thread()}


def test_the_writer_keeps_every_frame_when_the_audio_is_shorter(make_clip, tmp_path):
    voice = make_clip("short_audio.mp4", seconds=1.0)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, 64, 48, 25, audio_from=voice) as writer:
        for _ in range(50):  # 2 s of pictures over 1 s of sound
            writer.write(np.zeros((48, 64, 3), np.uint8))
    info = probe(out, count_frames=True)
    assert info.frame_count == 50 and info.has_audio
    assert float(ffprobe_json(out)["format"]["duration"]) == pytest.approx(2.0, abs=0.1)


def test_the_writer_removes_its_file_on_error(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 64, 48, 25) as writer:
            writer.write(np.zeros((48, 64, 3), np.uint8))
            raise RuntimeError("stop")
    assert not out.exists()


def test_write_jpeg_makes_a_small_thumbnail(tmp_path):
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[..., 0] = 200  # red
    media.write_jpeg(frame, tmp_path / "thumb.jpg", max_width=320)
    image = cv2.imread(str(tmp_path / "thumb.jpg"))
    assert image.shape == (180, 320, 3)
    assert image[90, 160, 2] > 180 and image[90, 160, 0] < 30  # BGR on disk: still red
    assert os.path.getsize(tmp_path / "thumb.jpg") < 20000
