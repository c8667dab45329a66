"""A constant-velocity Kalman filter on the target's box (SAMURAI's motion prior, DeepSORT's noise).

State ``[cx, cy, a, h, vcx, vcy, va, vh]``: centre in pixels, aspect ratio ``a = w / h``, height in
pixels, and their velocities per frame. Noise scales with the box height, so a small far product and
a large near one are equally (un)certain relative to their size.
"""

from __future__ import annotations

import numpy as np

_POSITION_WEIGHT = 1.0 / 20  # DeepSORT: std of position noise, relative to the height
_VELOCITY_WEIGHT = 1.0 / 160  # DeepSORT: std of velocity noise, relative to the height


def xywh_to_xyah(box: tuple[float, ...]) -> np.ndarray:
    x, y, w, h = box
    return np.array([x + w / 2, y + h / 2, w / max(h, 1e-6), h], np.float64)


def xyah_to_xywh(state: np.ndarray) -> tuple[float, float, float, float]:
    cx, cy, a, h = (float(v) for v in state[:4])
    w = a * h
    return (cx - w / 2, cy - h / 2, w, h)


class KalmanBoxFilter:
    """Predicts where the target's ``[x, y, w, h]`` box will be on the next frame.

    ``initiate(box)`` starts a track, ``predict()`` advances one frame and returns the predicted box,
    ``update(box)`` folds in a measurement. ``stable`` counts consecutive updates since the last
    (re)start: SAMURAI trusts the prior for mask selection only after enough of them.
    """

    def __init__(self) -> None:
        self._motion = np.eye(8)
        for i in range(4):
            self._motion[i, 4 + i] = 1.0
        self._observe = np.eye(4, 8)
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.stable = 0

    @property
    def active(self) -> bool:
        return self.mean is not None

    def reset(self) -> None:
        self.mean = self.covariance = None
        self.stable = 0

    def initiate(self, box: tuple[float, ...]) -> None:
        z = xywh_to_xyah(box)
        h = z[3]
        self.mean = np.r_[z, np.zeros(4)]
        std = [
            2 * _POSITION_WEIGHT * h, 2 * _POSITION_WEIGHT * h, 1e-2, 2 * _POSITION_WEIGHT * h,
            10 * _VELOCITY_WEIGHT * h, 10 * _VELOCITY_WEIGHT * h, 1e-5, 10 * _VELOCITY_WEIGHT * h,
        ]  # fmt: skip
        self.covariance = np.diag(np.square(std))
        self.stable = 0

    def predict(self) -> tuple[float, float, float, float]:
        """Advance one frame; the predicted ``[x, y, w, h]`` box."""
        assert self.mean is not None and self.covariance is not None, "initiate() first"
        h = self.mean[3]
        std = [
            _POSITION_WEIGHT * h, _POSITION_WEIGHT * h, 1e-2, _POSITION_WEIGHT * h,
            _VELOCITY_WEIGHT * h, _VELOCITY_WEIGHT * h, 1e-5, _VELOCITY_WEIGHT * h,
        ]  # fmt: skip
        self.mean = self._motion @ self.mean
        self.covariance = self._motion @ self.covariance @ self._motion.T + np.diag(np.square(std))
        return self.box

    def peek(self) -> tuple[float, float, float, float]:
        """The box ``predict`` would give now, without advancing."""
        assert self.mean is not None, "initiate() first"
        return xyah_to_xywh(self._motion @ self.mean)

    @property
    def box(self) -> tuple[float, float, float, float]:
        assert self.mean is not None
        return xyah_to_xywh(self.mean)

    def update(self, box: tuple[float, ...]) -> None:
        """Correct the state with a measured ``[x, y, w, h]`` box."""
        assert self.mean is not None and self.covariance is not None, "initiate() first"
        z = xywh_to_xyah(box)
        h = self.mean[3]
        r = np.diag(np.square([_POSITION_WEIGHT * h, _POSITION_WEIGHT * h, 1e-1, _POSITION_WEIGHT * h]))
        s = self._observe @ self.covariance @ self._observe.T + r
        gain = self.covariance @ self._observe.T @ np.linalg.inv(s)
        self.mean = self.mean + gain @ (z - self._observe @ self.mean)
        self.covariance = (np.eye(8) - gain @ self._observe) @ self.covariance
        self.stable += 1

    def distance(self, box: tuple[float, ...]) -> float:
        """Squared Mahalanobis distance of a box's centre from the predicted centre (2 dof)."""
        assert self.mean is not None and self.covariance is not None
        d = xywh_to_xyah(box)[:2] - self.mean[:2]
        return float(d @ np.linalg.inv(self.covariance[:2, :2]) @ d)
