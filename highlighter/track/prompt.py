"""What the marketer said about the product: a description, points and boxes on frames."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from highlighter.errors import TrackError

_POINT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*@\s*(\d+)\s*$")
_BOX = re.compile(
    r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*@\s*(\d+)\s*$"
)


@dataclass(frozen=True)
class PointPrompt:
    """A click on the product (``positive``) or on something that is not it, in pixels on ``frame``."""

    x: float
    y: float
    frame: int
    positive: bool = True


@dataclass(frozen=True)
class BoxPrompt:
    """A box around the product on ``frame``, ``[x1, y1, x2, y2]`` in pixels."""

    x1: float
    y1: float
    x2: float
    y2: float
    frame: int


@dataclass(frozen=True)
class Prompt:
    text: str = ""
    points: tuple[PointPrompt, ...] = field(default_factory=tuple)
    boxes: tuple[BoxPrompt, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.text.strip() and not self.points and not self.boxes:
            raise TrackError("Describe the product (for example 'the red handbag') or click on it.")
        for b in self.boxes:
            if b.x2 <= b.x1 or b.y2 <= b.y1:
                raise TrackError("A box must go from its top-left corner to its bottom-right corner.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "points": [[p.x, p.y, p.frame, int(p.positive)] for p in self.points],
            "boxes": [[b.x1, b.y1, b.x2, b.y2, b.frame] for b in self.boxes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prompt:
        try:
            points = tuple(
                PointPrompt(float(p[0]), float(p[1]), int(p[2]), bool(p[3]) if len(p) > 3 else True)
                for p in data.get("points", [])
            )
            boxes = tuple(
                BoxPrompt(float(b[0]), float(b[1]), float(b[2]), float(b[3]), int(b[4])) for b in data.get("boxes", [])
            )
        except (TypeError, ValueError, IndexError) as e:
            raise TrackError("The points or boxes of this prompt are malformed.") from e
        return cls(text=str(data.get("text", "")), points=points, boxes=boxes)

    def on_video(self, width: int, height: int, frame_count: int) -> Prompt:
        """This prompt on a ``width`` x ``height`` video of ``frame_count`` frames, each box clipped to
        the frame: a box drawn past the frame's edge still says where the product is (a product cut
        by the edge, a box dragged a little too far). ``TrackError`` when a point, or a whole box,
        lies outside the video, or names a frame it does not have."""
        for p in self.points:
            if not (0 <= p.x < width and 0 <= p.y < height and 0 <= p.frame < frame_count):
                raise TrackError(
                    f"The point {p.x:g},{p.y:g} on frame {p.frame} is outside the video "
                    f"({width}x{height}, {frame_count} frames)."
                )
        boxes = []
        for b in self.boxes:
            on = clip_box(b.x1, b.y1, b.x2, b.y2, width, height)
            if on is None or not 0 <= b.frame < frame_count:
                raise TrackError(
                    f"The box on frame {b.frame} is outside the video ({width}x{height}, {frame_count} frames)."
                )
            boxes.append(BoxPrompt(*on, b.frame))
        return replace(self, boxes=tuple(boxes))


def clip_box(x1: float, y1: float, x2: float, y2: float, width: int, height: int) -> tuple[float, float, float, float] | None:
    """The box ``[x1, y1, x2, y2]`` clipped to a ``width`` x ``height`` frame; None when nothing of
    it is on the frame. A box drawn past the frame's edge still says where the product is."""
    x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height))
    return (x1, y1, x2, y2) if x1 < x2 and y1 < y2 else None


def parse_point(text: str) -> PointPrompt:
    """``"X,Y@FRAME"`` to a positive point."""
    m = _POINT.match(text)
    if not m:
        raise TrackError(f"'{text}' is not a point. Write it as X,Y@FRAME, for example 320,180@0.")
    return PointPrompt(float(m[1]), float(m[2]), int(m[3]))


def parse_box(text: str) -> BoxPrompt:
    """``"X1,Y1,X2,Y2@FRAME"`` to a box."""
    m = _BOX.match(text)
    if not m:
        raise TrackError(f"'{text}' is not a box. Write it as X1,Y1,X2,Y2@FRAME, for example 10,20,200,240@0.")
    return BoxPrompt(float(m[1]), float(m[2]), float(m[3]), float(m[4]), int(m[5]))
