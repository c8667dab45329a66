"""A contact sheet: every look and every aspect preset on one frame of a synthetic scene, as a PNG.

    .venv/bin/python -m highlighter.render.sheet --out docs/contact-sheet.png

The frame and the product's masks come from ``highlighter.eval.synthetic`` (exact ground truth), and
go through the same code as a render (``MatteStream``, ``plan_camera``, ``window_picture``, the looks'
layers), minus the encoder, so the sheet shows what a download looks like.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from highlighter.eval.synthetic import moving_object_scene
from highlighter.render.compositor import default_size, window_picture
from highlighter.render.effects import FONT, make_looks
from highlighter.render.layers import blend
from highlighter.render.matte import MatteStream
from highlighter.render.presets import ASPECTS, LOOK_CHOICES
from highlighter.render.reframe import plan_camera
from highlighter.trackfile import FrameTrack, Track

TILE = 300  # px: the height of each picture on the sheet


def _scene_track(frame_index: int):
    scene = moving_object_scene(width=1280, height=720, seconds=4.0, colour="red", distractor="blue", seed=2)
    frames = [FrameTrack.from_mask(i, i / scene.fps, scene.target_mask(i), 1.0) for i in range(scene.frame_count)]
    video = {"width": scene.width, "height": scene.height, "fps": scene.fps, "frame_count": scene.frame_count}
    track = Track(video, {"text": "the red bag"}, frames, [[0, scene.frame_count - 1]])
    return scene.render(frame_index), track


def _draw(picture: np.ndarray, styles: list[str], matte, options=None) -> np.ndarray:
    for look in make_looks(styles, options):
        picture = blend(picture, look.layer(picture, matte), matte.presence)
    return picture


def build_sheet(frame_index: int = 40) -> Image.Image:
    frame, track = _scene_track(frame_index)
    height, width = frame.shape[:2]
    stream = MatteStream(track)
    for i in range(frame_index):  # walk up to the frame so the temporal smoothing has its neighbours
        stream.matte(i)
    matte = stream.matte(frame_index)
    tiles: list[tuple[str, np.ndarray]] = [("Original", frame)]
    options = {"label": {"text": "The red bag"}}
    for name, choice in LOOK_CHOICES.items():
        tiles.append((choice["label"], _draw(frame.copy(), [name], matte, options)))
    tiles.append(("Spotlight + outline + label", _draw(frame.copy(), ["spotlight", "outline", "label"], matte, options)))
    for key, preset in ASPECTS.items():
        camera = plan_camera(track, aspect=preset.aspect, safe_zone="default")
        window = tuple(int(v) for v in camera.windows[frame_index])
        size = default_size(preset.aspect)
        scale = TILE / size[1]
        small = (max(2, round(size[0] * scale) // 2 * 2), TILE)
        picture = window_picture(frame, width, height, window, small)  # type: ignore[arg-type]
        local = matte.mapped(window, small)  # type: ignore[arg-type]
        tiles.append((f"{key} (spotlight + outline)", _draw(picture, ["spotlight", "outline"], local)))
    font = ImageFont.truetype(str(FONT), 18) if FONT.exists() else ImageFont.load_default()
    images = []
    for title, picture in tiles:
        h, w = picture.shape[:2]
        image = Image.fromarray(picture).resize((max(1, round(w * TILE / h)), TILE), Image.LANCZOS)
        card = Image.new("RGB", (image.width, TILE + 30), (24, 24, 28))
        card.paste(image, (0, 30))
        ImageDraw.Draw(card).text((8, 5), title, font=font, fill=(235, 235, 235))
        images.append(card)
    # Rows no wider than 4 landscape tiles.
    max_width, gap = 4 * round(width * TILE / height) + 3 * 8, 8
    rows: list[list[Image.Image]] = [[]]
    for card in images:
        if rows[-1] and sum(c.width + gap for c in rows[-1]) + card.width > max_width:
            rows.append([])
        rows[-1].append(card)
    sheet_w = max(sum(c.width for c in row) + gap * (len(row) - 1) for row in rows) + 2 * gap
    sheet_h = sum(TILE + 30 for _ in rows) + gap * (len(rows) + 1)
    sheet = Image.new("RGB", (sheet_w, sheet_h), (12, 12, 14))
    y = gap
    for row in rows:
        x = gap
        for card in row:
            sheet.paste(card, (x, y))
            x += card.width + gap
        y += TILE + 30 + gap
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m highlighter.render.sheet", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/contact-sheet.png")
    parser.add_argument("--frame", type=int, default=40)
    args = parser.parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    build_sheet(args.frame).save(args.out, optimize=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
