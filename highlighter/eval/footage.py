"""Real footage with ground truth, in the DAVIS folder layout, and the protocol its figures follow.

    FOLDER/NAME/video.mp4          the clip
    FOLDER/NAME/masks/00000.png    one 8-bit greyscale PNG per frame, 255 on the object, 0 elsewhere

The prompt is the box around the object in ``masks/00000.png`` on frame 0 (see ``box_prompt``), or
a click where interactive segmentation's benchmarks put the first one (``click_prompt``).
Clips are split once into a "tune" and a "check" subset (``split``): decisions are made on tune,
and check is looked at only to confirm them. The footage is read, never committed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from highlighter.track.prompt import BoxPrompt, PointPrompt, Prompt
from highlighter.trackfile import mask_box

TUNE_SHARE = 0.6  # of the clips, by the order of their names' SHA-256 digests


@dataclass(frozen=True)
class FootageClip:
    """One clip folder: ``video.mp4`` plus ``masks/NNNNN.png``, frames indexed from 0."""

    folder: Path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def video(self) -> Path:
        return self.folder / "video.mp4"

    @property
    def frame_count(self) -> int:
        """How many frames have a truth mask (the frames that are scored, frame 0 included)."""
        return len(list((self.folder / "masks").glob("*.png")))

    def mask(self, index: int) -> np.ndarray:
        """The truth of frame ``index`` as a bool ``(H, W)`` array, read from its PNG (one at a time)."""
        return read_truth_mask(self.folder / "masks", index)

    def box_prompt(self) -> Prompt:
        """The protocol's prompt: the box around the object in mask 0, on frame 0.

        ``x1, y1`` are the smallest pixel coordinates of the object, ``x2, y2`` the largest + 1.
        """
        box = mask_box(self.mask(0))
        if box is None:
            raise ValueError(f"{self.name}: the object is not in masks/00000.png, so there is no box to prompt with.")
        x, y, w, h = (int(v) for v in box)
        return Prompt(boxes=(BoxPrompt(x, y, x + w, y + h, 0),))

    def click_prompt(self) -> Prompt:
        """A click on the object on frame 0, at ``deepest_point`` of mask 0."""
        point = deepest_point(self.mask(0))
        if point is None:
            raise ValueError(f"{self.name}: the object is not in masks/00000.png, so there is nothing to click on.")
        return Prompt(points=(PointPrompt(float(point[0]), float(point[1]), 0, True),))


def deepest_point(mask: np.ndarray) -> tuple[int, int] | None:
    """``(x, y)`` of the pixel of ``mask`` farthest from its outline (the frame's edge counts as
    outline; the first in reading order among equals), or None for an empty mask: where the
    benchmarks of interactive segmentation put a simulated first click (Xu et al. 2016, "Deep
    interactive object selection"; Sofiiuk et al. 2022, RITM), the spot a person clicks when asked
    to point at the object."""
    if not mask.any():
        return None
    inside = np.pad(mask, 1).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(x), int(y)


def read_truth_mask(masks_dir: str | Path, index: int) -> np.ndarray:
    """``masks_dir/{index:05d}.png`` as a bool mask (pixels above 127 are the object)."""
    path = Path(masks_dir) / f"{index:05d}.png"
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(f"no truth mask {path}")
    return image > 127


def list_clips(folder: str | Path) -> list[FootageClip]:
    """Every clip folder under ``folder`` (those with a ``video.mp4``), by name."""
    return [FootageClip(p) for p in sorted(Path(folder).iterdir()) if (p / "video.mp4").is_file()]


def select_clips(folder: str | Path, names: str | None = None) -> tuple[list[FootageClip], dict[str, str]]:
    """``(clips, subsets)``: the clips of ``folder`` named in ``names`` (comma separated; None or
    empty: every clip), in the folder's order, and the ``split`` of every clip in the folder.
    Raises ``ValueError`` naming the unknown ones and the clips there are."""
    clips = list_clips(folder)
    subsets = split([c.name for c in clips])
    wanted = [n.strip() for n in (names or "").split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(subsets))
    if unknown:
        raise ValueError(f"no clips {unknown} in {folder}; there are: {', '.join(c.name for c in clips)}")
    return ([c for c in clips if c.name in wanted] if wanted else clips), subsets


def split(names: list[str]) -> dict[str, str]:
    """``{name: "tune" | "check"}``: names sorted by the SHA-256 hex digest of the name, the first
    60% (rounded down) are tune, the rest check.

    A hash, not the alphabet or a random draw, so the split is the same on every machine and does not
    depend on which clips a run selects; pass every clip of the folder, then filter.
    """
    ordered = sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    tune = int(len(ordered) * TUNE_SHARE)
    return {name: ("tune" if rank < tune else "check") for rank, name in enumerate(ordered)}
