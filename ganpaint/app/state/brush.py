"""Brush masks as plain NumPy (no Qt): a soft round brush dragged along segments.

:class:`StrokeMask` holds the coverage (uint8 0..255) of one stroke at the generator's image
resolution. Each :meth:`StrokeMask.line_to` adds the capsule swept by the brush between two
points (exact distance to the segment, so fast drags leave no gaps); coverage combines by
maximum, so going over the same place twice does not make it "more" painted.

A pen's pressure (0..1; a mouse gives 1) can shape the stroke, as in a painting program's
basic round brush: ``pressure="size"`` scales the radius by :func:`pressure_scale`,
interpolated along each segment between the pen's events, so the stroke is the union of
discs that shrink and grow with the pressure (a tapered stroke, without steps); ``"off"``
ignores it. (Pressure is not mapped to strength: combined by maximum, each segment's round
end would carry its pressure one radius into the next, so a fading stroke would fade a
radius late.)
"""

from __future__ import annotations

import numpy as np

PRESSURE_MODES = ("size", "off")
PRESSURE_FLOOR = 0.15  # what the lightest touch keeps of the radius


def pressure_scale(pressure: np.ndarray | float) -> np.ndarray | float:
    """The factor a pen's ``pressure`` (0..1) gives the radius: linear from
    :data:`PRESSURE_FLOOR` at the lightest touch to 1 at full pressure."""
    return PRESSURE_FLOOR + (1.0 - PRESSURE_FLOOR) * np.clip(pressure, 0.0, 1.0)


def coverage(distance: np.ndarray, radius: float | np.ndarray, hardness: float) -> np.ndarray:
    """Brush coverage in [0, 1] at ``distance`` from the brush centre line.

    ``hardness`` 1 gives a solid disc with a one-pixel anti-aliased rim; lower values widen
    a smooth falloff that ends at ``radius`` (a number, or one per point of ``distance``).
    """
    if np.ndim(radius):
        radius = np.maximum(radius, 0.5)
        soft = np.maximum(radius * (1.0 - float(np.clip(hardness, 0.0, 1.0))), 1.0)
    else:
        radius = max(float(radius), 0.5)
        soft = max(radius * (1.0 - float(np.clip(hardness, 0.0, 1.0))), 1.0)
    t = np.clip((radius - distance) / soft + 0.5 / soft, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)  # smoothstep: no visible ring at the edge of the falloff


class StrokeMask:
    """The growing mask of one stroke, ``size`` x ``size`` uint8."""

    def __init__(self, size: int, radius: float, hardness: float, pressure: str = "off"):
        if pressure not in PRESSURE_MODES:
            raise ValueError(f"pressure must be one of {PRESSURE_MODES}, got {pressure!r}")
        self.size = int(size)
        self.radius = float(radius)
        self.hardness = float(hardness)
        self.pressure = pressure
        self.mask = np.zeros((self.size, self.size), dtype=np.uint8)
        self._last: tuple[float, float] | None = None
        self._last_pressure = 1.0
        # (x, y, width, height) of the pixels the last dab or sweep may have changed (None:
        # none), so a view can redraw that box only
        self.changed: tuple[int, int, int, int] | None = None

    @property
    def empty(self) -> bool:
        return not self.mask.any()

    def move_to(self, x: float, y: float, pressure: float = 1.0) -> None:
        """Start at (x, y) in image pixels (0..size; pixel centres at i + 0.5) and dab there
        (``pressure``: the pen's, 0..1)."""
        self._last, self._last_pressure = (float(x), float(y)), float(pressure)
        self._sweep(self._last, self._last, self._last_pressure, self._last_pressure)

    def line_to(self, x: float, y: float, pressure: float = 1.0) -> None:
        """Sweep the brush from the last point to (x, y), its pressure going from the last
        point's to ``pressure``."""
        if self._last is None:
            self.move_to(x, y, pressure)
            return
        end = (float(x), float(y))
        self._sweep(self._last, end, self._last_pressure, float(pressure))
        self._last, self._last_pressure = end, float(pressure)

    def _sweep(self, a: tuple[float, float], b: tuple[float, float], pa: float, pb: float) -> None:
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
        if self.pressure == "off" or pa == pb == 1.0:  # a mouse: one radius
            dist = segment_distance(xs, ys, a, b)
            cov = coverage(dist, self.radius, self.hardness)
        else:
            dist, t = segment_distance_and_t(xs, ys, a, b)
            scale = pressure_scale(pa + (pb - pa) * t)  # the pressure at the nearest point
            cov = coverage(dist, self.radius * scale, self.hardness)
        cov = np.round(cov * 255.0).astype(np.uint8)
        region = self.mask[y0:y1, x0:x1]
        np.maximum(region, cov, out=region)


def segment_distance(
    xs: np.ndarray, ys: np.ndarray, a: tuple[float, float], b: tuple[float, float]
) -> np.ndarray:
    """Distance from each point (xs, ys) to the segment a-b."""
    return segment_distance_and_t(xs, ys, a, b)[0]


def segment_distance_and_t(
    xs: np.ndarray, ys: np.ndarray, a: tuple[float, float], b: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray | float]:
    """Distance from each point (xs, ys) to the segment a-b, and where along it (0 at a, 1
    at b) its nearest point lies."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    if length2 <= 1e-12:
        return np.hypot(xs - ax, ys - ay), 0.0
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0.0, 1.0)
    return np.hypot(xs - (ax + t * dx), ys - (ay + t * dy)), t
