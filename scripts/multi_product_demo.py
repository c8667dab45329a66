"""A two-product render, end to end, and its contact sheet (docs/multi-product/contact-sheet.jpg).

    .venv/bin/python scripts/multi_product_demo.py [--family exit2] [--seed 0] [--truth] [--out docs/multi-product]

1. The evaluation generator (``highlighter.eval.multi``) writes a synthetic video of two products
   with exact ground truth (``exit2``: the first product leaves the frame and comes back while the
   second stays).
2. ``highlighter.track.track_video(path, [Product, Product])`` tracks both in one run, from the
   prompts the generator gives (what a marketer would have typed or drawn). ``--truth`` uses the
   generator's masks instead (to look at rendering alone).
3. One decode renders two outputs: the source framing with a spotlight on both products and an
   outline and a label in each product's colour, and a 9:16 reframe with the same looks whose
   camera follows the product in focus (``focus="auto"``), with its crop path.
4. The sheet: a row of the source-framed render, a row of the 9:16 render with the product in
   focus under each frame (from the crop path). A JSON summary goes to stdout (focus switches,
   per-product IoU against the truth, timings).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from highlighter.eval.multi import MULTI_FAMILIES, build_multi, write_multi  # noqa: E402
from highlighter.media import iter_frames  # noqa: E402
from highlighter.render import PRODUCT_COLOURS, RenderSpec, render_outputs  # noqa: E402
from highlighter.render.effects import FONT  # noqa: E402
from highlighter.trackfile import FrameTrack, Track, TrackObject  # noqa: E402

LOOKS = ("spotlight", "outline", "label")
WIDE_TILE = (400, 225)  # the source-framed row, 4 frames
TALL_TILE = (200, 356)  # the 9:16 row, 8 frames
CAPTION = 24  # px under each tile


def truth_track(scenario, truth) -> Track:
    """The generator's masks as a track of several products (score 1)."""
    objects = []
    for k, product in enumerate(scenario.products):
        frames = [FrameTrack.from_mask(i, i / scenario.fps, truth.product_mask(i, k), 1.0) for i in range(scenario.frame_count)]
        objects.append(TrackObject(product.id, product.name, product.prompt, frames))
    starts = list(truth.shot_starts())
    ends = [*starts[1:], scenario.frame_count]
    video = {"width": scenario.width, "height": scenario.height, "fps": scenario.fps, "frame_count": scenario.frame_count}
    return Track(video, shots=[[a, b - 1] for a, b in zip(starts, ends)], objects=objects)


def tracked(path: Path, scenario) -> Track:
    from highlighter.track import Product, track_video
    from highlighter.track.prompt import Prompt

    products = [Product(p.id, p.name, Prompt.from_dict(p.prompt)) for p in scenario.products]
    return track_video(path, products)


def iou_per_product(track: Track, truth, scenario) -> dict[str, float]:
    out = {}
    for k, product in enumerate(scenario.products):
        scores = []
        for i in range(scenario.frame_count):
            a, b = track.mask(i, product.id), truth.product_mask(i, k)
            union = (a | b).sum()
            scores.append(1.0 if union == 0 else (a & b).sum() / union)
        out[product.id] = round(float(np.mean(scores)), 4)
    return out


