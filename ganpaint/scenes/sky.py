"""The sky: time-of-day gradients, the sun and puffy clouds (labels sky and cloud)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.canvas import Canvas, Region, clamp
from ganpaint.scenes.concepts import CLOUD, SKY
from ganpaint.scenes.shapes import circle, sphere_union
from ganpaint.scenes.world import Env

F32 = np.float32


@dataclass
class Sky:
    """A vertical three-stop gradient from zenith to horizon, slightly brighter sunwards."""

    mid_at: float

    def draw(self, cv: Canvas, env: Env) -> None:
        r = cv.full()
        y = r.ys.ravel()
        stops = [0.0, self.mid_at * env.horizon, env.horizon, 1.0]
        cols = np.array([env.sky[0], env.sky[1], env.sky[2], env.sky[2]], F32)
        rows = np.stack([np.interp(y, stops, cols[:, c]) for c in range(3)], 1).astype(F32)
        side = 1 + F32(0.05 * env.light) * (r.xs.ravel() - F32(0.5))
        cv.fill_outer(rows, side, SKY)


@dataclass
class Sun:
    """A bright disc with a wide glow (labelled sky)."""

    x: float
    y: float
    radius: float
    color: tuple[float, float, float]
    glow: float

    def draw(self, cv: Canvas, env: Env) -> None:
        g = 0.28
        r = cv.region(self.x - g, self.y - g, self.x + g, self.y + g)
        if r is None:
            return
        dx = r.xs - F32(self.x)
        dy = r.ys - F32(self.y)
        a = np.exp((dx * dx + dy * dy) * F32(-1 / (2 * (g / 2.5) ** 2))) * F32(self.glow)
        a = np.broadcast_to(a, r.shape).astype(F32)
        cv.blend(r, a, self.color)
        rr = cv.region(
            self.x - self.radius, self.y - self.radius, self.x + self.radius, self.y + self.radius
        )
        cv.paint(rr, circle(rr, self.x, self.y, self.radius), self.color, SKY)


@dataclass
class Cloud:
    """A heap of spheres with a flattish base, lit from above and sunwards; ``squash``
    < 1 flattens it vertically (distant or stratus clouds)."""

    spheres: list[tuple[float, float, float]]
    bottom: float
    squash: float
    lit: tuple[float, float, float]
    shade: tuple[float, float, float]

    def draw(self, cv: Canvas, env: Env) -> None:
        s = np.asarray(self.spheres)
        x0 = (s[:, 0] - s[:, 2]).min()
        x1 = (s[:, 0] + s[:, 2]).max()
        top = (s[:, 1] - s[:, 2]).min()
        y0 = self.bottom - (self.bottom - top) * self.squash
        r = cv.region(x0, y0, x1, self.bottom)
        if r is None:
            return
        q = F32(self.squash)
        ys = F32(self.bottom) + (r.ys - F32(self.bottom)) / q
        sdf, nx, ny, nz = sphere_union(Region(r.i0, r.i1, r.j0, r.j1, r.xs, ys), self.spheres)
        sdf = np.maximum(sdf * q, r.ys - F32(self.bottom))
        lx, ly, lz = 0.45 * env.light, -0.8, 0.45
        norm = (lx * lx + ly * ly + lz * lz) ** 0.5
        lam = clamp((nx * F32(lx / norm) + ny * F32(ly / norm) + nz * F32(lz / norm)), 0, 1)
        depth = clamp(((r.ys - F32(y0)) / F32(max(self.bottom - y0, 1e-4))), 0, 1)
        t = clamp((lam * F32(0.75) + F32(0.42) - depth * F32(0.35)), 0, 1)
        color = pal.mix(pal.rgb3(self.shade), pal.rgb3(self.lit), t[None])
        cv.paint(r, sdf, color, CLOUD)


def plan_sky(rng: np.random.Generator, env: Env) -> list:
    """The sky gradient, maybe a sun, and 0..8 clouds."""
    items: list = [Sky(mid_at=float(rng.uniform(0.35, 0.7)))]
    if env.time in ("dusk", "dawn") or (env.time == "day" and rng.random() < 0.15):
        low = env.time != "day"
        y = env.horizon - (rng.uniform(0.03, 0.14) if low else rng.uniform(0.2, 0.4))
        x = float(clamp(0.5 + env.light * rng.uniform(0.1, 0.4), 0.08, 0.92))
        color = (255, 236, 200) if low else (255, 252, 236)
        items.append(
            Sun(
                x,
                float(max(y, 0.04)),
                float(rng.uniform(0.018, 0.035)),
                color,
                float(rng.uniform(0.3, 0.6)),
            )
        )
    counts = {"day": (0, 6), "dusk": (1, 5), "dawn": (1, 5), "overcast": (4, 9)}
    lo, hi = counts[env.time]
    n = int(rng.integers(lo, hi + 1))
    if env.time == "day" and rng.random() < 0.2:
        n = 0
    lit, shade = pal.pick(rng, pal.CLOUDS[env.time])
    for _ in range(n):
        items.append(_plan_cloud(rng, env, lit, shade))
    return items


def _plan_cloud(rng, env: Env, lit, shade) -> Cloud:
    width = rng.uniform(0.08, 0.3) * (1.6 if rng.random() < 0.3 else 1.0)
    cx = rng.uniform(-0.1, 1.1)
    bottom = rng.uniform(0.08, max(env.horizon - 0.08, 0.1))
    # clouds near the horizon are further away: flatter and smaller
    far = clamp(bottom / max(env.horizon, 1e-3), 0, 1)
    width *= 1.0 - 0.5 * far
    height = width * rng.uniform(0.28, 0.5) * (1.0 - 0.35 * far)
    k = int(rng.integers(4, 9))
    u = (np.arange(k) + rng.uniform(-0.35, 0.35, k)) / max(k - 1, 1) - 0.5
    envelope = np.sqrt(np.clip(1 - (1.6 * u) ** 2, 0.05, 1))
    rad = height * (0.3 + 0.55 * envelope) * rng.uniform(0.75, 1.15, k)
    cy = bottom - rad * rng.uniform(0.25, 0.7, k)
    xs = cx + u * width
    m = int(rng.integers(1, 5))
    v = rng.uniform(-0.3, 0.3, m)
    top_env = np.sqrt(np.clip(1 - (1.6 * v) ** 2, 0.05, 1))
    trad = height * rng.uniform(0.35, 0.6, m) * top_env
    tcy = bottom - height * rng.uniform(0.45, 0.85, m) * top_env
    xs = np.concatenate([xs, cx + v * width])
    cy = np.concatenate([cy, tcy])
    rad = np.concatenate([rad, trad])
    spheres = [(float(a), float(b), float(c)) for a, b, c in zip(xs, cy, rad, strict=True)]
    squash = float(rng.uniform(0.45, 0.8)) if rng.random() < 0.35 + 0.4 * far else 1.0
    lit = pal.jitter(rng, lit, 8)
    shade = pal.jitter(rng, shade, 8)
    return Cloud(spheres, float(bottom), squash, lit, shade)
