"""The status bar: messages on the left; model, layer, device and ms per frame on the right.

A render or load error shows in red with, when the model runs on a GPU, a button that
offers to fall back to the CPU. An error and a passing message never show at once (Qt would
draw the message under the error): the error clears the message, a new message the error.
A passing message too long for its room ends in "…" (Qt would cut it mid-word), with the
whole of it as the bar's tooltip.
The busy dot lights only for renders that take long enough to notice (``BUSY_AFTER_MS``):
a brush drag renders a frame every few milliseconds, and restyling the dot twice per frame
cost the GUI thread a tenth of its time.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar, QStyle, QStyleOption

from ganpaint.app.views import theme
from ganpaint.app.views.elided_label import ElidedLabel

BUSY_AFTER_MS = 150
MS_EVERY_MS = 250
MODEL_NAME_PX = 240  # a longer model name is elided in the middle (its tooltip has it all)


class StatusBar(QStatusBar):
    cpuRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("statusBar")
        # elided in the middle (the start says what failed, the end why), so that a message
        # naming a long path cannot widen the window; the whole of it is the tooltip
        self.error = ElidedLabel(mode=Qt.ElideMiddle)
        self.error.setObjectName("statusError")
        self.cpu_button = QPushButton(theme.icon("mdi.chip"), "Use CPU")
        self.cpu_button.setObjectName("cpuButton")
        self.cpu_button.setToolTip("Reload the model on the CPU and render there")
        self.cpu_button.clicked.connect(self.cpuRequested.emit)
        self.busy = QLabel("●")
        self.busy.setObjectName("busyDot")
        self.busy.setToolTip("Rendering")
        self._busy_shown: bool | None = None
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_AFTER_MS)
        self._busy_timer.timeout.connect(lambda: self._show_busy(True))
        self._ms_value: float | None = None
        self._ms_timer = QTimer(self)
        self._ms_timer.setSingleShot(True)
        self._ms_timer.setInterval(MS_EVERY_MS)
        self._ms_timer.timeout.connect(self._show_ms)
        self.model = QLabel()
        self.layer = QLabel()
        self.device = QLabel()
        self.ms = QLabel()
        self.ms.setObjectName("msLabel")
        self.ms.setToolTip("Median render time of the last 20 frames")
        self.addWidget(self.error, 1)
        self.addWidget(self.cpu_button)
        self._fields = (self.busy, self.model, self.layer, self.device, self.ms)  # left to right
        for w in self._fields:
            w.setProperty("statusField", True)
            self.addPermanentWidget(w)
        self.model.setToolTip("The open model")
        self.layer.setToolTip("The edit layer")
        self.device.setToolTip("Where the generator runs")
        self.messageChanged.connect(self._message_changed)
        self.clear_error()
        self.set_busy(False)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        if self.error.isVisible() or self.error.text():
            self.clear_error()
        super().showMessage(text, timeout)

    def _message_changed(self, text: str) -> None:
        self.setToolTip(text)

    def message_rect(self) -> QRect:
        """Where a passing message is drawn: from the left edge to the first permanent
        field shown (as Qt places it)."""
        right = self.width() - 12
        for field in self._fields:
            if field.isVisible():
                right = min(right, field.x() - 2)
                break
        return QRect(6, 0, max(0, right - 6), self.height())

    def shown_message(self) -> str:
        """The passing message as drawn: elided at the end to :meth:`message_rect`."""
        width = self.message_rect().width()
        return self.fontMetrics().elidedText(self.currentMessage(), Qt.ElideRight, width)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        if not self.currentMessage() or self.layoutDirection() == Qt.RightToLeft:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PE_PanelStatusBar, option, painter, self)
        for field in self._fields:
            if field.isVisible():  # the fields' frames, as Qt draws them beside a message
                option.rect = field.geometry().adjusted(-1, -1, 1, 1)
                self.style().drawPrimitive(QStyle.PE_FrameStatusBarItem, option, painter, field)
        painter.setPen(self.palette().windowText().color())
        flags = Qt.AlignLeading | Qt.AlignVCenter | Qt.TextSingleLine
        painter.drawText(self.message_rect(), flags, self.shown_message())

    def set_model(self, name: str, resolution: int, tooltip: str) -> None:
        """Show the open model: its name (elided when long, so that a checkpoint's long file
        name cannot widen the window) and resolution; ``tooltip`` says it all."""
        short = self.model.fontMetrics().elidedText(name, Qt.ElideMiddle, MODEL_NAME_PX)
        self.model.setText(f"{short} · {resolution} px")
        self.model.setToolTip(tooltip)

    def show_error(self, text: str, offer_cpu: bool) -> None:
        self.clearMessage()
        self.error.set_full(f"⚠ {text}", text)
        self.error.show()
        self.cpu_button.setVisible(offer_cpu)

    def clear_error(self) -> None:
        self.error.clear()
        self.error.hide()
        self.cpu_button.hide()

    def set_busy(self, busy: bool) -> None:
        """The worker started (True) or finished (False) its work; the dot lights once a
        piece of work has lasted ``BUSY_AFTER_MS``."""
        if not busy:
            self._busy_timer.stop()
            self._show_busy(False)
        elif not self._busy_shown and not self._busy_timer.isActive():
            self._busy_timer.start()

    @property
    def busy_shown(self) -> bool:
        return bool(self._busy_shown)

    def _show_busy(self, busy: bool) -> None:
        if busy == self._busy_shown:
            return
        self._busy_shown = busy
        self.busy.setProperty("busy", busy)
        self.busy.style().unpolish(self.busy)
        self.busy.style().polish(self.busy)

    def set_ms(self, ms: float | None) -> None:
        """Show the render time; while frames stream (a drag) the text changes at most
        every ``MS_EVERY_MS``: readable, and no relayout of the bar per frame."""
        self._ms_value = ms
        if ms is None or not self._ms_timer.isActive():
            self._show_ms()
            if ms is not None:
                self._ms_timer.start()

    def _show_ms(self) -> None:
        ms = self._ms_value
        text = "— ms/frame" if ms is None else f"{ms:.1f} ms/frame"
        if text != self.ms.text():
            self.ms.setText(text)
