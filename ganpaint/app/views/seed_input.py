"""Typing a seed: a validator that takes every seed a scene can have (0..2**32-1, more than
Qt's 32-bit integer fields hold) and nothing else, and the Go to Seed dialog built on it."""

from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from ganpaint.core.seeds import MAX_SEED


class SeedValidator(QValidator):
    """Digits only, at most :data:`MAX_SEED`; an empty field is not yet a seed."""

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        if not text:
            return QValidator.Intermediate, text, pos
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_SEED:
            return QValidator.Invalid, text, pos
        return QValidator.Acceptable, text, pos


class SeedDialog(QDialog):
    """Asks for a seed; OK is enabled only while the field holds one."""

    def __init__(self, parent: QWidget | None, current: int):
        super().__init__(parent)
        self.setWindowTitle("Go to Seed")
        self.setMinimumWidth(280)
        self.edit = QLineEdit(str(current))
        self.edit.setValidator(SeedValidator(self.edit))
        self.edit.selectAll()
        self.edit.setToolTip(f"A whole number from 0 to {MAX_SEED:,}")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.edit.textChanged.connect(self._changed)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Seed of the scene to show:"))
        layout.addWidget(self.edit)
        layout.addWidget(self.buttons)
        self._changed()

    def _changed(self) -> None:
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(self.edit.hasAcceptableInput())

    def seed(self) -> int | None:
        """The typed seed, or None while the field is empty."""
        return int(self.edit.text()) if self.edit.hasAcceptableInput() else None


def ask_seed(parent: QWidget | None, current: int) -> int | None:
    """The seed the user typed, or None if they cancelled."""
    dialog = SeedDialog(parent, current)
    if dialog.exec() != QDialog.Accepted:
        return None
    return dialog.seed()
