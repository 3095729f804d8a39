"""A one-line label that ends (or breaks in the middle) with "…" when narrower than its text.

The full text is its tooltip, and the label never asks its layout for the text's width, so a
long text (a history entry, an error naming a long path) cannot widen the window around it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy

MIN_WIDTH = 20


class ElidedLabel(QLabel):
    """``text`` elided to the label's width (``mode``: ``Qt.ElideRight`` or
    ``Qt.ElideMiddle``), instead of being cut mid-letter ("Remove windov")."""

    def __init__(
        self, text: str = "", bold: bool = False, mode: Qt.TextElideMode = Qt.ElideRight
    ) -> None:
        super().__init__()
        self.full = text
        self.mode = mode
        if bold:
            font = self.font()
            font.setBold(True)
            self.setFont(font)
        self.setToolTip(text)
        self.setMinimumWidth(MIN_WIDTH)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self._elide()

    def set_full(self, text: str, tooltip: str | None = None) -> None:
        """Show ``text`` (elided as needed); the tooltip is ``tooltip``, else the text."""
        self.full = text
        self.setToolTip(text if tooltip is None else tooltip)
        self._elide()

    def clear(self) -> None:
        """No text and no tooltip."""
        self.set_full("")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), MIN_WIDTH)
        self.setText(self.fontMetrics().elidedText(self.full, self.mode, width))
