"""The stroke history: one row per committed stroke, with show/hide and delete, and a
context menu to change a stroke's strength, show it alone or delete it.

:class:`StrokeModel` holds the document's strokes and tells its view only which rows
changed; the rows are painted by :class:`~ganpaint.app.views.stroke_rows.StrokeDelegate`.
:class:`StrokeList` says which row the mouse is over (the canvas spotlights that stroke).
Every command is one undo step on the :class:`~ganpaint.engine.document.EditDocument`; a
strength slider dragged through many values is one step too. Undo, redo and reset are the
window's actions, so their shortcuts and enabled state are shared.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QSlider,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from ganpaint.app.state.concepts import concept_style
from ganpaint.app.views import theme
from ganpaint.app.views.stroke_rows import (
    STROKE_ROLE,
    StrokeDelegate,
    row_rects,
    stroke_detail,
    stroke_title,
)
from ganpaint.engine.document import EditDocument, Stroke


class StrokeModel(QAbstractListModel):
    """The strokes as a list model; :meth:`set_strokes` signals only the rows that changed
    (strokes are immutable: the same object is the same row)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.strokes: tuple[Stroke, ...] = ()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.strokes)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.strokes):
            return None
        stroke = self.strokes[index.row()]
        if role == Qt.DisplayRole:
            return stroke_title(index.row(), stroke)
        if role == Qt.AccessibleDescriptionRole:
            return stroke_detail(stroke) + ("" if stroke.visible else " · hidden")
        if role == STROKE_ROLE:
            return stroke
        return None

    def set_strokes(self, strokes: tuple[Stroke, ...]) -> None:
        old = self.strokes
        first = 0
        for a, b in zip(old, strokes, strict=False):
            if a is not b:
                break
            first += 1
        common = min(len(old), len(strokes))
        if len(old) == len(strokes):
            if first == common:
                return
            last = common - 1
            while old[last] is strokes[last]:
                last -= 1
            self.strokes = strokes
            self.dataChanged.emit(self.index(first), self.index(last))
            return
        if len(old) > common:
            self.beginRemoveRows(QModelIndex(), common, len(old) - 1)
            self.strokes = strokes
            self.endRemoveRows()
        else:
            self.beginInsertRows(QModelIndex(), common, len(strokes) - 1)
            self.strokes = strokes
            self.endInsertRows()
        if first < common:  # a stroke removed in the middle: the rest are numbered again
            self.dataChanged.emit(self.index(first), self.index(common - 1))

    def reset(self, strokes: tuple[Stroke, ...]) -> None:
        self.beginResetModel()
        self.strokes = strokes
        self.endResetModel()


MOVES = (Qt.Key_Up, Qt.Key_Down, Qt.Key_Home, Qt.Key_End, Qt.Key_PageUp, Qt.Key_PageDown)


