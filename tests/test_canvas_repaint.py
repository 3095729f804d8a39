"""The canvas repaints by rectangle: a new frame's dirty box, the live stroke overlay's
newly painted box and the brush outline's old and new places. What ends up on screen (the
window's backing store) must equal a whole repaint of the same state, at any zoom."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect

from ganpaint.app.views.canvas import PaintCanvas
from ganpaint.app.views.imaging import qimage_rgb, rgb_from_qimage
from tests.test_app_paint import drag

# Qt's smooth scaling rounds a clipped repaint slightly differently from a whole one; a stale
# box differs by far more (tens of levels on these test images)
ROUNDING = 4


def on_screen(widget) -> np.ndarray:
    """What the window shows where ``widget`` is: the top-level window's backing store
    (``grab()`` would repaint everything)."""
    top = widget.window()
    shot = rgb_from_qimage(top.screen().grabWindow(top.winId()).toImage())
    at = widget.mapTo(top, QPoint(0, 0))
    return shot[at.y() : at.y() + widget.height(), at.x() : at.x() + widget.width()]


def repainted(widget) -> np.ndarray:
    return rgb_from_qimage(widget.grab().toImage())


def settle(qtbot) -> None:
    qtbot.wait(50)


def test_a_dirty_box_at_high_zoom_leaves_no_stale_rim(qtbot):
    """Smooth scaling blends a scaled-up pixel into half of each neighbour: at 13x the rim a
    changed box reaches is wider than the two pixels earlier versions redrew."""
    canvas = PaintCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(900, 900)
    canvas.show()
    qtbot.waitExposed(canvas)
    before = np.full((64, 64, 3), 60, np.uint8)
    canvas.set_image(qimage_rgb(before))
    settle(qtbot)
    after = before.copy()
    after[40:50, 40:50] = 250
    assert canvas.scale() > 10
    canvas.set_image(qimage_rgb(after), (40, 40, 10, 10))
    settle(qtbot)
    diff = np.abs(on_screen(canvas).astype(int) - repainted(canvas).astype(int))
    assert diff.max() <= ROUNDING


def test_a_drag_repaints_small_boxes_and_leaves_the_screen_as_a_full_repaint(
    make_window, qtbot, frame_waiter
):
    w = make_window()
    canvas = w.canvas
    w.brush.update(concept="tree", action="draw", size=0.06, hardness=0.6, strength=1.0)
    frame_waiter(w)
    updates: list[tuple] = []
    original = canvas.update

    def spy(*args) -> None:
        updates.append(args)
        original(*args)

    canvas.update = spy
    moves: list[int] = []

    def on_move(count: int) -> None:
        moves.append(len(updates))

    drag(w, [(8, 30), (30, 34), (56, 30)], moves_per_segment=8, on_move=on_move)
    during = updates[: moves[-1]]
    assert during, "the moves repainted the canvas"
    image = canvas.image_rect()
    whole = [a for a in during if not a or not isinstance(a[0], QRect)]
    assert not whole, f"{len(whole)} of {len(during)} repaints during the drag were whole"
    assert all(a[0].width() < image.width() / 2 for a in during)
    frame_waiter(w)
    settle(qtbot)
    # the frame, the committed stroke's overlay and the cursor: on screen as a full repaint
    diff = np.abs(on_screen(canvas).astype(int) - repainted(canvas).astype(int))
    assert diff.max() <= ROUNDING


def test_the_busy_dot_lights_only_for_work_that_lasts(qtbot):
    """Frames of a few milliseconds do not restyle the dot (twice per frame it cost the GUI
    thread a tenth of its time during a drag); a long render lights it until it ends."""
    from ganpaint.app.views.status_bar import BUSY_AFTER_MS, StatusBar

    bar = StatusBar()
    qtbot.addWidget(bar)
    for _ in range(20):  # quick frames
        bar.set_busy(True)
        qtbot.wait(2)
        assert not bar.busy.property("busy")
        bar.set_busy(False)
    assert not bar.busy_shown and not bar.busy.property("busy")
    bar.set_busy(True)
    qtbot.waitUntil(lambda: bar.busy_shown, timeout=BUSY_AFTER_MS * 10)
    assert bar.busy.property("busy")
    bar.set_busy(False)
    assert not bar.busy_shown and not bar.busy.property("busy")


def test_the_frame_time_shows_at_a_readable_pace(qtbot):
    """While frames stream in, the ms/frame text changes at most every ``MS_EVERY_MS`` and
    ends on the latest figure."""
    from ganpaint.app.views.status_bar import MS_EVERY_MS, StatusBar

    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.set_ms(5.0)
    assert bar.ms.text() == "5.0 ms/frame"
    for ms in (6.0, 7.0, 8.0):
        bar.set_ms(ms)
    assert bar.ms.text() == "5.0 ms/frame"
    qtbot.waitUntil(lambda: bar.ms.text() == "8.0 ms/frame", timeout=MS_EVERY_MS * 10)
    bar.set_ms(None)
    assert bar.ms.text() == "— ms/frame"
