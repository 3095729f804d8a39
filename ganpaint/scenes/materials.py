"""Procedural surface textures in face coordinates (metres): brick and roof tiles. Each
returns a channel-first (3, h, w) colour array; anti-aliasing widths come from the local
image scale in pixels per metre."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganpaint.scenes.canvas import clamp
from ganpaint.scenes.noise import hash01
from ganpaint.scenes.palette import rgb3

F32 = np.float32


@dataclass
class Brick:
    """Brick bond: courses ``course`` metres high, bricks ``length`` long, staggered."""

    color: tuple[float, float, float]
    mortar: tuple[float, float, float]
    course: float
    length: float
    variation: float
    salt: int


@dataclass
class Tiles:
    """Roof covering: rows of tiles or slates ``row`` metres apart, ``width`` wide."""

    color: tuple[float, float, float]
    row: float
    width: float
    variation: float
    salt: int


def _line_coverage(dist_px: np.ndarray, width_px) -> np.ndarray:
    """Coverage of a line of ``width_px`` pixels at ``dist_px`` pixels from its axis."""
    return clamp((width_px * F32(0.5) + F32(0.5) - dist_px), 0, 1)


def brick_texture(
    u: np.ndarray, v: np.ndarray, px_v: np.ndarray, px_u: float, b: Brick, light: float
) -> np.ndarray:
    """Brick colour at face coordinates (u, v); ``px_v`` and ``px_u`` are pixels per metre
    vertically and horizontally."""
    rv = v * F32(1 / b.course)
    row = np.floor(rv)
    fv = rv - row
    odd = np.mod(row, 2) * F32(0.5)
    ru = u * F32(1 / b.length) + odd
    col = np.floor(ru)
    fu = ru - col
    ch_px = px_v * F32(b.course)
    dv = np.minimum(fv, 1 - fv) * ch_px
    du = np.minimum(fu, 1 - fu) * F32(b.length * px_u)
    width = clamp(ch_px * F32(0.14), 0.55, None)
    width = np.minimum(width, ch_px * F32(0.4))
    mortar = _line_coverage(np.minimum(dv, du), width)
    var = hash01(row.astype(np.int64), col.astype(np.int64), b.salt) - F32(0.5)
    bright = F32(light) * (1 + var * F32(b.variation))
    base = rgb3(b.color) * bright[None]
    m = rgb3(b.mortar) * F32(light)
    base += (m - base) * (mortar * F32(0.8))[None]
    return base


def tile_texture(
    u: np.ndarray, v: np.ndarray, px: np.ndarray, t: Tiles, light: float
) -> np.ndarray:
    """Roof tiles at roof-plane coordinates (u along the eave, v down the slope)."""
    rv = v * F32(1 / t.row)
    row = np.floor(rv)
    fv = rv - row
    ru = u * F32(1 / t.width) + np.mod(row, 2) * F32(0.5)
    col = np.floor(ru)
    fu = ru - col
    row_px = px * F32(t.row)
    shadow = clamp(((fv - F32(0.7)) * F32(3.3)), 0, 1) * clamp((row_px * F32(0.5)), 0, 1)
    joint = _line_coverage(np.minimum(fu, 1 - fu) * px * F32(t.width), F32(0.6))
    joint *= clamp((row_px * F32(0.25)), 0, 1)
    var = hash01(row.astype(np.int64), col.astype(np.int64), t.salt) - F32(0.5)
    bright = F32(light) * (1 + var * F32(t.variation) - shadow * F32(0.28) - joint * F32(0.15))
    return rgb3(t.color) * bright[None]
