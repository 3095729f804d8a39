"""Signed distance fields of 2-D shapes over a :class:`~ganpaint.scenes.canvas.Region`.

All functions take and return image-relative units (the image side is 1), negative inside.
Exteriors near corners are approximate (max of half-planes), which only widens the
anti-aliasing ramp there; the inside test ``sdf <= 0`` is exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ganpaint.scenes.canvas import Region, clamp

F32 = np.float32


def box(r: Region, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Axis-aligned rectangle [x0, x1] x [y0, y1]."""
    dx = np.maximum(F32(x0) - r.xs, r.xs - F32(x1))
    dy = np.maximum(F32(y0) - r.ys, r.ys - F32(y1))
    return np.maximum(dx, dy)


def circle(r: Region, cx: float, cy: float, rad: float) -> np.ndarray:
    """Disc of radius ``rad`` centred at (cx, cy)."""
    dx = r.xs - F32(cx)
    dy = r.ys - F32(cy)
    return np.sqrt(dx * dx + dy * dy) - F32(rad)


def ellipse(r: Region, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    """Axis-aligned ellipse (first-order distance estimate)."""
    px = (r.xs - F32(cx)) / F32(rx)
    py = (r.ys - F32(cy)) / F32(ry)
    k = np.sqrt(px * px + py * py)
    gx = px / F32(rx)
    gy = py / F32(ry)
    g = np.sqrt(gx * gx + gy * gy) + F32(1e-6)
    return (k - 1) * k / g


def segment(r: Region, ax: float, ay: float, bx: float, by: float, rad: float) -> np.ndarray:
    """Capsule of radius ``rad`` around the segment from (ax, ay) to (bx, by)."""
    vx, vy = bx - ax, by - ay
    ll = vx * vx + vy * vy
    px = r.xs - F32(ax)
    py = r.ys - F32(ay)
    if ll <= 0:
        return np.sqrt(px * px + py * py) - F32(rad)
    t = clamp((px * F32(vx / ll) + py * F32(vy / ll)), 0, 1)
    dx = px - t * F32(vx)
    dy = py - t * F32(vy)
    return np.sqrt(dx * dx + dy * dy) - F32(rad)


def convex_polygon(r: Region, pts: Sequence[tuple[float, float]]) -> np.ndarray:
    """Convex polygon with vertices ``pts`` in either winding order."""
    p = [(float(x), float(y)) for x, y in pts]
    n = len(p)
    area = sum(p[k][0] * p[(k + 1) % n][1] - p[(k + 1) % n][0] * p[k][1] for k in range(n))
    sign = 1.0 if area > 0 else -1.0
    out = None
    for k in range(n):
        (ax, ay), (bx, by) = p[k], p[(k + 1) % n]
        ex, ey = bx - ax, by - ay
        length = math.hypot(ex, ey)
        if length < 1e-12:
            continue
        # outward normal for counter-clockwise winding (area > 0)
        nx, ny = sign * ey / length, -sign * ex / length
        d = (r.xs * F32(nx) - F32(nx * ax + ny * ay)) + r.ys * F32(ny)
        out = d if out is None else np.maximum(out, d)
    return out


def profile(
    r: Region, cx: float, y_base: float, height: float, halfwidth: np.ndarray
) -> np.ndarray:
    """Shape symmetric about x = cx between y_base (bottom) and y_base - height (top).

    ``halfwidth`` is a callable-free representation: an array of half-widths sampled at
    evenly spaced heights t = 0..1 from base to top (relative units)."""
    t = (F32(y_base) - r.ys) / F32(height)
    n = len(halfwidth) - 1
    w = np.interp(t.ravel(), np.linspace(0, 1, n + 1), halfwidth).astype(F32)[:, None]
    slope = np.gradient(halfwidth) * n / height
    sl = np.interp(t.ravel(), np.linspace(0, 1, n + 1), slope).astype(F32)[:, None]
    d = (np.abs(r.xs - F32(cx)) - w) / np.sqrt(1 + sl * sl)
    vert = np.maximum(r.ys - F32(y_base), F32(y_base - height) - r.ys)
    return np.maximum(d, vert)


def heightfield(r: Region, xs_grid: np.ndarray, top: np.ndarray, bottom: float) -> np.ndarray:
    """Region below the curve y = top(x) (sampled at ``xs_grid``) and above ``bottom``."""
    x = r.xs.ravel()
    t = np.interp(x, xs_grid, top).astype(F32)[None, :]
    dx = max(float(x[1] - x[0]), 1e-6) if len(x) > 1 else 1.0
    slope = np.gradient(t, dx, axis=1) if t.shape[1] > 1 else np.zeros_like(t)
    d = (t - r.ys) / np.sqrt(1 + slope * slope)
    return np.maximum(d, r.ys - F32(bottom))


def homography(corners: Sequence[tuple[float, float]]) -> np.ndarray:
    """3x3 projective map of the unit square onto a quadrilateral.

    ``corners`` are the images of (0, 0), (1, 0), (1, 1), (0, 1), in that order
    (Heckbert's square-to-quad formula)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
    sx = x0 - x1 + x2 - x3
    sy = y0 - y1 + y2 - y3
    dx1, dx2 = x1 - x2, x3 - x2
    dy1, dy2 = y1 - y2, y3 - y2
    det = dx1 * dy2 - dx2 * dy1
    if abs(det) < 1e-15:
        g = h = 0.0
    else:
        g = (sx * dy2 - dx2 * sy) / det
        h = (dx1 * sy - sx * dy1) / det
    return np.array(
        [
            [x1 - x0 + g * x1, x3 - x0 + h * x3, x0],
            [y1 - y0 + g * y1, y3 - y0 + h * y3, y0],
            [g, h, 1.0],
        ]
    )


def _inverse3(m: np.ndarray) -> np.ndarray:
    """Inverse of a 3x3 matrix by its adjugate (cheaper than np.linalg.inv for one)."""
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    co = [
        [e * i - f * h, c * h - b * i, b * f - c * e],
        [f * g - d * i, a * i - c * g, c * d - a * f],
        [d * h - e * g, b * g - a * h, a * e - b * d],
    ]
    det = a * co[0][0] + b * co[1][0] + c * co[2][0]
    return np.array(co) / det


class Face:
    """A planar rectangle of the world (a wall, a roof plane) seen in perspective.

    Face coordinates are metres: u runs 0..width from the first corner to the second,
    v runs 0..height from the first corner to the fourth (downwards for walls). ``scale0``
    and ``scale1`` give image-relative units per metre along the u = 0 and u = width edges.
    """

    def __init__(
        self,
        corners: Sequence[tuple[float, float]],
        width: float,
        height: float,
    ) -> None:
        self.corners = [tuple(map(float, c)) for c in corners]
        self.width = float(width)
        self.height = float(height)
        m = homography(self.corners)
        m[:, 0] /= self.width  # face metres -> unit square
        m[:, 1] /= self.height
        self.m = m
        self.minv = _inverse3(m)
        self._rows = m.tolist()
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.corners
        self.scale0 = float(np.hypot(x3 - x0, y3 - y0) / self.height)
        self.scale1 = float(np.hypot(x2 - x1, y2 - y1) / self.height)
        self.hscale = float(np.hypot(x1 - x0, y1 - y0) / self.width)

    def point(self, u: float, v: float) -> tuple[float, float]:
        """The image position of face point (u, v)."""
        (a, b, c), (d, e, f), (g, h, i) = self._rows
        w = g * u + h * v + i
        return ((a * u + b * v + c) / w, (d * u + e * v + f) / w)

    def points(self, uv: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        """Image positions of several face points."""
        return [self.point(float(u), float(v)) for u, v in uv]

    def uv(self, r: Region) -> tuple[np.ndarray, np.ndarray]:
        """Face coordinates (metres) of the region's pixel centres."""
        mi = self.minv.astype(F32)
        w = r.xs * mi[2, 0] + (r.ys * mi[2, 1] + mi[2, 2])
        # A region's box may reach the face plane's vanishing line, where w is 0 and the
        # face coordinates are infinite; such pixels lie outside the face (coverage 0), but
        # an inf there turns the paint to NaN. Keep them finite and far away instead.
        tiny = F32(1e-6) * max(float(np.abs(w).max(initial=0.0)), 1e-30)
        w = np.where(np.abs(w) < tiny, np.where(w < 0, -tiny, tiny), w).astype(F32)
        inv = 1 / w
        u = (r.xs * mi[0, 0] + (r.ys * mi[0, 1] + mi[0, 2])) * inv
        v = (r.xs * mi[1, 0] + (r.ys * mi[1, 1] + mi[1, 2])) * inv
        return u, v

    def local_scale(self, u: np.ndarray) -> np.ndarray:
        """Approximate image-relative units per metre at face coordinate u."""
        a = clamp(u * F32(1 / self.width), 0, 1)
        return F32(self.scale0) + a * F32(self.scale1 - self.scale0)

    def bbox(self, uv: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
        """Image bounding box of face points."""
        p = np.asarray(self.points(uv))
        return (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())


def sphere_union(
    r: Region, spheres: Sequence[tuple[float, float, float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Union of discs (cx, cy, radius), seen as a heap of spheres.

    Returns the union's signed distance and, per pixel, the unit normal (nx, ny, nz) of the
    front-most sphere surface, for puffy shading of clouds and tree crowns. Each disc's
    distance is the first-order estimate (d^2 - r^2) / 2r: exact on its boundary, so the
    inside test is exact."""
    a = np.asarray(spheres, F32)
    cx, cy, rad = a[:, 0, None, None], a[:, 1, None, None], a[:, 2, None, None]
    inv = 1 / rad
    dx = (r.xs[None] - cx) * inv  # (k, 1, w)
    dy = (r.ys[None] - cy) * inv  # (k, h, 1)
    height = dx * dx + dy * dy
    np.subtract(1, height, out=height)  # 1 - d^2/r^2 per sphere, (k, h, w)
    height *= rad * rad
    front = height.argmax(axis=0)
    height *= F32(-0.5) * inv / rad  # -> (d^2 - r^2) / 2r
    sdf = height.min(axis=0)
    inv_f = inv.ravel()[front]
    nx = (r.xs - a[:, 0][front]) * inv_f
    ny = (r.ys - a[:, 1][front]) * inv_f
    nz = np.sqrt(clamp(1 - nx * nx - ny * ny, 0, 1))
    return sdf, nx, ny, nz
