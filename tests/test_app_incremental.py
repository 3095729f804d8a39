"""The app's frames through the incremental renderer: a drag, undo, a history toggle and a
delete each show the pixels a fresh full render gives (float64: the same pixels; float32,
the app's precision: within a level), and the canvas repaints only the changed rectangle."""

from __future__ import annotations

import numpy as np
import pytest

from ganpaint.engine.renderer import Renderer
from tests.history_rows import click_part
from tests.test_app_paint import drag


def fresh_image(window, precision: str) -> np.ndarray:
    b = window.models.bundle
    r = Renderer(
        b.generator, "cpu", b.dissection, precision=precision, incremental=False,
        channels_last=precision != "fp64",
    )  # fmt: skip
    result = r.render(window.document.snapshot())
    assert result.ok, result.error
    return result.image


def use_renderer(window, qtbot, frame_waiter, precision: str) -> list:
    """Give the worker an incremental renderer in ``precision``; returns the list the shown
    results are appended to."""
    qtbot.waitUntil(window.worker.is_idle, timeout=10_000)
    b = window.models.bundle
    if precision != "fp32":
        window.worker._renderer = Renderer(
            b.generator, "cpu", b.dissection, precision=precision, channels_last=False
        )
    assert window.worker._renderer.incremental
    window.frames.set_model(window.frames.key)
    frame_waiter(window)
    shown = []
    window.frames.frameShown.connect(shown.append)
    return shown


def check(window, frame_waiter, precision: str) -> None:
    frame_waiter(window)
    diff = np.abs(window.frames.image.astype(int) - fresh_image(window, precision).astype(int))
    assert diff.max() <= (0 if precision == "fp64" else 1)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp64", "fp32"])
def test_drag_undo_and_history_toggle_match_a_fresh_full_render(
    make_window, qtbot, frame_waiter, precision
):
    w = make_window()
    shown = use_renderer(w, qtbot, frame_waiter, precision)
    w.brush.update(concept="tree", action="draw", size=0.06, hardness=0.6, strength=1.0)
    drag(w, [(10, 20), (20, 24), (30, 20)], moves_per_segment=6)
    check(w, frame_waiter, precision)
    assert any(r.since is not None and r.work < 1.0 for r in shown), "frames were incremental"
    drag(w, [(44, 50), (50, 40)], moves_per_segment=4)
    check(w, frame_waiter, precision)
    w.actions["edit.undo"].trigger()
    check(w, frame_waiter, precision)
    w.actions["edit.redo"].trigger()
    check(w, frame_waiter, precision)
    click_part(w.history_panel, 0, "eye")  # hide the first stroke from the history panel
    qtbot.waitUntil(lambda: not w.document.strokes[0].visible, timeout=5_000)
    check(w, frame_waiter, precision)
    click_part(w.history_panel, 1, "delete")
    qtbot.waitUntil(lambda: len(w.document.strokes) == 1, timeout=5_000)
    check(w, frame_waiter, precision)
    last = shown[-1]
    assert last.since is not None and last.work < 1.0, "the delete was incremental too"


def test_the_canvas_repaints_only_the_changed_rectangle(make_window, qtbot, frame_waiter):
    w = make_window()
    use_renderer(w, qtbot, frame_waiter, "fp32")
    updates = []
    canvas = w.canvas
    original = canvas.update

    def spy(*args) -> None:
        updates.append(args)
        original(*args)

    canvas.update = spy
    w.brush.update(concept="tree", action="draw", size=0.04, hardness=1.0, strength=1.0)
    w.painter.begin(6, 6, False)
    w.painter.finish()
    frame_waiter(w)
    rects = [a[0] for a in updates if a]
    assert rects, "the frame was repainted by rectangle"
    image = canvas.image_rect()
    assert all(r.width() < image.width() / 2 for r in rects)
