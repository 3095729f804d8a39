"""The status bar: messages on the left; model, layer, device and ms per frame on the right.

A render or load error shows in red with, when the model runs on a GPU, a button that
offers to fall back to the CPU. An error and a passing message never show at once (Qt would
draw the message under the error): the error clears the message, a new message the error.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar

from ganpaint.app.views import theme


class StatusBar(QStatusBar):
    cpuRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.error = QLabel()
        self.error.setObjectName("statusError")
        self.cpu_button = QPushButton(theme.icon("mdi.chip"), "Use CPU")
        self.cpu_button.setObjectName("cpuButton")
        self.cpu_button.setToolTip("Reload the model on the CPU and render there")
        self.cpu_button.clicked.connect(self.cpuRequested.emit)
        self.busy = QLabel("●")
        self.busy.setObjectName("busyDot")
        self.busy.setToolTip("Rendering")
        self.model = QLabel()
        self.layer = QLabel()
        self.device = QLabel()
        self.ms = QLabel()
        self.ms.setObjectName("msLabel")
        self.ms.setToolTip("Average render time of the last frames")
        self.addWidget(self.error)
        self.addWidget(self.cpu_button)
        for w in (self.busy, self.model, self.layer, self.device, self.ms):
            w.setProperty("statusField", True)
            self.addPermanentWidget(w)
        self.model.setToolTip("The open model")
        self.layer.setToolTip("The edit layer")
        self.device.setToolTip("Where the generator runs")
        self.clear_error()
        self.set_busy(False)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        if self.error.isVisible() or self.error.text():
            self.clear_error()
        super().showMessage(text, timeout)

    def show_error(self, text: str, offer_cpu: bool) -> None:
        self.clearMessage()
        self.error.setText(f"⚠ {text}")
        self.error.setToolTip(text)
        self.error.show()
        self.cpu_button.setVisible(offer_cpu)

    def clear_error(self) -> None:
        self.error.clear()
        self.error.hide()
        self.cpu_button.hide()

    def set_busy(self, busy: bool) -> None:
        self.busy.setProperty("busy", bool(busy))
        self.busy.style().unpolish(self.busy)
        self.busy.style().polish(self.busy)

    def set_ms(self, ms: float | None) -> None:
        self.ms.setText("— ms/frame" if ms is None else f"{ms:.1f} ms/frame")
