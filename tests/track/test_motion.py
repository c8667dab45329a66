"""Independent motion (``track.motion``) and the lookalikes it finds (``joint.lookalikes_of``)."""

from __future__ import annotations

import cv2
import numpy as np

from highlighter.track.joint import lookalikes_of
from highlighter.track.motion import MIN_SHIFT, motion_field
from highlighter.track.parts import Candidate, WorkFrame
from highlighter.track.proposals import ColourSegmentProposer

BLUE = (40, 70, 210)


def _scene(pan: tuple[int, int], slide: int, target_width: int = 30) -> np.ndarray:
    """240x160: a muted textured wall, a blue target (50 to 50 + ``target_width`` across, 100-130
    down), and a blue square (100-130 across, 40-70 down) at the end of a blue stripe 10 pixels
    thick that runs to the frame's left edge. The camera pans by ``pan`` pixels ``(dx, dy)``; the
    square also slides ``slide`` pixels right along the stripe."""
    rng = np.random.default_rng(3)
    wall = cv2.GaussianBlur(rng.integers(60, 160, (200, 300, 3), dtype=np.uint8), (0, 0), 2.0)
    wall[..., 2] = wall[..., 0]  # grey-green texture: nothing of the blue paint
    wall[70:80, 0:130] = BLUE  # the stripe (on the wall: it pans with it)
    wall[110:140, 80 : 80 + target_width] = BLUE  # the target
    wall[60:90, 130 + slide : 160 + slide] = BLUE  # the square, at the stripe's end then past it
    dx, dy = pan
    return np.ascontiguousarray(wall[20 - dy : 180 - dy, 30 - dx : 270 - dx])


def _target(width: int = 30) -> Candidate:
    mask = np.zeros((160, 240), bool)
    mask[90:120, 50 : 50 + width] = True
    return Candidate.from_mask(mask)


def test_what_moves_apart_from_the_camera_is_found_and_the_panned_wall_is_not():
    now, later = _scene((0, 0), 0), _scene((3, 1), 8)
    field = motion_field(cv2.cvtColor(now, cv2.COLOR_RGB2GRAY), cv2.cvtColor(later, cv2.COLOR_RGB2GRAY))
    square = np.zeros((160, 240), bool)
    square[40:70, 100:130] = True
    moving = field.moving()
    assert np.count_nonzero(moving & square) > 0.5 * np.count_nonzero(square)
    assert np.count_nonzero(moving & ~square) < 0.02 * moving.size  # the pan is the camera's
    assert field.surround_shift(square) >= MIN_SHIFT
    wall = np.zeros((160, 240), bool)
    wall[110:140, 170:200] = True
    assert field.surround_shift(wall) < 1.0


def test_a_lookalike_merged_with_scenery_of_its_paint_is_found_by_its_motion():
    # A narrow target (a bottle, 16 wide): the stripe is thicker than the disc of its opening
    # (``joint.opened_parts``), so on one frame the square and the stripe are one region, cut by
    # the frame's edge, that no opening parts: no lookalike.
    now, later = WorkFrame(0, _scene((0, 0), 0, 16)), WorkFrame(5, _scene((3, 1), 8, 16))
    target, proposer = _target(16), ColourSegmentProposer()
    assert lookalikes_of(now, target, proposer) == []
    (found,) = lookalikes_of(now, target, proposer, later)
    x, y, w, h = found.box
    assert abs(x - 100) <= 3 and abs(y - 40) <= 3 and abs(x + w - 130) <= 3 and abs(y + h - 70) <= 3
    # The same square held still with the camera: nothing moves on its own.
    assert lookalikes_of(now, target, proposer, WorkFrame(5, _scene((3, 1), 0, 16))) == []


def test_a_lookalike_against_a_thinner_stripe_of_its_paint_is_opened_apart_from_it():
    # The target as broad as the square: the 10-pixel stripe is thinner than the disc.
    (found,) = lookalikes_of(WorkFrame(0, _scene((0, 0), 0)), _target(), ColourSegmentProposer())
    assert found.source == "opened" and not found.touches_border
    # The square less its corners (the disc: half the target's inscribed radius, 8 pixels), with
    # at most the disc's tip into the stripe where the two meet.
    x, y, w, h = found.box
    assert (y, x + w, h) == (40.0, 130.0, 30.0) and 100 - 8 <= x <= 100
    assert 30 * 30 - 4 * 8 * 8 < found.area < 30 * 30 + 8 * 10


def test_a_patch_of_the_ground_moving_with_it_in_parallax_is_no_lookalike():
    """A camera moving sideways over the ground: the near ground (the frame's bottom) shifts most,
    growing with the cube of the height down the frame, which no affine camera explains. A patch
    of the target's paint lying on it moves as its surround does."""
    rng = np.random.default_rng(4)
    ground = cv2.GaussianBlur(rng.integers(60, 160, (160, 240, 3), dtype=np.uint8), (0, 0), 2.0)
    ground[..., 2] = ground[..., 0]
    ground[120:150, 100:130] = BLUE  # the patch, near the bottom
    # At the end of a stripe from the frame's top, too thick for the disc of an opening to part
    # them (``joint.opened_parts``): no region alone.
    ground[0:120, 105:125] = BLUE
    ground[20:50, 20:50] = BLUE  # the target, far off
    ys, xs = np.mgrid[0:160, 0:240].astype(np.float32)
    shift = 14.0 * (ys / 159) ** 3  # pixels, 0 at the top, 14 at the bottom
    later = cv2.remap(ground, xs - shift, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    target = np.zeros((160, 240), bool)
    target[20:50, 20:50] = True
    field = motion_field(cv2.cvtColor(ground, cv2.COLOR_RGB2GRAY), cv2.cvtColor(later, cv2.COLOR_RGB2GRAY))
    patch = np.zeros((160, 240), bool)
    patch[120:150, 100:130] = True
    assert np.count_nonzero(field.moving() & patch) > 0.3 * np.count_nonzero(patch)  # the camera model misses it
    found = lookalikes_of(WorkFrame(0, ground), Candidate.from_mask(target), ColourSegmentProposer(), WorkFrame(5, later))
    assert found == []
