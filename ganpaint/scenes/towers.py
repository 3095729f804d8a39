"""Bell towers: square brick towers with belfry louvres, a window on tall ones, maybe a
door, and a cap (a spire, a low pyramid, a dome on a drum, or battlements)."""

from __future__ import annotations

from ganpaint.scenes import palette as pal
from ganpaint.scenes.architecture import Dome, Facet, Trim, Wall
from ganpaint.scenes.blocks import (
    BoxGeo,
    Style,
    dome_color,
    dome_kind,
    door_row,
    face_lights,
    opening_row,
    rect_outline,
)
from ganpaint.scenes.concepts import BRICK, ROOF
from ganpaint.scenes.shapes import Face
from ganpaint.scenes.world import Env


def tower_cap(rng) -> str:
    """How a bell tower ends: "spire", "pyramid", "dome" or "battlement"."""
    return pal.choose(rng, ["spire", "pyramid", "dome", "battlement"], [0.42, 0.13, 0.35, 0.10])


def bell_tower(
    rng, env: Env, box: BoxGeo, style: Style, door: bool, cap: str
) -> tuple[list, float | None]:
    """A square bell tower: walls, belfry louvres, a window, maybe a door, and a cap
    ("spire", "pyramid", "dome" or "battlement"). Returns the parts and the door's position
    along the front (None without a door)."""
    W, D, H, s = box.W, box.D, box.H, box.s
    lf, ls = face_lights(env, box)
    front, side = box.front(), box.side_face()
    parts: list = []
    for face, light, width in ((side, ls, D), (front, lf, W)):
        if face is not None:
            parts += _tower_wall(face, light, width, box, style)
    door_u = None
    if door:
        dhw = min(rng.uniform(1.0, 1.4), W * 0.3)
        dh = rng.uniform(3.4, 4.4)
        parts.append(door_row(front, W / 2, dhw, dh, H, "arch", style, s, frame_w=0.25))
        door_u = W / 2
    stone = style.stone
    parts.append(Trim(box.p(-0.2, H, 0), box.p(W + 0.2, H, 0), 0.5 * s, stone, BRICK, s))
    if cap in ("spire", "pyramid"):
        parts += _spire(rng, box, style, cap, lf, ls)
    elif cap == "dome":
        parts += _tower_dome(rng, box, style, lf)
    else:
        parts += _battlement(front, box, style, lf)
    parts = [p for p in parts if p is not None]
    return parts, door_u


def _tower_wall(face: Face, light: float, width: float, box: BoxGeo, style: Style) -> list:
    """One wall of a tower with its belfry louvres and, on a tall tower, a window."""
    H, s = box.H, box.s
    bh = min(3.6, 0.22 * H)
    nb = 1 if box.W < 5.6 else 2
    bhw = min(0.22 * box.W / nb, 0.9)
    parts: list = [Wall(face, rect_outline(width, H), style.brick, light, s)]
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
    return parts


def _spire(rng, box: BoxGeo, style: Style, cap: str, lf: float, ls: float) -> list:
    """A tall spire or a low pyramid roof with a gold cross on its apex."""
    W, D, H, s = box.W, box.D, box.H, box.s
    hs = W * (rng.uniform(1.6, 3.2) if cap == "spire" else rng.uniform(0.5, 0.8))
    apex = box.p(W / 2, H + hs, D / 2)
    color = style.roof if rng.random() < 0.4 else pal.jitter(rng, (66, 70, 82), 10)
    bands = 0.55 * s
    parts: list = []
    if box.side:
        x = W if box.side > 0 else 0.0
        parts.append(Facet([box.p(x, H, 0), box.p(x, H, D), apex], color, ROOF, ls * 0.9, bands, s))
    parts.append(Facet([box.p(0, H, 0), box.p(W, H, 0), apex], color, ROOF, lf * 0.9, bands, s))
    gold = (190, 160, 80)
    ax, ay = apex
    c = W * 0.22 * s
    parts.append(Trim((ax, ay), (ax, ay - 2.2 * c), 0.12 * c, gold, ROOF, s))
    parts.append(
        Trim((ax - 0.5 * c, ay - 1.6 * c), (ax + 0.5 * c, ay - 1.6 * c), 0.12 * c, gold, ROOF, s)
    )
    return parts


def _tower_dome(rng, box: BoxGeo, style: Style, lf: float) -> list:
    """A dome on a short drum."""
    W, D, H, s = box.W, box.D, box.H, box.s
    sd = box.scale_at(D / 2)
    rad = W / 2 * rng.uniform(0.78, 0.95) * sd
    top = box.p(W / 2, H, 0)[1]
    dh = rad * rng.uniform(0.35, 0.7)
    cx = box.p(W / 2, H, D / 2)[0]
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
    kind_parts: list = [
        Wall(drum, rect_outline(drum.width, drum.height), style.brick, lf, s, cylinder=True)
    ]
    kind = dome_kind(rng)
    kind_parts.append(
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
    return kind_parts


def _battlement(front: Face, box: BoxGeo, style: Style, lf: float) -> list:
    """Four merlons along the top of the front wall."""
    n = 4
    mw = box.W / (2 * n - 1)
    parts: list = []
    for k in range(n):
        u0 = k * 2 * mw
        outline = [(u0, -1.1), (u0 + mw, -1.1), (u0 + mw, 0.05), (u0, 0.05)]
        parts.append(Wall(front, outline, style.brick, lf, box.s))
    return parts
