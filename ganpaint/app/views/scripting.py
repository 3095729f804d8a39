"""Driving the real window from scripts (the developer tools in ``ganpaint.devtools``):
scratch settings, a timed mouse drag over the canvas, letting the event loop run, checking
units, and Qt's offscreen screen set-up. The tools stay free of Qt imports; everything that
touches Qt is here."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def scratch_settings(folder: str | os.PathLike):
    """An ini-file ``QSettings`` in ``folder`` (the user's settings stay untouched)."""
    from PySide6.QtCore import QSettings

    from ganpaint.app.views.launch import application

    application()
    return QSettings(str(Path(folder) / "settings.ini"), QSettings.IniFormat)


def use_offscreen_screen(folder: str | os.PathLike, size: tuple[int, int]) -> None:
    """Use Qt's offscreen platform with one screen of ``size`` (before Qt starts; no-op once
    a QApplication exists)."""
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is not None:
            return
    config = Path(folder) / "offscreen.json"
    screen = {"name": "shot", "x": 0, "y": 0, "width": size[0], "height": size[1],
              "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}  # fmt: skip
    config.write_text(json.dumps({"screens": [screen]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def pump_events(seconds: float) -> None:
    """Let the event loop run for ``seconds`` (0: handle what is waiting, once)."""
    from PySide6.QtWidgets import QApplication

    until = time.monotonic() + seconds
    QApplication.processEvents()
    while time.monotonic() < until:
        QApplication.processEvents()


def check_units(window, count: int) -> None:
    """Tick the first ``count`` units in the Units tab (painting then uses them)."""
    from PySide6.QtCore import Qt

    unit_list = window.concept_panel.unit_list
    for row in range(min(count, unit_list.count())):
        unit_list.item(row).setCheckState(Qt.Checked)


@dataclass
class DragTimes:
    """What a scripted drag measured: moves sent, wall-clock start/end, GUI ms per move."""

    sent: int = 0
    start: float = 0.0
    end: float = 0.0
    event_ms: list[float] = field(default_factory=list)


def drag_canvas(
    window, points: Sequence[tuple[float, float]], interval_ms: int,
    on_pressed: Callable[[], None] | None = None,
) -> DragTimes:  # fmt: skip
    """Press on the canvas at ``points[0]`` (widget coordinates), move through the rest from a
    precise QTimer every ``interval_ms`` (so the event loop and the render worker keep
    running, as under a hand), release at the last point; returns when released."""
    from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    canvas = window.canvas
    moves = len(points) - 1
    times = DragTimes()
    loop, timer = QEventLoop(), QTimer()
    timer.setTimerType(Qt.PreciseTimer)
    timer.setInterval(int(interval_ms))

    def send(kind, xy: tuple[float, float], button, buttons) -> None:
        pos = QPointF(*xy)
        glob = QPointF(canvas.mapToGlobal(pos.toPoint()))
        QApplication.sendEvent(canvas, QMouseEvent(kind, pos, glob, button, buttons, Qt.NoModifier))

    def tick() -> None:
        times.sent += 1
        t = time.perf_counter()
        send(QEvent.MouseMove, points[times.sent], Qt.NoButton, Qt.LeftButton)
        times.event_ms.append((time.perf_counter() - t) * 1000.0)
        if times.sent >= moves:
            timer.stop()
            times.end = time.perf_counter()
            send(QEvent.MouseButtonRelease, points[times.sent], Qt.LeftButton, Qt.NoButton)
            loop.quit()

    timer.timeout.connect(tick)
    times.start = time.perf_counter()
    send(QEvent.MouseButtonPress, points[0], Qt.LeftButton, Qt.LeftButton)
    if on_pressed is not None:
        on_pressed()
    timer.start()
    loop.exec()
    return times


def repeating_timer(interval_ms: int, callback: Callable[[], None]):
    """A QTimer (not started) that calls ``callback`` every ``interval_ms`` while the event
    loop runs (scripts outside ``ganpaint.app`` do not import Qt themselves)."""
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(int(interval_ms))
    timer.timeout.connect(callback)
    return timer
