"""Drawable building parts: brick walls, roof planes, windows and doors, domes, spire
facets and trims. Each part holds its geometry in image-relative coordinates (via a
:class:`~ganpaint.scenes.shapes.Face` for planar surfaces) and paints itself with its label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ganpaint.scenes.canvas import Canvas, clamp
from ganpaint.scenes.concepts import BRICK, DOME, DOOR, ROOF, WINDOW
from ganpaint.scenes.materials import Brick, Tiles, brick_texture, tile_texture
from ganpaint.scenes.noise import pixel_noise
from ganpaint.scenes.palette import rgb3
from ganpaint.scenes.shapes import Face, box, convex_polygon, profile, segment
from ganpaint.scenes.world import Env

F32 = np.float32


def _bbox_region(cv: Canvas, pts, pad: float = 0.0):
    p = np.asarray(pts)
    return cv.region(
        p[:, 0].min() - pad, p[:, 1].min() - pad, p[:, 0].max() + pad, p[:, 1].max() + pad
    )


@dataclass
class Wall:
    """A brick wall: a convex outline in face coordinates (a rectangle or a gabled
    pentagon), textured with brick courses, darker towards the ground."""

    face: Face
    outline: list[tuple[float, float]]
    brick: Brick
    light: float
    s: float
    cylinder: bool = False

    def draw(self, cv: Canvas, env: Env) -> None:
        pts = self.face.points(self.outline)
        r = _bbox_region(cv, pts)
        if r is None:
            return
        sdf = convex_polygon(r, pts)
        u, v = self.face.uv(r)
        n = F32(cv.size)
        px_v = self.face.local_scale(u) * n
        color = brick_texture(u, v, px_v, self.face.hscale * cv.size, self.brick, self.light)
        grime = 1 - clamp(((v * F32(1 / self.face.height) - F32(0.85)) * F32(6)), 0, 1) * F32(0.18)
        if self.cylinder:
            a = clamp((u * F32(2 / self.face.width) - 1), -1, 1)
            grime = grime * (F32(0.62) + F32(0.4) * np.sqrt(1 - a * a) + F32(0.12 * env.light) * a)
        color *= grime[None]
        cv.paint(r, sdf, env.hazed(color, self.s), BRICK)


@dataclass
class RoofPlane:
    """A roof plane: the face's full rectangle (u along the ridge, v down the slope) with
    an overhang, covered in tiles; darker under the ridge and at the eave."""

    face: Face
    tiles: Tiles
    light: float
    overhang: float
    s: float

    def draw(self, cv: Canvas, env: Env) -> None:
        w, h = self.face.width, self.face.height
        pts = self.face.points([(0, 0), (w, 0), (w, h), (0, h)])
        pad = self.overhang * self.s * 1.5
        r = _bbox_region(cv, pts, pad)
        if r is None:
            return
        sdf = convex_polygon(r, pts) - F32(self.overhang * self.s)
        u, v = self.face.uv(r)
        px = self.face.local_scale(u) * F32(cv.size)
        color = tile_texture(u, v, px, self.tiles, self.light)
        eave = clamp(((v * F32(1 / h) - F32(0.9)) * F32(8)), 0, 1) * F32(0.25)
        color *= (1 - eave)[None]
        cv.paint(r, sdf, env.hazed(color, self.s), ROOF)


@dataclass
class Openings:
    """A row of ``count`` identical openings in a face: windows, doors or belfry louvres.

    Opening k spans u in [c_k - halfwidth, c_k + halfwidth] with c_k = first + k * pitch,
    and v in [v0, v1]. ``shape`` is "rect", "arch" (a semicircular top) or "round" (a disc
    of diameter v1 - v0, for rose windows)."""

    face: Face
    kind: str  # "window", "door" or "belfry"
    first: float
    pitch: float
    count: int
    halfwidth: float
    v0: float
    v1: float
    shape: str
    frame: tuple[float, float, float]
    fill: tuple[float, float, float]
    frame_width: float
    s: float
    mullions: bool = True
    planks: float = 0.3
    skip: int = -1  # an index left empty (the slot of a door in a row of windows)

    def draw(self, cv: Canvas, env: Env) -> None:
        hw = self.halfwidth
        last = self.first + (self.count - 1) * self.pitch
        corners = [
            (self.first - hw, self.v0),
            (last + hw, self.v0),
            (last + hw, self.v1),
            (self.first - hw, self.v1),
        ]
        r = _bbox_region(cv, self.face.points(corners))
        if r is None:
            return
        u, v = self.face.uv(r)
        k = clamp(np.round((u - F32(self.first)) * F32(1 / self.pitch)), 0, self.count - 1)
        du = u - (F32(self.first) + k * F32(self.pitch))
        adu = np.abs(du)
        arch = self.shape == "arch"
        va = F32(self.v0 + hw) if arch else F32(self.v0)
        if self.shape == "round":
            va = F32(0.5 * (self.v0 + self.v1))
            dv = v - va
            sdf_m = np.sqrt(du * du + dv * dv) - F32(hw)
        else:
            sdf_m = np.maximum(adu - F32(hw), np.maximum(va - v, v - F32(self.v1)))
        if arch:
            dv = v - va
            sdf_m = np.minimum(sdf_m, np.sqrt(du * du + dv * dv) - F32(hw))
        if self.skip >= 0:
            sdf_m = np.where(k == self.skip, F32(1e3), sdf_m)
        scale = self.face.local_scale(u)
        px = scale * F32(cv.size)
        tv = (v - F32(self.v0)) * F32(1 / max(self.v1 - self.v0, 1e-6))
        framing = clamp(F32(0.5) + (sdf_m + F32(self.frame_width)) * px, 0, 1)
        frame = rgb3(env.hazed(self.frame, self.s))
        if self.kind == "window":
            lo = rgb3(env.hazed(self.fill, self.s))
            hi = rgb3(env.hazed(np.asarray(env.sky[2], F32) * F32(0.8), self.s))
            if self.mullions:
                mid = va if self.shape != "rect" else F32(self.v0 + 0.45 * (self.v1 - self.v0))
                bar = np.minimum(adu, np.abs(v - mid)) * px
                bar = F32(self.frame_width * 0.35) * px + F32(0.5) - bar
                framing = np.maximum(framing, clamp(bar, 0, 1))
            sheen = clamp(1 - tv, 0, 1) * F32(0.45)
            color = lo + (hi - lo) * sheen[None]
        else:
            k = env.haze_k(self.s)
            fill = rgb3(self.fill) * F32(1 - k)
            if self.kind == "door":
                bright = pal_planks(du, px, self.planks) * (F32(0.75) + clamp(tv, 0, 1) * F32(0.3))
            else:  # belfry louvres
                slat = np.mod((v - F32(self.v0)) * F32(3.0), F32(1.0))
                slat = np.abs(slat - F32(0.5)) * clamp(px * F32(0.3), 0, 2)
                bright = F32(0.6) + slat * F32(0.8)
            color = fill * bright[None]
            color += rgb3(env.haze) * F32(k)
        color += (frame - color) * framing[None]
        label = WINDOW if self.kind != "door" else DOOR
        cv.paint(r, sdf_m * scale, color, label)


def pal_planks(du: np.ndarray, px: np.ndarray, plank: float) -> np.ndarray:
    """Brightness of vertical wooden planks: darker grooves every ``plank`` metres."""
    f = np.mod(du * F32(1 / plank), F32(1))
    dist = np.minimum(f, 1 - f) * F32(plank) * px
    groove = clamp((F32(0.8) - dist), 0, 1) * clamp((px * F32(plank * 0.3)), 0, 1)
    return 1 - groove * F32(0.35)


def dome_profile(kind: str, n: int = 48) -> tuple[np.ndarray, float]:
    """Half-width (fraction of the radius) at heights t = 0..1, and height / radius."""
    t = np.linspace(0, 1, n + 1)
    if kind == "onion":
        tb = 0.33
        low = np.sqrt(clamp(1 - ((tb - t) / tb * 0.6) ** 2, 0, 1))
        s = clamp((t - tb) / (1 - tb), 0, 1)
        high = (1 - s) ** 1.7 * (1 + 1.3 * s)
        return np.where(t <= tb, low, high), 1.9
    if kind == "tall":
        return np.sqrt(clamp(1 - t**2.4, 0, 1)), 1.25
    return np.sqrt(clamp(1 - t**2, 0, 1)), 0.95


@dataclass
class Dome:
    """A hemispherical, tall or onion dome seen as a solid of revolution, shaded as a
    sphere with vertical ribs and a highlight; crowned by a lantern, spike or cross."""

    cx: float
    y_base: float
    radius: float
    kind: str
    color: tuple[float, float, float]
    ribs: int
    finial: str  # "none", "cross", "spike" or "lantern"
    s: float
    parts: list = field(default_factory=list)

    def draw(self, cv: Canvas, env: Env) -> None:
        hw, k = dome_profile(self.kind)
        height = self.radius * k
        rad = self.radius
        r = cv.region(self.cx - rad, self.y_base - height, self.cx + rad, self.y_base)
        if r is not None:
            sdf = profile(r, self.cx, self.y_base, height, hw * rad)
            t = clamp(((F32(self.y_base) - r.ys) * F32(1 / height)), 0, 1)
            w = np.interp(t.ravel(), np.linspace(0, 1, len(hw)), hw).astype(F32)[:, None]
            nx = clamp(((r.xs - F32(self.cx)) / (w * F32(rad) + F32(1e-5))), -1, 1)
            lat = t if self.kind != "onion" else clamp((t * F32(1.4) - F32(0.3)), 0, 1)
            ny = -np.sin(lat * F32(np.pi / 2))
            ring = np.sqrt(1 - ny * ny)
            nz = np.sqrt(clamp((1 - nx * nx), 0, 1)) * ring
            nxx = nx * ring
            lx, ly, lz = 0.55 * env.light, -0.55, 0.62
            lam = clamp((nxx * F32(lx) + ny * F32(ly) + nz * F32(lz)), 0, 1)
            hx, hy, hz = lx * 0.5, ly * 0.5 - 0.2, lz * 0.5 + 0.5
            hn = (hx * hx + hy * hy + hz * hz) ** 0.5
            spec = clamp((nxx * F32(hx / hn) + ny * F32(hy / hn) + nz * F32(hz / hn)), 0, 1)
            spec = spec**12
            theta = np.arcsin(nx) * F32(self.ribs / np.pi)
            f = np.mod(theta, F32(1))
            ribpx = np.minimum(f, 1 - f) * (w * F32(rad * cv.size * np.pi / self.ribs))
            rib = clamp((F32(0.9) - ribpx), 0, 1) * F32(0.3)
            bright = F32(0.42) + lam * F32(0.75) - rib
            color = rgb3(self.color) * bright[None]
            color += (F32(255) - color) * (spec * F32(0.55))[None]
            color += pixel_noise(r.shape, r.i0, r.j0, 91)[None] * F32(6)
            cv.paint(r, sdf, env.hazed(color, self.s), DOME)
        self._finial(cv, env, self.y_base - height)

    def _finial(self, cv: Canvas, env: Env, top: float) -> None:
        rad = self.radius
        c = env.hazed(np.asarray(self.color, F32) * F32(0.9), self.s)
        gold = env.hazed((212, 176, 80), self.s)
        cx = self.cx
        if self.finial == "lantern":
            lw, lh = rad * 0.16, rad * 0.32
            r = cv.region(cx - lw, top - lh, cx + lw, top + rad * 0.05)
            if r is not None:
                cv.paint(r, box(r, cx - lw, top - lh, cx + lw, top + rad * 0.05), c, DOME)
            hw, k = dome_profile("hemi", 16)
            cap = lw * 1.3
            r = cv.region(cx - cap, top - lh - cap * k, cx + cap, top - lh)
            if r is not None:
                cv.paint(r, profile(r, cx, top - lh, cap * k, hw * cap), c, DOME)
            top = top - lh - cap * k
        if self.finial in ("cross", "spike", "lantern"):
            length = rad * (0.45 if self.finial != "lantern" else 0.25)
            wid = max(rad * 0.035, 0.002)
            r = cv.region(cx - length * 0.4, top - length, cx + length * 0.4, top + wid)
            if r is None:
                return
            sdf = segment(r, cx, top, cx, top - length, wid)
            if self.finial == "cross":
                y = top - length * 0.7
                sdf = np.minimum(sdf, segment(r, cx - length * 0.25, y, cx + length * 0.25, y, wid))
            cv.paint(r, sdf, gold, DOME)


@dataclass
class Facet:
    """A flat-shaded convex polygon (spire faces, chimney pots), lighter towards its top
    and with faint horizontal shingle lines ``bands`` apart (image units, 0 = none)."""

    pts: list[tuple[float, float]]
    color: tuple[float, float, float]
    label: int
    light: float
    bands: float
    s: float

    def draw(self, cv: Canvas, env: Env) -> None:
        r = _bbox_region(cv, self.pts)
        if r is None:
            return
        sdf = convex_polygon(r, self.pts)
        p = np.asarray(self.pts)
        y0, y1 = p[:, 1].min(), p[:, 1].max()
        t = clamp(((r.ys - F32(y0)) * F32(1 / max(y1 - y0, 1e-6))), 0, 1)
        bright = F32(self.light) * (F32(1.1) - t * F32(0.2))
        if self.bands > 0:
            f = np.mod(r.ys * F32(1 / self.bands), F32(1))
            line = clamp((F32(1) - np.minimum(f, 1 - f) * F32(self.bands * cv.size)), 0, 1)
            bright = bright * (1 - line * F32(0.18) * min(self.bands * cv.size / 2, 1))
        color = rgb3(self.color) * bright[None]
        cv.paint(r, sdf, env.hazed(color, self.s), self.label)


@dataclass
class Trim:
    """A thick line (bargeboard along a gable, a ridge, a cornice) with its label."""

    a: tuple[float, float]
    b: tuple[float, float]
    width: float
    color: tuple[float, float, float]
    label: int
    s: float

    def draw(self, cv: Canvas, env: Env) -> None:
        w = self.width
        r = cv.region(
            min(self.a[0], self.b[0]) - w,
            min(self.a[1], self.b[1]) - w,
            max(self.a[0], self.b[0]) + w,
            max(self.a[1], self.b[1]) + w,
        )
        if r is None:
            return
        sdf = segment(r, *self.a, *self.b, w / 2)
        cv.paint(r, sdf, env.hazed(self.color, self.s), self.label)