def frames_at(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    wanted, out = set(indices), {}
    for i, frame in enumerate(iter_frames(path)):
        if i in wanted:
            out[i] = frame
    return out


def sheet(wide: dict[int, np.ndarray], tall: dict[int, np.ndarray], crop: dict, track: Track, fps: float, title: str) -> Image.Image:
    font = ImageFont.truetype(str(FONT), 15) if FONT.exists() else ImageFont.load_default()
    bold = ImageFont.truetype(str(FONT), 18) if FONT.exists() else ImageFont.load_default()
    width = max(len(wide) * WIDE_TILE[0], len(tall) * TALL_TILE[0])
    head = 30
    height = head + WIDE_TILE[1] + CAPTION + head + TALL_TILE[1] + CAPTION + 8
    page = Image.new("RGB", (width, height), (24, 24, 28))
    draw = ImageDraw.Draw(page)
    colours = {o.id: PRODUCT_COLOURS[k % len(PRODUCT_COLOURS)] for k, o in enumerate(track.objects)}
    names = {o.id: o.name for o in track.objects}
    draw.text((8, 6), f"{title}: spotlight on both, outline and label in each product's colour", font=bold, fill="#ffffff")
    for n, (i, frame) in enumerate(sorted(wide.items())):
        x = n * WIDE_TILE[0]
        page.paste(Image.fromarray(frame).resize(WIDE_TILE, Image.LANCZOS), (x, head))
        draw.text((x + 6, head + WIDE_TILE[1] + 3), f"{i / fps:.1f} s", font=font, fill="#dddddd")
    y = head + WIDE_TILE[1] + CAPTION
    draw.text((8, y + 6), "9:16 reframe, focus auto: the camera follows the product most in view", font=bold, fill="#ffffff")
    for n, (i, frame) in enumerate(sorted(tall.items())):
        x, top = n * TALL_TILE[0], y + head
        page.paste(Image.fromarray(frame).resize(TALL_TILE, Image.LANCZOS), (x, top))
        focus = crop["frames"][i]["focus"]
        label = "both" if len(focus) > 1 else names[focus[0]].removeprefix("the ")
        colour = "#ffffff" if len(focus) > 1 else colours[focus[0]]
        draw.text((x + 6, top + TALL_TILE[1] + 3), f"{i / fps:.1f} s", font=font, fill="#dddddd")
        draw.text((x + 52, top + TALL_TILE[1] + 3), label, font=font, fill=colour)
        if n:
            draw.line([(x, top), (x, top + TALL_TILE[1])], fill=(24, 24, 28), width=2)
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="exit2", choices=MULTI_FAMILIES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truth", action="store_true", help="render the generator's masks instead of tracking")
    parser.add_argument("--out", default=str(ROOT / "docs" / "multi-product"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scenario = build_multi(args.family, args.seed)
    summary: dict = {"family": args.family, "seed": args.seed,
                     "products": [{"id": p.id, "name": p.name, "prompt": p.kind} for p in scenario.products]}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="multi-demo-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        truth = write_multi(clip, scenario)
        started = time.monotonic()
        track = truth_track(scenario, truth) if args.truth else tracked(clip, scenario)
        summary["tracking"] = "ground truth" if args.truth else f"track_video, {round(time.monotonic() - started, 1)} s"
        summary["iou"] = iou_per_product(track, truth, scenario)
        wide, tall, crop = Path(tmp) / "wide.mp4", Path(tmp) / "tall.mp4", Path(tmp) / "crop.json"
        started = time.monotonic()
        render_outputs(clip, track, [
            RenderSpec(wide, styles=LOOKS, aspect=None),
            RenderSpec(tall, styles=LOOKS, aspect="9:16", out_size=(360, 640), focus="auto", crop_path_out=crop),
        ])  # fmt: skip
        summary["render_seconds"] = round(time.monotonic() - started, 1)
        path = json.loads(crop.read_text())
        focus = [tuple(f["focus"]) for f in path["frames"]]
        summary["focus"] = [{"from": round(i / scenario.fps, 2), "products": list(focus[i])}
                            for i in range(len(focus)) if i == 0 or focus[i] != focus[i - 1]]  # fmt: skip
        n = scenario.frame_count
        wide_at = [round(n * f) for f in (0.1, 0.35, 0.6, 0.9)]
        tall_at = [round((n - 1) * k / 7) for k in range(8)]
        page = sheet(frames_at(wide, wide_at), frames_at(tall, tall_at), path, track, scenario.fps,
                     f"Two products ({args.family}, seed {args.seed})")  # fmt: skip
    page.save(out / "contact-sheet.jpg", quality=82, optimize=True)
    summary["sheet"] = str(out / "contact-sheet.jpg")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
