"""Churches: a gabled nave seen from its facade or its long side, with a bell tower (see
:mod:`ganpaint.scenes.towers`) and maybe a domed crossing, or a round domed chapel
(rotunda)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.architecture import Dome, Trim, Wall
from ganpaint.scenes.blocks import (
    BoxGeo,
    Building,
    Style,
    dome_color,
    dome_kind,
    door_row,
    extent,
    face_lights,
    fit_scale,
    front_roof,
    gable_outline,
    gable_trims,
    make_style,
    opening_row,
    rect_outline,
    side_gable_trims,
    side_roof,
    windows_around,
)
from ganpaint.scenes.concepts import BRICK
from ganpaint.scenes.shapes import Face
from ganpaint.scenes.towers import bell_tower, tower_cap
from ganpaint.scenes.world import Env


def _nave_dome(
    rng, env: Env, box: BoxGeo, style: Style, ridge_y: float, z: float, R: float, hd: float
):
    """A drum of radius R and height hd metres with windows on the ridge, carrying a big
    dome."""
    W = box.W
    sd = box.scale_at(z)
    cx, cy = box.p(W / 2, ridge_y, z)
    face = Face(
        [
            (cx - R * sd, cy - hd * sd),
            (cx + R * sd, cy - hd * sd),
            (cx + R * sd, cy + 0.35 * R * sd),
            (cx - R * sd, cy + 0.35 * R * sd),
        ],
        2 * R,
        hd + 0.35 * R,
    )
    lf, _ = face_lights(env, box)
    parts: list = [
        Wall(face, rect_outline(2 * R, hd + 0.35 * R), style.brick, lf, box.s, cylinder=True)
    ]
    n = int(rng.integers(3, 6))
    row = opening_row(
        face,
        "window",
        0.35 * R,
        1.65 * R,
        n,
        min(0.12 * R * 5 / n, 0.8),
        hd * 0.2,
        hd * 0.8,
        "arch",
        style,
        box.s,
        mullions=False,
    )
    if row is not None:
        parts.append(row)
    parts.append(
        Trim(
            (cx - R * sd * 1.05, cy - hd * sd),
            (cx + R * sd * 1.05, cy - hd * sd),
            0.35 * sd,
            style.stone,
            BRICK,
            box.s,
        )
    )
    kind = dome_kind(rng)
    parts.append(
        Dome(
            cx,
            cy - hd * sd,
            R * sd * 1.02,
            kind,
            dome_color(rng),
            int(rng.integers(8, 17)),
            "cross" if kind == "onion" else "lantern",
            box.s,
        )
    )
    return parts


@dataclass(frozen=True)
class _ChurchPlan:
    """A church's variant and sizes (metres), drawn before its scale is known."""

    variant: str
    W: float
    D: float
    g: float  # gable height
    H: float  # wall height
    has_tower: bool
    tw: float  # tower width
    th: float  # tower height
    cap: str
    nave_dome: bool
    dome_r: float
    dome_hd: float

    @property
    def long(self) -> bool:
        return self.variant == "long"

    def height(self) -> float:
        """The tallest point: gable, tower with its cap, or crossing dome."""
        tw = self.tw
        cap_h = {"spire": 2.4 * tw, "pyramid": 0.7 * tw, "dome": 1.4 * tw, "battlement": 1.0}
        tower = self.th + cap_h[self.cap] if self.has_tower else 0
        total = max(self.H + self.g, tower)
        if self.nave_dome:
            total = max(total, self.H + self.g + self.dome_hd + 2.3 * self.dome_r)
        return total


def plan_church(rng: np.random.Generator, env: Env, cx: float, frac: float, salt: int) -> Building:
    """A church: a gabled nave seen from its facade or its long side, usually with a bell
    tower (spire, dome or battlements), sometimes a domed crossing; or a domed rotunda."""
    # Close up, fewer long sides (a wall with no door in frame) and more rotundas (a dome
    # that fits the frame whole).
    weights = [0.4, 0.14, 0.16, 0.3] if env.close else [0.4, 0.22, 0.26, 0.12]
    variant = pal.choose(rng, ["facade", "porch", "long", "rotunda"], weights)
    if variant == "rotunda":
        return _rotunda(rng, env, cx, frac, salt)
    plan = _church_plan(rng, variant)
    s = fit_scale(env, plan.height(), frac)
    style = make_style(rng, s, salt)
    box = BoxGeo(env, cx - plan.W * s / 2, env.base_for_scale(s), s, plan.W, plan.D, plan.H)
    nave, door_u = _nave(rng, env, box, style, plan)
    door = box.p(door_u, 0, 0) if door_u is not None else None
    if not plan.has_tower:
        return Building("church", nave, box.yb, extent(box), door)
    return _with_tower(rng, env, cx, box, style, plan, nave, door)


