"""Scene planning: from a seed to a :class:`Scene`, the camera plus every object in paint
order, in resolution-independent (image-relative) coordinates.

About ``CLOSE_SHARE`` of the scenes are close views: one building fills the frame, seen from
eye height (most LSUN church photos look like this), so doors, windows and domes are large.
Whether a scene is close comes from a generator of its own, so the other scenes are the same
as before close views existed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ganpaint.scenes import palette as pal
from ganpaint.scenes.blocks import Building
from ganpaint.scenes.churches import plan_church
from ganpaint.scenes.houses import plan_house
from ganpaint.scenes.sky import plan_sky
from ganpaint.scenes.terrain import plan_ground, plan_mountains, plan_path, plan_treeline
from ganpaint.scenes.trees import Tree, plan_tree
from ganpaint.scenes.world import Env

CLOSE_SHARE = 0.3


@dataclass
class Scene:
    """A planned scene: the camera/atmosphere and the drawables, back to front."""

    seed: int
    env: Env
    items: list = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)


def plan_scene(seed: int) -> Scene:
    """Plan the scene for ``seed`` (deterministic; independent of the output size)."""
    rng = np.random.default_rng(seed)
    close_rng = np.random.default_rng([seed, 0xC105E])
    close = bool(close_rng.random() < CLOSE_SHARE)
    time = pal.choose(rng, ["day", "dusk", "dawn", "overcast"], [0.55, 0.15, 0.1, 0.2])
    sky = tuple(pal.jitter(rng, c, 10) for c in pal.pick(rng, pal.SKIES[time]))
    haze = tuple(float(v) for v in pal.mix(sky[2], (205, 205, 205), 0.25))
    env = Env(
        time=time,
        horizon=float(rng.uniform(0.42, 0.7)),
        vp_x=float(rng.uniform(0.15, 0.85)),
        cam_height=float(rng.uniform(3.0, 6.0)),
        focal=float(rng.uniform(1.0, 1.6)),
        sky=sky,
        haze=haze,
        light=1.0 if rng.random() < 0.5 else -1.0,
        salt=int(rng.integers(1 << 30)),
    )
    if close:
        env.horizon = float(close_rng.uniform(0.5, 0.72))
        env.cam_height = float(close_rng.uniform(1.6, 2.6))
        env.close = True
    autumn = bool(rng.random() < 0.12)
    scene = Scene(seed, env)
    scene.items += plan_sky(rng, env)
    scene.items += plan_mountains(rng, env)
    scene.items += plan_treeline(rng, env, autumn)
    scene.items.append(plan_ground(rng, env, autumn))
    scene.buildings = _plan_buildings(rng, env)
    target = None
    if scene.buildings and scene.buildings[0].door is not None and rng.random() < 0.6:
        target = scene.buildings[0].door
    path = plan_path(rng, env, target)
    if path is not None:
        scene.items.append(path)
    scene.trees = _plan_trees(rng, env, scene.buildings, autumn)
    objects = sorted(scene.buildings + scene.trees, key=lambda o: o.base_y)
    scene.items += objects
    return scene


def _plan_buildings(rng: np.random.Generator, env: Env) -> list[Building]:
    n = pal.choose(rng, range(4), [0.1, 0.42, 0.32, 0.16])
    if env.close:
        n = 1
    out: list[Building] = []
    centres: list[float] = []
    for k in range(n):
        salt = int(rng.integers(1 << 30))
        if k == 0 and env.close:
            cx = float(rng.uniform(0.38, 0.62))
            frac = float(rng.uniform(0.9, 1.25))
            church = rng.random() < 0.75
        elif k == 0:
            cx = float(rng.uniform(0.25, 0.75))
            frac = float(rng.uniform(0.38, 0.85))
            church = rng.random() < 0.72
        else:
            cx = float(rng.uniform(-0.05, 1.05))
            for _ in range(12):
                if min(abs(cx - c) for c in centres) > 0.3:
                    break
                cx = float(rng.uniform(-0.05, 1.05))
            frac = float(rng.uniform(0.15, 0.5))
            church = rng.random() < 0.3
        centres.append(cx)
        plan = plan_church if church else plan_house
        out.append(plan(rng, env, cx, frac, salt))
    return out


def _plan_trees(
    rng: np.random.Generator, env: Env, buildings: list[Building], autumn: bool
) -> list[Tree]:
    n = int(rng.integers(0, 8)) if rng.random() < 0.92 else 0
    if env.close:
        n = min(n, 3)
    if not buildings:
        n += 2
    h = env.horizon
    trees: list[Tree] = []
    doors = [b for b in buildings if b.door is not None]
    for _ in range(n):
        u = rng.random()
        if buildings and u < 0.4:
            b = buildings[int(rng.integers(len(buildings)))]
            y = b.base_y + float(rng.uniform(-0.02, 0.05))
            lo, hi = b.x_range
            x = lo + (hi - lo) * float(
                pal.pick(rng, [rng.uniform(-0.25, 0.1), rng.uniform(0.9, 1.25)])
            )
        elif u < 0.78:
            y = float(rng.uniform(h + 0.015, h + 0.5 * (1 - h)))
            x = float(rng.uniform(-0.05, 1.05))
        else:
            y = float(rng.uniform(h + 0.5 * (1 - h), 1.06))
            x = float(pal.pick(rng, [rng.uniform(-0.1, 0.16), rng.uniform(0.84, 1.1)]))
        y = max(y, h + 0.01)
        tree = plan_tree(rng, env, x, y, autumn)
        for b in doors:
            dx, dy = b.door
            reach = tree.crown * tree.s * 1.1 + 0.02
            if y > dy - 0.01 and abs(tree.x - dx) < reach:
                tree.x = dx + np.sign(tree.x - dx + 1e-9) * reach
        trees.append(tree)
    return trees
