"""The land: mountain ridgelines, a distant tree line, the grass ground and dirt paths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.canvas import Canvas, clamp
from ganpaint.scenes.concepts import GRASS, MOUNTAIN, PATH, TREE
from ganpaint.scenes.noise import fractal_curve, lattice_noise, pixel_noise
from ganpaint.scenes.shapes import heightfield
from ganpaint.scenes.world import Env

F32 = np.float32
XGRID = np.linspace(-0.05, 1.05, 661)
"""Relative x positions at which terrain curves are sampled (layout is size-independent)."""


def _at(curve: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return np.interp(xs.ravel(), XGRID, curve).astype(F32)[None, :]


@dataclass
class Ridge:
    """A mountain range: a fractal silhouette, hazier towards its foot, maybe snow-capped."""

    top: np.ndarray
    bottom: float
    color: tuple[float, float, float]
    haze: float
    snowline: np.ndarray | None
    grain: np.ndarray

    def draw(self, cv: Canvas, env: Env) -> None:
        r = cv.region(0, float(self.top.min()), 1, self.bottom)
        if r is None:
            return
        sdf = heightfield(r, XGRID, self.top, self.bottom)
        top = _at(self.top, r.xs)
        below = clamp((r.ys - top), 0, None)
        slope = np.gradient(np.interp(XGRID, XGRID, self.top))
        sl = _at(np.convolve(slope, np.ones(9) / 9, "same") * 200 * env.light, r.xs)
        shade = 1 + clamp(sl, -0.35, 0.35) * np.exp(below * F32(-12))
        tx = (r.xs.ravel() + 0.05) * 30
        ty = r.ys.ravel() * 30
        tex = lattice_noise(self.grain, ty, tx) * F32(0.07)
        bright = shade + tex
        color = pal.rgb3(self.color) * bright[None]
        if self.snowline is not None:
            snow = clamp(((_at(self.snowline, r.xs) - r.ys) * F32(cv.size) + 0.5), 0, 1)
            white = pal.rgb3((236, 238, 244)) * (0.9 + 0.25 * (shade - 1))[None]
            color = color + (white - color) * snow[None]
        fog = clamp(((r.ys - top) / F32(max(self.bottom - float(self.top.min()), 1e-3))), 0, 1)
        k = F32(self.haze) + fog * F32(0.45)
        color += (pal.rgb3(env.haze) - color) * k[None]
        cv.paint(r, sdf, color, MOUNTAIN)


@dataclass
class Treeline:
    """A band of distant woods along the horizon: a bumpy silhouette of small crowns."""

    top: np.ndarray
    bottom: float
    color: tuple[float, float, float]
    streaks: np.ndarray

    def draw(self, cv: Canvas, env: Env) -> None:
        r = cv.region(0, float(self.top.min()), 1, self.bottom)
        if r is None:
            return
        sdf = heightfield(r, XGRID, self.top, self.bottom)
        top = _at(self.top, r.xs)
        depth = clamp(((r.ys - top) / F32(0.02)), 0, 1)
        bright = 1.1 - depth * F32(0.3) + _at(self.streaks, r.xs) * F32(0.12)
        bright = bright + pixel_noise(r.shape, r.i0, r.j0, env.salt + 7) * F32(0.08)
        color = pal.rgb3(self.color) * bright[None]
        cv.paint(r, sdf, color, TREE)


@dataclass
class Ground:
    """Grass from the horizon down: hazy far, saturated near, with patches and speckle,
    sometimes mowing stripes that converge on the vanishing point."""

    top: np.ndarray
    near: tuple[float, float, float]
    far: tuple[float, float, float]
    tint: tuple[float, float, float]
    stripes: float
    patches: np.ndarray

    def draw(self, cv: Canvas, env: Env) -> None:
        r = cv.region(0, float(self.top.min()), 1, 1)
        if r is None:
            return
        sdf = heightfield(r, XGRID, self.top, 2.0)
        dz = np.maximum(r.ys - F32(env.horizon), F32(0.002))
        t = clamp((dz / F32(1 - env.horizon)), 0, 1) ** F32(0.5)
        base = pal.mix(pal.rgb3(self.far), pal.rgb3(self.near), t[None])
        # lattice rows follow ground depth (patches flatten towards the horizon)
        ty = 3.8 / np.maximum(dz.ravel(), 0.03)
        tx = (r.xs.ravel() + 0.05) * 12.0
        n1 = lattice_noise(self.patches, ty, tx, wrap=True)
        n2 = lattice_noise(self.patches, ty * 0.55 + 17.0, tx * 0.6 + 5.0, wrap=True)
        bright = 1 + n1 * F32(0.12)
        if self.stripes > 0:
            lateral = (r.xs - F32(env.vp_x)) / dz * F32(env.cam_height / self.stripes)
            band = clamp(np.sin(lateral * F32(np.pi)), -0.4, 0.4) * F32(0.12) * t
            bright = bright + band
        speck = pixel_noise(r.shape, r.i0, r.j0, env.salt + 11, ystep=2)
        bright = bright + speck * (F32(0.05) + F32(0.12) * t)
        color = base * bright[None]
        color = color + (pal.rgb3(self.tint) - color) * (clamp(n2, 0, 1) * F32(0.45))[None]
        cv.paint(r, sdf, color, GRASS)


@dataclass
class Path:
    """A dirt or gravel path on the ground from the bottom edge to (x_end, y_end),
    narrowing with distance and wiggling a little."""

    x_start: float
    x_end: float
    y_end: float
    halfwidth: float  # metres
    wiggle: float  # metres
    freq: float
    phase: float
    color: tuple[float, float, float]
    edge: tuple[float, float, float]

    def draw(self, cv: Canvas, env: Env) -> None:
        r = cv.region(0, self.y_end, 1, 1)
        if r is None:
            return
        y = r.ys.ravel().astype(np.float64)
        s = np.maximum(y - env.horizon, 1e-4) / env.cam_height
        a = (1.0 - y) / max(1.0 - self.y_end, 1e-4)
        taper = clamp((y - self.y_end) / 0.08, 0, 1) * clamp((1.1 - y) / 0.2, 0, 1)
        dist = env.focal / s
        xc = self.x_start + (self.x_end - self.x_start) * a
        xc = xc + self.wiggle * s * np.sin(dist * self.freq + self.phase) * taper
        hw = self.halfwidth * s
        dy = max(1.0 / cv.size, 1e-4)
        slope = np.abs(np.gradient(xc, dy)) + np.abs(np.gradient(hw, dy)) if len(y) > 1 else 0
        xc32 = xc.astype(F32)[:, None]
        hw32 = hw.astype(F32)[:, None]
        corr = (1 / np.sqrt(1 + np.square(slope))).astype(F32)
        corr = corr[:, None] if np.ndim(corr) else F32(1)
        off = np.abs(r.xs - xc32)
        sdf = np.maximum((off - hw32) * corr, F32(self.y_end) - r.ys)
        rel = off / np.maximum(hw32, F32(1e-5))
        ruts = np.exp(-np.square((rel - F32(0.45)) * F32(6))) * F32(0.12)
        grain = pixel_noise(r.shape, r.i0, r.j0, env.salt + 23) * F32(0.22)
        bright = 1 - ruts + grain
        color = pal.rgb3(self.color) * bright[None]
        rim = clamp((rel - F32(0.75)), 0, 0.25) * F32(4 * 0.6)
        color += (pal.rgb3(self.edge) - color) * rim[None]
        fade = (1 - clamp((s.astype(F32)[:, None] * F32(40)), 0, 1)) * F32(0.4)
        color += (pal.rgb3(env.haze) - color) * fade[None]
        cv.paint(r, sdf, color, PATH)


def plan_mountains(rng: np.random.Generator, env: Env) -> list:
    """Zero, one or two layered ridgelines behind the horizon."""
    if rng.random() > 0.62:
        return []
    n = 1 if rng.random() < 0.55 else 2
    base = pal.pick(rng, pal.MOUNTAIN)
    items = []
    for k in range(n):
        far = k == 0 and n == 2
        height = rng.uniform(0.06, 0.26) * (1.0 if far else 0.75)
        height = min(height, env.horizon - 0.06)
        rough = fractal_curve(rng, len(XGRID), 6, int(rng.integers(2, 5)))
        ridged = 1 - np.abs(fractal_curve(rng, len(XGRID), 5, int(rng.integers(3, 7))))
        shape = 0.55 * (rough + 1) / 2 + 0.45 * ridged
        shape = (shape - shape.min()) / max(np.ptp(shape), 1e-6)
        top = env.horizon - 0.01 - height * (0.25 + 0.75 * shape)
        snow = None
        if env.time != "dusk" and rng.random() < 0.45 and height > 0.1:
            level = top.min() + (env.horizon - top.min()) * rng.uniform(0.2, 0.4)
            snow = level + 0.015 * fractal_curve(rng, len(XGRID), 4, 8)
        color = pal.jitter(rng, base, 14)
        items.append(
            Ridge(
                top,
                float(env.horizon + 0.03),
                color,
                0.45 if far else 0.18,
                snow,
                rng.uniform(-1, 1, (34, 36)),
            )
        )
    return items


def plan_treeline(rng: np.random.Generator, env: Env, autumn: bool) -> list:
    """Maybe a band of distant woods along part of the horizon."""
    if rng.random() > 0.45:
        return []
    top = np.full(len(XGRID), env.horizon + 0.05)
    x0, x1 = sorted(rng.uniform(-0.1, 1.1, 2))
    if x1 - x0 < 0.3:
        x0, x1 = -0.1, 1.1
    scale = rng.uniform(0.6, 1.4)
    k = int((x1 - x0) / (0.012 * scale * 1.15)) + 2
    rad = rng.uniform(0.006, 0.018, k) * scale
    cy = env.horizon - rng.uniform(0.0, 0.012, k) * scale
    x = x0 + np.concatenate([[0.0], np.cumsum(rad[:-1] * rng.uniform(0.8, 1.5, k - 1))])
    keep = x < x1
    rad, cy, x = rad[keep], cy[keep], x[keep]
    j = (
        np.clip(np.searchsorted(x, XGRID), 1, len(x) - 1)
        if len(x) > 1
        else np.zeros(len(XGRID), np.int64)
    )
    for idx in (np.maximum(j - 2, 0), j - 1 if len(x) > 1 else j, j, np.minimum(j + 1, len(x) - 1)):
        d2 = rad[idx] ** 2 - (XGRID - x[idx]) ** 2
        cap = np.where(d2 > 0, cy[idx] - np.sqrt(np.maximum(d2, 0)), np.inf)
        top = np.minimum(top, cap)
    color = pal.jitter(rng, pal.pick(rng, pal.AUTUMN_FOLIAGE if autumn else pal.FOLIAGE), 10)
    color = tuple(float(v) for v in env.hazed(np.asarray(color) * 0.8, 0.004))
    streaks = fractal_curve(rng, len(XGRID), 3, 60)
    return [Treeline(top, float(env.horizon + 0.03), color, streaks)]


def plan_ground(rng: np.random.Generator, env: Env, autumn: bool) -> Ground:
    """The grass, with a gently undulating far edge."""
    near, far = pal.pick(rng, pal.AUTUMN_GRASS if autumn else pal.GRASS)
    near = pal.jitter(rng, near, 14)
    far = tuple(float(v) for v in pal.mix(pal.jitter(rng, far, 10), env.haze, 0.25))
    tint = pal.jitter(rng, (170, 168, 84), 20)
    top = env.horizon + 0.006 * fractal_curve(rng, len(XGRID), 4, 3)
    stripes = float(rng.uniform(2.5, 6.0)) if rng.random() < 0.25 else 0.0
    return Ground(top, near, far, tint, stripes, rng.uniform(-1, 1, (48, 24)))


def plan_path(
    rng: np.random.Generator, env: Env, target: tuple[float, float] | None
) -> Path | None:
    """A path to ``target`` (a door's ground point), or winding off to the horizon."""
    if target is None:
        if rng.random() > 0.4:
            return None
        x_end = float(rng.uniform(0.1, 0.9))
        y_end = env.horizon + 0.004
    else:
        x_end, y_end = target
    x_start = float(clamp(x_end + rng.uniform(-0.6, 0.6), -0.3, 1.3))
    color = pal.jitter(rng, pal.pick(rng, pal.PATH), 14)
    edge = tuple(float(v) for v in pal.mix(color, (110, 120, 70), 0.5))
    return Path(
        x_start,
        float(x_end),
        float(y_end),
        float(rng.uniform(0.7, 1.5)),
        float(rng.uniform(0.0, 2.5)),
        float(rng.uniform(0.05, 0.2)),
        float(rng.uniform(0, 2 * np.pi)),
        color,
        edge,
    )
