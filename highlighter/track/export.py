"""A track in the shapes other tools and the review player want: outlines, PNG masks, a crop path.

Coordinates are pixels of the normalised video, origin top-left; frames are indices from 0.
A track of several products exports each product's masks (a folder per product in the zip, named
by ``highlighter.render.outputs.product_file_name``) and crop path (the camera following it alone),
plus the camera that switches focus between them; ``object_id`` exports one product alone, in the
one-product shapes. A one-product track exports exactly as it always has.
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


def write_mask_pngs(track: Track, zip_path: str | Path, *, object_id: str | None = None) -> int:
    """A zip of one greyscale PNG per frame (255 on the product, 0 elsewhere), ``frame_000000.png``...

    Hidden frames are all black, so the sequence has exactly one image per video frame. A track of
    several products (and no ``object_id``) gets a folder per product:
    ``bag-the-red-bag/frame_000000.png``... Returns the number of images per product.
    """
    from highlighter.render.outputs import product_file_name

    if object_id is not None:
        objects, folders = [track.object(object_id)], [""]
    elif len(track.objects) == 1:
        objects, folders = track.objects, [""]
    else:
        objects = track.objects
        folders = [product_file_name(o.id, o.name) + "/" for o in objects]
    blank = np.zeros((track.height, track.width), np.uint8)
    ok, blank_png = cv2.imencode(".png", blank)
    # PNGs are compressed already: store them, deflating again only costs time.
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as archive:
        for obj, folder in zip(objects, folders):
            for frame in obj.frames:
                if frame.visible and frame.mask is not None:
                    ok, data = cv2.imencode(".png", decode_mask(frame.mask).astype(np.uint8) * 255)
                else:
                    data = blank_png
                archive.writestr(f"{folder}frame_{frame.index:06d}.png", data.tobytes())
    return len(track.frames)


def _frames(rects: list, fps: float) -> list[dict[str, Any]]:
    return [
        {"index": i, "time": round(i / fps, 6), "x": int(r[0]), "y": int(r[1]), "w": int(r[2]), "h": int(r[3])}
        for i, r in enumerate(rects)
    ]


def crop_path_document(
    track: Track, *, aspect: str = "9:16", focus: Any = None, object_id: str | None = None
) -> dict[str, Any]:
    """The reframe camera's window per frame as JSON for editors: ``{"aspect", "fps", "frames": [...]}``.

    Each frame is ``{"index", "time", "x", "y", "w", "h"}`` in source pixels. A track of several
    products (and no ``object_id``): the camera that follows ``focus`` (``"auto"`` when None; see
    ``highlighter.render.reframe``), each frame also with ``"focus"`` (the ids it frames), plus
    ``"focus": {"mode", "products": [{"id", "name"}]}`` and ``"products": [{"id", "name", "frames"}]``
    (the camera following each product alone). ``object_id``: that product alone.
    """
    from highlighter.render import parse_aspect, plan_camera, product_cameras

    if object_id is not None:
        track = track.single(object_id)
    ratio = parse_aspect(aspect)
    camera = plan_camera(track, aspect=ratio, focus=focus)
    fps = float(track.video.get("fps") or 0) or 1.0
    document: dict[str, Any] = {
        "aspect": aspect,
        "fps": fps,
        "video": {"width": track.width, "height": track.height},
        "frames": _frames(camera.rects(), fps),
    }
    if camera.focus is not None:
        for frame, ids in zip(document["frames"], camera.focus):
            frame["focus"] = list(ids)
        document["focus"] = {"mode": camera.focus_mode, "products": [{"id": i, "name": n} for i, n in camera.products or []]}
        names = dict(camera.products or [])
        document["products"] = [
            {"id": i, "name": names[i], "frames": _frames(c.rects(), fps)} for i, c in product_cameras(track, aspect=ratio).items()
        ]
    return document


def write_crop_path(
    track: Track, path: str | Path, *, aspect: str = "9:16", focus: Any = None, object_id: str | None = None
) -> None:
    document = crop_path_document(track, aspect=aspect, focus=focus, object_id=object_id)
    Path(path).write_text(json.dumps(document, separators=(",", ":")))
