"""Messages and questions to the user, in one replaceable place.

Errors and notices open *non-blocking* message boxes (``open()``, not ``exec()``), so a
failure never stops the event loop and tests can inspect ``last_box``. Questions that must
be answered before going on (save changes? restore?) are modal, and tests answer them by
setting :attr:`Prompts.answers` (or ``GANPAINT_RESTORE=yes|no`` for the restore question).
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QInputDialog,
    QMessageBox,
    QSplashScreen,
    QWidget,
)


class Prompts:
    def __init__(self, parent: QWidget):
        self.parent = parent
        self.last_box: QMessageBox | None = None
        self.answers: dict[str, object] = {}  # question id -> answer, skips the dialog

    def _box(self, icon, title: str, text: str, detail: str = "") -> QMessageBox:
        box = QMessageBox(icon, title, text, QMessageBox.Ok, self.parent)
        if detail:
            box.setInformativeText(detail)
        box.setAttribute(Qt.WA_DeleteOnClose, True)
        self.last_box = box
        box.open()
        return box

    def error(self, title: str, text: str, detail: str = "") -> QMessageBox:
        return self._box(QMessageBox.Warning, title, text, detail)

    def info(self, title: str, text: str, detail: str = "") -> QMessageBox:
        return self._box(QMessageBox.Information, title, text, detail)

    def _ask(self, key: str, title: str, text: str, buttons, default):
        if key in self.answers:
            return self.answers[key]
        parent: QWidget | None = self.parent
        if not self.parent.isVisible():  # asked at start-up, before the window is shown
            parent = None  # Qt then centres it on the screen, not on the unplaced window
            _close_the_splash()
        box = QMessageBox(QMessageBox.Question, title, text, buttons, parent)
        box.setDefaultButton(default)
        self.last_box = box
        return QMessageBox.StandardButton(box.exec())

    def confirm(self, key: str, title: str, text: str) -> bool:
        """A yes/no question (``answers[key]`` answers it in tests)."""
        answer = self._ask(key, title, text, QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer is True or answer == QMessageBox.Yes

    def choose(self, title: str, text: str, items: list[str]) -> str | None:
        """One of ``items`` (the first is preselected), or None when cancelled;
        ``answers["choose"]`` answers it in tests."""
        if "choose" in self.answers:
            return self.answers["choose"]
        item, ok = QInputDialog.getItem(self.parent, title, text, items, 0, False)
        return item if ok else None

    def save_changes(self, what: str) -> str:
        """'save', 'discard' or 'cancel' before ``what`` replaces unsaved work."""
        answer = self._ask(
            "save_changes",
            "Unsaved changes",
            f"The project has unsaved changes. Save them before {what}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
            QMessageBox.Save,
        )
        if isinstance(answer, str):
            return answer
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def restore(self, question: str) -> bool:
        """Whether to restore the autosave of a session that did not exit cleanly
        (``question``: :func:`~ganpaint.app.state.session.recovery_question`)."""
        env = os.environ.get("GANPAINT_RESTORE", "").strip().lower()
        if env in ("yes", "no"):
            return env == "yes"
        answer = self._ask(
            "restore", "Restore unsaved work?", question, QMessageBox.Yes | QMessageBox.No,
            QMessageBox.Yes,
        )  # fmt: skip
        return answer is True or answer == QMessageBox.Yes


def _close_the_splash() -> None:
    """Close the splash screen before a question asked at start-up (the crash-recovery
    one): window managers keep a splash over other windows, so it could hide the question."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QSplashScreen) and widget.isVisible():
            widget.close()
