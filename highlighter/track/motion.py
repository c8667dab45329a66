"""What moves on its own between two frames: independent motion, apart from the camera's.

A product that slides along scenery of its own paint (a blue box along a blue stripe) is one
region to a colour segmentation of a single frame; a fraction of a second later it has moved and
the scenery has not. Three textbook steps find it:

1. dense optical flow from one frame to the other and back (DIS, Kroeger et al., ECCV 2016), kept
   where the two agree (the forward-backward check of Sundaram et al., ECCV 2010): on a flat
   patch of paint or camera noise the flow is a guess, and a guess is not consistent;
2. the scene's dominant motion, an affine camera model fitted to the flow with RANSAC (Odobez and
   Bouthemy, 1995), subtracted: what is left is each pixel's own motion;
3. a region found so counts only where its flow differs from its surround's (a centre-surround
   test): a camera's parallax (the ground near the lens moving faster than the horizon) leaves
   motion the affine model does not explain, but it changes smoothly, so a patch of ground moves
   as its surround does.

Shifts are in working pixels over the two frames' interval (``GAP_SECONDS`` apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GAP_SECONDS = 0.2  # the later frame: long enough for a walking pace to show, short of most cuts
MIN_SHIFT = 3.0  # pixels over the gap: a region moving less than this on its own is still
CONSISTENT = 1.0  # pixels: the forward-backward error up to which a pixel's flow is trusted
GRID = 8  # pixels between two flow samples of the camera model's fit


@dataclass
class MotionField:
    """Flow from one frame to a later one, in pixels (``(h, w, 2)``, ``dx, dy``), whether each
    pixel's flow is trusted, and each pixel's own motion (its flow less the camera's, a length)."""

    flow: np.ndarray
    trusted: np.ndarray
    own: np.ndarray

    def moving(self) -> np.ndarray:
        """The pixels moving on their own by at least ``MIN_SHIFT``, their flow trusted."""
        return self.trusted & (self.own >= MIN_SHIFT)

    def surround_shift(self, mask: np.ndarray) -> float:
        """How far ``mask``'s median flow differs from that of a ring around it (half the region's
        size wide, trusted pixels only), in pixels; 0 when the ring holds no trusted pixel."""
        r = max(3, int(0.5 * np.sqrt(np.count_nonzero(mask))))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        ring = (cv2.dilate(mask.astype(np.uint8), disc) > 0) & ~mask & self.trusted
        inside = mask & self.trusted
        if not ring.any() or not inside.any():
            return 0.0
        dx, dy = np.median(self.flow[inside], 0) - np.median(self.flow[ring], 0)
        return float(np.hypot(dx, dy))


def motion_field(now: np.ndarray, later: np.ndarray) -> MotionField:
    """The motion from grey frame ``now`` to grey frame ``later`` (uint8, one size)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    forward = dis.calc(now, later, None)
    backward = dis.calc(later, now, None)
    h, w = now.shape
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    back = cv2.remap(backward, gx + forward[..., 0], gy + forward[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    trusted = np.hypot(forward[..., 0] + back[..., 0], forward[..., 1] + back[..., 1]) < CONSISTENT
    ys, xs = np.mgrid[GRID // 2 : h : GRID, GRID // 2 : w : GRID]
    points = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    camera, _ = cv2.estimateAffine2D(points, points + forward[ys.ravel(), xs.ravel()], ransacReprojThreshold=1.0)
    if camera is None:  # too few points agree on any motion: measure against a still camera
        camera = np.float32([[1, 0, 0], [0, 1, 0]])
    cx = camera[0, 0] * gx + camera[0, 1] * gy + camera[0, 2] - gx
    cy = camera[1, 0] * gx + camera[1, 1] * gy + camera[1, 2] - gy
    own = np.hypot(forward[..., 0] - cx, forward[..., 1] - cy)
    return MotionField(forward, trusted, own)
