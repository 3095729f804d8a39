"""Trees: round deciduous crowns (heaps of leafy spheres), layered conifers and tall
poplars, with trunks and soft ground shadows (label tree)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.canvas import Canvas, clamp
from ganpaint.scenes.concepts import TREE
from ganpaint.scenes.noise import lattice_noise, pixel_noise
from ganpaint.scenes.shapes import convex_polygon, ellipse, profile, sphere_union
from ganpaint.scenes.world import Env

F32 = np.float32


@dataclass
class Tree:
    """One tree standing at image point (x, base_y), drawn at s image units per metre.

    Sizes are metres: ``height`` overall, ``crown`` the crown radius (half-width for
    conifers and poplars); ``blobs`` are (dx, up, radius) spheres of a round crown."""

    kind: str
    x: float
    base_y: float
    s: float
    height: float
    crown: float
    trunk_h: float
    blobs: list[tuple[float, float, float]]
    layers: int
    foliage: tuple[float, float, float]
    trunk: tuple[float, float, float]
    leaves: np.ndarray

    def draw(self, cv: Canvas, env: Env) -> None:
        s, x, yb = self.s, self.x, self.base_y
        rx = self.crown * s * 1.1
        sx = x + env.light * -0.3 * rx
        r = cv.region(sx - rx, yb - rx * 0.2, sx + rx, yb + rx * 0.2)
        if r is not None:
            a = cv.coverage(r, ellipse(r, sx, yb, rx, rx * 0.16)) * F32(0.3)
            cv.blend(r, a, (20, 28, 12))
        tw = max(0.18 * self.crown, 0.25) * s
        top = yb - (self.trunk_h + self.crown * 0.5) * s
        pts = [
            (x - tw, yb + tw * 0.3),
            (x + tw, yb + tw * 0.3),
            (x + tw * 0.55, top),
            (x - tw * 0.55, top),
        ]
        r = cv.region(x - tw, top, x + tw, yb + tw * 0.3)
        if r is not None:
            bark = F32(0.75) + F32(0.35 * env.light) * clamp(((r.xs - F32(x)) / F32(tw)), -1, 1)
            color = pal.rgb3(self.trunk) * bark[None]
            cv.paint(r, convex_polygon(r, pts), env.hazed(color, s), TREE)
        if self.kind == "round":
            self._round(cv, env)
        else:
            self._spire(cv, env)

    def _texture(self, r, x0, y0, size, aspect: float = 1.0) -> np.ndarray:
        """Leafy brightness variation: smooth clumps (``aspect`` > 1 makes them tall and
        narrow) plus per-pixel speckle."""
        ty = (r.ys.ravel() - y0) / size * 9 + 1
        tx = (r.xs.ravel() - x0) / size * 9 * aspect + 1
        clumps = lattice_noise(self.leaves, ty, tx, wrap=True)
        fine = pixel_noise(r.shape, r.i0, r.j0, int(self.leaves.shape[0] * 977))
        return clumps * F32(0.22) + fine * F32(0.14)

    def _round(self, cv: Canvas, env: Env) -> None:
        s = self.s
        spheres = [(self.x + dx * s, self.base_y - up * s, rad * s) for dx, up, rad in self.blobs]
        a = np.asarray(spheres)
        x0, x1 = (a[:, 0] - a[:, 2]).min(), (a[:, 0] + a[:, 2]).max()
        y0, y1 = (a[:, 1] - a[:, 2]).min(), (a[:, 1] + a[:, 2]).max()
        r = cv.region(x0, y0, x1, y1)
        if r is None:
            return
        sdf, nx, ny, nz = sphere_union(r, spheres)
        lx, ly, lz = 0.55 * env.light, -0.6, 0.58
        lam = clamp((nx * F32(lx) + ny * F32(ly) + nz * F32(lz)), 0, 1)
        depth = clamp(((r.ys - F32(y0)) * F32(1 / max(y1 - y0, 1e-6))), 0, 1)
        bright = F32(0.5) + lam * F32(0.65) - depth * F32(0.2)
        bright = bright + self._texture(r, x0, y0, max(x1 - x0, y1 - y0))
        color = pal.rgb3(self.foliage) * bright[None]
        cv.paint(r, sdf, env.hazed(color, s), TREE)

    def _spire(self, cv: Canvas, env: Env) -> None:
        s = self.s
        n = 160
        t = np.linspace(0, 1, n + 1)
        if self.kind == "conifer":
            saw = 1 - np.mod(t * self.layers, 1.0)
            w = (1 - t) ** 0.95 * (0.62 + 0.38 * saw)
            w[0] = w[1] * 0.7
        else:
            w = np.sin(np.pi * clamp(t, 0, 1) ** 0.8) ** 0.65
        hw = w * self.crown * s
        base = self.base_y - self.trunk_h * s
        height = (self.height - self.trunk_h) * s
        r = cv.region(self.x - self.crown * s, base - height, self.x + self.crown * s, base)
        if r is None:
            return
        sdf = profile(r, self.x, base, height, hw)
        tt = clamp(((F32(base) - r.ys) * F32(1 / height)), 0, 1)
        wi = np.interp(tt.ravel(), t, hw).astype(F32)[:, None] + F32(1e-6)
        nx = clamp(((r.xs - F32(self.x)) / wi), -1, 1)
        bright = F32(0.72) + nx * F32(0.3 * env.light) + tt * F32(0.15)
        if self.kind == "conifer":
            layer = np.mod(tt * F32(self.layers), F32(1))
            bright = bright - (1 - layer) * F32(0.18)
        bright = bright + self._texture(
            r,
            self.x - self.crown * s,
            base - height,
            max(height, 2 * self.crown * s),
            3.0 if self.kind == "poplar" else 1.5,
        )
        color = pal.rgb3(self.foliage) * bright[None]
        cv.paint(r, sdf, env.hazed(color, s), TREE)


def plan_tree(
    rng: np.random.Generator,
    env: Env,
    x: float,
    base_y: float,
    autumn: bool,
    kind: str | None = None,
) -> Tree:
    """A tree of a random (or given) kind rooted at image point (x, base_y)."""
    if kind is None:
        kind = pal.choose(rng, ["round", "conifer", "poplar"], [0.5, 0.3, 0.2])
    s = env.scale_at(base_y)
    blobs: list[tuple[float, float, float]] = []
    layers = 0
    if kind == "round":
        height = rng.uniform(7, 15)
        crown = height * rng.uniform(0.3, 0.42)
        trunk_h = height - 2 * crown
        cy = trunk_h + crown
        blobs.append((0.0, cy, crown * 0.72))
        for _ in range(int(rng.integers(5, 10))):
            ang = rng.uniform(0, 2 * np.pi)
            d = rng.uniform(0.35, 0.6) * crown
            blobs.append(
                (
                    float(np.cos(ang) * d * 1.1),
                    float(cy + np.sin(ang) * d * 0.85),
                    float(crown * rng.uniform(0.38, 0.58)),
                )
            )
        blobs.sort(key=lambda b: -b[1])  # higher spheres first, lower ones in front
        foliage = pal.pick(
            rng, pal.AUTUMN_FOLIAGE if autumn and rng.random() < 0.7 else pal.FOLIAGE
        )
    elif kind == "conifer":
        height = rng.uniform(8, 20)
        crown = height * rng.uniform(0.18, 0.26)
        trunk_h = height * 0.08
        layers = int(rng.integers(4, 9))
        foliage = pal.pick(rng, pal.CONIFER)
    else:
        height = rng.uniform(12, 22)
        crown = height * rng.uniform(0.1, 0.15)
        trunk_h = height * 0.1
        foliage = pal.pick(rng, pal.AUTUMN_FOLIAGE[2:] if autumn else pal.FOLIAGE)
    return Tree(
        kind,
        float(x),
        float(base_y),
        float(s),
        float(height),
        float(crown),
        float(trunk_h),
        blobs,
        layers,
        pal.jitter(rng, foliage, 16),
        pal.jitter(rng, pal.pick(rng, pal.TRUNK), 10),
        rng.uniform(-1, 1, (12, 12)),
    )