def _church_plan(rng: np.random.Generator, variant: str) -> _ChurchPlan:
    if variant == "long":
        W, D = rng.uniform(18, 30), rng.uniform(9, 13)
        g = D / 2 * rng.uniform(0.7, 1.1)
    else:
        W, D = rng.uniform(10, 15), rng.uniform(18, 32)
        g = W / 2 * rng.uniform(0.7, 1.15)
    H = rng.uniform(7, 11)
    has_tower = variant == "porch" or rng.random() < 0.75
    tw = rng.uniform(4.6, 7.0)
    th = H + g + rng.uniform(4, 16)
    cap = tower_cap(rng)
    nave_dome = variant != "porch" and rng.random() < 0.4
    dome_r = (D if variant == "long" else W) * rng.uniform(0.26, 0.38)
    dome_hd = dome_r * rng.uniform(0.5, 0.95)
    return _ChurchPlan(
        variant, W, D, g, H, bool(has_tower), tw, th, cap, bool(nave_dome), dome_r, dome_hd
    )


def _nave(rng, env: Env, box: BoxGeo, style: Style, plan: _ChurchPlan) -> tuple[list, float | None]:
    """The nave's walls, openings, roof, trims and crossing dome, back to front; and the
    position of its door along the front (None when the door is in a porch tower)."""
    long, g = plan.long, plan.g
    W, D, H, s = box.W, box.D, box.H, box.s
    lf, ls = face_lights(env, box)
    front, side = box.front(), box.side_face()
    nave: list = []
    if side is not None:
        nave += _nave_side(rng, side, box, style, plan, ls)
    dome_at = len(nave)  # a crossing dome hides behind the roof and the facade
    roof_side = None if long else side_roof(box, g, style, ls * 0.95)
    if roof_side is not None:
        nave.append(roof_side)
    nave.append(
        Wall(front, rect_outline(W, H) if long else gable_outline(W, g, H), style.brick, lf, s)
    )
    dhw = rng.uniform(1.1, 1.7)
    dh = rng.uniform(3.6, 5.2)
    if long:
        parts, door_u = _long_front_openings(rng, front, box, style, dhw, dh)
        nave += parts
        dome_at = len(nave)
        nave.append(front_roof(box, g, style, lf * 0.92))
        if side is not None:
            nave += side_gable_trims(box, g, style)
    else:
        parts, door_u = _facade_openings(rng, front, box, style, plan, dhw, dh)
        nave += parts
        nave += gable_trims(box, g, style)
    if plan.nave_dome:
        z = D / 2 if long else D * rng.uniform(0.45, 0.65)
        nave[dome_at:dome_at] = _nave_dome(
            rng, env, box, style, H + g, z, plan.dome_r, plan.dome_hd
        )
    return [p for p in nave if p is not None], door_u


def _nave_side(rng, side: Face, box: BoxGeo, style: Style, plan: _ChurchPlan, light: float) -> list:
    """The nave's side wall: a gable with a round window (long view) or a row of windows."""
    D, H, s, g = box.D, box.H, box.s, plan.g
    if plan.long:
        parts: list = [Wall(side, gable_outline(D, g, H), style.brick, light, s)]
        row = opening_row(
            side,
            "window",
            D / 2 - 1.5,
            D / 2 + 1.5,
            1,
            rng.uniform(1.0, 1.5),
            -g * 0.55 - 1.3,
            -g * 0.55 + 1.3,
            "round",
            style,
            s,
        )
        if row is not None and g > 3.5:
            parts.append(row)
        return parts
    wv0 = H * rng.uniform(0.15, 0.3)
    n = max(2, int(D / rng.uniform(3.5, 5.0)))
    return [
        Wall(side, rect_outline(D, H), style.brick, light, s),
        opening_row(
            side, "window", 2, D - 1, n, rng.uniform(0.7, 1.0), wv0, H - 2.0, "arch", style, s
        ),
    ]


def _long_front_openings(
    rng, front: Face, box: BoxGeo, style: Style, dhw: float, dh: float
) -> tuple[list, float]:
    """A long side's door somewhere along it, with a row of windows around it."""
    W, H, s = box.W, box.H, box.s
    door_u = W * rng.uniform(0.3, 0.7)
    parts: list = [door_row(front, door_u, dhw, dh, H, "arch", style, s, frame_w=0.3)]
    parts += windows_around(
        front,
        1.2,
        W - 1.2,
        door_u,
        dhw,
        max(3, int(W / rng.uniform(3.5, 5.0))),
        rng.uniform(0.7, 1.0),
        H * rng.uniform(0.15, 0.3),
        H - 2.0,
        "arch",
        style,
        s,
    )
    return parts, door_u


