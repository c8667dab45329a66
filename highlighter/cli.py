"""Command line: everything a worker does, without the web app.

    python -m highlighter track VIDEO --prompt "the red handbag" --out track.json
    python -m highlighter track VIDEO --point 320,180@0 --out track.json
    python -m highlighter track VIDEO --prompt "the red bag" --prompt "the white sneakers" --out track.json
    python -m highlighter render VIDEO --track track.json --style spotlight --aspect 9:16 --out out.mp4
    python -m highlighter render VIDEO --track two.json --style spotlight,outline,label --focus auto \
        --look shoes=spotlight,glow --colour bag=#ff0066 --out out.mp4
    python -m highlighter eval --families samecolour,occlusion --seeds 5
    python -m highlighter models check
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from highlighter.errors import HighlighterError


class _Progress:
    """Prints a single updating progress line on a terminal."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled, self._last = label, enabled, -1

    def __call__(self, fraction: float) -> None:
        pct = int(fraction * 100)
        if self.enabled and pct != self._last:
            self._last = pct
            print(f"\r{self.label}: {pct:3d}%", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


class _ProductOption(argparse.Action):
    """Keeps ``--prompt``, ``--name``, ``--point`` and ``--box`` in the order given (``_track_groups``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = getattr(namespace, "items", None) or []
        items.append((self.dest, values))
        namespace.items = items
        # The old attributes, for anyone reading them: the last --prompt, every --point and --box.
        if self.dest in ("point", "box"):
            setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])
        else:
            setattr(namespace, self.dest, values)


PRODUCTS_HELP = """\
several products: options are read left to right. Each --prompt starts a product, and so does each
--name; a --prompt right after a --name (before any --point or --box) describes that named product.
--point and --box belong to the product started last (before any --prompt or --name, they start
one). So a product can be just a box:
  track VIDEO --prompt "the red bag" --prompt "the white sneakers" --out track.json
  track VIDEO --name bag --prompt "the red bag" --point 320,180@0 --name shoes --box 10,20,200,240@40 --out t.json
Product ids (in the track file and file names) are slugs of the names, else of the descriptions
("red-bag"), else p1, p2...; made unique. One product without --name writes the track file as
always (version 1); several write version 2 with one object per product."""


def _track_groups(items: list[tuple[str, str]]) -> list[dict]:
    """Groups ``(option, value)`` pairs into products (``PRODUCTS_HELP``): ``{"name", "text", "points", "boxes"}``."""
    products: list[dict] = []
    for option, value in items:
        current = products[-1] if products else None
        named_only = current is not None and current["name"] is not None and current["text"] is None
        if option == "name" or (option == "prompt" and not (named_only and not current["points"] and not current["boxes"])):
            current = {"name": None, "text": None, "points": [], "boxes": []}
            products.append(current)
        if option in ("prompt", "name"):
            current["text" if option == "prompt" else "name"] = value
            continue
        if current is None:
            current = {"name": None, "text": None, "points": [], "boxes": []}
            products.append(current)
        current["points" if option == "point" else "boxes"].append(value)
    return products


def _track(args: argparse.Namespace) -> int:
    from highlighter.errors import TrackError
    from highlighter.track import Product, product_ids, track_video
    from highlighter.track.prompt import Prompt, parse_box, parse_point

    groups = _track_groups(getattr(args, "items", None) or [])
    if not groups:
        raise SystemExit("track needs a product: --prompt 'the red handbag', --point X,Y@FRAME or --box X1,Y1,X2,Y2@FRAME")
    for g in groups:
        if not (g["text"] or g["points"] or g["boxes"]):
            raise TrackError(f"The product '{g['name']}' needs a --prompt, --point or --box after its --name.")
    prompts = [
        Prompt(
            text=g["text"] or "",
            points=tuple(parse_point(p) for p in g["points"]),
            boxes=tuple(parse_box(b) for b in g["boxes"]),
        )
        for g in groups
    ]
    several = len(groups) > 1 or groups[0]["name"] is not None
    progress = _Progress("tracking", sys.stderr.isatty())
    started = time.monotonic()
    if not several:
        track = track_video(args.video, prompts[0], backend=args.backend, progress=progress)
    else:
        names = [g["name"] or g["text"] or (f"Product {n}" if len(groups) > 1 else "Product") for n, g in enumerate(groups, 1)]
        ids = product_ids([g["name"] or g["text"] or "" for g in groups])
        products = [Product(i, name, prompt) for i, name, prompt in zip(ids, names, prompts)]
        track = track_video(args.video, products, backend=args.backend, progress=progress)
    progress.done()
    track.save(args.out)
    seconds = time.monotonic() - started
    summary = {
        "out": args.out,
        "frames": len(track.frames),
        "visible_fraction": round(track.visible_fraction(), 4),
        "shots": len(track.shots),
        "backend": track.meta.get("backend"),
        "seconds": round(seconds, 2),
    }
    if several:
        summary["products"] = [
            {"id": o.id, "name": o.name, "visible_fraction": round(o.visible_fraction(), 4)} for o in track.objects
        ]
    print(json.dumps(summary))
    return 0


def _look_options(pairs: list[str]) -> dict[str, dict]:
    """``["outline.colour=#ff0066", "spotlight.strength=0.8"]`` -> ``{"outline": {"colour": "#ff0066"}, ...}``."""
    options: dict[str, dict] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        look, dot, setting = key.partition(".")
        if not (sep and dot and look and setting):
            raise SystemExit(f"--set takes LOOK.SETTING=VALUE (e.g. outline.colour=#ff0066), got {pair!r}")
        parsed: object = value
        if setting.strip() not in ("text", "colour", "text_colour", "corner"):
            try:
                parsed = float(value)
            except ValueError:
                pass
        options.setdefault(look.strip().lower(), {})[setting.strip()] = parsed
    return options


def _pairs(values: list[str], flag: str, example: str, *, last: bool = True) -> list[tuple[str, str]]:
    """``["bag=outline,label"]`` -> ``[("bag", "outline,label")]``, split at the last ``=`` (or the first)."""
    out = []
    for value in values:
        key, sep, rest = value.rpartition("=") if last else value.partition("=")
        if not (sep and key.strip()):
            raise SystemExit(f"{flag} takes PRODUCT=VALUE (e.g. {example}), got {value!r}")
        out.append((key.strip(), rest.strip()))
    return out


def _products(args: argparse.Namespace) -> dict:
    """The per-product looks of ``render``'s --look, --colour, --label and --set PRODUCT:LOOK.SETTING=VALUE."""
    from highlighter.render import ProductLook

    products: dict[str, ProductLook] = {}

    def product(key: str) -> ProductLook:
        return products.setdefault(key, ProductLook())

    for key, looks in _pairs(args.look, "--look", "bag=outline,label"):
        names = [s.strip() for s in looks.split(",") if s.strip()]
        product(key).styles = () if names in ([], ["none"]) else tuple(names)
    for key, colour in _pairs(args.colour, "--colour", "bag=#ff0066"):
        product(key).colour = colour
    for key, text in _pairs(args.label, "--label", "'bag=The red bag'", last=False):
        product(key).label = text
    for pair in args.set:
        setting = pair.partition("=")[0]
        if ":" in setting:
            key, _, rest = pair.partition("=")[0].rpartition(":")
            options = _look_options([rest + "=" + pair.partition("=")[2]])
            merged = dict(product(key.strip()).look_options or {})
            for look, values in options.items():
                merged[look] = {**merged.get(look, {}), **values}
            product(key.strip()).look_options = merged
    return products


def _focus(values: list[str]) -> object:
    """``render --focus``: None (auto), ``"auto"``, ``"all"``, a product, or ``[(start, end, product)]``."""
    import re

    if not values:
        return None
    ranges = []
    for value in values:
        span, sep, key = value.partition("=")
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*", span) if sep else None
        if match is None:
            if len(values) > 1:
                raise SystemExit(f"--focus twice takes time ranges START-END=PRODUCT (e.g. 0-4.5=bag), got {value!r}")
            return value.strip()
        ranges.append((float(match[1]), float(match[2]), key.strip()))
    return ranges


def _render(args: argparse.Namespace) -> int:
    from highlighter.render import RenderSpec, render_outputs
    from highlighter.trackfile import Track

    track = Track.load(args.track)
    progress = _Progress("rendering", sys.stderr.isatty())
    started = time.monotonic()
    size = None
    if args.size:
        width, _, height = args.size.lower().partition("x")
        size = (int(width), int(height))
    spec = RenderSpec(
        out_path=args.out,
        styles=tuple(s.strip() for s in args.style.split(",") if s.strip()),
        aspect=None if args.aspect == "source" else args.aspect,
        out_size=size,
        motion=args.motion,
        safe_zone=args.safe_zone,
        look_options=_look_options([pair for pair in args.set if ":" not in pair.partition("=")[0]]),
        overlay_path=args.overlay,
        masks_dir=args.masks,
        crop_path_out=args.crop_path,
        products=_products(args) or None,
        focus=_focus(args.focus),
    )
    try:
        (info,) = render_outputs(args.video, track, [spec], progress=progress)
    except ValueError as e:  # a setting out of range: say which, as the other engine errors do
        progress.done()
        print(f"error: {e}", file=sys.stderr)
        return 2
    progress.done()
    summary = {"out": args.out, **info.to_dict(), "seconds": round(time.monotonic() - started, 2)}
    if len(track.objects) > 1:
        summary["products"] = [{"id": o.id, "name": o.name} for o in track.objects]
    print(json.dumps(summary))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m highlighter", description="Find, track and highlight a product.")
    sub = parser.add_subparsers(dest="command", required=True)

    track = sub.add_parser(
        "track", help="track the product(s) and write a track file (JSON)", epilog=PRODUCTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    track.add_argument("video")
    track.add_argument("--prompt", action=_ProductOption, help="a product, e.g. 'the red handbag' (again for another product)")
    track.add_argument("--name", action=_ProductOption, help="the product's name (labels, file names, its id)")
    track.add_argument("--point", action=_ProductOption, default=[], metavar="X,Y@FRAME", help="a click on the product")
    track.add_argument("--box", action=_ProductOption, default=[], metavar="X1,Y1,X2,Y2@FRAME", help="a box around it")
    track.add_argument("--backend", default="auto")
    track.add_argument("--out", required=True)
    track.set_defaults(func=_track)

    render = sub.add_parser("render", help="render the highlighted (and reframed) video")
    render.add_argument("video")
    render.add_argument("--track", required=True)
    render.add_argument("--style", default="spotlight",
                        help="looks, comma separated: spotlight, glow, outline, tint, blur, box, label, zoom")
    render.add_argument("--set", action="append", default=[], metavar="[PRODUCT:]LOOK.SETTING=VALUE",
                        help="a look's setting, e.g. outline.colour=#ff0066 or label.text='New!'; "
                             "PRODUCT: sets it for that product only, e.g. bag:outline.width=0.01")
    render.add_argument("--aspect", default="9:16", help="9:16, 1:1, 4:5, 16:9, any W:H, or 'source' to keep the framing")
    render.add_argument("--size", help="output WIDTHxHEIGHT (default: the aspect's preset, 1080 px short side)")
    render.add_argument("--motion", default="default", choices=("slow", "default", "fast"), help="camera motion")
    render.add_argument("--safe-zone", default="default", help="none, default, tiktok, reels or shorts")
    render.add_argument("--overlay", help="also write the looks alone with alpha: OUT.webm (VP9) or OUT.mov (ProRes 4444)")
    render.add_argument("--masks", help="also write the product's mask as PNGs into this folder "
                                        "(several products: a folder each in it, named by id and name)")
    render.add_argument("--crop-path", help="also write the camera's crop path as JSON, for editors (several "
                                            "products: with the focus per frame and each product's own path)")
    products = render.add_argument_group(
        "several products",
        "For a track of several products. PRODUCT is a product's id or its name (as in the track file). "
        "By default every product gets the --style looks, each in its own colour from the palette "
        "(highlighter.render.PRODUCT_COLOURS), with its name as the label; a spotlight or blur lights "
        "every product that has it at once.")  # fmt: skip
    products.add_argument("--look", action="append", default=[], metavar="PRODUCT=LOOKS",
                          help="that product's looks instead of --style, comma separated, e.g. "
                               "--look bag=outline,label --look shoes=glow ('none' for no look)")
    products.add_argument("--colour", action="append", default=[], metavar="PRODUCT=#RRGGBB",
                          help="that product's colour for all its coloured looks, e.g. bag=#ff0066")
    products.add_argument("--label", action="append", default=[], metavar="PRODUCT=TEXT",
                          help="that product's callout text (default: its name), e.g. 'bag=New bag'")
    products.add_argument("--focus", action="append", default=[], metavar="auto|all|PRODUCT|START-END=PRODUCT",
                          help="whom the reframe camera follows: 'auto' (default: the product most in view, "
                               "switching at most every 1.5 s, or all of them while they fit together), 'all', "
                               "one product, or time ranges in seconds, repeated: --focus 0-4=bag "
                               "--focus 4-9.5=shoes ('auto' outside them)")
    render.add_argument("--out", required=True)
    render.set_defaults(func=_render)

    from highlighter.eval.cli import add_eval_parser
    from highlighter.models.cli import add_models_parser

    add_eval_parser(sub)
    add_models_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HighlighterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
