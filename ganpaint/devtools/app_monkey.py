"""Random user actions through the real window, checked as they go: ``python -m
ganpaint.devtools.app_monkey [--model PATH] [--seed 0] [--seconds 60] [--json]``.

Opens the main window offscreen on the model (default: the bundled one) and, until the time
is up, does one random thing after another as a restless user might: paints strokes of random
concepts and sizes, triggers the window's actions (undo, redo, reset, draw/remove, brush
size, scenes, view modes and split compare, zoom, presentation mode, the Classifier panel),
hides, deletes and shows strokes alone, drags a History row's strength slider and picks from
its menu, changes the edit layer, points at History rows (the canvas spotlight) and exports
the edit stroke by stroke, letting the event loop run a random while (none, a frame's time,
or longer) between.

After every action the History rows must be the document's strokes. At the end the frame on
screen must be the document's newest revision, and equal (within one level) to a fresh full
render of the document by a new :class:`~ganpaint.engine.renderer.Renderer`, and no
exception may have escaped a Qt slot (they are recorded, not just printed). The report says
how many actions ran, which kinds, and each problem found; ``ok`` is true with none. Settings,
autosaves and exports go to a temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ACTIONS = (
    "edit.undo", "edit.redo", "edit.reset", "tool.draw", "tool.remove", "tool.swap",
    "brush.smaller", "brush.larger", "scene.new", "scene.previous", "scene.next",
    "view.overlay", "view.smooth", "view.heat", "view.clean", "view.split", "view.zoom_in",
    "view.zoom_out", "view.fit", "view.presentation", "view.exit_presentation",
    "view.classifier",
)  # fmt: skip
PAUSES_S = (0.0, 0.01, 0.05, 0.2)  # the event loop runs this long after an action


def run_monkey(
    model: str | os.PathLike | None = None, seed: int = 0, seconds: float = 60.0
) -> dict:
    """Act at random for ``seconds`` in a real window and check it (see the module)."""
    if not 0 < float(seconds) <= 24 * 3600:
        raise ValueError(f"seconds must be in (0, 86400], got {seconds}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="ganpaint-monkey-") as tmp:
        return _run(model, int(seed), float(seconds), Path(tmp))


def _run(model, seed: int, seconds: float, tmp: Path) -> dict:
    from ganpaint.app import create_window
    from ganpaint.app.views.launch import wait_until
    from ganpaint.app.views.scripting import pump_events, scratch_settings

    problems: list[str] = []
    hook = sys.excepthook  # Qt reports a slot's exception here and carries on

    def record(kind, value, tb) -> None:
        problems.append("".join(traceback.format_exception(kind, value, tb)).strip())

    sys.excepthook = record
    window = create_window(
        model, settings=scratch_settings(tmp), restore=False, data_dir=tmp / "data", seed=7
    )
    window.prompts.answers["save_changes"] = "discard"
    done: Counter[str] = Counter()
    try:
        window.resize(1300, 850)
        window.show()
        if not wait_until(lambda: window.frames.frames > 0, 120):
            raise RuntimeError("no first frame in time")
        rng = random.Random(seed)
        act = _actions(window, rng, tmp)
        end = time.monotonic() + seconds
        while time.monotonic() < end and not problems:
            name, action = rng.choice(act)
            try:
                action()
            except Exception:  # noqa: BLE001 - a problem found, reported
                problems.append(f"{name}: {traceback.format_exc().strip()}")
                break
            done[name] += 1
            pump_events(rng.choice(PAUSES_S))
            if window.history_panel.model.strokes != window.document.strokes:
                problems.append(f"after {name}: the History rows are not the strokes")
        problems += _final_checks(window, wait_until)
    finally:
        sys.excepthook = hook
        window.close()
        window.deleteLater()
    return {
        "ok": not problems,
        "seed": seed,
        "actions": sum(done.values()),
        "kinds": dict(sorted(done.items())),
        "strokes": len(window.document.strokes),
        "problems": problems,
    }


def _actions(w, rng: random.Random, tmp: Path) -> list[tuple[str, Callable[[], None]]]:
    """(kind, action) pairs, painting listed more often than the rest."""
    doc, hist = w.document, w.history_panel
    side = w.models.bundle.generator.resolution
    concepts = [c.name for c in w.concept_panel.concepts if c.available]

    def some_stroke() -> int | None:
        return rng.randrange(len(doc.strokes)) if doc.strokes else None

    def paint() -> None:
        if concepts:
            w.brush.update(concept=rng.choice(concepts))
        w.brush.update(size=rng.uniform(0.02, 0.2), action=rng.choice(("draw", "remove")))
        w.painter.paint([(rng.uniform(0, side), rng.uniform(0, side)) for _ in range(3)])

    def row_op(op: Callable[[int], None]) -> Callable[[], None]:
        return lambda: (row := some_stroke()) is not None and op(row)

    def layer() -> None:
        combo = w.concept_panel.layer_combo
        combo.setCurrentIndex(rng.randrange(combo.count()))

    def export() -> None:
        w.file_commands.export_steps(tmp / "steps.gif", scale=rng.choice((1, 2)))

    act = [("paint", paint)] * 6 + [(name, w.actions[name].trigger) for name in ACTIONS]
    return act + [
        ("hide or show", row_op(lambda r: doc.set_visible(r, rng.random() < 0.5))),
        ("delete", row_op(doc.remove_stroke)),
        ("show alone", row_op(doc.show_only)),
        ("show all", lambda: doc.show_only(None)),
        ("row menu", lambda: _use_row_menu(hist, some_stroke(), rng)),
        ("row menu", lambda: _use_row_menu(hist, some_stroke(), rng)),
        ("layer", layer),
        ("point at a row", lambda: hist.strokeHovered.emit(rng.randrange(-1, 3))),
        ("export stroke by stroke", export),
    ]


def _use_row_menu(hist, row: int | None, rng: random.Random) -> None:
    """Open row ``row``'s menu, drag its strength slider a few times, maybe pick an item."""
    if row is None:
        return
    menu = hist.menu = hist.row_menu(row)
    menu.popup(hist.mapToGlobal(hist.rect().center()))
    slider = next(a.slider for a in menu.actions() if hasattr(a, "slider"))
    for _ in range(rng.randint(0, 4)):
        slider.setValue(rng.randint(0, 100))
    enabled = [a for a in menu.actions() if a.text() and a.isEnabled()]
    if enabled and rng.random() < 0.5:
        rng.choice(enabled).trigger()
    menu.close()


