"""Brush masks as plain NumPy (no Qt): a soft round brush dragged along segments.

:class:`StrokeMask` holds the coverage (uint8 0..255) of one stroke at the generator's image
resolution. Each :meth:`StrokeMask.line_to` adds the capsule swept by the brush between two
points (exact distance to the segment, so fast drags leave no gaps); coverage combines by
maximum, so going over the same place twice does not make it "more" painted.
"""

from __future__ import annotations

import numpy as np


def coverage(distance: np.ndarray, radius: float, hardness: float) -> np.ndarray:
    """Brush coverage in [0, 1] at ``distance`` from the brush centre line.

    ``hardness`` 1 gives a solid disc with a one-pixel anti-aliased rim; lower values widen
    a smooth falloff that ends at ``radius``.
    """
    radius = max(float(radius), 0.5)
    soft = max(radius * (1.0 - float(np.clip(hardness, 0.0, 1.0))), 1.0)
    t = np.clip((radius - distance) / soft + 0.5 / soft, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)  # smoothstep: no visible ring at the edge of the falloff


class StrokeMask:
    """The growing mask of one stroke, ``size`` x ``size`` uint8."""

    def __init__(self, size: int, radius: float, hardness: float):
        self.size = int(size)
        self.radius = float(radius)
        self.hardness = float(hardness)
        self.mask = np.zeros((self.size, self.size), dtype=np.uint8)
        self._last: tuple[float, float] | None = None
        # (x, y, width, height) of the pixels the last dab or sweep may have changed (None:
        # none), so a view can redraw that box only
        self.changed: tuple[int, int, int, int] | None = None

    @property
    def empty(self) -> bool:
        return not self.mask.any()

    def move_to(self, x: float, y: float) -> None:
        """Start at (x, y) in image pixels (0..size; pixel centres at i + 0.5) and dab there."""
        self._last = (float(x), float(y))
        self._sweep(self._last, self._last)

    def line_to(self, x: float, y: float) -> None:
        """Sweep the brush from the last point to (x, y)."""
        if self._last is None:
            self.move_to(x, y)
            return
        end = (float(x), float(y))
        self._sweep(self._last, end)
        self._last = end

    def _sweep(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        r = self.radius + 1.0
        x0 = int(np.clip(np.floor(min(a[0], b[0]) - r), 0, self.size))
        x1 = int(np.clip(np.ceil(max(a[0], b[0]) + r), 0, self.size))
        y0 = int(np.clip(np.floor(min(a[1], b[1]) - r), 0, self.size))
        y1 = int(np.clip(np.ceil(max(a[1], b[1]) + r), 0, self.size))
        if x0 >= x1 or y0 >= y1:
            self.changed = None
            return
        self.changed = (x0, y0, x1 - x0, y1 - y0)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        dist = segment_distance(xs, ys, a, b)
        cov = np.round(coverage(dist, self.radius, self.hardness) * 255.0).astype(np.uint8)
        region = self.mask[y0:y1, x0:x1]
        np.maximum(region, cov, out=region)


def segment_distance(
    xs: np.ndarray, ys: np.ndarray, a: tuple[float, float], b: tuple[float, float]
) -> np.ndarray:
    """Distance from each point (xs, ys) to the segment a-b."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    if length2 <= 1e-12:
        return np.hypot(xs - ax, ys - ay)
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0.0, 1.0)
    return np.hypot(xs - (ax + t * dx), ys - (ay + t * dy))
