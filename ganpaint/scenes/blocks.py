"""Building blocks shared by houses and churches: a perspective box (:class:`BoxGeo`),
materials (:class:`Style`), the planned :class:`Building`, and helpers that lay out walls,
roofs, trims and rows of openings on a box's faces, all in metres."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.architecture import Openings, RoofPlane, Trim
from ganpaint.scenes.concepts import ROOF
from ganpaint.scenes.materials import Brick, Tiles
from ganpaint.scenes.shapes import Face
from ganpaint.scenes.world import Env


@dataclass
class BoxGeo:
    """A rectangular block W x D x H metres whose front face has its bottom-left corner at
    image point (x0, yb), drawn at s image units per metre; depth recedes towards the
    vanishing point."""

    env: Env
    x0: float
    yb: float
    s: float
    W: float
    D: float
    H: float

    @property
    def x1(self) -> float:
        return self.x0 + self.W * self.s

    @property
    def side(self) -> int:
        """+1 when the right side face is visible, -1 for the left one, 0 for neither."""
        if self.env.vp_x > self.x1 + 1e-4:
            return 1
        if self.env.vp_x < self.x0 - 1e-4:
            return -1
        return 0

    def p(self, x: float, y: float, z: float) -> tuple[float, float]:
        """Image position of the point x metres right of the left edge, y metres up,
        z metres back from the front face."""
        return self.env.recede(self.x0 + x * self.s, self.yb - y * self.s, self.s, z)

    def scale_at(self, z: float) -> float:
        """Image units per metre z metres behind the front face."""
        return self.s * (1 - self.env.depth_factor(self.s, z))

    def front(self) -> Face:
        W, H = self.W, self.H
        return Face([self.p(0, H, 0), self.p(W, H, 0), self.p(W, 0, 0), self.p(0, 0, 0)], W, H)

    def side_face(self) -> Face | None:
        if self.side == 0:
            return None
        x = self.W if self.side > 0 else 0.0
        H, D = self.H, self.D
        return Face([self.p(x, H, 0), self.p(x, H, D), self.p(x, 0, D), self.p(x, 0, 0)], D, H)

    def lateral(self) -> float:
        """Distance (metres) from the camera axis to the visible side face's plane."""
        edge = self.x1 if self.side > 0 else self.x0
        return abs(edge - self.env.vp_x) / self.s


@dataclass
class Style:
    """The materials of one building."""

    brick: Brick
    tiles: Tiles
    roof: tuple[float, float, float]
    frame: tuple[float, float, float]
    glass: tuple[float, float, float]
    door: tuple[float, float, float]
    stone: tuple[float, float, float]


@dataclass
class Building:
    """A planned building: parts in paint order and facts the layout needs."""

    kind: str
    parts: list
    base_y: float
    x_range: tuple[float, float]
    door: tuple[float, float] | None

    def draw(self, cv, env: Env) -> None:
        for part in self.parts:
            part.draw(cv, env)


def make_style(rng: np.random.Generator, s: float, salt: int) -> Style:
    """Materials for a building drawn at scale s: brick courses and tile rows are sized
    to stay visible (about 2 px at 128 px) without turning into giant blocks up close."""
    wall = pal.jitter(rng, pal.pick(rng, pal.WALLS), 14)
    if rng.random() < 0.8:
        mortar = tuple(float(c) for c in np.asarray(wall) * rng.uniform(0.55, 0.7))
    else:
        mortar = tuple(float(c) for c in pal.mix(wall, (205, 200, 190), 0.55))
    course = float(np.clip(rng.uniform(0.014, 0.02) / s, 0.3, 1.1))
    brick = Brick(
        wall, mortar, course, course * rng.uniform(2.0, 2.8), float(rng.uniform(0.12, 0.3)), salt
    )
    roof = pal.jitter(rng, pal.pick(rng, pal.ROOFS), 12)
    row = float(np.clip(rng.uniform(0.012, 0.018) / s, 0.3, 0.9))
    tiles = Tiles(roof, row, row * rng.uniform(0.9, 1.6), float(rng.uniform(0.1, 0.25)), salt + 1)
    stone = tuple(float(c) for c in pal.mix(wall, (222, 214, 196), 0.6))
    return Style(
        brick,
        tiles,
        roof,
        pal.jitter(rng, pal.pick(rng, pal.FRAMES), 8),
        pal.jitter(rng, pal.pick(rng, pal.GLASS), 10),
        pal.jitter(rng, pal.pick(rng, pal.DOORS), 10),
        stone,
    )


def face_lights(env: Env, box: BoxGeo) -> tuple[float, float]:
    """Brightness of the front and the visible side face under the scene's sun."""
    front = 0.96
    side = 1.08 if box.side == env.light else 0.7
    return front, side


CLOSE_TOP_CROP = 0.3


def fit_scale(env: Env, total: float, frac: float) -> float:
    """Scale (image units per metre) that makes a ``total``-metre structure ``frac`` of the
    image tall, limited so its base stays in frame and its top roughly too (in a close view
    up to ``CLOSE_TOP_CROP`` of the image may be cut off above)."""
    s = frac / total
    s = min(s, (0.97 - env.horizon) / env.cam_height)
    top = CLOSE_TOP_CROP if env.close else 0.03
    if total > env.cam_height:
        s = min(s, (env.horizon + top) / (total - env.cam_height))
    return max(s, 0.004)


