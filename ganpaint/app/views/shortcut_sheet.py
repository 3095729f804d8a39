"""Help → Keyboard Shortcuts: every action that has a shortcut, by menu, then what the mouse
and held keys do on the canvas. Built from the action table, so it cannot drift from it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.views.actions import ACTIONS, GESTURES, HISTORY_KEYS, MENUS, shortcut_text
from ganpaint.app.views.window_placement import fit_screen


def shortcut_rows() -> list[tuple[str, str, str]]:
    """(section, what, keys) for each action with a shortcut, in menu order (an action in
    two menus is listed under the first), then gestures, then the History list's keys."""
    by_id = {spec.id: spec for spec in ACTIONS}
    rows = []
    listed: set[str] = set()
    for title, items in MENUS:
        section = title.replace("&", "")
        for key in items:
            spec = by_id.get(key)
            keys = shortcut_text(spec) if spec is not None and key not in listed else ""
            listed.add(key)
            if keys:
                rows.append((section, spec.text.replace("&", "").rstrip("…"), keys))
    rows += [("Canvas", what, keys) for what, keys in GESTURES]
    rows += [("History", what, keys) for what, keys in HISTORY_KEYS]
    return rows


class ShortcutSheet(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("shortcutSheet")
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows()
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["", "Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        previous = None
        for r, (section, what, keys) in enumerate(rows):
            shown = section if section != previous else ""
            previous = section
            for c, text in enumerate((shown, what, keys)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(fit_screen(QSize(560, 720), screen))
