"""Painting on the canvas: a dragged stroke edits the image where it reaches and nowhere
else, is one undo step, and renders live (latest wins) while the mouse moves."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest


def widget_point(window, x: float, y: float) -> QPoint:
    return window.canvas.from_image(x, y).toPoint()


def drag(window, points, moves_per_segment: int = 1, on_move=None) -> None:
    canvas = window.canvas
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, widget_point(window, *points[0]))
    count = 0
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        for i in range(1, moves_per_segment + 1):
            t = i / moves_per_segment
            QTest.mouseMove(canvas, widget_point(window, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
            count += 1
            if on_move is not None:
                on_move(count)
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, widget_point(window, *points[-1]))


def test_stroke_edits_within_reach_and_undo_restores_the_frame(make_window, qtbot, frame_waiter):
    w = make_window()
    w.brush.update(concept="tree", action="draw", size=0.06, hardness=1.0, strength=1.0)
    original = w.frames.image.copy()
    assert w.canvas.objectName() == "canvas"

    drag(w, [(8, 6), (8, 30), (8, 58)], moves_per_segment=8)
    assert len(w.document.strokes) == 1 and w.document.preview is None
    frame_waiter(w)
    edited = w.frames.image.copy()
    diff = np.abs(edited.astype(int) - original.astype(int)).sum(axis=-1)
    assert diff[:, :16].max() > 20, "the image must change where the stroke was painted"
    assert (diff[:, 40:] == 0).all(), "the far side is beyond the edit's reach"
    stroke = w.document.strokes[0]
    assert stroke.concept == "tree" and stroke.mask.shape == (64, 64)
    assert stroke.units == w.concept_panel.concept("tree").units("causal", 15)

    assert w.actions["edit.undo"].shortcut() == QKeySequence(QKeySequence.Undo)
    assert w.actions["edit.redo"].shortcut() == QKeySequence(QKeySequence.Redo)
    # Undo and redo recompute only the stroke's window (the incremental renderer): float32
    # gives the full frame's pixels within one level (float64 exactly: test_app_incremental).
    w.actions["edit.undo"].trigger()
    frame_waiter(w)
    assert np.abs(w.frames.image.astype(int) - original.astype(int)).max() <= 1
    w.actions["edit.redo"].trigger()
    frame_waiter(w)
    assert np.abs(w.frames.image.astype(int) - edited.astype(int)).max() <= 1


def test_frames_arrive_live_and_never_step_back(make_window, qtbot, frame_waiter):
    w = make_window()
    w.brush.update(concept="dome", size=0.05)
    before = w.frames.frames
    seen_during_drag = []

    def on_move(n: int) -> None:
        if n in (30, 60, 90):  # let the event loop deliver frames mid-drag
            target = w.frames.frames + 1
            qtbot.waitUntil(lambda: w.frames.frames >= target, timeout=10_000)
            seen_during_drag.append(w.frames.shown_revision)

    path = [(4 + 56 * i / 99, 32 + 20 * np.sin(i / 10)) for i in range(101)]
    drag(w, path, on_move=on_move)
    assert len(seen_during_drag) == 3 and w.frames.frames >= before + 3
    frame_waiter(w)
    revisions = list(w.worker.rendered_revisions)
    assert all(a <= b for a, b in zip(revisions, revisions[1:], strict=False))
    assert revisions[-1] == w.document.revision
    assert len(w.document.strokes) == 1
    # 100 moves made about 100 revisions; latest-wins skipped most of them.
    assert len(revisions) < w.document.revision


def test_right_drag_paints_the_opposite_action(make_window):
    w = make_window()
    w.brush.update(concept="tree", action="draw")
    canvas = w.canvas
    QTest.mousePress(canvas, Qt.RightButton, Qt.NoModifier, widget_point(w, 30, 30))
    QTest.mouseMove(canvas, widget_point(w, 40, 30))
    QTest.mouseRelease(canvas, Qt.RightButton, Qt.NoModifier, widget_point(w, 40, 30))
    assert w.document.strokes[-1].action == "remove"


def test_brush_size_shortcuts_and_soft_edges(make_window):
    w = make_window()
    w.brush.update(size=0.1, hardness=0.0)
    w.actions["brush.larger"].trigger()
    assert w.brush.size > 0.1
    assert w.actions["brush.larger"].shortcut().toString() == "]"
    assert w.actions["brush.smaller"].shortcut().toString() == "["
    w.actions["brush.smaller"].trigger()
    w.actions["brush.smaller"].trigger()
    assert w.brush.size < 0.1
    stroke = w.painter.paint([(32, 32)])
    values = np.unique(stroke.mask)
    assert values.max() >= 250 and len(values) > 3  # a soft edge has intermediate coverage


def test_no_concept_gives_a_message_not_a_stroke(make_window, qtbot):
    w = make_window()
    w.brush.update(concept=None)
    with qtbot.waitSignal(w.painter.message):
        QTest.mousePress(w.canvas, Qt.LeftButton, Qt.NoModifier, widget_point(w, 30, 30))
    QTest.mouseRelease(w.canvas, Qt.LeftButton, Qt.NoModifier, widget_point(w, 30, 30))
    assert w.document.strokes == ()


def _pen(window, points, pressures, eraser: bool = False) -> None:
    """Drag a tablet pen through ``points`` (image pixels) with ``pressures``, through
    Qt's tablet events as a Wacom driver delivers them."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    kind = QPointingDevice.PointerType.Eraser if eraser else QPointingDevice.PointerType.Pen
    pen = QPointingDevice("test pen", 7, QInputDevice.DeviceType.Stylus, kind,
                          QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
                          1, 3)  # fmt: skip
    canvas = window.canvas
    events = [QEvent.TabletPress] + [QEvent.TabletMove] * (len(points) - 1)
    events.append(QEvent.TabletRelease)
    for i, event_type in enumerate(events):
        x, y = points[min(i, len(points) - 1)]
        pos = QPointF(window.canvas.from_image(x, y))
        held = Qt.NoButton if event_type == QEvent.TabletRelease else Qt.LeftButton
        button = Qt.NoButton if event_type == QEvent.TabletMove else Qt.LeftButton
        pressure = 0.0 if event_type == QEvent.TabletRelease else pressures[i]
        event = QTabletEvent(event_type, pen, pos, QPointF(canvas.mapToGlobal(pos)), pressure,
                             0.0, 0.0, 0.0, 0.0, 0.0, Qt.NoModifier, button, held)  # fmt: skip
        QApplication.sendEvent(canvas, event)
        assert event.isAccepted()  # taken as a stroke: no mouse events made from it


