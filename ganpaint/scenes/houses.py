"""Houses: one- or two-storey brick boxes with a gabled roof, the gable or the eaves
towards the viewer, windows, a door and maybe a chimney."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.architecture import Wall
from ganpaint.scenes.blocks import (
    BoxGeo,
    Building,
    Style,
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
from ganpaint.scenes.shapes import Face
from ganpaint.scenes.world import Env


def _chimney(rng, box: BoxGeo, g: float, style: Style, gable_front: bool, light: float):
    """A brick chimney standing on the roof near the ridge."""
    W, H, D = box.W, box.H, box.D
    if gable_front:
        x, z = W / 2 + (W / 4) * pal.pick(rng, [-1, 1]) * 0.6, D * rng.uniform(0.3, 0.7)
        y = H + g * (1 - abs(x - W / 2) / (W / 2))
    else:
        x, z = W * rng.uniform(0.2, 0.8), D * 0.35
        y = H + g * (z / (D / 2))
    s = box.scale_at(z)
    cx, cy = box.p(x, y, z)
    cw, ch = 0.8 * s, (g * 0.5 + 1.2) * s
    face = Face(
        [(cx - cw, cy - ch), (cx + cw, cy - ch), (cx + cw, cy + 0.4 * s), (cx - cw, cy + 0.4 * s)],
        1.6,
        (g * 0.5 + 1.6),
    )
    return Wall(face, rect_outline(1.6, g * 0.5 + 1.6), style.brick, light, box.s)


class _Windows(NamedTuple):
    """A house's window size (metres) and shape, the same on every wall."""

    height: float
    half_width: float
    shape: str


def plan_house(rng: np.random.Generator, env: Env, cx: float, frac: float, salt: int) -> Building:
    """A one- or two-storey brick house, gable or eaves towards the viewer."""
    W = rng.uniform(7, 12)
    D = rng.uniform(6, 10)
    floors = 1 if rng.random() < 0.4 else 2
    fh = rng.uniform(2.9, 3.4)
    H = floors * fh + rng.uniform(0.3, 0.7)
    gable_front = rng.random() < 0.45
    g = (W if gable_front else D) / 2 * rng.uniform(0.5, 1.05)
    s = fit_scale(env, H + g, frac)
    box = BoxGeo(env, cx - W * s / 2, env.base_for_scale(s), s, W, D, H)
    style = make_style(rng, s, salt)
    lf, ls = face_lights(env, box)
    front, side = box.front(), box.side_face()
    wh = rng.uniform(1.3, 1.8)
    whw = rng.uniform(0.55, 0.8)
    win = _Windows(wh, whw, "arch" if rng.random() < 0.2 else "rect")
    parts: list = []
    if side is not None:
        parts += _side_wall(rng, side, box, g, floors, fh, win, style, gable_front, ls)
    roof_side = side_roof(box, g, style, ls * 0.95) if gable_front else None
    if roof_side is not None:
        parts.append(roof_side)
    behind_gable = len(parts)  # a chimney on the ridge stands behind the front gable
    parts.append(
        Wall(
            front, gable_outline(W, g, H) if gable_front else rect_outline(W, H), style.brick, lf, s
        )
    )
    door_u = W / 2 if gable_front and rng.random() < 0.6 else W * rng.uniform(0.25, 0.75)
    parts += _front_openings(rng, front, box, door_u, floors, fh, win, style)
    parts += _gable_or_eaves(rng, front, side, box, g, style, gable_front, lf)
    _add_chimney(rng, parts, box, g, style, gable_front, lf, behind_gable)
    parts = [p for p in parts if p is not None]
    door = box.p(door_u, 0, 0)
    xs = extent(box)
    return Building("house", parts, box.yb, xs, door)


def _side_wall(
    rng,
    side: Face,
    box: BoxGeo,
    g: float,
    floors: int,
    fh: float,
    win: _Windows,
    style: Style,
    gable_front: bool,
    light: float,
) -> list:
    """The side wall with a row of windows per floor and, under a side gable, maybe a round
    window."""
    D, H, s = box.D, box.H, box.s
    parts: list = [
        Wall(
            side,
            rect_outline(D, H) if gable_front else gable_outline(D, g, H),
            style.brick,
            light,
            s,
        )
    ]
    for k in range(floors):
        v1 = H - k * fh - 0.9
        n = max(1, int(D / 3.4))
        row = opening_row(
            side,
            "window",
            0.8,
            D - 0.8,
            n,
            win.half_width,
            v1 - win.height,
            v1,
            win.shape,
            style,
            s,
        )
        if row is not None:
            parts.append(row)
    if not gable_front and rng.random() < 0.6:
        row = opening_row(
            side,
            "window",
            D / 2 - 0.7,
            D / 2 + 0.7,
            1,
            0.45,
            -g * 0.6,
            -g * 0.6 + 1.0,
            "round",
            style,
            s,
        )
        if row is not None and g > 2.2:
            parts.append(row)
    return parts


def _front_openings(
    rng,
    front: Face,
    box: BoxGeo,
    door_u: float,
    floors: int,
    fh: float,
    win: _Windows,
    style: Style,
) -> list:
    """The door at ``door_u`` with windows around it, and a row of windows per upper floor."""
    W, H, s = box.W, box.H, box.s
    dhw = rng.uniform(0.7, 0.95)
    dh = rng.uniform(2.4, 2.9)
    dshape = "arch" if rng.random() < 0.3 else "rect"
    parts: list = [door_row(front, door_u, dhw, dh, H, dshape, style, s, frame_w=0.15)]
    wh, whw, wshape = win
    v1 = H - 0.9
    parts += windows_around(
        front, 0.7, W - 0.7, door_u, dhw, max(2, int(W / 3.0)), whw, v1 - wh, v1, wshape, style, s
    )
    for k in range(1, floors):
        v1 = H - k * fh - 0.9
        row = opening_row(
            front, "window", 0.7, W - 0.7, max(1, int(W / 3.0)), whw, v1 - wh, v1, wshape, style, s
        )
        if row is not None:
            parts.append(row)
    return parts


def _gable_or_eaves(
    rng,
    front: Face,
    side: Face | None,
    box: BoxGeo,
    g: float,
    style: Style,
    gable_front: bool,
    light: float,
) -> list:
    """A front gable's attic window and trims, or the roof seen from the eaves."""
    W, s = box.W, box.s
    parts: list = []
    if not gable_front:
        parts.append(front_roof(box, g, style, light * 0.92))
        if side is not None:
            parts += side_gable_trims(box, g, style)
        return parts
    if g > 2.0 and rng.random() < 0.6:
        row = opening_row(
            front,
            "window",
            W / 2 - 0.8,
            W / 2 + 0.8,
            1,
            0.5,
            -g * 0.55,
            -g * 0.55 + 1.0,
            "round" if rng.random() < 0.5 else "arch",
            style,
            s,
        )
        if row is not None:
            parts.append(row)
    return parts + gable_trims(box, g, style)


def _add_chimney(
    rng,
    parts: list,
    box: BoxGeo,
    g: float,
    style: Style,
    gable_front: bool,
    light: float,
    behind_gable: int,
) -> None:
    """Half the houses get a chimney: behind the front gable, or in front of the eaves."""
    if rng.random() < 0.5:
        chimney = _chimney(rng, box, g, style, gable_front, light)
        parts.insert(behind_gable if gable_front else len(parts), chimney)