class StrokeList(QListView):
    """The list, remembering where the mouse is so that the button under it lights up, and
    saying which row it is over (``hovered``: the row, -1 for none)."""

    hovered = Signal(int)
    rowKey = Signal(int, str)  # row, "eye" or "delete": a key pressed on the current row

    def __init__(self, parent=None):
        super().__init__(parent)
        self.hover: QPoint | None = None
        self.setMouseTracking(True)

    def hovered_row(self) -> int:
        """The row under the mouse; with none, the current row while the list has focus."""
        if self.hover is not None:
            return self.indexAt(self.hover).row()
        return self.currentIndex().row() if self.hasFocus() else -1

    def currentChanged(self, current, previous) -> None:  # noqa: N802 - Qt's name
        super().currentChanged(current, previous)
        if self.hasFocus():
            self.tell_hovered()

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.currentIndex().isValid() and self.model().rowCount():  # the newest
            self.setCurrentIndex(self.model().index(self.model().rowCount() - 1))  # (Qt: first)
        super().focusInEvent(event)
        self.tell_hovered()

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        self.tell_hovered()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Return shows or hides the current stroke, Delete deletes it, the menu key (or
        Shift+F10) opens its menu; arrows, Home and End move between rows."""
        row, key = self.currentIndex().row(), event.key()
        shift = bool(event.modifiers() & Qt.ShiftModifier)
        if row >= 0 and key in (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Delete, Qt.Key_Backspace):
            self.rowKey.emit(row, "eye" if key in (Qt.Key_Return, Qt.Key_Enter) else "delete")
        elif row >= 0 and (key == Qt.Key_Menu or (key == Qt.Key_F10 and shift)):
            self.customContextMenuRequested.emit(self.visualRect(self.currentIndex()).center())
        elif key in MOVES:
            super().keyPressEvent(event)
        else:
            event.ignore()  # letters stay the window's shortcuts (no search by typing)

    def tell_hovered(self) -> None:
        self.hovered.emit(self.hovered_row())

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt's name
        super().scrollContentsBy(dx, dy)
        if self.hover is not None:  # another row is under the mouse now
            self.tell_hovered()

    def _update_row_at(self, pos: QPoint | None) -> None:
        if pos is not None:
            index = self.indexAt(pos)
            if index.isValid():
                self.viewport().update(self.visualRect(index))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        old, self.hover = self.hover, event.position().toPoint()
        self._update_row_at(old)
        self._update_row_at(self.hover)
        if old is None or self.indexAt(old).row() != self.hovered_row():
            self.tell_hovered()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().mouseReleaseEvent(event)
        self.itemDelegate().release()  # a press let go off its button, or off the rows

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        old, self.hover = self.hover, None
        self._update_row_at(old)
        if old is not None:
            self.tell_hovered()
        super().leaveEvent(event)


class StrengthAction(QWidgetAction):
    """A menu line with a strength slider (0-100 %) and its value; ``changed(float)`` as it
    moves."""

    changed = Signal(float)

    def __init__(self, parent: QWidget, strength: float):
        super().__init__(parent)
        line = QWidget()
        row = QHBoxLayout(line)
        row.setContentsMargins(12, 4, 12, 4)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("strokeStrength")
        self.slider.setRange(0, 100)
        self.slider.setPageStep(10)
        self.slider.setValue(round(strength * 100))
        self.slider.setMinimumWidth(140)
        self.slider.setToolTip("How far the stroke drives its units (undone as one step)")
        value = QLabel(f"{self.slider.value()} %")
        value.setMinimumWidth(value.fontMetrics().horizontalAdvance("100 %"))
        row.addWidget(QLabel("Strength"))
        row.addWidget(self.slider, 1)
        row.addWidget(value)
        self.slider.valueChanged.connect(lambda v: value.setText(f"{v} %"))
        self.slider.valueChanged.connect(lambda v: self.changed.emit(v / 100.0))
        self.setDefaultWidget(line)


class HistoryPanel(QWidget):
    """The rows and the undo, redo and reset buttons. ``strokeHovered`` gives the row under
    the mouse (-1 for none) whenever it or the stroke in it changes: the canvas shows where
    that stroke is."""

    strokeHovered = Signal(int)

    def __init__(self, document: EditDocument, actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.document = document
        # (group, icon, colour) of a concept name; the window adds its custom concepts' icons.
        self.style_of: Callable[[str], tuple[str, str, str]] = concept_style
        self.model = StrokeModel(self)
        self.list = StrokeList()
        self.list.setObjectName("strokeList")
        self.list.setModel(self.model)
        self.delegate = StrokeDelegate(self)
        self.list.setItemDelegate(self.delegate)
        self.list.hovered.connect(self.strokeHovered)
        self.list.rowKey.connect(self.delegate.act)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.menu: QMenu | None = None  # the open context menu, if any
        self.list.setSelectionMode(QAbstractItemView.NoSelection)
        self.list.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.list.setFocusPolicy(Qt.TabFocus)  # a click on a button leaves the canvas focused
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
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
        document.subscribe(self._changed)
        self.rebuild()

    def _changed(self, kind: str) -> None:
        if kind == "strokes":
            self.update_rows()
        elif kind == "loaded":
            self.rebuild()

    def rebuild(self) -> None:
        """Every row afresh (another document, or the concepts' icons changed)."""
        self.delegate.forget_thumbnails()
        self.model.reset(self.document.strokes)
        self.stack.setCurrentIndex(1 if self.document.strokes else 0)
        self.list.tell_hovered()

    def update_rows(self) -> None:
        """Signal the rows that changed; show the newest when a stroke was added (a hidden
        or deleted one keeps the list where it is)."""
        strokes = self.document.strokes
        added = len(strokes) > len(self.model.strokes)
        self.model.set_strokes(strokes)
        self.delegate.forget_thumbnails(strokes)
        if added:
            self.list.scrollToBottom()
        self.stack.setCurrentIndex(1 if strokes else 0)
        if self.list.hover is not None or self.list.hasFocus():  # the row under the mouse,
            self.list.tell_hovered()  # or the keyboard's, may hold another stroke now

    def _context_menu(self, pos: QPoint) -> None:
        row = self.list.indexAt(pos).row()
        if row >= 0:
            self.menu = self.row_menu(row)
            self.menu.popup(self.list.viewport().mapToGlobal(pos))

    def row_menu(self, row: int) -> QMenu:
        """Stroke ``row``'s menu: its strength (a slider that paints as it moves, undone as
        one step), show or hide it, show it alone or every stroke, delete it."""
        doc, stroke = self.document, self.document.strokes[row]
        menu = QMenu(self)
        menu.setAttribute(Qt.WA_DeleteOnClose, True)

        def act(command: Callable[..., None]) -> Callable[..., None]:
            def run(*args) -> None:
                if row < len(doc.strokes) and doc.strokes[row].mask is stroke.mask:
                    command(*args)  # the same stroke (edited maybe), not one moved up

            return run

        strength = StrengthAction(menu, stroke.strength)
        strength.changed.connect(act(lambda v: doc.set_strength(row, v, merge=True)))
        menu.addAction(strength)
        menu.addSeparator()
        verb = "Hide" if stroke.visible else "Show"
        menu.addAction(f"{verb} This Stroke", act(lambda: doc.set_visible(row, not stroke.visible)))
        alone = menu.addAction("Show Only This Stroke", act(lambda: doc.show_only(row)))
        others = [s.visible for i, s in enumerate(doc.strokes) if i != row]
        alone.setEnabled(any(others) or not stroke.visible)
        every = menu.addAction("Show All Strokes", act(lambda: doc.show_only(None)))
        every.setEnabled(not all(s.visible for s in doc.strokes))
        menu.addSeparator()
        menu.addAction(theme.icon("mdi.delete-outline"), "Delete Stroke",
                       act(lambda: doc.remove_stroke(row)))  # fmt: skip
        return menu

    def part_rect(self, row: int, part: str) -> QRect:
        """Where row ``row``'s part (``eye``, ``delete``, ``thumb``, ``badge``, ``text``)
        is in the list's viewport."""
        return getattr(row_rects(self.list.visualRect(self.model.index(row))), part)
