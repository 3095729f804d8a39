"""How a GPU window picks its speed options: ``--speed auto`` reads the rows that
``python -m ganpaint.devtools.train_speed --json`` wrote into the GPU folder and takes the
variant that trains the most images in the window, warm-up counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEED_FILE = "speed.json"
"""``train_speed --json`` writes it into the GPU folder; ``--speed auto`` reads it."""


RECIPE_NAMES = ("projected",)
"""Variant names that change the training recipe, not its speed (``train_speed``'s
``projected``: the discriminator's projected heads). A probe may time the speed options
with them, since a run that has them pays for them in every step."""


def pick_speed(rows: list[dict[str, Any]], window_s: float) -> tuple[str, str]:
    """The speed option to train a window of ``window_s`` seconds with, from
    ``train_speed``'s rows: among the timed, finite variants made of speed options only
    (``base``, ``channels_last``, ``compile``), the one with the most images in the window,
    ``(window_s - its warm-up beyond base's) x its images/s``; and why, in words. Where some
    rows add :data:`RECIPE_NAMES` (``channels_last+projected``), only the rows that add the
    same are compared (base is then ``base+projected``), and the speed options are
    returned without them."""
    from ganpaint.train.configs import SPEED_OPTIONS

    def parts(r: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
        names = frozenset(str(r.get("variant", "")).split("+"))
        recipe = names & frozenset(RECIPE_NAMES)
        return recipe, (names - recipe) or frozenset({"base"})

    allowed = {"base", *SPEED_OPTIONS}
    timed = [r for r in rows if "images_per_s" in r and r.get("finite")
             and parts(r)[1] <= allowed]  # fmt: skip
    recipes = {parts(r)[0] for r in timed}
    recipe = max(recipes, key=len) if recipes else frozenset()
    usable = [r for r in timed if parts(r)[0] == recipe]
    base = next((r for r in usable if parts(r)[1] == {"base"}), None)
    if base is None:
        return "base", "no timed base row to compare with"

    def images(r: dict[str, Any]) -> float:
        extra = max(0.0, float(r["warmup_s"]) - float(base["warmup_s"]))
        return max(0.0, window_s - extra) * float(r["images_per_s"])

    best = max(usable, key=lambda r: (images(r), r is base))
    speed = "+".join(n for n in SPEED_OPTIONS if n in parts(best)[1]) or "base"
    why = ", ".join(f"{r['variant']} {images(r):.0f}" for r in usable)
    return speed, f"images in a {window_s:.0f} s window: {why}"


def auto_speed(path: Path, window_s: float) -> str:
    """``--speed auto``: :func:`pick_speed` on the rows in ``path``, or ``base`` without them."""
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError):
        print(f"[speed] no readable {path}: base", flush=True)
        return "base"
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        print(f"[speed] {path} is not train_speed's rows: base", flush=True)
        return "base"
    choice, why = pick_speed(rows, window_s)
    print(f"[speed] {choice} ({why})", flush=True)
    return choice