def _facade_openings(
    rng, front: Face, box: BoxGeo, style: Style, plan: _ChurchPlan, dhw: float, dh: float
) -> tuple[list, float | None]:
    """A facade's central door (not behind a porch tower), maybe windows beside it, and a
    rose window in the gable."""
    W, H, s, g = box.W, box.H, box.s, plan.g
    parts: list = []
    door_u = None
    if plan.variant != "porch":
        door_u = W / 2
        parts.append(door_row(front, W / 2, dhw, dh, H, "arch", style, s, frame_w=0.3))
        if rng.random() < 0.6:
            parts += windows_around(
                front, 0.8, W - 0.8, W / 2, dhw, 2, 0.7, H * 0.25, H - 2.2, "arch", style, s
            )
    rr = min(g * 0.3, W * 0.16)
    parts.append(
        opening_row(
            front,
            "window",
            W / 2 - rr,
            W / 2 + rr,
            1,
            rr,
            -g * 0.45 - rr,
            -g * 0.45 + rr,
            "round",
            style,
            s,
            frame_w=rr * 0.18,
        )
    )
    return parts, door_u


def _with_tower(
    rng,
    env: Env,
    cx: float,
    box: BoxGeo,
    style: Style,
    plan: _ChurchPlan,
    nave: list,
    door: tuple[float, float] | None,
) -> Building:
    """The church with its bell tower: a porch tower in front (its door is the church's),
    or a tower beside the nave, drawn first when it stands further from the centre."""
    tw, th, cap, s = plan.tw, plan.th, plan.cap, box.s
    if plan.variant == "porch":
        z = 0.8 * tw
        st = env.focal / (env.focal / s - z)
        tcx = env.vp_x + (cx - env.vp_x) * st / s
        tbox = BoxGeo(env, tcx - tw * st / 2, env.base_for_scale(st), st, tw, tw, th)
        tparts, tdoor = bell_tower(rng, env, tbox, style, True, cap)
        parts = nave + tparts
        door = tbox.p(tdoor, 0, 0)
    else:
        right = bool(rng.random() < 0.5)
        inset = tw * 0.9 if plan.long else 0.5
        tx0 = box.x1 - inset * s if right else box.x0 - (tw - inset) * s
        tbox = BoxGeo(env, tx0, box.yb, s, tw, tw, th)
        tparts, _ = bell_tower(rng, env, tbox, style, False, cap)
        tower_first = abs(tbox.x0 + tbox.W * s / 2 - env.vp_x) > abs(cx - env.vp_x)
        parts = tparts + nave if tower_first else nave + tparts
    x_range = extent(box)
    lo, hi = extent(tbox)
    return Building("church", parts, box.yb, (min(x_range[0], lo), max(x_range[1], hi)), door)


def _rotunda(rng, env: Env, cx: float, frac: float, salt: int) -> Building:
    """A round domed chapel: a cylindrical brick drum and a large dome with a lantern."""
    R = rng.uniform(5, 8)
    H = rng.uniform(6, 10)
    kind = pal.choose(rng, ["hemi", "tall", "onion"], [0.5, 0.3, 0.2])
    dome_h = {"hemi": 0.95, "tall": 1.25, "onion": 1.9}[kind] * R + R * 0.6
    s = fit_scale(env, H + dome_h, frac)
    style = make_style(rng, s, salt)
    yb = env.base_for_scale(s)
    box = BoxGeo(env, cx - R * s, yb, s, 2 * R, 2 * R, H)
    face = box.front()
    parts: list = [Wall(face, rect_outline(2 * R, H), style.brick, 1.0, s, cylinder=True)]
    dhw = rng.uniform(1.0, 1.4)
    dh = rng.uniform(3.2, 4.2)
    parts.append(door_row(face, R, dhw, dh, H, "arch", style, s, frame_w=0.3))
    parts += windows_around(
        face,
        0.9,
        2 * R - 0.9,
        R,
        dhw,
        2 if R < 6.5 else 4,
        0.6,
        H * 0.25,
        H * 0.25 + 2.4,
        "arch",
        style,
        s,
    )
    top = yb - H * s
    parts.append(
        Trim((cx - R * s * 1.04, top), (cx + R * s * 1.04, top), 0.45 * s, style.stone, BRICK, s)
    )
    parts.append(
        Dome(
            cx,
            top,
            R * s * 0.97,
            kind,
            dome_color(rng),
            int(rng.integers(8, 17)),
            "cross" if kind == "onion" else "lantern",
            s,
        )
    )
    parts = [p for p in parts if p is not None]
    return Building("church", parts, yb, (cx - R * s, cx + R * s), box.p(R, 0, 0))
