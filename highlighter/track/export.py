"""A track in the shapes other tools and the review player want: outlines, PNG masks, a crop path.

Coordinates are pixels of the normalised video, origin top-left; frames are indices from 0.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from highlighter.trackfile import Track, decode_mask


def mask_outlines(rle: dict[str, Any], *, tolerance: float = 1.0) -> list[list[list[float]]]:
    """The outer outlines of a COCO RLE mask as polygons ``[[x, y], ...]``, simplified to ``tolerance`` px.

    A few dozen points per frame instead of a mask: what the review player draws (stroke or fill).
    """
    mask = decode_mask(rle).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        if cv2.contourArea(contour) < 1.0 and len(contour) < 3:
            continue
        simple = cv2.approxPolyDP(contour, tolerance, True).reshape(-1, 2)
        polygons.append([[float(x), float(y)] for x, y in simple])
    return polygons


def write_mask_pngs(track: Track, zip_path: str | Path) -> int:
    """A zip of one greyscale PNG per frame (255 on the product, 0 elsewhere), ``frame_000000.png``...

    Hidden frames are all black, so the sequence has exactly one image per video frame. Returns the
    number of images.
    """
    blank = np.zeros((track.height, track.width), np.uint8)
    ok, blank_png = cv2.imencode(".png", blank)
    # PNGs are compressed already: store them, deflating again only costs time.
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive:
        for frame in track.frames:
            if frame.visible and frame.mask is not None:
                ok, data = cv2.imencode(".png", decode_mask(frame.mask).astype(np.uint8) * 255)
            else:
                data = blank_png
            archive.writestr(f"frame_{frame.index:06d}.png", data.tobytes())
    return len(track.frames)


def crop_path_document(track: Track, *, aspect: str = "9:16") -> dict[str, Any]:
    """The reframe camera's window per frame as JSON for editors: ``{"aspect", "fps", "frames": [...]}``.

    Each frame is ``{"index", "time", "x", "y", "w", "h"}`` in source pixels.
    """
    from highlighter.render import crop_path, parse_aspect

    rects = crop_path(track, aspect=parse_aspect(aspect))
    fps = float(track.video.get("fps") or 0) or 1.0
    return {
        "aspect": aspect,
        "fps": fps,
        "video": {"width": track.width, "height": track.height},
        "frames": [
            {"index": i, "time": round(i / fps, 6), "x": int(r[0]), "y": int(r[1]), "w": int(r[2]), "h": int(r[3])}
            for i, r in enumerate(rects)
        ],
    }


def write_crop_path(track: Track, path: str | Path, *, aspect: str = "9:16") -> None:
    Path(path).write_text(json.dumps(crop_path_document(track, aspect=aspect), separators=(",", ":")))
