"""Churches: a gabled nave seen from its facade or its long side, bell towers with
spires, domes or battlements, domed crossings, and round domed chapels (rotundas)."""

from __future__ import annotations

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.architecture import Dome, Facet, Trim, Wall
from ganpaint.scenes.blocks import (
    BoxGeo,
    Building,
    Style,
    dome_color,
    dome_kind,
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
from ganpaint.scenes.concepts import BRICK, ROOF
from ganpaint.scenes.shapes import Face
from ganpaint.scenes.world import Env


def _tower(rng, env: Env, box: BoxGeo, style: Style, door: bool, cap: str) -> list:
    """A square bell tower: walls, belfry louvres, a window, maybe a door, and a cap
    ("spire", "pyramid", "dome" or "battlement")."""
    W, D, H, s = box.W, box.D, box.H, box.s
    lf, ls = face_lights(env, box)
    front, side = box.front(), box.side_face()
    parts: list = []
    bh = min(3.6, 0.22 * H)
    nb = 1 if W < 5.6 else 2
    bhw = min(0.22 * W / nb, 0.9)
    for face, light, width in ((side, ls, D), (front, lf, W)):
        if face is None:
            continue
        parts.append(Wall(face, rect_outline(width, H), style.brick, light, s))
        row = opening_row(
            face, "belfry", 0.8, width - 0.8, nb, bhw, 1.0, 1.0 + bh, "arch", style, s, frame_w=0.25
        )
        if row is not None:
            parts.append(row)
        mid = 1.0 + bh + (H - 1.0 - bh) * 0.35
        if H > 14:
            row = opening_row(
                face,
                "window",
                width / 2 - 0.6,
                width / 2 + 0.6,
                1,
                0.45,
                mid,
                mid + 1.8,
                "arch",
                style,
                s,
            )
            if row is not None:
                parts.append(row)
    door_u = None
    if door:
        dhw = min(rng.uniform(1.0, 1.4), W * 0.3)
        dh = rng.uniform(3.4, 4.4)
        parts.append(
            opening_row(
                front,
                "door",
                W / 2 - dhw,
                W / 2 + dhw,
                1,
                dhw,
                H - dh,
                H + 0.02,
                "arch",
                style,
                s,
                frame_w=0.25,
            )
        )
        door_u = W / 2
    stone = style.stone
    parts.append(Trim(box.p(-0.2, H, 0), box.p(W + 0.2, H, 0), 0.5 * s, stone, BRICK, s))
    apex_base = box.p(W / 2, H, D / 2)
    if cap in ("spire", "pyramid"):
        hs = W * (rng.uniform(1.6, 3.2) if cap == "spire" else rng.uniform(0.5, 0.8))
        apex = box.p(W / 2, H + hs, D / 2)
        color = style.roof if rng.random() < 0.4 else pal.jitter(rng, (66, 70, 82), 10)
        bands = 0.55 * s
        if box.side:
            x = W if box.side > 0 else 0.0
            parts.append(
                Facet([box.p(x, H, 0), box.p(x, H, D), apex], color, ROOF, ls * 0.9, bands, s)
            )
        parts.append(Facet([box.p(0, H, 0), box.p(W, H, 0), apex], color, ROOF, lf * 0.9, bands, s))
        gold = (190, 160, 80)
        ax, ay = apex
        c = W * 0.22 * s
        parts.append(Trim((ax, ay), (ax, ay - 2.2 * c), 0.12 * c, gold, ROOF, s))
        parts.append(
            Trim(
                (ax - 0.5 * c, ay - 1.6 * c), (ax + 0.5 * c, ay - 1.6 * c), 0.12 * c, gold, ROOF, s
            )
        )
    elif cap == "dome":
        sd = box.scale_at(D / 2)
        rad = W / 2 * rng.uniform(0.78, 0.95) * sd
        top = box.p(W / 2, H, 0)[1]
        dh = rad * rng.uniform(0.35, 0.7)
        cx = apex_base[0]
        drum = Face(
            [
                (cx - rad * 0.9, top - dh),
                (cx + rad * 0.9, top - dh),
                (cx + rad * 0.9, top + 0.2 * sd),
                (cx - rad * 0.9, top + 0.2 * sd),
            ],
            1.8 * rad / sd,
            (dh + 0.2 * sd) / sd,
        )
        parts.append(
            Wall(drum, rect_outline(drum.width, drum.height), style.brick, lf, s, cylinder=True)
        )
        kind = dome_kind(rng)
        parts.append(
            Dome(
                cx,
                top - dh,
                rad,
                kind,
                dome_color(rng),
                int(rng.integers(6, 13)),
                "cross" if kind == "onion" else pal.pick(rng, ["lantern", "spike"]),
                s,
            )
        )
    else:  # battlement
        n = 4
        mw = W / (2 * n - 1)
        for k in range(n):
            u0 = k * 2 * mw
            outline = [(u0, -1.1), (u0 + mw, -1.1), (u0 + mw, 0.05), (u0, 0.05)]
            parts.append(Wall(front, outline, style.brick, lf, s))
    parts = [p for p in parts if p is not None]
    return parts, door_u


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


def _tower_cap(rng) -> str:
    return pal.choose(rng, ["spire", "pyramid", "dome", "battlement"], [0.42, 0.13, 0.35, 0.10])


def plan_church(rng: np.random.Generator, env: Env, cx: float, frac: float, salt: int) -> Building:
    """A church: a gabled nave seen from its facade or its long side, usually with a bell
    tower (spire, dome or battlements), sometimes a domed crossing; or a domed rotunda."""
    variant = pal.choose(rng, ["facade", "porch", "long", "rotunda"], [0.4, 0.22, 0.26, 0.12])
    if variant == "rotunda":
        return _rotunda(rng, env, cx, frac, salt)
    long = variant == "long"
    if long:
        W, D = rng.uniform(18, 30), rng.uniform(9, 13)
        g = D / 2 * rng.uniform(0.7, 1.1)
    else:
        W, D = rng.uniform(10, 15), rng.uniform(18, 32)
        g = W / 2 * rng.uniform(0.7, 1.15)
    H = rng.uniform(7, 11)
    has_tower = variant == "porch" or rng.random() < 0.75
    tw = rng.uniform(4.6, 7.0)
    th = H + g + rng.uniform(4, 16)
    cap = _tower_cap(rng)
    cap_h = {"spire": 2.4 * tw, "pyramid": 0.7 * tw, "dome": 1.4 * tw, "battlement": 1.0}[cap]
    nave_dome = variant != "porch" and rng.random() < 0.4
    dome_r = (D if long else W) * rng.uniform(0.26, 0.38)
    dome_hd = dome_r * rng.uniform(0.5, 0.95)
    total = max(H + g, th + cap_h if has_tower else 0)
    if nave_dome:
        total = max(total, H + g + dome_hd + 2.3 * dome_r)
    s = fit_scale(env, total, frac)
    style = make_style(rng, s, salt)
    box = BoxGeo(env, cx - W * s / 2, env.base_for_scale(s), s, W, D, H)
    lf, ls = face_lights(env, box)
    front, side = box.front(), box.side_face()
    nave: list = []
    if side is not None:
        nave.append(
            Wall(side, gable_outline(D, g, H) if long else rect_outline(D, H), style.brick, ls, s)
        )
        if long:
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
                nave.append(row)
        else:
            wv0 = H * rng.uniform(0.15, 0.3)
            nave.append(
                opening_row(
                    side,
                    "window",
                    2,
                    D - 1,
                    max(2, int(D / rng.uniform(3.5, 5.0))),
                    rng.uniform(0.7, 1.0),
                    wv0,
                    H - 2.0,
                    "arch",
                    style,
                    s,
                )
            )
    dome_at = len(nave)  # a crossing dome hides behind the roof and the facade
    roof_side = None if long else side_roof(box, g, style, ls * 0.95)
    if roof_side is not None:
        nave.append(roof_side)
    nave.append(
        Wall(front, rect_outline(W, H) if long else gable_outline(W, g, H), style.brick, lf, s)
    )
    door_u = None
    dhw = rng.uniform(1.1, 1.7)
    dh = rng.uniform(3.6, 5.2)
    if long:
        door_u = W * rng.uniform(0.3, 0.7)
        nave.append(
            opening_row(
                front,
                "door",
                door_u - dhw,
                door_u + dhw,
                1,
                dhw,
                H - dh,
                H + 0.02,
                "arch",
                style,
                s,
                frame_w=0.3,
            )
        )
        nave += windows_around(
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
    else:
        if variant != "porch":
            door_u = W / 2
            nave.append(
                opening_row(
                    front,
                    "door",
                    W / 2 - dhw,
                    W / 2 + dhw,
                    1,
                    dhw,
                    H - dh,
                    H + 0.02,
                    "arch",
                    style,
                    s,
                    frame_w=0.3,
                )
            )
            if rng.random() < 0.6:
                nave += windows_around(
                    front, 0.8, W - 0.8, W / 2, dhw, 2, 0.7, H * 0.25, H - 2.2, "arch", style, s
                )
        rr = min(g * 0.3, W * 0.16)
        nave.append(
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
    if long:
        dome_at = len(nave)
        nave.append(front_roof(box, g, style, lf * 0.92))
        if side is not None:
            nave += side_gable_trims(box, g, style)
    else:
        nave += gable_trims(box, g, style)
    if nave_dome:
        z = D / 2 if long else D * rng.uniform(0.45, 0.65)
        nave[dome_at:dome_at] = _nave_dome(rng, env, box, style, H + g, z, dome_r, dome_hd)
    nave = [p for p in nave if p is not None]
    parts = nave
    door = box.p(door_u, 0, 0) if door_u is not None else None
    x_range = extent(box)
    if has_tower:
        if variant == "porch":
            z = 0.8 * tw
            st = env.focal / (env.focal / s - z)
            tcx = env.vp_x + (cx - env.vp_x) * st / s
            tbox = BoxGeo(env, tcx - tw * st / 2, env.base_for_scale(st), st, tw, tw, th)
            tparts, tdoor = _tower(rng, env, tbox, style, True, cap)
            parts = nave + tparts
            door = tbox.p(tdoor, 0, 0)
        else:
            right = bool(rng.random() < 0.5)
            if right:
                tx0 = box.x1 - (tw * 0.9 if long else 0.5) * s
            else:
                tx0 = box.x0 - (tw - (tw * 0.9 if long else 0.5)) * s
            tbox = BoxGeo(env, tx0, box.yb, s, tw, tw, th)
            tparts, _ = _tower(rng, env, tbox, style, False, cap)
            tower_first = abs(tbox.x0 + tbox.W * s / 2 - env.vp_x) > abs(cx - env.vp_x)
            parts = tparts + nave if tower_first else nave + tparts
        lo, hi = extent(tbox)
        x_range = (min(x_range[0], lo), max(x_range[1], hi))
    return Building("church", parts, box.yb, x_range, door)


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
    parts.append(
        opening_row(
            face, "door", R - dhw, R + dhw, 1, dhw, H - dh, H + 0.02, "arch", style, s, frame_w=0.3
        )
    )
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
