"""A product of a video: what the marketer calls it and what they said or clicked to find it.

    Product(id="bag", name="the red bag", prompt=Prompt(text="the red bag"))

``id`` is the stable key of the product's object in the track file (``trackfile.TrackObject.id``):
``[A-Za-z0-9_-]{1,40}``, safe in file names and URLs. ``name`` is the marketer's label.
``product_ids`` turns names into such ids (slugs, unique within a video).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from highlighter.errors import TrackError
from highlighter.track.prompt import Prompt

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    prompt: Prompt

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not ID_PATTERN.match(self.id):
            raise TrackError(
                f"'{self.id}' cannot name a product's track: use 1 to 40 letters, digits, '-' or '_'."
            )
        if not isinstance(self.prompt, Prompt):
            raise TrackError(f"The product '{self.name or self.id}' has no prompt: describe it or click on it.")

    @property
    def label(self) -> str:
        """How messages name the product: its name, else its id."""
        return self.name.strip() or self.id


def slug(text: str, *, limit: int = 40) -> str:
    """``"The red bag!"`` -> ``"the-red-bag"``: ASCII letters, digits and single dashes (maybe empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words[:limit].rstrip("-")


def product_ids(names: Iterable[str]) -> list[str]:
    """One id per name, in order: its slug (without a leading "the"/"a"/"an"), ``p<n>`` when the name
    has no letters or digits, and ``-2``, ``-3``... added to repeats so that every id is unique."""
    ids: list[str] = []
    for n, name in enumerate(names, 1):
        base = slug(re.sub(r"^\s*(the|a|an)\s+", "", name, flags=re.IGNORECASE)) or f"p{n}"
        candidate, k = base, 2
        while candidate in ids:
            suffix = f"-{k}"
            candidate, k = base[: 40 - len(suffix)] + suffix, k + 1
        ids.append(candidate)
    return ids