def _final_checks(w, wait_until) -> list[str]:
    """The frame on screen is the document's last revision and a fresh render's image."""
    from ganpaint.devtools.drag_bench import levels_from_fresh_render

    if w.view_modes.presenting:
        w.actions["view.exit_presentation"].trigger()
    doc = w.document
    if not wait_until(lambda: w.frames.shown_revision == doc.revision, 60):
        return [f"the frame shown is revision {w.frames.shown_revision}, not {doc.revision}"]
    diff = levels_from_fresh_render(w)
    if diff is None:
        return ["a fresh render failed"]
    return [] if diff <= 1 else [f"the frame shown differs from a fresh render by {diff} levels"]


def format_report(r: dict) -> str:
    kinds = ", ".join(f"{k} {n}" for k, n in r["kinds"].items())
    lines = [
        f"{'ok' if r['ok'] else 'PROBLEMS'}: {r['actions']} actions (seed {r['seed']}), "
        f"{r['strokes']} strokes at the end",
        f"actions    {kinds}",
    ]
    return "\n".join(lines + [f"problem    {p}" for p in r["problems"]])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ganpaint.devtools.app_monkey", description=__doc__.split("\n\n")[1]
    )
    p.add_argument("--model", help="bundle folder (default: the bundled model)")
    p.add_argument("--seed", type=int, default=0, help="of the random actions (default 0)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long to act (default 60)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        r = run_monkey(args.model, args.seed, args.seconds)
    except (RuntimeError, ValueError) as exc:
        print(f"app-monkey: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(r, indent=2) if args.json else format_report(r))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
