"""highlighter.render end to end through ffmpeg: the MP4, the overlay, the masks, the CLI."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from highlighter.cli import main
from highlighter.errors import Cancelled, MediaError
from highlighter.media import FFPROBE, VideoWriter, iter_frames, probe
from highlighter.render import RenderSpec, render_outputs, render_video
from highlighter.render.compositor import default_size, parse_aspect


def streams(path):
    out = subprocess.run([FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, check=True)  # fmt: skip
    return json.loads(out.stdout)


# --- compositor -----------------------------------------------------------------------------------


def test_parse_aspect_and_default_sizes():
    assert parse_aspect("9:16") == (9, 16)
    assert default_size((9, 16)) == (1080, 1920)
    assert default_size((1, 1)) == (1080, 1080)
    assert default_size((4, 5)) == (1080, 1350)
    assert default_size((16, 9)) == (1920, 1080)
    assert default_size((2, 3)) == (1080, 1620)  # custom
    with pytest.raises(ValueError):
        parse_aspect("tall")


def test_it_renders_a_reframed_spotlight_with_the_audio(clip, tmp_path, make_track):
    track = make_track(640, 360, 50, centre=lambda i: (200 + 6 * i, 180))
    seen: list[float] = []
    info = render_video(clip, track, tmp_path / "out.mp4", out_size=(270, 480), progress=seen.append)
    source = probe(clip, count_frames=True)
    assert (info.width, info.height, info.video_codec) == (270, 480, "h264")
    assert info.has_audio and info.audio_codec == "aac"
    assert info.frame_count == source.frame_count == 50
    assert info.duration == pytest.approx(source.duration, abs=0.1)
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_it_renders_9_16_at_1080x1920_by_default(clip, tmp_path, make_track):
    info = render_video(clip, make_track(640, 360, 50), tmp_path / "out.mp4")
    assert (info.width, info.height, info.frame_count) == (1080, 1920, 50)


def test_the_reframed_video_keeps_the_product_in_shot(tmp_path, make_track):
    # A red square crossing a grey frame; the track says exactly where it is.
    def centre(i):
        return 80 + 10 * i, 180

    track = make_track(640, 360, 48, centre=centre)
    source = tmp_path / "red.mp4"
    with VideoWriter(source, 640, 360, 25) as writer:
        for i in range(48):
            frame = np.full((360, 640, 3), 128, np.uint8)
            frame[track.mask(i)] = (220, 20, 20)
            writer.write(frame)
    render_video(source, track, tmp_path / "out.mp4", out_size=(202, 360), styles=())
    for frame in iter_frames(tmp_path / "out.mp4"):
        red = (frame[..., 0] > 160) & (frame[..., 1] < 80)
        assert red.sum() >= 0.8 * 40 * 40  # the whole square is in the crop


def test_it_keeps_the_source_size_without_an_aspect(tmp_path, make_track, make_clip):
    source = make_clip("grey.mp4", size=(320, 240), seconds=1.0, source="color=c=0x808080")
    track = make_track(320, 240, 25, side=60)
    info = render_video(source, track, tmp_path / "out.mp4", aspect=None)
    assert (info.width, info.height, info.frame_count) == (320, 240, 25)
    frame = next(iter_frames(tmp_path / "out.mp4"))
    assert frame[120, 160].mean() == pytest.approx(128, abs=4)  # the product: untouched
    assert frame[10, 10].mean() == pytest.approx(128 * 0.35, abs=4)  # the background: dimmed


def test_it_refuses_a_track_made_for_another_video(clip, tmp_path, make_track):
    with pytest.raises(MediaError, match="Track the product in this video again"):
        render_video(clip, make_track(320, 240, 50), tmp_path / "out.mp4", out_size=(270, 480))


def test_a_cancelled_render_leaves_no_file(clip, tmp_path, make_track):
    def cancel(fraction):
        if fraction > 0.3:
            raise Cancelled("The render was cancelled.")

    with pytest.raises(Cancelled):
        render_video(clip, make_track(640, 360, 50), tmp_path / "out.mp4", out_size=(270, 480), progress=cancel)
    assert not (tmp_path / "out.mp4").exists()


def test_the_mp4_is_h264_yuv420p_faststart_with_the_source_audio(clip, tmp_path, make_track):
    out = tmp_path / "out.mp4"
    render_video(clip, make_track(640, 360, 50), out, out_size=(270, 480), styles=("spotlight", "outline"))
    data = streams(out)
    video = next(s for s in data["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert any(s["codec_type"] == "audio" for s in data["streams"])
    head = out.read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # +faststart: index first


def test_one_decode_renders_several_outputs_with_the_editor_files(clip, tmp_path, make_track):
    track = make_track(640, 360, 50, centre=lambda i: (200 + 4 * i, 180))
    specs = [
        RenderSpec(tmp_path / "tall.mp4", styles=("spotlight", "outline", "label"), aspect="9:16", out_size=(180, 320),
                   overlay_path=tmp_path / "tall.webm", masks_dir=tmp_path / "masks", crop_path_out=tmp_path / "crop.json"),
        RenderSpec(tmp_path / "square.mp4", styles=("glow", "zoom"), aspect="1:1", out_size=(240, 240), motion="fast",
                   overlay_path=tmp_path / "square.mov"),
        RenderSpec(tmp_path / "wide.mp4", styles=("blur", "box", "tint"), aspect=None, out_size=(320, 180)),
    ]  # fmt: skip
    infos = render_outputs(clip, track, specs)
    assert [(i.width, i.height, i.frame_count) for i in infos] == [(180, 320, 50), (240, 240, 50), (320, 180, 50)]
    assert all(i.has_audio for i in infos)

    webm = streams(tmp_path / "tall.webm")["streams"][0]
    assert webm["codec_name"] == "vp9" and webm["tags"].get("alpha_mode", webm["tags"].get("ALPHA_MODE")) == "1"
    assert (webm["width"], webm["height"]) == (180, 320)
    mov = streams(tmp_path / "square.mov")["streams"][0]
    assert mov["codec_name"] == "prores" and mov["pix_fmt"].startswith("yuva444")
    assert probe(tmp_path / "square.mov", count_frames=True).frame_count == 50

    import cv2

    masks = sorted((tmp_path / "masks").glob("mask_*.png"))
    assert len(masks) == 50 and masks[0].name == "mask_000000.png"
    mask = cv2.imread(str(masks[10]), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (320, 180) and mask.dtype == np.uint8 and mask.max() == 255 and mask.min() == 0
    crop = json.loads((tmp_path / "crop.json").read_text())
    assert len(crop["frames"]) == 50 and crop["output"] == {"width": 180, "height": 320}


def test_a_product_too_big_for_the_window_is_padded_with_a_blurred_background(tmp_path, make_track, make_clip):
    source = make_clip("pattern.mp4", size=(640, 360), seconds=1.0)
    track = make_track(640, 360, 25, side=300)
    render_video(source, track, tmp_path / "out.mp4", styles=(), out_size=(180, 320), safe_zone="none")
    frame = next(iter_frames(tmp_path / "out.mp4"))
    band = frame[:20].astype(float)  # the padding above the picture
    assert band.mean() > 10 and band.std(axis=(0, 1)).max() < frame[140:180].astype(float).std(axis=(0, 1)).max()


def test_a_failing_editor_output_removes_every_partial_file(clip, tmp_path, make_track):
    with pytest.raises(MediaError, match=".webm or .mov"):
        render_video(clip, make_track(640, 360, 50), tmp_path / "out.mp4", out_size=(270, 480),
                     overlay_path=tmp_path / "overlay.gif")  # fmt: skip
    assert not (tmp_path / "out.mp4").exists()


def test_the_cli_renders_looks_presets_and_editor_outputs(clip, tmp_path, make_track, capsys):
    make_track(640, 360, 50).save(tmp_path / "t.json")
    code = main(["render", str(clip), "--track", str(tmp_path / "t.json"), "--style", "spotlight,outline,label",
                 "--set", "outline.colour=#ff0066", "--set", "label.text=2024", "--aspect", "9:16", "--size", "180x320",
                 "--motion", "slow", "--safe-zone", "tiktok", "--masks", str(tmp_path / "m"),
                 "--crop-path", str(tmp_path / "c.json"), "--out", str(tmp_path / "o.mp4")])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["width"], summary["height"], summary["frame_count"]) == (180, 320, 50)
    assert json.loads((tmp_path / "c.json").read_text())["motion"] == "slow"
    assert len(list((tmp_path / "m").glob("*.png"))) == 50


def test_the_cli_explains_a_bad_look(clip, tmp_path, make_track, capsys):
    make_track(640, 360, 50).save(tmp_path / "t.json")
    code = main(["render", str(clip), "--track", str(tmp_path / "t.json"), "--style", "sparkles", "--out", str(tmp_path / "o.mp4")])
    assert code == 2 and "no look called 'sparkles'" in capsys.readouterr().err
