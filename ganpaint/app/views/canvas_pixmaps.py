"""Pixmaps the paint canvas draws often and makes seldom: the brush outline and the
backdrop with the image's soft shadow. Each is made once per size, colour and screen
(anti-aliased circles and rounded rectangles are slow to draw at every mouse event)."""

from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

BACKGROUND = "#141518"


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
