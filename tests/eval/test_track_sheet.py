"""The contact sheet of a track (highlighter.eval.track_sheet) on a tiny generated clip."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from bench.track_sheets import BUNNY_BOX, bunny_video
from highlighter.eval import track_sheet as sheet
from highlighter.eval.footage import FootageClip
from highlighter.media import iter_frames, probe
from highlighter.track.prompt import parse_box


def card_origin(n: int, header: int, tile_h: int, columns: int = 4) -> tuple[int, int]:
    """Top-left of the picture (below its caption) of the ``n``-th tile on the sheet."""
    row, column = divmod(n, columns)
    return (sheet.GAP + column * (sheet.TILE_WIDTH + sheet.GAP),
            header + row * (tile_h + sheet.CAPTION + sheet.GAP) + sheet.CAPTION)  # fmt: skip


def test_frames_are_spread_from_first_to_last_with_the_prompt_frame_among_them():
    assert sheet.sheet_indices(24, 8) == [0, 3, 7, 10, 13, 16, 20, 23]
    assert sheet.sheet_indices(100, 10, keep=[24]) == [0, 11, 24, 33, 44, 55, 66, 77, 88, 99]
    assert sheet.sheet_indices(5, 12) == [0, 1, 2, 3, 4]


def test_a_tile_tints_and_outlines_the_track_and_leaves_the_rest_of_the_frame(make_footage, make_truth_track):
    clip = FootageClip(make_footage("moving"))
    track = make_truth_track(True)
    picture = next(iter_frames(clip.video))
    tile = sheet.draw_tile(picture, track.frames[0], track.mask(0), scale=1.0, truth=clip.mask(0))
    inside, far = track.mask(0), np.ones(track.mask(0).shape, bool)
    far[30:80, 10:60] = False  # the square (x 20-50, y 40-70) and a margin for its outlines and box
    assert np.abs(tile.astype(int) - picture)[inside].mean() > 20
    assert (tile[far] == picture[far]).all()


def test_the_sheet_shows_every_chosen_frame_with_the_track_drawn_where_it_is(make_footage, make_truth_track, tmp_path):
    clip = FootageClip(make_footage("moving"))
    track = make_truth_track(True)
    image = sheet.build_track_sheet(clip.video, track, title="moving", truth=clip.mask, count=8, notes=["a note"])
    image.save(tmp_path / "sheet.png")
    saved = np.asarray(Image.open(tmp_path / "sheet.png").convert("RGB"))
    tile_h = round(120 * sheet.TILE_WIDTH / 160)
    header = 36 + 22 * 2
    rows_h, columns_w = 2 * (tile_h + sheet.CAPTION + sheet.GAP), 4 * (sheet.TILE_WIDTH + sheet.GAP)
    assert saved.shape == (header + rows_h + sheet.GAP, columns_w + sheet.GAP, 3)
    scale = sheet.TILE_WIDTH / 160
    frames = list(iter_frames(clip.video, size=(sheet.TILE_WIDTH, tile_h)))
    for n, index in enumerate(sheet.sheet_indices(24, 8)):
        x0, y0 = card_origin(n, header, tile_h)
        tile = saved[y0 : y0 + tile_h, x0 : x0 + sheet.TILE_WIDTH].astype(int)
        bx, by, bw, bh = (round(v * scale) for v in track.frames[index].box)
        centre = (slice(by + 10, by + bh - 10), slice(bx + 10, bx + bw - 10))
        assert np.abs(tile[centre] - frames[index][centre]).mean() > 20  # tinted where the track is
        assert np.abs(tile[:20, -20:] - frames[index][:20, -20:]).mean() < 3  # a corner far from it is the frame


def test_hidden_frames_say_so_in_their_caption(make_footage, make_truth_track):
    clip = FootageClip(make_footage("moving"))
    image = sheet.build_track_sheet(clip.video, make_truth_track(True, hidden_score=0.2), title="t", count=4)
    pixels = np.asarray(image)
    header, tile_h = 36 + 22, round(120 * sheet.TILE_WIDTH / 160)
    captions = [pixels[y - sheet.CAPTION : y, x : x + sheet.TILE_WIDTH] for x, y in
                (card_origin(n, header, tile_h) for n in range(4))]  # fmt: skip
    said_hidden = [bool((c == sheet.HIDDEN_RGB).all(axis=-1).any()) for c in captions]
    assert said_hidden == [False, True, True, True]  # frame 0 is the truth, the others are hidden


def test_the_command_tracks_and_writes_the_sheet(make_footage, make_truth_track, monkeypatch, tmp_path, capsys):
    folder = make_footage("moving")
    monkeypatch.setattr(sheet, "track_video", lambda path, prompt, backend: make_truth_track(True))
    out = tmp_path / "sheets" / "moving.png"
    args = [str(folder / "video.mp4"), "--box", "20,40,50,70@0", "--masks", str(folder / "masks"), "--frames", "6",
            "--out", str(out)]  # fmt: skip
    assert sheet.main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["clip"] == "moving" and summary["frames"] == 24 and summary["fps"] > 0
    assert Image.open(out).size[0] == 4 * (sheet.TILE_WIDTH + sheet.GAP) + sheet.GAP


def test_the_sample_clip_is_installed_and_its_prompt_box_fits_it():
    info = probe(bunny_video())
    box = parse_box(BUNNY_BOX)
    assert box.x2 <= info.width and box.y2 <= info.height and box.frame < info.frame_count
