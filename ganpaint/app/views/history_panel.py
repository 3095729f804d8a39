"""The stroke history: one row per committed stroke, with show/hide and delete.

The panel listens to the :class:`~ganpaint.engine.document.EditDocument` and rebuilds its
rows from the first stroke that changed on; its buttons call the document (each a single
undo step). Undo, redo and reset are the window's actions, so their shortcuts and enabled
state are shared.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.state.concepts import concept_style
from ganpaint.app.state.tool import CUSTOM
from ganpaint.app.views import theme
from ganpaint.app.views.elided_label import ElidedLabel
from ganpaint.app.views.imaging import qimage_rgba
from ganpaint.engine.document import EditDocument, Stroke


def mask_thumbnail(stroke: Stroke, color: str, size: int = 30) -> QPixmap:
    m = stroke.mask.astype(np.float32) / 255.0
    rgba = np.zeros(m.shape + (4,), dtype=np.uint8)
    c = QColor(color)
    rgba[..., 0] = 40 + (c.red() - 40) * m
    rgba[..., 1] = 43 + (c.green() - 43) * m
    rgba[..., 2] = 48 + (c.blue() - 48) * m
    rgba[..., 3] = 255
    pm = QPixmap.fromImage(qimage_rgba(rgba)).scaled(
        size * 2, size * 2, Qt.IgnoreAspectRatio, Qt.SmoothTransformation
    )
    pm.setDevicePixelRatio(2.0)
    return pm


class StrokeRow(QWidget):
    def __init__(self, panel: HistoryPanel, index: int, stroke: Stroke):
        super().__init__()
        self.setObjectName("strokeRow")
        name = stroke.concept
        _, icon_name, color = panel.style_of(name)
        if name == CUSTOM:
            icon_name, color = "mdi.grid", theme.ACCENT
        badge = QLabel()
        badge.setPixmap(theme.concept_pixmap(icon_name, color, 26))
        verb = "Draw" if stroke.action == "draw" else "Remove"
        title = ElidedLabel(f"{index + 1}. {verb} {name}", bold=True)
        detail = ElidedLabel(f"{len(stroke.units)} units · {stroke.layer}")
        detail.setToolTip(
            f"Units {', '.join(map(str, stroke.units))}\nstrength {stroke.strength:.2f}, "
            f"insert level q={stroke.quantile:.3f}"
        )
        detail.setObjectName("dim")
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(title)
        text.addWidget(detail)
        thumb = QLabel()
        thumb.setPixmap(mask_thumbnail(stroke, color if stroke.action == "draw" else theme.REMOVE))
        thumb.setToolTip("Where the stroke was painted")
        self.eye = QToolButton()
        self.eye.setObjectName("strokeVisible")
        self.eye.setCheckable(True)
        self.eye.setChecked(stroke.visible)
        self.eye.setIcon(theme.icon("mdi.eye" if stroke.visible else "mdi.eye-off"))
        self.eye.setToolTip("Hide this stroke" if stroke.visible else "Show this stroke")
        # Deferred: the change rebuilds the rows, and this button must not be deleted
        # while it is still emitting.
        self.eye.toggled.connect(
            lambda on: QTimer.singleShot(0, lambda: panel.document.set_visible(index, on))
        )
        self.delete = QToolButton()
        self.delete.setObjectName("strokeDelete")
        self.delete.setIcon(theme.icon("mdi.delete-outline"))
        self.delete.setToolTip("Delete this stroke (can be undone)")
        self.delete.clicked.connect(
            lambda: QTimer.singleShot(0, lambda: panel.document.remove_stroke(index))
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 3, 4, 3)
        row.addWidget(badge)
        row.addLayout(text, 1)
        row.addWidget(thumb)
        row.addWidget(self.eye)
        row.addWidget(self.delete)
        if not stroke.visible:
            for w in (badge, title, detail, thumb):
                w.setEnabled(False)


class HistoryPanel(QWidget):
    def __init__(self, document: EditDocument, actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.document = document
        # (group, icon, colour) of a concept name; the window adds its custom concepts' icons.
        self.style_of: Callable[[str], tuple[str, str, str]] = concept_style
        self.list = QListWidget()
        self.list.setObjectName("strokeList")
        self.list.setSelectionMode(QListWidget.NoSelection)
        self.list.setFocusPolicy(Qt.NoFocus)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)  # every row is as tall: no layout of them all
        self.empty = QLabel("No strokes yet.\nPick a concept and paint on the image.")
        self.empty.setObjectName("hint")
        self.empty.setAlignment(Qt.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.list)
        buttons = QHBoxLayout()
        for key in ("edit.undo", "edit.redo", "edit.reset"):
            b = QToolButton()
            b.setDefaultAction(actions[key])
            b.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
            b.setIconSize(QSize(16, 16))
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self._shown: tuple[Stroke, ...] = ()  # the strokes the rows show, in order
        document.subscribe(self._changed)
        self.rebuild()

    def _changed(self, kind: str) -> None:
        if kind == "strokes":
            self.update_rows()
        elif kind == "loaded":
            self.rebuild()

    def rebuild(self) -> None:
        """Every row afresh (another document, or the concepts' icons changed)."""
        self._shown = ()
        self.list.clear()
        self.update_rows()

    def update_rows(self) -> None:
        """Rows from the first stroke that changed on: a stroke added, undone or redone at
        the end touches one row (rebuilding every row cost 0.4 s of the GUI thread at each
        release once 60 strokes were painted)."""
        strokes = self.document.strokes
        same = 0  # strokes are immutable: the same object is the same row
        for old, new in zip(self._shown, strokes, strict=False):
            if old is not new:
                break
            same += 1
        while self.list.count() > same:
            self.list.takeItem(self.list.count() - 1)  # its row widget goes with it
        for i in range(same, len(strokes)):
            item = QListWidgetItem()
            row = StrokeRow(self, i, strokes[i])
            item.setSizeHint(QSize(0, row.sizeHint().height()))
            self.list.addItem(item)
            self.list.setItemWidget(item, row)
        if len(strokes) > len(self._shown):  # a stroke added: show it (a hidden one: stay)
            self.list.scrollToBottom()
        self._shown = strokes
        self.stack.setCurrentIndex(1 if strokes else 0)

    def row(self, index: int) -> StrokeRow:
        return self.list.itemWidget(self.list.item(index))
