"""The History panel's rows, painted: :class:`StrokeDelegate` draws a stroke's row (badge,
title, units, a thumbnail of its mask, an eye and a bin button) and turns clicks on the two
buttons into calls on the document, each a single undo step; :func:`row_rects` says where
each part lies. The rows are painted, not built of widgets: Qt placed every row widget of
a list again as a stroke was added, and the release of stroke 300 took 115 ms of the GUI
thread with them, 30 ms without (``python -m ganpaint.devtools.save_time --strokes 300``)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QToolTip

from ganpaint.app.state.tool import CUSTOM
from ganpaint.app.views import theme
from ganpaint.app.views.imaging import qimage_rgba
from ganpaint.engine.document import Stroke

if TYPE_CHECKING:
    from ganpaint.app.views.history_panel import HistoryPanel

STROKE_ROLE = Qt.UserRole + 1
BADGE, THUMB, BUTTON, ICON = 26, 30, 28, 16  # sides, px
MARGINS = (6, 3, 4, 3)  # left, top, right, bottom
GAP = 6
TOOLTIP_WIDTH = 60  # characters a line of the units' tooltip
BUTTONS = ("eye", "delete")
HOVER, HOVER_EDGE, PRESSED = QColor("#2c3037"), QColor("#3a3f47"), QColor("#23272d")
CHECKED, CHECKED_EDGE = QColor("#24364f"), QColor("#3b5f91")
ROW_HOVER, SEPARATOR, DISABLED_TEXT = QColor("#23262b"), QColor("#24272c"), QColor("#5c616b")


def mask_thumbnail(stroke: Stroke, color: str, size: int = THUMB) -> QPixmap:
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


def stroke_title(index: int, stroke: Stroke) -> str:
    verb = "Draw" if stroke.action == "draw" else "Remove"
    return f"{index + 1}. {verb} {stroke.concept}"


def stroke_detail(stroke: Stroke) -> str:
    strength = "" if stroke.strength == 1.0 else f" · {round(stroke.strength * 100)} %"
    return f"{len(stroke.units)} units{strength} · {stroke.layer}"


def units_tooltip(stroke: Stroke) -> str:
    """The stroke's units (a few lines, however many) and settings."""
    units = textwrap.fill(f"Units {', '.join(map(str, stroke.units))}", TOOLTIP_WIDTH)
    return f"{units}\nstrength {stroke.strength:.2f}, insert level q={stroke.quantile:.3f}"


class RowRects(NamedTuple):
    """Where a row's parts lie, in the list's viewport."""

    badge: QRect
    text: QRect
    thumb: QRect
    eye: QRect
    delete: QRect

    def part_at(self, pos: QPoint) -> str | None:
        for name in ("eye", "delete", "thumb", "badge", "text"):
            if getattr(self, name).contains(pos):
                return name
        return None


