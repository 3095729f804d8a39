"""Screenshots for the docs: ``python -m ganpaint.devtools.screenshots OUTDIR [--model PATH]``.

Opens the main window offscreen on a 1600 x 1000 virtual screen, paints a few strokes,
selects a unit for the inspector and saves ``screenshot_main.png`` and
``screenshot_presentation.png`` (presentation mode with Split Compare on). The model is
``--model``, else the bundled ``models/scenes128`` when it exists, else a random-weight demo
bundle (the images then mean nothing; the layout is what is shown). Settings and autosaves
go to a temp folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

SCREEN = (1600, 1000)


def pick_model(work: Path, model: str | None) -> Path:
    from ganpaint.devtools.demo_bundle import make_demo_bundle
    from ganpaint.models.bundle import default_bundle_path

    if model:
        return Path(model)
    if (default_bundle_path() / "bundle.json").is_file():
        return default_bundle_path()
    return make_demo_bundle(
        work / "demo", widths=(256, 256, 256, 128, 64, 32), z_dim=512, name="demo (random)"
    )


def render_screenshots(out: Path, model: Path, size: tuple[int, int] = SCREEN, seed: int = 12):
    """Save the two screenshots of a window on ``model`` into ``out``; returns their paths."""
    from ganpaint.app import create_window
    from ganpaint.app.views.launch import wait_until
    from ganpaint.app.views.scripting import scratch_settings

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = scratch_settings(tmp)
        threads = max(1, (os.cpu_count() or 2) - 1)
        w = create_window(
            model, settings=settings, data_dir=tmp, restore=False, seed=seed, threads=threads
        )
        w.prompts.answers["save_changes"] = "discard"
        w.resize(*size)
        w.show()
        if not wait_until(
            lambda: w.frames.frames > 0 or w.models.bundle is None and w.prompts.last_box
        ):
            raise RuntimeError("no frame rendered")
        if w.models.bundle is None:
            raise RuntimeError(f"cannot open {model}")
        _paint_demo(w)
        w.view_modes.set_view("show_heat", False)
        w.view_modes.set_view("show_overlay", True)
        wait_until(lambda: w.frames.shown_revision == w.document.revision)
        wait_until(lambda: w.gallery.rendered >= set(w.gallery.seeds), 20)
        wait_until(lambda: w.inspector.preview.pixmap() is not None
                   and not w.inspector.preview.pixmap().isNull(), 10)  # fmt: skip
        main = out / "screenshot_main.png"
        w.grab().save(str(main))
        w.view_modes.set_presentation(True)
        w.view_modes.set_split(True)  # the unedited scene beside the edit, as speakers show it
        w.canvas.set_split(0.22)  # the divider across the tree painted lower left
        w.view_modes.set_view("show_overlay", False)  # the pictures alone, untinted
        wait_until(lambda: w.isFullScreen(), 5)
        wait_until(lambda: False, 0.3)  # let the full-screen layout settle
        presentation = out / "screenshot_presentation.png"
        w.grab().save(str(presentation))
        w.view_modes.set_split(False)
        w.view_modes.set_presentation(False)
        w.close()
    return main, presentation


def _paint_demo(w) -> None:
    """A few strokes: concepts when the model has a dissection, hand-picked units if not."""
    from ganpaint.app.views.scripting import check_units

    r = w.models.bundle.generator.resolution
    panel = w.concept_panel
    if _first(w, ("tree",)) is None:
        check_units(w, 8)
        w.brush.update(size=0.08, hardness=0.7)
        w.painter.paint([(r * 0.12, r * 0.55), (r * 0.2, r * 0.75), (r * 0.32, r * 0.8)])
        w.brush.update(action="remove")
        w.painter.paint([(r * 0.62, r * 0.3), (r * 0.75, r * 0.35)])
        w.brush.update(action="draw")
        panel.unit_list.setCurrentRow(0)
        return
    w.brush.update(concept=_first(w, ("tree", "grass")), size=0.07, hardness=0.7)
    w.painter.paint([(r * 0.12, r * 0.55), (r * 0.2, r * 0.75), (r * 0.32, r * 0.8)])
    w.brush.update(concept=_first(w, ("dome", "door", "window")), size=0.06)
    w.painter.paint([(r * 0.62, r * 0.3), (r * 0.7, r * 0.33)])
    w.brush.update(concept=_first(w, ("cloud", "sky")), action="remove", size=0.1)
    w.painter.paint([(r * 0.5, r * 0.1), (r * 0.85, r * 0.12)])
    w.brush.update(action="draw", concept=_first(w, ("tree", "grass")))
    item = panel._concept_items.get(w.brush.concept)
    if item is not None and item.childCount():
        panel.tree.setCurrentItem(item.child(0))


def _first(window, names) -> str | None:
    for name in names:
        c = window.concept_panel.concept(name)
        if c is not None and c.available:
            return name
    usable = [c.name for c in window.concept_panel.concepts if c.available]
    return usable[0] if usable else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganpaint.devtools.screenshots")
    parser.add_argument("outdir", help="folder for the PNG files (e.g. docs)")
    parser.add_argument("--model", help="model bundle or generator file")
    args = parser.parse_args(argv)
    from ganpaint.app.views.scripting import use_offscreen_screen

    with tempfile.TemporaryDirectory() as work:
        use_offscreen_screen(work, SCREEN)
        model = pick_model(Path(work), args.model)
        for path in render_screenshots(Path(args.outdir), model):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
