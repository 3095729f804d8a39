"""The camera and lighting shared by everything in a scene (:class:`Env`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F32 = np.float32


@dataclass
class Env:
    """Scene-wide camera, light and atmosphere, all in image-relative units.

    The camera looks horizontally: the ground plane's horizon is the line y = horizon, and
    lines that recede from the viewer meet at the vanishing point (vp_x, horizon). A ground
    point at image height y is at ``scale_at(y)`` image units per metre. ``focal`` converts
    that scale to distance (distance = focal / scale, metres).
    """

    time: str
    horizon: float
    vp_x: float
    cam_height: float
    focal: float
    sky: tuple[tuple[float, float, float], ...]
    haze: tuple[float, float, float]
    light: float  # +1: sun on the right, -1: on the left
    salt: int
    # A close view: one building fills the frame, seen from eye height; its top (a spire,
    # a tower cap) may leave the frame, as in most photos of a church.
    close: bool = False

    def scale_at(self, y: float) -> float:
        """Image units per metre of an object standing on the ground at image height y."""
        return max(y - self.horizon, 1e-4) / self.cam_height

    def base_for_scale(self, s: float) -> float:
        """Image height of the ground contact of an object drawn at scale s."""
        return self.horizon + s * self.cam_height

    def recede(self, x: float, y: float, s: float, depth: float) -> tuple[float, float]:
        """Image position of the point drawn at (x, y) with scale s, moved ``depth`` metres
        away from the viewer."""
        f = depth * s / (self.focal + depth * s)
        return (x + (self.vp_x - x) * f, y + (self.horizon - y) * f)

    def depth_factor(self, s: float, depth: float) -> float:
        """How much the scale shrinks, as a fraction, ``depth`` metres further away."""
        return depth * s / (self.focal + depth * s)

    def haze_k(self, s: float) -> float:
        """Aerial-perspective blend factor towards the haze colour at scale s."""
        return float(np.clip(0.0045 / (s + 0.004), 0.0, 0.6))

    def hazed(self, color, s: float):
        """A colour with aerial perspective for an object at scale s (small s = far): a
        (3,) array for an RGB triple; a (3, h, w) float32 array is modified in place."""
        k = self.haze_k(s)
        if isinstance(color, np.ndarray) and color.dtype == F32 and color.ndim == 3:
            color *= F32(1 - k)
            color += np.asarray(self.haze, F32).reshape(3, 1, 1) * F32(k)
            return color
        c = np.asarray(color, F32).reshape(3)
        return c + (np.asarray(self.haze, F32) - c) * F32(k)