def row_rects(row: QRect) -> RowRects:
    left, top, right, bottom = MARGINS
    inner = row.adjusted(left, top, -right, -bottom)
    cy = inner.center().y()

    def square(x: int, side: int) -> QRect:
        return QRect(x, cy - side // 2 + (1 - side % 2), side, side)

    delete = square(inner.right() + 1 - BUTTON, BUTTON)
    eye = square(delete.left() - GAP - BUTTON, BUTTON)
    thumb = square(eye.left() - GAP - THUMB, THUMB)
    badge = square(inner.left(), BADGE)
    text = QRect(badge.right() + 1 + GAP, inner.top(), 0, inner.height())
    text.setRight(thumb.left() - GAP - 1)
    return RowRects(badge, text, thumb, eye, delete)


class StrokeDelegate(QStyledItemDelegate):
    """Paints a stroke's row and runs its eye (show/hide) and bin (delete) buttons."""

    def __init__(self, panel: HistoryPanel):
        super().__init__(panel)
        self.panel = panel
        self._thumbs: dict[int, tuple[Stroke, QPixmap]] = {}  # id(stroke) -> its thumbnail
        self._grey_badges: dict[tuple[str, str], QPixmap] = {}
        self._pressed: tuple[QPersistentModelIndex, str] | None = None  # row, button

    def forget_thumbnails(self, keep: tuple[Stroke, ...] = ()) -> None:
        """Drop the cached thumbnails of strokes no longer shown (all, by default)."""
        ids = {id(s) for s in keep}
        self._thumbs = {k: v for k, v in self._thumbs.items() if k in ids}
        if not keep:
            self._grey_badges.clear()

    def _look(self, stroke: Stroke) -> tuple[str, str]:
        _, icon_name, color = self.panel.style_of(stroke.concept)
        if stroke.concept == CUSTOM:
            icon_name, color = "mdi.grid", theme.ACCENT
        return icon_name, color

    def _pixmaps(self, stroke: Stroke) -> tuple[QPixmap, QPixmap]:
        """The badge and the mask thumbnail, greyed for a hidden stroke (cached)."""
        icon_name, color = self._look(stroke)
        badge = theme.concept_pixmap(icon_name, color, BADGE)
        if not stroke.visible:
            if (icon_name, color) not in self._grey_badges:
                self._grey_badges[icon_name, color] = self._disabled(badge)
            badge = self._grey_badges[icon_name, color]
        cached = self._thumbs.get(id(stroke))
        if cached is None or cached[0] is not stroke:
            thumb = mask_thumbnail(stroke, color if stroke.action == "draw" else theme.REMOVE)
            if not stroke.visible:
                thumb = self._disabled(thumb)
            cached = self._thumbs[id(stroke)] = (stroke, thumb)
        return badge, cached[1]

    def _disabled(self, pixmap: QPixmap) -> QPixmap:
        opt = QStyleOptionViewItem()
        opt.initFrom(self.panel.list)
        return self.panel.list.style().generatedIconPixmap(QIcon.Disabled, pixmap, opt)

    @staticmethod
    def _title_font(option: QStyleOptionViewItem) -> tuple[QFont, QFontMetrics]:
        bold = QFont(option.font)
        bold.setBold(True)
        return bold, QFontMetrics(bold)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        text = self._title_font(option)[1].lineSpacing() + option.fontMetrics.lineSpacing()
        return QSize(0, max(BUTTON, THUMB, text) + MARGINS[1] + MARGINS[3] + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        stroke: Stroke = index.data(STROKE_ROLE)
        if stroke is None:
            return
        r = row_rects(option.rect)
        hover = self.panel.list.hover
        over = hover is not None and option.rect.contains(hover)
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing)
        if over:
            painter.fillRect(option.rect, ROW_HOVER)
        painter.setPen(SEPARATOR)
        painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())
        badge, thumb = self._pixmaps(stroke)
        painter.drawPixmap(r.badge, badge)
        painter.drawPixmap(r.thumb, thumb)
        title_font, fm_title = self._title_font(option)
        title_h = fm_title.lineSpacing()
        text_h = title_h + option.fontMetrics.lineSpacing()
        top = r.text.top() + (r.text.height() - text_h) // 2
        title_rect = QRect(r.text.left(), top, r.text.width(), title_h)
        detail_rect = QRect(r.text.left(), top + title_h, r.text.width(), text_h - title_h)
        painter.setFont(title_font)
        painter.setPen(QColor(theme.TEXT) if stroke.visible else DISABLED_TEXT)
        title = stroke_title(index.row(), stroke)
        painter.drawText(
            title_rect,
            Qt.AlignLeft | Qt.AlignVCenter,
            fm_title.elidedText(title, Qt.ElideRight, r.text.width()),
        )
        painter.setFont(option.font)
        painter.setPen(QColor(theme.TEXT_DIM) if stroke.visible else DISABLED_TEXT)
        detail = option.fontMetrics.elidedText(stroke_detail(stroke), Qt.ElideRight, r.text.width())
        painter.drawText(detail_rect, Qt.AlignLeft | Qt.AlignVCenter, detail)
        for name in BUTTONS:
            self._paint_button(painter, index, name, getattr(r, name), stroke, hover)
        if option.state & QStyle.State_HasFocus and self.panel.list.hasFocus():
            painter.setPen(QColor(theme.ACCENT))  # the keyboard's row
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(QRectF(option.rect).adjusted(1.5, 1.5, -1.5, -1.5), 4, 4)
        painter.restore()

    def _paint_button(
        self,
        painter: QPainter,
        index: QModelIndex,
        name: str,
        rect: QRect,
        stroke: Stroke,
        hover: QPoint | None,
    ) -> None:
        checked = name == "eye" and stroke.visible
        pressed = (
            self._pressed is not None and self._pressed[0] == index and (self._pressed[1] == name)
        )
        fill = edge = None
        if pressed:
            fill, edge = PRESSED, HOVER_EDGE
        elif checked:
            fill, edge = CHECKED, CHECKED_EDGE
        elif hover is not None and rect.contains(hover):
            fill, edge = HOVER, HOVER_EDGE
        if fill is not None:
            painter.setPen(edge)
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        if name == "eye":
            icon = theme.icon("mdi.eye" if stroke.visible else "mdi.eye-off")
        else:
            icon = theme.icon("mdi.delete-outline")
        glyph = QRect(0, 0, ICON, ICON)
        glyph.moveCenter(rect.center())
        icon.paint(painter, glyph, Qt.AlignCenter, QIcon.Normal, QIcon.On if checked else QIcon.Off)

    def editorEvent(self, event, model, option, index) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind not in (
            QEvent.MouseButtonPress,
            QEvent.MouseButtonDblClick,
            QEvent.MouseButtonRelease,
        ):
            return False
        if event.button() != Qt.LeftButton:
            return False
        part = row_rects(option.rect).part_at(event.position().toPoint())
        if kind == QEvent.MouseButtonRelease:
            pressed = self._pressed
            self.release()
            if pressed is None:
                return False
            if pressed[0] == index and pressed[1] == part:
                self.act(index.row(), part)
            return True
        if part not in BUTTONS:
            return False
        # A double click's first click acted; its second press is not another, as with
        # Qt's own check boxes in lists (the view keeps that release from the delegate).
        if kind == QEvent.MouseButtonDblClick:
            return True
        self._pressed = (QPersistentModelIndex(index), part)
        self.panel.list.viewport().update(option.rect)
        return True

    def release(self) -> None:
        """Forget the pressed button, if any, and draw it up again."""
        pressed, self._pressed = self._pressed, None
        if pressed is not None and pressed[0].isValid():
            self.panel.list.viewport().update(self.panel.list.visualRect(QModelIndex(pressed[0])))

    def act(self, row: int, part: str) -> None:
        """What row ``row``'s button ``part`` ("eye" or "delete") does."""
        doc = self.panel.document
        if part == "eye":
            doc.set_visible(row, not doc.strokes[row].visible)
        else:
            doc.remove_stroke(row)

    def tooltip(self, stroke: Stroke, row: int, part: str | None) -> str:
        if part == "eye":
            return "Hide this stroke" if stroke.visible else "Show this stroke"
        if part == "delete":
            return "Delete this stroke (can be undone)"
        if part == "thumb":
            return "Where the stroke was painted"
        if part == "text":
            return f"{stroke_title(row, stroke)}\n{units_tooltip(stroke)}"
        if part == "badge":
            return stroke_title(row, stroke)
        return ""

    def helpEvent(self, event, view, option, index) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        r = row_rects(option.rect)
        part = r.part_at(event.pos())
        text = self.tooltip(index.data(STROKE_ROLE), index.row(), part)
        if not text:
            QToolTip.hideText()
            return True
        QToolTip.showText(event.globalPos(), text, view.viewport(), getattr(r, part))
        return True
