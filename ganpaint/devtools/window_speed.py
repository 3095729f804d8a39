"""How a GPU window picks its speed options: ``--speed auto`` reads the rows that
``python -m ganpaint.devtools.train_speed --json`` wrote into the GPU folder and takes the
variant that trains the most images in the window, warm-up counted. ``--batch auto`` takes
another batch from the same rows only where it trains :data:`BATCH_GAIN` times the images
(a batch is part of the recipe, not only of the speed); with ``--speed auto`` both are
picked together from the measured rows (:func:`pick_window`), else at the window's speed
options (:func:`pick_batch`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEED_FILE = "speed.json"
"""``train_speed --json`` writes it into the GPU folder; ``--speed auto`` reads it."""


RECIPE_NAMES = ("projected", "highpass")
"""Variant names that change the training recipe, not its speed (``train_speed``'s
``projected`` and ``highpass``: the discriminator's projected heads and high-pass head). A
probe may time the speed options with them, since a run that has them pays for them in
every step."""


def _parts(r: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """A row's variant as (its recipe names, its other names; ``base`` when none)."""
    names = frozenset(str(r.get("variant", "")).split("+"))
    recipe = names & frozenset(RECIPE_NAMES)
    return recipe, (names - recipe) or frozenset({"base"})


def _speed_names(r: dict[str, Any]) -> frozenset[str]:
    """A row's speed options, without its recipe and batch names (empty for base)."""
    return frozenset(n for n in _parts(r)[1] if not n.startswith("batch")) - {"base"}


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
    from ganpaint.train.configs import SPEED_OPTIONS, speed_spec

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
    speed = speed_spec(_parts(best)[1])
    why = ", ".join(f"{r['variant']} {images(r):.0f}" for r in usable)
    return speed, f"images in a {window_s:.0f} s window: {why}"


def auto_speed(path: Path, window_s: float) -> str:
    """``--speed auto``: :func:`pick_speed` on the rows in ``path``, or ``base`` without them."""
    rows = _rows(path)
    if rows is None:
        print(f"[speed] no train_speed rows in {path}: base", flush=True)
        return "base"
    choice, why = pick_speed(rows, window_s)
    print(f"[speed] {choice} ({why})", flush=True)
    return choice


BATCH_GAIN = 1.8
"""How many times the images of the run's batch another batch must train, with the same
recipe, for ``--batch auto`` to take it. On a CPU, batch 64 at equal images (half the
steps) was level with 32 in FD but behind by eye, and at 1.6x the images (80 % of the
steps) it drew with 32; at 1.8x a doubled batch takes 90 % of the steps (docs/TRAINING.md,
"A larger batch")."""


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
    rows = [r for r in _same_recipe(rows) if _speed_names(r) == want and "batch" in r
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
    rows = _rows(path)
    if rows is None:
        print(f"[batch] no train_speed rows in {path}: {batch}", flush=True)
        return batch
    choice, why = pick_batch(rows, speed, batch)
    print(f"[batch] {choice} ({why})", flush=True)
    return choice


def pick_window(rows: list[dict[str, Any]], window_s: float, batch: int) -> tuple[str, int, str]:
    """``--speed auto`` with ``--batch auto``: the speed options and the batch of one
    measured row, from ``train_speed``'s rows of the run's recipe and a batch of at most
    :data:`BATCH_STEP` times the run's ``batch``. Each row scores the images it trains in
    the window, as in :func:`pick_speed`; the best row at another batch is taken only where
    it scores :data:`BATCH_GAIN` times the best at the run's batch. Returns the speed
    options, the batch and why."""
    from ganpaint.train.configs import SPEED_OPTIONS, speed_spec

    usable = [r for r in _same_recipe(rows) if "batch" in r
              and _speed_names(r) <= set(SPEED_OPTIONS)
              and int(r["batch"]) <= BATCH_STEP * batch]  # fmt: skip
    own = [r for r in usable if int(r["batch"]) == batch]
    if not own:  # the speed options as pick_speed finds them; the batch stays
        speed, why = pick_speed(rows, window_s)
        return speed, batch, f"no row at batch {batch}; {why}"
    # warm-ups beyond the base row's (or, without one, the quickest row's at this batch)
    bases = [r for r in own if not _speed_names(r)]
    start = float(bases[0]["warmup_s"]) if bases else min(float(r["warmup_s"]) for r in own)

    def images(r: dict[str, Any]) -> float:
        extra = max(0.0, float(r["warmup_s"]) - start)
        return max(0.0, window_s - extra) * float(r["images_per_s"])

    best = max(own, key=lambda r: (images(r), not _speed_names(r)))
    other = max((r for r in usable if int(r["batch"]) != batch), key=images, default=None)
    if other is not None and images(other) >= BATCH_GAIN * images(best):
        best = other
    speed = speed_spec(_speed_names(best))
    why = ", ".join(f"{r['variant']} {images(r):.0f}" for r in usable)
    return speed, int(best["batch"]), f"images in a {window_s:.0f} s window: {why}"


def auto_window(path: Path, window_s: float, batch: int) -> tuple[str, int]:
    """``--speed auto --batch auto``: :func:`pick_window` on the rows in ``path``, or
    ``base`` and ``batch`` without them."""
    rows = _rows(path)
    if rows is None:
        print(f"[speed] no train_speed rows in {path}: base, batch {batch}", flush=True)
        return "base", batch
    speed, chosen, why = pick_window(rows, window_s, batch)
    print(f"[speed] {speed}, batch {chosen} ({why})", flush=True)
    return speed, chosen


def _rows(path: Path) -> list[dict[str, Any]] | None:
    """``train_speed``'s rows in ``path``; None where it is missing, unreadable or not rows."""
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return None
    return rows
