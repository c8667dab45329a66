"""Errors the engine raises. ``str(error)`` is a sentence a marketer can act on."""

from __future__ import annotations


class HighlighterError(Exception):
    """Base class: the message says what happened and what to do about it."""


class MediaError(HighlighterError):
    """The video cannot be read, decoded or encoded."""


class TrackError(HighlighterError):
    """The product could not be found or followed."""


class Cancelled(HighlighterError):
    """The caller asked the work to stop (raised from a progress callback)."""
