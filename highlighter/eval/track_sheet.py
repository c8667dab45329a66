"""A contact sheet of one tracking run: a dozen frames of a real clip, so a person can judge the track.

    .venv/bin/python -m highlighter.eval.track_sheet VIDEO --box 150,180,590,600@24 --out sheet.png
        [--point X,Y@F] [--prompt TEXT] [--tracker auto] [--masks DIR] [--frames 12] [--title NAME]

Each tile is a frame, evenly spaced over the video (the prompt's frame always among them), with the
track's mask tinted and outlined, its box, and a caption: the frame index, the score, and "hidden" on
frames the track marks not visible. ``--masks DIR`` (``00000.png``... as in ``highlighter.eval.footage``)
also outlines the ground truth. The title line names the clip, the tracker that ran and its speed:
frames per second of the whole ``track_video`` call. Frames are decoded small and streamed; only the
chosen ones are kept.

A track of several products has a sheet of its own (``build_products_sheet``): each product's mask
tinted and outlined in its colour, its truth outlined thinly in the same colour, a caption per
product. For a multi-product scenario of the evaluation (``highlighter.eval.multi``)::

    .venv/bin/python -m highlighter.eval.track_sheet --family cross2 --seed 3 --mode joint \
        --out sheet.png [--frames 30,31,32,...] [--size 640x360]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from highlighter.errors import HighlighterError
from highlighter.eval.footage import read_truth_mask
from highlighter.media import iter_frames
from highlighter.render.effects import FONT
from highlighter.track import track_video
from highlighter.track.prompt import BoxPrompt, PointPrompt, Prompt, parse_box, parse_point
from highlighter.trackfile import FrameTrack, Track

TILE_WIDTH = 400  # px: each frame is scaled to this width on the sheet
CAPTION = 24  # px: the caption bar above each tile
GAP = 8  # px between tiles
TRACK_RGB = (255, 60, 170)  # the track's tint, outline and box
TRUTH_RGB = (60, 255, 90)  # the ground truth's outline
PROMPT_RGB = (255, 220, 0)  # the prompt's box and points
HIDDEN_RGB = (255, 90, 90)
TINT = 0.35  # opacity of the track's fill
PRODUCT_RGB = ((255, 60, 170), (40, 200, 255), (255, 160, 30), (150, 255, 60))  # per product, in track order
Truth = Callable[[int], np.ndarray]  # frame index -> bool (H, W) mask at the video's size


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default()


def sheet_indices(frame_count: int, count: int, keep: Sequence[int] = ()) -> list[int]:
    """``count`` frame indices spread evenly from the first frame to the last; each index of ``keep``
    (the prompt's frames) takes the place of the nearest one. Sorted, without repeats."""
    chosen = [int(round(v)) for v in np.linspace(0, frame_count - 1, min(count, frame_count))]
    for k in keep:
        if 0 <= k < frame_count and k not in chosen:
            chosen[int(np.argmin([abs(c - k) for c in chosen]))] = k
    return sorted(set(chosen))


def _small(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A bool mask scaled to ``size`` ``(W, H)``, keeping pixels at least a quarter covered (thin parts stay)."""
    return cv2.resize(mask.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) >= 64


def _outline(picture: np.ndarray, mask: np.ndarray, rgb: tuple[int, int, int]) -> None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(picture, contours, -1, rgb, 2, cv2.LINE_AA)


def draw_tile(
    picture: np.ndarray,
    frame: FrameTrack | None,
    mask: np.ndarray,
    *,
    scale: float,
    truth: np.ndarray | None = None,
    boxes: Sequence[BoxPrompt] = (),
    points: Sequence[PointPrompt] = (),
) -> np.ndarray:
    """The frame ``picture`` (already ``scale`` times the video's size) with the track drawn on it.

    ``mask`` and ``truth`` are bool masks at the video's size; ``frame.box`` is ``[x, y, w, h]``,
    ``boxes`` and ``points`` (the prompt's, on this frame) are in the video's pixels. Returns a new array.
    """
    out = picture.copy()
    size = (out.shape[1], out.shape[0])
    shown = _small(mask, size)
    out[shown] = (out[shown] * (1 - TINT) + np.array(TRACK_RGB) * TINT).astype(np.uint8)
    if truth is not None:
        _outline(out, _small(truth, size), TRUTH_RGB)
    _outline(out, shown, TRACK_RGB)
    if frame is not None and frame.visible and frame.box:
        x, y, w, h = (v * scale for v in frame.box)
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), TRACK_RGB, 1, cv2.LINE_AA)
    for b in boxes:
        corners = (int(b.x1 * scale), int(b.y1 * scale)), (int(b.x2 * scale), int(b.y2 * scale))
        cv2.rectangle(out, *corners, PROMPT_RGB, 2, cv2.LINE_AA)
    for p in points:
        cv2.circle(out, (int(p.x * scale), int(p.y * scale)), 5, PROMPT_RGB if p.positive else HIDDEN_RGB, -1)
    return out


RGB = tuple[int, int, int]


def _caption(draw: ImageDraw.ImageDraw, xy: tuple[int, int], parts: list[tuple[str, RGB]], font) -> None:
    """Draw text pieces of different colours one after another on a line."""
    x, y = xy
    for text, rgb in parts:
        draw.text((x, y), text, font=font, fill=rgb)
        x += int(draw.textlength(text + "  ", font=font))


def build_track_sheet(
    video_path: str | Path,
    track: Track,
    *,
    title: str,
    prompt: Prompt | None = None,
    truth: Truth | None = None,
    count: int = 12,
    notes: Sequence[str] = (),
) -> Image.Image:
    """The sheet: a title bar (``title``, a legend, ``notes``) over a grid of ``count`` frames, the
    frames of ``prompt``'s boxes and points among them."""
    width, height = track.width, track.height
    tile_w = TILE_WIDTH
    tile_h = max(2, round(height * tile_w / width))
    scale = tile_w / width
    boxes, points = (prompt.boxes, prompt.points) if prompt else ((), ())
    prompt_frames = {b.frame for b in boxes} | {p.frame for p in points}
    wanted = sheet_indices(len(track.frames), count, prompt_frames)

    font = _font(15)
    cards: list[Image.Image] = []
    # Decode at tile size (ffmpeg scales, the pipe carries a fraction of the bytes) and keep only the
    # chosen frames: a long video never sits in memory.
    for index, picture in enumerate(iter_frames(video_path, size=(tile_w, tile_h))):
        if index > wanted[-1]:
            break
        if index not in wanted:
            continue
        frame = track.frames[index] if index < len(track.frames) else None
        tile = draw_tile(
            picture, frame, track.mask(index), scale=scale, truth=truth(index) if truth else None,
            boxes=[b for b in boxes if b.frame == index], points=[p for p in points if p.frame == index],
        )  # fmt: skip
        card = Image.new("RGB", (tile_w, tile_h + CAPTION), (24, 24, 28))
        card.paste(Image.fromarray(tile), (0, CAPTION))
        parts: list[tuple[str, RGB]] = [(f"frame {index}", (235, 235, 235))]
        if frame is not None:
            parts.append((f"score {frame.score:.2f}", (235, 235, 235)))
        if frame is None or not frame.visible:
            parts.append(("hidden", HIDDEN_RGB))
        if index in prompt_frames:
            parts.append(("prompt", PROMPT_RGB))
        _caption(ImageDraw.Draw(card), (6, 3), parts, font)
        cards.append(card)

    legend = [("track", TRACK_RGB)] + ([("ground truth", TRUTH_RGB)] if truth else [])
    legend += [("prompt", PROMPT_RGB)] if prompt_frames else []
    return _sheet(cards, tile_w, tile_h, width >= height, title, legend, notes)


def _sheet(cards: list[Image.Image], tile_w: int, tile_h: int, landscape: bool, title: str,
           legend: list[tuple[str, RGB]], notes: Sequence[str]) -> Image.Image:
    columns = 4 if landscape else 6
    rows = (len(cards) + columns - 1) // columns
    font, bold = _font(15), _font(20)
    header = 36 + 22 * (1 + len(notes))
    sheet_w = columns * (tile_w + GAP) + GAP
    sheet = Image.new("RGB", (sheet_w, header + rows * (tile_h + CAPTION + GAP) + GAP), (12, 12, 14))
    draw = ImageDraw.Draw(sheet)
    draw.text((GAP, 8), title, font=bold, fill=(245, 245, 245))
    _caption(draw, (GAP, 38), legend, font)
    for n, note in enumerate(notes):
        draw.text((GAP, 38 + 22 * (n + 1)), note, font=font, fill=(170, 170, 170))
    for n, card in enumerate(cards):
        row, column = divmod(n, columns)
        sheet.paste(card, (GAP + column * (tile_w + GAP), header + row * (tile_h + CAPTION + GAP)))
    return sheet


def build_products_sheet(
    video_path: str | Path,
    track: Track,
    *,
    title: str,
    truths: Sequence[Truth] | None = None,
    frames: Sequence[int] | None = None,
    count: int = 12,
    notes: Sequence[str] = (),
) -> Image.Image:
    """A sheet of a track of several products: per tile, each object's mask tinted and outlined in
    its colour (``PRODUCT_RGB``, in ``track.objects`` order), its box, and ``truths[k]`` (frame index
    -> bool mask) outlined thinly in the same colour. ``frames`` are the frame indices to show
    (default: ``count`` evenly spaced); the caption gives each product's score, or "hidden"."""
    width, height = track.width, track.height
    tile_w = TILE_WIDTH
    tile_h = max(2, round(height * tile_w / width))
    scale = tile_w / width
    n_frames = track.video.get("frame_count") or len(track.frames)
    wanted = sorted(set(frames)) if frames else sheet_indices(n_frames, count)
    font = _font(15)
    cards: list[Image.Image] = []
    for index, picture in enumerate(iter_frames(video_path, size=(tile_w, tile_h))):
        if index > wanted[-1]:
            break
        if index not in wanted:
            continue
        out = picture.copy()
        size = (tile_w, tile_h)
        parts: list[tuple[str, RGB]] = [(f"{index}", (235, 235, 235))]
        for k, obj in enumerate(track.objects):
            rgb = PRODUCT_RGB[k % len(PRODUCT_RGB)]
            shown = _small(track.mask(index, obj.id), size)
            out[shown] = (out[shown] * (1 - TINT) + np.array(rgb) * TINT).astype(np.uint8)
            _outline(out, shown, rgb)
            if truths is not None:
                contours, _ = cv2.findContours(_small(truths[k](index), size).astype(np.uint8), cv2.RETR_EXTERNAL,
                                               cv2.CHAIN_APPROX_SIMPLE)  # fmt: skip
                cv2.drawContours(out, contours, -1, rgb, 1, cv2.LINE_AA)
            frame = obj.frames[index] if index < len(obj.frames) else None
            if frame is not None and frame.visible and frame.box:
                x, y, w, h = (v * scale for v in frame.box)
                cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), rgb, 1, cv2.LINE_AA)
            seen = frame is not None and frame.visible
            parts.append((f"{obj.id} {frame.score:.2f}" if seen else f"{obj.id} hidden", rgb))
        card = Image.new("RGB", (tile_w, tile_h + CAPTION), (24, 24, 28))
        card.paste(Image.fromarray(out), (0, CAPTION))
        _caption(ImageDraw.Draw(card), (6, 3), parts, font)
        cards.append(card)
    legend = [(f"{o.id}: {o.name}", PRODUCT_RGB[k % len(PRODUCT_RGB)]) for k, o in enumerate(track.objects)]
    if truths is not None:
        legend.append(("thin outline: ground truth", (200, 200, 200)))
    return _sheet(cards, tile_w, tile_h, width >= height, title, legend, notes)


def scenario_sheet(
    family: str, seed: int, mode: str, *, size: tuple[int, int] = (640, 360), backend: str = "auto",
    frames: Sequence[int] | None = None, count: int = 12,
) -> tuple[Image.Image, dict[str, Any]]:  # fmt: skip
    """Track a multi-product scenario of the evaluation (``mode`` "joint" or "independent") and draw
    its sheet with the truth; also returns its scores (``suite.score_products``)."""
    import tempfile

    from highlighter.eval.multi import build_multi, write_multi
    from highlighter.eval.suite import score_products, track_products

    scenario = build_multi(family, seed, width=size[0], height=size[1])
    with tempfile.TemporaryDirectory(prefix="highlighter-sheet-") as tmp:
        path = Path(tmp) / f"{family}-{seed}.mp4"
        truth = write_multi(path, scenario)
        started = time.monotonic()
        track = track_products(path, scenario, mode, backend=backend)
        seconds = time.monotonic() - started
        scores = score_products(track, truth)
        per = ", ".join(f"{p['id']} J&F {p['jf']:.3f}" for p in scores["products"])
        title = f"{family} seed {seed}  ·  {mode} ({track.meta.get('backend', backend)})  ·  {per}"
        notes = [f"frames on another product's truth: {scores['on_other_frames']}  ·  swaps {scores['swaps']}  ·  "
                 f"pixels in two masks {scores['double_pixels']}  ·  {scenario.frame_count / seconds:.1f} fps"]  # fmt: skip
        for p in scores["products"]:
            if p["on_other_at"]:
                notes.append(f"{p['id']} mostly on another product at frames " +
                             ", ".join(f"{a}-{b} ({o})" for a, b, o in p["on_other_at"]))  # fmt: skip
        truths = [(lambda i, k=k: truth.product_mask(i, k)) for k in range(len(scenario.products))]
        image = build_products_sheet(path, track, title=title, truths=truths, frames=frames, count=count, notes=notes)
    return image, scores


def track_and_sheet(
    video_path: str | Path,
    prompt: Prompt,
    *,
    name: str,
    tracker: str = "auto",
    truth: Truth | None = None,
    count: int = 12,
    notes: Sequence[str] = (),
) -> tuple[Image.Image, dict[str, Any]]:
    """Run ``track_video`` and draw its sheet; also returns a summary (backend, fps, frames, visible)."""
    started = time.monotonic()
    track = track_video(video_path, prompt, backend=tracker)
    seconds = time.monotonic() - started
    backend = track.meta.get("backend", tracker)
    fps = len(track.frames) / seconds if seconds > 0 else 0.0
    title = (f"{name}  ·  tracker {backend}  ·  {fps:.1f} fps  ·  {len(track.frames)} frames, "
             f"{track.visible_fraction():.0%} visible")  # fmt: skip
    image = build_track_sheet(video_path, track, title=title, prompt=prompt, truth=truth, count=count, notes=notes)
    summary = {"clip": name, "backend": backend, "fps": round(fps, 2), "seconds": round(seconds, 2),
               "frames": len(track.frames), "visible_fraction": round(track.visible_fraction(), 4)}  # fmt: skip
    return image, summary


def clip_name(video_path: str | Path) -> str:
    """``blackswan`` for ``.../blackswan/video.mp4`` (the footage layout), else the file's stem."""
    path = Path(video_path)
    return path.parent.name if path.stem == "video" and path.parent.name else path.stem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m highlighter.eval.track_sheet", description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", help="the video (or --family and --seed for an evaluation scenario)")
    parser.add_argument("--family", help="a multi-product family of the evaluation (highlighter.eval.multi)")
    parser.add_argument("--seed", type=int, default=0, help="the scenario's seed (with --family)")
    parser.add_argument("--mode", default="joint", help="joint or independent (with --family)")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the scenario (with --family)")
    parser.add_argument("--prompt", help="the product, e.g. 'the red handbag'")
    parser.add_argument("--point", action="append", default=[], metavar="X,Y@FRAME", help="a click on the product")
    parser.add_argument("--box", action="append", default=[], metavar="X1,Y1,X2,Y2@FRAME", help="a box around it")
    parser.add_argument("--tracker", "--backend", dest="tracker", default="auto", help="track_video backend")
    parser.add_argument("--masks", help="a folder of ground-truth masks (00000.png..., 255 = object) to outline too")
    parser.add_argument("--frames", default="12",
                        help="how many frames on the sheet (default 12), or which: comma separated indices")
    parser.add_argument("--title", help="the clip's name on the sheet (default: from the file name)")
    parser.add_argument("--out", required=True, help="the PNG to write")
    args = parser.parse_args(argv)
    chosen = [int(v) for v in args.frames.split(",") if v.strip()] if "," in args.frames else None
    count = 12 if chosen else int(args.frames)
    if args.family:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
            image, scores = scenario_sheet(args.family, args.seed, args.mode, size=(width, height),
                                           backend=args.tracker, frames=chosen, count=count)  # fmt: skip
        except (HighlighterError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        image.save(args.out, optimize=True)
        print(json.dumps({"out": args.out, **{k: v for k, v in scores.items() if k != "products"},
                          "products": {p["id"]: p["jf"] for p in scores["products"]}}))  # fmt: skip
        return 0
    if not args.video:
        parser.error("give a video, or --family and --seed")
    try:
        prompt = Prompt(text=args.prompt or "", points=tuple(parse_point(p) for p in args.point),
                        boxes=tuple(parse_box(b) for b in args.box))  # fmt: skip
        truth = (lambda i: read_truth_mask(args.masks, i)) if args.masks else None
        image, summary = track_and_sheet(args.video, prompt, name=args.title or clip_name(args.video),
                                         tracker=args.tracker, truth=truth, count=count)  # fmt: skip
    except HighlighterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    print(json.dumps({"out": args.out, **summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