def opening_row(
    face: Face,
    kind,
    lo,
    hi,
    count,
    hw,
    v0,
    v1,
    shape,
    style,
    s,
    frame_w=None,
    fill=None,
    mullions=True,
) -> Openings | None:
    """``count`` openings spread evenly over face u in [lo, hi]."""
    if count < 1 or hi - lo < 2 * hw * count - 1e-6:
        return None
    pitch = (hi - lo) / count
    frame = style.stone if kind == "door" else style.frame
    if fill is None:
        fill = {"window": style.glass, "door": style.door, "belfry": (34, 32, 36)}[kind]
    fw = frame_w if frame_w is not None else hw * 0.22
    return Openings(
        face, kind, lo + pitch / 2, pitch, count, hw, v0, v1, shape, frame, fill, fw, s, mullions
    )


def door_row(
    face: Face,
    u: float,
    hw: float,
    height: float,
    wall_h: float,
    shape: str,
    style: Style,
    s: float,
    frame_w: float,
) -> Openings | None:
    """One door of half-width ``hw`` and ``height`` centred at ``u`` at the foot of a wall
    ``wall_h`` high (it reaches just below the ground line, so no gap shows)."""
    H = wall_h
    return opening_row(
        face, "door", u - hw, u + hw, 1, hw, H - height, H + 0.02, shape, style, s, frame_w=frame_w
    )


def gable_outline(w: float, g: float, h: float) -> list[tuple[float, float]]:
    return [(0, 0), (w / 2, -g), (w, 0), (w, h), (0, h)]


def rect_outline(w: float, h: float) -> list[tuple[float, float]]:
    return [(0, 0), (w, 0), (w, h), (0, h)]


def gable_trims(box: BoxGeo, g: float, style: Style, z: float = 0.0) -> list:
    """Bargeboards along the two top edges of the gable at depth z."""
    W, H = box.W, box.H
    ext = 0.35
    a = box.p(-ext, H - ext * g / (W / 2), z)
    apex = box.p(W / 2, H + g, z)
    b = box.p(W + ext, H - ext * g / (W / 2), z)
    c = tuple(float(v) for v in np.asarray(style.roof) * 0.75)
    w = 0.45 * box.scale_at(z)
    return [Trim(a, apex, w, c, ROOF, box.s), Trim(apex, b, w, c, ROOF, box.s)]


def side_gable_trims(box: BoxGeo, g: float, style: Style) -> list:
    """Bargeboards along the gable of the visible side face (eave-front roofs)."""
    x = box.W if box.side > 0 else 0.0
    near = box.p(x, box.H, -0.3)
    apex = box.p(x, box.H + g, box.D / 2)
    far = box.p(x, box.H, box.D + 0.3)
    c = tuple(float(v) for v in np.asarray(style.roof) * 0.75)
    w = 0.45 * box.scale_at(box.D / 2)
    return [Trim(near, apex, w, c, ROOF, box.s), Trim(apex, far, w, c, ROOF, box.s)]


def side_roof(box: BoxGeo, g: float, style: Style, light: float) -> RoofPlane | None:
    """The visible roof plane of a gable-front block, if the camera sees its top."""
    if box.side == 0 or box.env.cam_height <= box.H - 2 * g * box.lateral() / box.W:
        return None
    x = box.W if box.side > 0 else 0.0
    W, H, D = box.W, box.H, box.D
    corners = [box.p(W / 2, H + g, 0), box.p(W / 2, H + g, D), box.p(x, H, D), box.p(x, H, 0)]
    slope = float(np.hypot(W / 2, g))
    return RoofPlane(Face(corners, D, slope), style.tiles, light, 0.35, box.s)


def front_roof(box: BoxGeo, g: float, style: Style, light: float) -> RoofPlane:
    """The front roof plane of an eave-front block (always visible)."""
    W, H, D = box.W, box.H, box.D
    corners = [box.p(0, H + g, D / 2), box.p(W, H + g, D / 2), box.p(W, H, 0), box.p(0, H, 0)]
    slope = float(np.hypot(D / 2, g))
    return RoofPlane(Face(corners, W, slope), style.tiles, light, 0.35, box.s)


def windows_around(face, lo, hi, door_u, door_hw, count, hw, v0, v1, shape, style, s):
    """Evenly spaced windows in [lo, hi] on both sides of a door at ``door_u``: one row
    of openings whose slot over the door is left out."""
    pitch = max((hi - lo) / (count + 1), door_hw + hw + 0.5, 2 * hw + 0.5)
    a = int((door_u - lo - hw) // pitch)
    b = int((hi - hw - door_u) // pitch)
    if a < 0 or b < 0 or a + b == 0:
        return []
    first = door_u - a * pitch
    row = opening_row(
        face,
        "window",
        first - pitch / 2,
        first + (a + b + 0.5) * pitch,
        a + b + 1,
        hw,
        v0,
        v1,
        shape,
        style,
        s,
    )
    if row is None:
        return []
    row.skip = a
    return [row]


def extent(box: BoxGeo) -> tuple[float, float]:
    far = box.p(box.W if box.side > 0 else 0.0, 0, box.D)[0] if box.side else box.x1
    return (min(box.x0, far), max(box.x1, far))


def dome_kind(rng) -> str:
    return pal.choose(rng, ["hemi", "tall", "onion"], [0.45, 0.25, 0.3])


def dome_color(rng) -> tuple[float, float, float]:
    color, _ = pal.DOMES[pal.choose(rng, range(len(pal.DOMES)), [0.3, 0.2, 0.22, 0.16, 0.12])]
    return pal.jitter(rng, color, 10)
