"""How long saving a picture project holds the GUI thread: ``python -m
ganpaint.devtools.save_time [--model PATH] [--steps 2] [--saves 5] [--strokes 0] [--json]``.

With ``--strokes N``, first N strokes are painted on the scene through the window's painter
and the autosave each one causes is timed: the cost a long painting session adds to every
stroke's release.

Opens the main window offscreen on the model (default: the bundled one), opens a picture
through File > Open Image… exactly as a person does (inverted on the render worker with a few
``--steps``: the arrays a project stores have the same size whatever the step count), then
times on the GUI thread: the autosave written right after the picture opened, and
``--saves`` explicit saves (File > Save) of the project, the first one separately. A final
reopen checks that the saved file reads back to the same picture. The figures are
measurements, not pass/fail checks; settings, autosaves and the project go to a temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def run_save_time(
    model: str | os.PathLike | None = None,
    steps: int = 2,
    saves: int = 5,
    timeout_s: float = 300,
    strokes: int = 0,
) -> dict:
    """Open a picture in a real window and time its saves on the GUI thread (see module)."""
    if not 1 <= int(saves) <= 1000:
        raise ValueError(f"saves must be in 1..1000, got {saves}")
    if not 0 <= int(strokes) <= 5000:
        raise ValueError(f"strokes must be in 0..5000, got {strokes}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="ganpaint-save-time-") as tmp:
        return _run(model, int(steps), int(saves), Path(tmp), timeout_s, int(strokes))


def _stroke_autosaves(window, count: int) -> tuple[dict[int, float], dict[int, float]]:
    """Paint ``count`` short strokes across the scene with the first concept; the autosave
    time and the whole release's GUI-thread time (ms: the panels, the overlay, the autosave)
    of stroke 1, 10, 100, ... and the last."""
    import numpy as np

    autosaves = _timed(window, "autosave_now")
    releases = _timed(window.painter, "finish")
    usable = [c for c in window.concept_panel.concepts if c.available]
    window.brush.update(concept=usable[0].name, size=0.05)
    side = window.models.bundle.generator.resolution
    rng = np.random.default_rng(1)
    marks = {1, count} | {10**k for k in range(1, 5) if 10**k < count}
    saved, released = {}, {}
    for i in range(1, count + 1):
        x, y = rng.uniform(0.1, 0.9, 2) * side
        window.painter.paint([(x, y), (x + side * 0.05, y + side * 0.03)])
        if i in marks and autosaves:
            saved[i], released[i] = autosaves[-1], releases[-1]
    return saved, released


def _run(model, steps: int, saves: int, tmp: Path, timeout_s: float, strokes: int = 0) -> dict:
    import numpy as np
    from PIL import Image

    from ganpaint.app import create_window
    from ganpaint.app.views.launch import wait_until
    from ganpaint.app.views.scripting import scratch_settings
    from ganpaint.engine.document import EditDocument

    window = create_window(
        model, settings=scratch_settings(tmp), restore=False, data_dir=tmp / "data", seed=7
    )
    window.prompts.answers["save_changes"] = "discard"
    try:
        window.show()
        if not wait_until(lambda: window.frames.frames > 0, timeout_s):
            raise RuntimeError("no first frame in time")
        by_stroke, releases = _stroke_autosaves(window, strokes) if strokes else ({}, {})
        if strokes:
            window.document.reset()
            window.document.modified = False
        side = window.models.bundle.generator.resolution
        rng = np.random.default_rng(0)
        picture_file = tmp / "picture.png"
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(picture_file)
        opened: list[str] = []
        autosaves = _timed(window, "autosave_now")  # the autosaves the opening causes
        window.picture_commands.steps = steps
        window.picture_commands.finished.connect(opened.append)
        if not window.picture_commands.open_image(picture_file):
            raise RuntimeError("the picture did not open")
        if not wait_until(lambda: bool(opened), timeout_s) or opened[0] != "opened":
            raise RuntimeError(f"the inversion did not finish: {opened}")
        at_open = list(autosaves)
        window.autosave_now()
        autosave_ms = autosaves[-1]
        path = tmp / "picture.ganpaint"
        save_ms = []
        for _ in range(saves):
            window.document.modified = True
            t = time.perf_counter()
            if not window.file_commands.save_project_to(path):
                raise RuntimeError("the save failed")
            save_ms.append((time.perf_counter() - t) * 1000.0)
        picture = window.document.picture
        back = EditDocument.load(path).picture
        same = all(
            np.array_equal(getattr(picture, a), getattr(back, a)) for a in ("pixels", "z")
        ) and all(
            np.array_equal(getattr(picture, m)[k], getattr(back, m)[k])
            for m in ("residuals", "adaptation")
            for k in getattr(picture, m)
        )
        return {
            "model": window.models.bundle.name,
            "project_bytes": path.stat().st_size,
            "autosaves_at_open_ms": at_open,
            "autosave_after_open_ms": autosave_ms,
            "first_save_ms": save_ms[0],
            "later_saves_ms_median": statistics.median(save_ms[1:]) if saves > 1 else None,
            "saves": saves,
            "reopened_equal": same,
            "autosave_ms_after_stroke": by_stroke,
            "release_ms_of_stroke": releases,
        }
    finally:
        window.close()
        window.deleteLater()


def _timed(obj, name: str) -> list[float]:
    """Wrap ``obj.name`` so each call's time (ms) is appended to the returned list."""
    inner, times = getattr(obj, name), []

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            times.append((time.perf_counter() - t) * 1000.0)

    setattr(obj, name, timed)
    return times


def format_report(r: dict) -> str:
    later = r["later_saves_ms_median"]
    return "\n".join([
        f"model      {r['model']}, project file {r['project_bytes'] / 1e6:.2f} MB",
        "autosave   " + ", ".join(f"{ms:.1f}" for ms in r["autosaves_at_open_ms"])
        + " ms on the GUI thread as the picture opened, then "
        f"{r['autosave_after_open_ms']:.1f} ms",
        f"save       first {r['first_save_ms']:.1f} ms on the GUI thread"
        + (f", later saves median {later:.1f} ms ({r['saves'] - 1})" if later is not None else ""),
        f"reopened   {'equal' if r['reopened_equal'] else 'DIFFERENT'} picture",
        *([("strokes    autosave on the GUI thread after stroke "
            + ", ".join(f"{n}: {ms:.1f} ms" for n, ms in r["autosave_ms_after_stroke"].items())),
           ("           the whole release (panels, overlay, autosave) of stroke "
            + ", ".join(f"{n}: {ms:.1f} ms" for n, ms in r["release_ms_of_stroke"].items()))]
          if r["autosave_ms_after_stroke"] else []),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ganpaint.devtools.save_time", description=__doc__.split("\n\n")[1]
    )
    p.add_argument("--model", help="bundle folder (default: the bundled model)")
    p.add_argument("--steps", type=int, default=2, help="inversion steps (default 2)")
    p.add_argument("--saves", type=int, default=5, help="explicit saves timed (default 5)")
    p.add_argument("--strokes", type=int, default=0,
                   help="first paint this many strokes, timing each one's autosave")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        r = run_save_time(args.model, args.steps, args.saves, strokes=args.strokes)
    except (RuntimeError, ValueError) as exc:
        print(f"save-time: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(r, indent=2) if args.json else format_report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
