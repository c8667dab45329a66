"""The products of a video: reading the marketer's descriptions, naming, numbering and colouring them.

A product's id is the track file's object id (``highlighter.trackfile``): "1", "2", ... in the order
they were named, never reused within a video, so a removed product that comes back with an undo
keeps its id, name and colour. Its colour is the render palette's, or one the marketer chose, so the
review overlay and the rendered outline agree.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from highlighter.render.effects import parse_colour
from highlighter.render.presets import PRODUCT_COLOURS
from webapp.videos.models import FIRST_PRODUCT, Product, Video

MAX_PRODUCTS = 6  # per video: each one costs tracking time, and the render gets crowded
DESCRIPTION_MAX = 300  # characters of one description
NAME_MAX = 200  # characters of a name (``Product.name``)


def palette() -> tuple[str, ...]:
    """The render's colours for products, in the order products are named."""
    return PRODUCT_COLOURS


def clean_colour(value) -> str:
    """A product colour the marketer chose, as ``#rrggbb`` in lower case; ``ValidationError`` otherwise."""
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        raise ValidationError("A product's colour is #rrggbb, e.g. #ff0066.")
    return value.strip().lower()


def colour_of(product: Product) -> str:
    """The product's ``#rrggbb``: its own, or the palette's for its position."""
    colours = palette()
    return product.colour or colours[product.position % len(colours)]


def parse_descriptions(values: list[str] | str) -> list[str]:
    """The products the marketer described, one a line (or one per value), blank lines dropped.

    ``ValidationError`` with a message a marketer can act on: none, too many, too long, or the same
    product twice.
    """
    if isinstance(values, str):
        values = [values]
    lines = [line.strip() for value in values for line in str(value).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ValidationError("Name the product as you would to a colleague, with its colour: 'the red handbag'.")
    if len(lines) > MAX_PRODUCTS:
        raise ValidationError(f"Name at most {MAX_PRODUCTS} products in one video; you named {len(lines)}.")
    for line in lines:
        if len(line) > DESCRIPTION_MAX:
            raise ValidationError(f"Describe each product in at most {DESCRIPTION_MAX} characters: '{line[:40]}…' is longer.")
    seen: set[str] = set()
    for line in lines:
        if line.casefold() in seen:
            raise ValidationError(f"You named '{line}' twice. Name each product once, one a line.")
        seen.add(line.casefold())
    return lines


def clean_name(name, *, video: Video, product_ids: list[str], product_id: str | None = None) -> str:
    """A new name for a product of ``video`` (``product_id``, or a new one): stripped, not empty, not
    too long, and not another of ``product_ids``' name (file names would collide)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("Give the product a name, for example 'the red bag'.")
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise ValidationError(f"A product's name can be at most {NAME_MAX} characters.")
    names = video.product_names()
    for other in product_ids:
        if other != product_id and names.get(other, "").casefold() == name.casefold():
            raise ValidationError(f"Another product of this video is called '{name}'. Choose a different name.")
    return name


DISTINCT_DELTA_E = 30.0  # CIE76 distance at which two overlay colours read as different products at a glance


def new_colour(taken: list[str]) -> str:
    """The palette colour for a new product beside products of the ``taken`` colours: the first, in
    palette order, at least ``DISTINCT_DELTA_E`` from every taken one (CIELAB), so a colour the
    marketer chose keeps the palette's look-alike of it off the next product; where none is that
    far, the one farthest from its nearest taken colour. With the palette's own colours taken, the
    first the video lacks (the palette's colours are all further apart than that)."""
    seen = [_lab(c) for c in taken]

    def nearest(colour: str) -> float:
        lab = _lab(colour)
        return min((sum((a - b) ** 2 for a, b in zip(lab, other)) ** 0.5 for other in seen), default=float("inf"))

    colours = palette()
    return next((c for c in colours if nearest(c) >= DISTINCT_DELTA_E), max(colours, key=nearest))


def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB ``#rrggbb``."""
    rgb = [c / 255 for c in parse_colour(colour)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    fx, fy, fz = (t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def new_product(*, video: Video, name: str) -> Product:
    """A new product row of ``video``: the next id and position, and a colour apart from the other
    products' (``new_colour``). The caller holds the video's row lock (ids must not collide)."""
    existing = list(Product.objects.filter(video=video))
    numbers = [int(p.slug) for p in existing if p.slug.isdigit()]
    slug = str(max(numbers, default=int(FIRST_PRODUCT) - 1) + 1)
    position = max((p.position for p in existing), default=-1) + 1
    colour = new_colour([colour_of(p) for p in existing])
    product = Product(video=video, slug=slug, name=name, colour=colour, position=position)
    product.full_clean()
    product.save()
    return product


def default_name(*, video: Video, product_ids: list[str]) -> str:
    """"Product 2", "Product 3", ...: the first such name no product of ``product_ids`` has."""
    names = {n.casefold() for pid, n in video.product_names().items() if pid in product_ids}
    n = len(product_ids) + 1
    while f"product {n}" in names:
        n += 1
    return f"Product {n}"
