"""How a GPU window picks its speed options: ``--speed auto`` reads the rows that
``python -m ganpaint.devtools.train_speed --json`` wrote into the GPU folder and takes the
variant that trains the most images in the window, warm-up counted; ``--batch auto`` takes
a larger batch from the same rows only where it trains :data:`BATCH_GAIN` times the images
a second (a batch is part of the recipe, not only of the speed)."""

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


def _parts(r: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """A row's variant as (its recipe names, its other names; ``base`` when none)."""
    names = frozenset(str(r.get("variant", "")).split("+"))
    recipe = names & frozenset(RECIPE_NAMES)
    return recipe, (names - recipe) or frozenset({"base"})


def _same_recipe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timed, finite rows that add the most :data:`RECIPE_NAMES` (the run's recipe)."""
    timed = [r for r in rows if "images_per_s" in r and r.get("finite")]
    recipes = {_parts(r)[0] for r in timed}
    recipe = max(recipes, key=len) if recipes else frozenset()
    return [r for r in timed if _parts(r)[0] == recipe]


def pick_speed(rows: list[dict[str, Any]], window_s: float) -> tuple[str, str]:
    """The speed option to train a window of ``window_s`` seconds with, from
    ``train_speed``'s rows: among the timed, finite variants made of speed options only
    (``base``, ``channels_last``, ``compile``), the one with the most images in the window,
    ``(window_s - its warm-up beyond base's) x its images/s``; and why, in words. Where some
    rows add :data:`RECIPE_NAMES` (``channels_last+projected``), only the rows that add the
    same are compared (base is then ``base+projected``), and the speed options are
    returned without them."""
    from ganpaint.train.configs import SPEED_OPTIONS

    allowed = {"base", *SPEED_OPTIONS}
    timed = [r for r in rows if "images_per_s" in r and r.get("finite")
             and _parts(r)[1] <= allowed]  # fmt: skip
    usable = _same_recipe(timed)
    base = next((r for r in usable if _parts(r)[1] == {"base"}), None)
    if base is None:
        return "base", "no timed base row to compare with"

    def images(r: dict[str, Any]) -> float:
        extra = max(0.0, float(r["warmup_s"]) - float(base["warmup_s"]))
        return max(0.0, window_s - extra) * float(r["images_per_s"])

    best = max(usable, key=lambda r: (images(r), r is base))
    speed = "+".join(n for n in SPEED_OPTIONS if n in _parts(best)[1]) or "base"
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


BATCH_GAIN = 1.25
"""How many times the images a second of the run's batch another batch must train, with the
same speed options and recipe, for ``--batch auto`` to take it (docs/TRAINING.md, "A
larger batch")."""


BATCH_STEP = 2
"""``--batch auto`` goes at most to twice the run's batch in one window: the CPU comparison
behind it doubled the batch and no more."""


def pick_batch(rows: list[dict[str, Any]], speed: str, batch: int) -> tuple[int, str]:
    """The batch to train with, from ``train_speed``'s rows: among the rows with the
    window's ``speed`` options (``"channels_last"``; the same recipe names as
    :func:`pick_speed` compares) and a batch of at most :data:`BATCH_STEP` times the run's
    ``batch``, the one of most images a second, where that is at least :data:`BATCH_GAIN`
    times the row of the run's ``batch``; else ``batch``. And why."""
    want = frozenset(speed.split("+")) - {"base"}

    def speed_of(r: dict[str, Any]) -> frozenset[str]:
        return frozenset(n for n in _parts(r)[1] if not n.startswith("batch")) - {"base"}

    rows = [r for r in _same_recipe(rows) if speed_of(r) == want and "batch" in r
            and int(r["batch"]) <= BATCH_STEP * batch]  # fmt: skip
    own = max((r for r in rows if int(r["batch"]) == batch),
              key=lambda r: float(r["images_per_s"]), default=None)  # fmt: skip
    if own is None:
        return batch, f"no {speed} row at batch {batch} to compare with"
    best = max(rows, key=lambda r: (float(r["images_per_s"]), int(r["batch"]) == batch))
    gain = float(best["images_per_s"]) / float(own["images_per_s"])
    why = ", ".join(f"batch {r['batch']} {float(r['images_per_s']):.0f}/s" for r in rows)
    if int(best["batch"]) != batch and gain >= BATCH_GAIN:
        return int(best["batch"]), f"{gain:.2f}x the images a second ({why})"
    return batch, f"no batch gains {BATCH_GAIN}x ({why})"


def auto_batch(path: Path, speed: str, batch: int) -> int:
    """``--batch auto``: :func:`pick_batch` on the rows in ``path``, or ``batch`` without
    them."""
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError):
        rows = None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        print(f"[batch] no train_speed rows in {path}: {batch}", flush=True)
        return batch
    choice, why = pick_batch(rows, speed, batch)
    print(f"[batch] {choice} ({why})", flush=True)
    return choice