def test_a_tablet_pens_pressure_thins_the_stroke_and_its_eraser_end_removes(make_window, qtbot):
    w = make_window()
    w.brush.update(concept="tree", action="draw", size=0.08, hardness=1.0)
    assert w.actions["brush.pressure_size"].isChecked()  # the default
    # left to right, pressing ever lighter, an event a pixel as a tablet's 100+ a second give
    points = [(8 + i, 32) for i in range(49)]
    pressures = [1.0 - i / 48 for i in range(49)]
    _pen(w, points, pressures)
    assert len(w.document.strokes) == 1
    stroke = w.document.strokes[0]
    width = (stroke.mask >= 128).sum(0)
    assert stroke.action == "draw" and width[10] == 10 and 1 <= width[54] <= 3
    assert (np.diff(width[12:52]) <= 0).all()

    _pen(w, points, pressures, eraser=True)  # the pen turned over: the opposite action
    assert w.document.strokes[1].action == "remove"

    w.actions["brush.pressure_off"].trigger()
    assert w.brush.pressure == "off"
    _pen(w, points, pressures)
    assert (w.document.strokes[2].mask >= 128).sum(0)[54] == 10  # as from a mouse
    w.close()  # the choice is kept with the brush's other settings
    assert w.prefs.get("brush/pressure", "") == "off"
