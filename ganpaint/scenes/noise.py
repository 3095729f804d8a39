"""Deterministic noise: integer hashes, separable value noise and 1-D fractal curves.

Value noise is defined on a coarse lattice in image-relative (or world) coordinates, so a
scene's texture looks the same at every resolution; only the per-pixel speckle (hashes of
pixel indices) depends on the size.
"""

from __future__ import annotations

import functools

import numpy as np

F32 = np.float32


def hash01(a: np.ndarray, b: np.ndarray, salt: int) -> np.ndarray:
    """A float32 in [0, 1) per integer pair (a, b) (broadcast), mixed with ``salt``."""
    h = (np.asarray(a).astype(np.uint32) * np.uint32(0x8DA6B343)) ^ (
        np.asarray(b).astype(np.uint32) * np.uint32(0xD8163841)
    )
    h ^= np.uint32((salt * 0x9E3779B1) & 0xFFFFFFFF)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0x5BD1E995)
    h ^= h >> np.uint32(15)
    return (h >> np.uint32(8)).astype(F32) * F32(1.0 / (1 << 24))


def pixel_noise(shape: tuple[int, int], i0: int, j0: int, salt: int, ystep: int = 1) -> np.ndarray:
    """Per-pixel white noise in [-0.5, 0.5) for the pixel box starting at (i0, j0); with
    ``ystep`` > 1 each value spans that many rows (short vertical dashes)."""
    ii = (np.arange(i0, i0 + shape[0], dtype=np.int64) // ystep)[:, None]
    jj = np.arange(j0, j0 + shape[1], dtype=np.int64)[None, :]
    return hash01(ii, jj, salt) - F32(0.5)


def _lattice_weights(t: np.ndarray, n: int, wrap: bool):
    """Per position: lower lattice index, upper index and the smoothstep weight of the
    upper one (positions clamped to [0, n - 1], or periodic with ``wrap``)."""
    t = np.asarray(t, np.float64).ravel()
    t = np.mod(t, n) if wrap else np.clip(t, 0, n - 1 - 1e-9)
    i = t.astype(np.int64)
    f = t - i
    f = (f * f * (3 - 2 * f)).astype(F32)
    j = (i + 1) % n if wrap else np.minimum(i + 1, n - 1)
    return i, j, f


def lattice_noise(
    grid: np.ndarray, ty: np.ndarray, tx: np.ndarray, wrap: bool = False
) -> np.ndarray:
    """Sample a 2-D lattice ``grid`` at rows ``ty`` and columns ``tx`` (lattice units):
    a separable smoothstep interpolation, returned with shape (len(ty), len(tx)).

    Done with gathers, not matrix products: multithreaded BLAS on such small products
    costs far more than it saves."""
    g = grid.astype(F32, copy=False)
    i0, i1, fy = _lattice_weights(ty, g.shape[0], wrap)
    rows = g[i0]
    rows += (g[i1] - rows) * fy[:, None]
    j0, j1, fx = _lattice_weights(tx, g.shape[1], wrap)
    out = rows[:, j0]
    out += (rows[:, j1] - out) * fx[None, :]
    return out


@functools.lru_cache(maxsize=64)
def _curve_lattice(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0, 1, n) * m
    i = np.minimum(np.floor(t).astype(np.int64), m - 1)
    f = t - i
    return i, f * f * (3 - 2 * f)


def fractal_curve(rng: np.random.Generator, n: int, octaves: int, base: int) -> np.ndarray:
    """A 1-D fractal curve of n samples over [0, 1], values roughly in [-1, 1]."""
    out = np.zeros(n)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        m = base * 2**k
        knots = rng.uniform(-1, 1, m + 1)
        i, f = _curve_lattice(n, m)
        a = knots[i]
        out += amp * (a + (knots[i + 1] - a) * f)
        total += amp
        amp *= 0.5
    return out / total
