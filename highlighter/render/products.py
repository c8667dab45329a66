"""Looks per product: which looks each product of a render gets, in which colour and with which label.

``RenderSpec.products`` maps a product (its id or its name) to a ``ProductLook``; products it does
not name get the spec's looks. Each product's settings are, most specific last (it wins):

1. the spec's ``look_options`` (every product);
2. its colour: ``ProductLook.colour``, else (several products) ``presets.PRODUCT_COLOURS`` in the
   track's order. It colours every look that has a colour (outline, glow, tint, box, the label's
   pill, the zoom's border); the palette fills in only where the spec set no colour, an explicit
   ``ProductLook.colour`` wins over the spec's. The label's text turns dark on a light pill;
3. its label text: ``ProductLook.label``, else the spec's ``label.text``, else the product's name;
4. its own ``ProductLook.look_options``.

Whole-frame looks (``spotlight``, ``blur``) are drawn once for all the products that have them:
one dimming with a hole for each product, not a dimming per product (two would darken each other's
products). They take the settings of the first of those products. The other looks are drawn per
product, in the order the looks are first named, then the products' order.

A one-product track with no ``ProductLook`` renders exactly as before this module existed: each
look's default colour, the label from the description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from highlighter.render.effects import Look, make_looks, parse_colour
from highlighter.render.presets import LOOK_CHOICES, product_colour
from highlighter.render.reframe import resolve_product
from highlighter.trackfile import Track, TrackObject, default_name

WHOLE_FRAME = ("spotlight", "blur")  # looks that change the whole frame: one layer for every product
COLOURED = tuple(name for name, choice in LOOK_CHOICES.items() if "colour" in choice["settings"])


@dataclass
class ProductLook:
    """How one product of a render looks. None (or leaving the product out) takes the defaults.

    ``styles``: its looks (``()`` for none), else the spec's; ``look_options``: settings per look, over
    the spec's; ``colour``: ``"#rrggbb"`` for all its coloured looks; ``label``: its callout text.
    """

    styles: Sequence[str] | None = None
    look_options: Mapping[str, Mapping[str, Any]] | None = None
    colour: str | None = None
    label: str | None = None


@dataclass
class Step:
    """One look of a render and the products (indices into ``track.objects``) it is drawn for."""

    look: Look
    members: tuple[int, ...]
    whole_frame: bool = False  # a spotlight or blur: one layer for all its products


def text_colour_on(colour: str | tuple[int, int, int]) -> str:
    """Dark text on a light pill, white on a dark one (relative luminance, as WCAG computes it)."""
    r, g, b = (c / 255 for c in parse_colour(colour))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    # Black text beats white above ~0.18 luminance (equal contrast ratios at sqrt(1.05 * 0.05) - 0.05).
    return "#111111" if luminance > 0.18 else "#ffffff"


def _label_text(obj: TrackObject, single: bool) -> str:
    if single and obj.name == default_name(obj.prompt):  # as before products had names
        text = str(obj.prompt.get("text") or "").strip()
    else:
        text = obj.name.strip()
    return text[:1].upper() + text[1:]


def resolve_products(track: Track, products: Mapping[str, ProductLook] | None) -> dict[int, ProductLook]:
    """``products`` keyed by the index of the object each key names (its id or name). Two keys that
    name one product (its id and its name) are merged, the later one's settings winning."""
    out: dict[int, ProductLook] = {}
    for key, look in (products or {}).items():
        index = track.ids.index(resolve_product(track, key))
        look = look if isinstance(look, ProductLook) else ProductLook(**dict(look))
        if index in out:
            before = out[index]
            options = {k: dict(v) for k, v in (before.look_options or {}).items()}
            for name, settings in (look.look_options or {}).items():
                options[name] = {**options.get(name, {}), **settings}
            look = ProductLook(
                styles=look.styles if look.styles is not None else before.styles,
                look_options=options or None,
                colour=look.colour or before.colour,
                label=look.label or before.label,
            )
        out[index] = look
    return out


def product_options(
    track: Track,
    index: int,
    styles: Sequence[str],
    options: Mapping[str, Mapping[str, Any]] | None,
    product: ProductLook | None,
) -> dict[str, dict[str, Any]]:
    """The settings of every look of product ``index`` (see the module docstring for the order)."""
    single = len(track.objects) == 1
    names = [str(s).strip().lower() for s in styles]
    out = {k: dict(v) for k, v in (options or {}).items()}
    own = {str(k).strip().lower(): dict(v) for k, v in ((product.look_options if product else None) or {}).items()}
    explicit = product.colour if product and product.colour else None
    colour = explicit or (None if single else product_colour(index))
    if colour:
        parse_colour(colour)  # a bad colour fails here, with the look's message
        for name in COLOURED:
            if name not in names:
                continue
            settings = out.setdefault(name, {})
            if explicit or "colour" not in settings:
                settings["colour"] = colour
                if name == "label" and "text_colour" not in settings and "text_colour" not in own.get(name, {}):
                    settings["text_colour"] = text_colour_on(colour)
    if "label" in names:
        settings = out.setdefault("label", {})
        if product and product.label and str(product.label).strip():
            settings["text"] = str(product.label).strip()
        elif not settings.get("text"):
            settings["text"] = _label_text(track.objects[index], single)
    for name, settings in own.items():
        out.setdefault(name, {}).update(settings)
    return out


def plan_looks(
    track: Track,
    styles: Sequence[str],
    options: Mapping[str, Mapping[str, Any]] | None = None,
    products: Mapping[str, ProductLook] | None = None,
) -> list[Step]:
    """The looks of a render, in drawing order, each with the products it is drawn for."""
    chosen = resolve_products(track, products)
    per_product: list[list[Look]] = []
    lists: list[list[str]] = []
    for index in range(len(track.objects)):
        product = chosen.get(index)
        if product is not None and product.styles is not None:
            own = [name for name in product.styles if str(name).strip()]  # "" (an empty form field): no look
        else:
            own = list(styles)
        per_product.append(make_looks(own, product_options(track, index, own, options, product)))
        lists.append([str(s).strip().lower() for s in own])
    if len(track.objects) == 1:
        return [Step(look, (0,)) for look in per_product[0]]
    # One drawing order that keeps each product's own (as far as they agree): a look not placed yet
    # goes just before the next of that product's looks that is.
    order: list[str] = []
    for names in lists:
        for i, name in enumerate(names):
            if name in order:
                continue
            later = [order.index(n) for n in names[i + 1 :] if n in order]
            order.insert(min(later) if later else len(order), name)
    steps: list[Step] = []
    for name in order:
        members = tuple(k for k, names in enumerate(lists) if name in names)
        if name in WHOLE_FRAME:
            first = members[0]
            steps.append(Step(per_product[first][lists[first].index(name)], members, whole_frame=True))
            continue
        for k in members:
            steps += [Step(look, (k,)) for look, n in zip(per_product[k], lists[k]) if n == name]
    return steps
