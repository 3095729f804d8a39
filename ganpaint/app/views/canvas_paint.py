"""What the paint canvas draws besides the frame and its overlays: the brush outline and
the backdrop with the image's soft shadow (pixmaps made once per size, colour and screen:
anti-aliased circles and rounded rectangles are slow to draw at every mouse event), the
badges over the image, the placeholder text, and split compare (the unedited image left of
a divider the user drags, the edit right of it).
"""

from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap

from ganpaint.app.views import theme

BACKGROUND = "#141518"
EDITED = "Edited"  # the split's right badge
SPLIT_GRAB = 10  # px either side of the divider that drag it, not paint


@lru_cache(maxsize=16)
def brush_outline(radius: float, rgba: int, dpr: float) -> QPixmap:
    """A ring of ``radius`` (widget pixels) in the brush colour ``rgba`` on a dark halo,
    with a small cross at its centre, on a transparent square."""
    side = 2 * math.ceil(radius + 3)
    pixmap = QPixmap(round(side * dpr), round(side * dpr))
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(Qt.transparent)
    c = QPointF(side / 2, side / 2)
    q = QPainter(pixmap)
    q.setRenderHint(QPainter.Antialiasing, True)
    q.setBrush(Qt.NoBrush)
    q.setPen(QPen(QColor(0, 0, 0, 160), 3.0))
    q.drawEllipse(c, radius, radius)
    q.setPen(QPen(QColor.fromRgba(rgba), 1.5))
    q.drawEllipse(c, radius, radius)
    q.setPen(QPen(QColor(255, 255, 255, 200), 1.0))
    q.drawLine(c - QPointF(3, 0), c + QPointF(3, 0))
    q.drawLine(c - QPointF(0, 3), c + QPointF(0, 3))
    q.end()
    return pixmap


def backdrop(size: QSize, image: QRectF, dpr: float) -> QPixmap:
    """The canvas background of ``size`` with a soft shadow under ``image``."""
    pixmap = QPixmap(size * dpr)
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(QColor(BACKGROUND))
    q = QPainter(pixmap)
    q.setRenderHint(QPainter.Antialiasing, True)
    q.setPen(Qt.NoPen)
    for i, alpha in enumerate((40, 24, 12)):
        q.setBrush(QColor(0, 0, 0, alpha))
        q.drawRoundedRect(image.adjusted(-2 - 2 * i, -1 - 2 * i, 2 + 2 * i, 4 + 2 * i), 6, 6)
    q.end()
    return pixmap


def _badge_font(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setPointSizeF(max(bold.pointSizeF(), 9.0))
    bold.setBold(True)
    return bold


def badge_width(font: QFont, text: str) -> float:
    return QFontMetrics(_badge_font(font)).horizontalAdvance(text) + 20


def paint_badge(p: QPainter, font: QFont, x: float, y: float, text: str) -> None:
    """A rounded dark label with ``text`` (bold, at least 9 pt) whose top left is (x, y)."""
    p.setFont(_badge_font(font))
    box = QRectF(x, y, badge_width(font, text), 26)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(20, 22, 26, 200))
    p.drawRoundedRect(box, 13, 13)
    p.setPen(QColor(theme.TEXT))
    p.drawText(box, Qt.AlignCenter, text)


def paint_placeholder(p: QPainter, font: QFont, width: int, height: int, title: str, text: str):
    """A title and a paragraph in the middle of a canvas ``width`` x ``height`` with no image."""
    column = min(width - 80, 560)
    left, middle = (width - column) / 2, height / 2
    big = QFont(font)
    big.setPointSizeF(big.pointSizeF() * 1.6)
    big.setBold(True)
    p.setFont(big)
    p.setPen(QColor(theme.TEXT))
    p.drawText(QRectF(left, middle - 110, column, 40), Qt.AlignCenter, title)
    p.setFont(font)
    p.setPen(QColor(theme.TEXT_DIM))
    p.drawText(QRectF(left, middle - 62, column, 100), Qt.AlignHCenter | Qt.TextWordWrap, text)


def divider_x(image: QRectF, split: float) -> float:
    """The split divider's x in the widget, for ``split`` (0..1 of the image's width)."""
    return image.left() + split * image.width()


def paint_split(p: QPainter, image: QRectF, plain: QImage, split: float) -> None:
    """The unedited frame over the left ``split`` (0..1) of ``image``, where the edit is."""
    x = divider_x(image, split)
    if x > image.left():
        p.save()
        p.setClipRect(QRectF(image.left(), image.top(), x - image.left(), image.height()))
        p.drawImage(image, plain)
        p.restore()


def paint_divider(p: QPainter, image: QRectF, split: float, font: QFont, plain_label: str):
    """Split compare's divider with a round handle, and a badge on each side."""
    x = divider_x(image, split)
    p.setRenderHint(QPainter.Antialiasing, True)
    p.setPen(QPen(QColor(0, 0, 0, 110), 4.0))
    p.drawLine(QPointF(x, image.top()), QPointF(x, image.bottom()))
    p.setPen(QPen(QColor(255, 255, 255, 230), 2.0))
    p.drawLine(QPointF(x, image.top()), QPointF(x, image.bottom()))
    handle = QPointF(x, image.center().y())
    p.setBrush(QColor(20, 22, 26, 220))
    p.drawEllipse(handle, 13.0, 13.0)
    for sign in (-1, 1):  # two small arrow heads: drag me sideways
        tip = handle + QPointF(8 * sign, 0)
        p.drawLine(tip, tip + QPointF(-4 * sign, -4))
        p.drawLine(tip, tip + QPointF(-4 * sign, 4))
    if x - image.left() > badge_width(font, plain_label) + 20:
        paint_badge(p, font, image.left() + 10, image.top() + 10, plain_label)
    if image.right() - x > badge_width(font, EDITED) + 20:
        paint_badge(p, font, image.right() - 10 - badge_width(font, EDITED), image.top() + 10,
                    EDITED)  # fmt: skip
