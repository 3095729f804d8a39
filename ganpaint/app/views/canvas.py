"""The paint canvas: shows the frame scaled to the widget and turns the mouse into strokes.

The canvas holds no edit state. It is given images (the edited frame, the unedited frame
for compare, the stroke-mask overlay, a unit heatmap, the spotlight on one stroke) and
reports brush input as image coordinates through signals: ``strokeStarted(x, y,
secondary, pressure)``, ``strokeMoved(x, y, pressure)``, ``strokeFinished()``; a tablet
pen's pressure comes with them (1 from a mouse), and its eraser end counts as the secondary
button. The brush cursor is a circle drawn at the mouse position, sized from the brush
radius in image pixels times the current display scale.

The view can be zoomed (the mouse wheel, about the cursor) and panned (drag with the middle
button); :meth:`fit_to_window` goes back to the whole image. Ctrl+wheel asks the window to
resize the brush instead (``brushResize``).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QImage,
    QPainter,
    QPixmap,
    QPointingDevice,
    QRegion,
)
from PySide6.QtWidgets import QSizePolicy, QToolButton, QWidget

from ganpaint.app.views import theme
from ganpaint.app.views.canvas_paint import (
    BACKGROUND,
    SPLIT_GRAB,
    backdrop,
    brush_outline,
    divider_x,
    paint_badge,
    paint_divider,
    paint_placeholder,
    paint_split,
)

MARGIN = 14
ZOOM_RANGE = (0.5, 16.0)  # of the fitted size: enough to inspect single pixels of 256 px
WHEEL_ZOOM = 1.25  # per wheel notch (120 eighths of a degree)


def fit_rect(avail: QRectF, size: QSize) -> QRectF:
    """The largest rect of ``size``'s aspect that fits in ``avail``, centred (empty for an
    empty size)."""
    w, h = size.width(), size.height()
    if w <= 0 or h <= 0:
        return QRectF()
    scale = max(min(avail.width() / w, avail.height() / h), 1e-6)
    dw, dh = w * scale, h * scale
    return QRectF(avail.center().x() - dw / 2, avail.center().y() - dh / 2, dw, dh)


class PaintCanvas(QWidget):
    # x, y in image pixels; the secondary button (or a pen's eraser); the pen's pressure 0..1
    # (a mouse gives 1)
    strokeStarted = Signal(float, float, bool, float)
    strokeMoved = Signal(float, float, float)  # x, y, pressure
    strokeFinished = Signal()
    brushResize = Signal(int)  # wheel steps with Ctrl held
    viewChanged = Signal(float)  # the zoom, 1.0 = fitted to the window
    margin = MARGIN  # around the image, in widget pixels

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(240, 240)
        self.setAttribute(Qt.WA_OpaquePaintEvent, True)
        self.image: QImage | None = None
        self.plain: QImage | None = None
        self.plain_label = "Unedited"  # the compare badge ("Your picture" for a picture)
        self.overlay: QImage | None = None
        self.live: QImage | None = None
        self.heat: QImage | None = None
        self.spotlight: QImage | None = None  # darkens all but one stroke (History hover)
        self.compare = False
        self.split: float | None = None  # split compare's divider, 0..1 of the image width
        self._split_drag = False
        self.show_overlay = False
        self.show_heat = True
        self.smooth = True
        self.painting_enabled = True
        self.image_size = QSize(0, 0)
        self.brush_radius = 8.0  # image pixels
        self.brush_color = QColor(theme.ACCENT)
        self._backdrop: tuple[tuple, QPixmap] | None = None
        self._cursor: QPointF | None = None
        self._stroke = False
        self._placeholder = ("", "")
        self.zoom = 1.0  # of the fitted size
        self._pan = QPointF(0.0, 0.0)  # offset of the image centre from the fitted one
        self._pan_from: QPointF | None = None  # mouse position while the middle button pans
        self._open_button = QToolButton(self)
        self._open_button.setObjectName("placeholderButton")
        self._open_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self._open_button.hide()

    # -- state set by the window ---------------------------------------------------------

    def set_image(
        self, image: QImage | None, dirty: tuple[int, int, int, int] | None = None
    ) -> None:
        """Show ``image``; ``dirty`` (x, y, width, height in image pixels) is the only part
        that differs from the image shown before (None: all of it)."""
        same_size = self.image is not None and image is not None and image.size() == self.image_size
        self.image = image
        if image is not None:
            self.image_size = image.size()
            self._placeholder = ("", "")
            self._open_button.hide()
        if same_size:  # only the image changed, not the backdrop around it
            self._update_image(dirty)
            return
        self.update()

    def _update_image(self, dirty: tuple[int, int, int, int] | None = None) -> None:
        """Repaint the image's area: the box ``dirty`` (image pixels), or all of it."""
        if dirty is None:
            self.update(self.image_rect().toAlignedRect())
        elif dirty[2] > 0 and dirty[3] > 0:
            self.update(self._widget_rect(*dirty))

    def _widget_rect(self, x: int, y: int, w: int, h: int) -> QRect:
        """Image pixels (x, y, w, h) as the widget rectangle they are painted into, with a
        margin for smoothing (a scaled-up image pixel blends into its neighbours' halves)."""
        corners = QRectF(self.from_image(x, y), self.from_image(x + w, y + h))
        m = 2 + (math.ceil(self.scale() / 2) if self.smooth else 0)
        box = corners.normalized().toAlignedRect().adjusted(-m, -m, m, m)
        return box & self.image_rect().toAlignedRect()  # smoothing stays inside the image

    def set_plain(self, image: QImage | None) -> None:
        self.plain = image
        if self.compare:
            self.update()

    def set_overlay(self, image: QImage | None) -> None:
        self.overlay = image
        if self.show_overlay:
            self.update()

    def set_live(
        self, image: QImage | None, dirty: tuple[int, int, int, int] | None = None
    ) -> None:
        """Show ``image`` over the frame while a stroke is drawn; ``dirty`` (x, y, width,
        height in image pixels) is the only part that differs from the overlay shown before
        (None: all of it)."""
        # a new overlay is clear outside ``dirty``; ``dirty`` is in the frame's pixels
        same_size = image is not None and image.size() == self.image_size
        if self.live is not None:
            same_size = same_size and image.size() == self.live.size()
        self.live = image
        if dirty is not None and same_size:
            self._update_image(dirty)
            return
        self.update()

    def set_spotlight(self, image: QImage | None) -> None:
        if image is not None or self.spotlight is not None:
            self.spotlight = image
            self.update()

    def set_heat(self, image: QImage | None) -> None:
        self.heat = image
        self.update()

    def set_flag(self, name: str, value: bool) -> None:
        if name not in ("compare", "show_overlay", "show_heat", "smooth", "painting_enabled"):
            raise AttributeError(name)
        setattr(self, name, bool(value))
        self._update_cursor()
        self.update()

    def set_split(self, split: float | None) -> None:
        """Split compare: the unedited frame left of ``split`` (0..1 of the image's width),
        the edit right of it; the user drags the divider. None: off."""
        self.split = None if split is None else min(max(float(split), 0.0), 1.0)
        self._split_drag = False
        self._update_cursor()
        self.update()

    def _on_divider(self, pos: QPointF | None) -> bool:
        if pos is None or self.split is None or self.image is None or self.compare:
            return False
        r = self.image_rect()
        near = abs(pos.x() - divider_x(r, self.split)) <= SPLIT_GRAB
        return near and r.top() <= pos.y() <= r.bottom()

    def set_brush(self, radius: float, color: str) -> None:
        self.brush_radius = float(radius)
        self.brush_color = QColor(color)
        self.update()

    def set_placeholder(self, title: str, text: str, action: QAction | None = None) -> None:
        """Show a message instead of an image (no model, loading, missing default model)."""
        self.image = self.plain = None
        self._placeholder = (title, text)
        if action is not None:
            self._open_button.setDefaultAction(action)
            self._open_button.show()
            self._place_button()
        else:
            self._open_button.hide()
        self.update()

    # -- geometry ------------------------------------------------------------------------

    def fitted_rect(self) -> QRectF:
        """Where the whole image fits inside the margin, centred (zoom 1, no pan)."""
        m = self.margin
        return fit_rect(QRectF(self.rect()).adjusted(m, m, -m, -m), self.image_size)

    def image_rect(self) -> QRectF:
        """Where the image is drawn: the fitted rect, zoomed and panned."""
        base = self.fitted_rect()
        if self.zoom == 1.0 and self._pan.isNull():
            return base
        w, h = base.width() * self.zoom, base.height() * self.zoom
        c = base.center() + self._pan
        return QRectF(c.x() - w / 2, c.y() - h / 2, w, h)

    def scale(self) -> float:
        r = self.image_rect()
        return r.width() / self.image_size.width() if self.image_size.width() else 1.0

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        r = self.image_rect()
        s = self.scale()
        return (pos.x() - r.left()) / s, (pos.y() - r.top()) / s

    def from_image(self, x: float, y: float) -> QPointF:
        r = self.image_rect()
        s = self.scale()
        return QPointF(r.left() + x * s, r.top() + y * s)

    # -- input ---------------------------------------------------------------------------

    def _can_paint(self) -> bool:
        return self.painting_enabled and self.image is not None and not self.compare

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton and self.image is not None and not self._stroke:
            self._start_pan(event.position())
            event.accept()
            return
        if event.button() == Qt.LeftButton and not self._stroke:
            self._split_drag = self._on_divider(event.position())
        if not (self._split_drag or self._press(event.position(), event.button(), 1.0, False)):
            return super().mousePressEvent(event)
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._split_drag:
            r, self._cursor = self.image_rect(), event.position()
            self.split = min(max((self._cursor.x() - r.left()) / r.width(), 0.0), 1.0)
            self.update()
            return
        self._move(event.position(), 1.0)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton and self._pan_from is not None:
            self._end_pan()
            event.accept()
            return
        if self._split_drag and event.button() == Qt.LeftButton:
            self._split_drag = False
            event.accept()
            return
        if self._release(event.button()):
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def tabletEvent(self, event) -> None:
        """A pen on a tablet: strokes carry its pressure, and its eraser end paints the
        opposite action (as the right button does). Anything else (hovering, the middle
        button's pan) is left to the mouse events Qt makes from the pen."""
        kind, pressure = event.type(), float(event.pressure())
        eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
        if kind == QEvent.TabletPress and not self._stroke:
            done = self._press(event.position(), event.button(), pressure, eraser)
        elif kind == QEvent.TabletMove and self._stroke:
            self._move(event.position(), pressure)
            done = True
        elif kind == QEvent.TabletRelease and self._stroke:
            done = self._release(event.button())
        else:
            done = False
        event.setAccepted(done)

    def _press(self, pos: QPointF, button, pressure: float, eraser: bool) -> bool:
        """Start a stroke for the left or right button (or a pen); False when none starts."""
        if button not in (Qt.LeftButton, Qt.RightButton) or not self._can_paint():
            return False
        self._stroke = True
        self._cursor = pos
        x, y = self.to_image(pos)
        self.strokeStarted.emit(x, y, (button == Qt.RightButton) != eraser, pressure)
        return True

    def _move(self, pos: QPointF, pressure: float) -> None:
        before = self._cursor
        self._cursor = pos
        if self._pan_from is not None:
            self._drag_pan(pos)  # redraws everything
        if self._stroke:
            self.strokeMoved.emit(*self.to_image(pos), pressure)
        self._update_cursor()
        self._update_cursor_area(before)
        self._update_cursor_area(self._cursor)

    def _release(self, button) -> bool:
        if self._stroke and button in (Qt.LeftButton, Qt.RightButton):
            self._stroke = False
            self.strokeFinished.emit()
            return True
        return False

    def leaveEvent(self, event) -> None:
        self._update_cursor_area(self._cursor)
        self._cursor = None
        super().leaveEvent(event)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.ControlModifier:
            steps = 1 if event.angleDelta().y() > 0 else -1
            self.brushResize.emit(steps)
            event.accept()
            return
        if self.image is not None and event.angleDelta().y():
            self.zoom_at(WHEEL_ZOOM ** (event.angleDelta().y() / 120), event.position())
            event.accept()
            return
        super().wheelEvent(event)

    # -- zoom and pan (view only: strokes stay in image pixels) ----------------------------

    def zoom_at(self, factor: float, pos: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``pos`` (default: the centre)."""
        lo, hi = ZOOM_RANGE
        zoom = min(max(self.zoom * factor, lo), hi)
        if pos is None:
            pos = QPointF(self.rect().center())
        if zoom == self.zoom or self.image_size.isEmpty():
            return
        ix, iy = self.to_image(pos)
        base = self.fitted_rect()
        scale = base.width() * zoom / self.image_size.width()
        # the rect that puts (ix, iy) under pos at the new zoom, as an offset of its centre
        left, top = pos.x() - ix * scale, pos.y() - iy * scale
        centre = QPointF(left + base.width() * zoom / 2, top + base.height() * zoom / 2)
        self.zoom = zoom
        self._pan = centre - base.center()
        self._view_changed()

    def fit_to_window(self) -> None:
        """Show the whole image again (zoom 1, no pan)."""
        self.zoom = 1.0
        self._pan = QPointF(0.0, 0.0)
        self._view_changed()

    def _start_pan(self, pos: QPointF) -> None:
        self._pan_from = QPointF(pos)
        self.setCursor(Qt.ClosedHandCursor)

    def _drag_pan(self, pos: QPointF) -> None:
        self._pan += pos - self._pan_from
        self._pan_from = QPointF(pos)
        self._view_changed()

    def _end_pan(self) -> None:
        self._pan_from = None
        self._update_cursor()

    def _view_changed(self) -> None:
        self.viewChanged.emit(self.zoom)
        self.update()

    def _update_cursor(self) -> None:
        if self._pan_from is not None:
            return
        if self._split_drag or self._on_divider(self._cursor):
            self.setCursor(Qt.SplitHCursor)
            return
        over = self._cursor is not None and self.image_rect().contains(self._cursor)
        self.setCursor(Qt.BlankCursor if over and self._can_paint() else Qt.ArrowCursor)

    def resizeEvent(self, event) -> None:
        self._place_button()
        super().resizeEvent(event)

    def _place_button(self) -> None:
        b = self._open_button
        b.adjustSize()
        b.move(int((self.width() - b.width()) / 2), int(self.height() / 2 + 50))

    # -- drawing -------------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        shown = self.plain if (self.compare and self.plain is not None) else self.image
        if shown is None:
            p.fillRect(self.rect(), QColor(BACKGROUND))
            self._paint_placeholder(p)
            p.end()
            return
        r = self.image_rect()
        # The frame is opaque: background and shadow only where the repaint reaches past it
        # (a brush move repaints a few small rectangles inside the image, many times a second).
        outside = event.region() - QRegion(_inner_rect(r))
        if not outside.isEmpty():
            p.save()
            p.setClipRegion(outside)
            self._paint_backdrop(p, r)
            p.restore()
        p.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth)
        p.drawImage(r, shown)
        if self.compare:
            done = self.plain is not None
            self._paint_badge(p, r, self.plain_label if done else "Rendering the unedited image…")
        else:
            self._paint_layers(p, r)
        self._paint_cursor(p)
        p.end()

    def _paint_layers(self, p: QPainter, r: QRectF) -> None:
        """What lies over the edited frame: heatmap, stroke masks, the stroke being drawn,
        the spotlight, and split compare's unedited part."""
        split = self.split is not None and self.plain is not None
        if split:  # in the frame's smoothing, under what lies over the frame
            paint_split(p, r, self.plain, self.split)
        p.setRenderHint(QPainter.SmoothPixmapTransform, True)
        for image, shown in ((self.heat, self.show_heat), (self.overlay, self.show_overlay),
                             (self.live, True), (self.spotlight, True)):  # fmt: skip
            if image is not None and shown:
                p.drawImage(r, image)
        if split:
            paint_divider(p, r, self.split, self.font(), self.plain_label)
        elif self.split is not None:
            self._paint_badge(p, r, "Rendering the unedited image…")

    def _paint_backdrop(self, p: QPainter, r: QRectF) -> None:
        """The canvas background and the image's soft shadow, from a pixmap made once per
        size, image place and screen (anti-aliased rounded rectangles are slow to fill)."""
        key = (self.size(), r, self.devicePixelRatioF())
        if self._backdrop is None or self._backdrop[0] != key:
            self._backdrop = (key, backdrop(*key))
        p.drawPixmap(0, 0, self._backdrop[1])

    def _paint_badge(self, p: QPainter, r: QRectF, text: str) -> None:
        paint_badge(p, self.font(), r.left() + 10, r.top() + 10, text)

    def _cursor_radius(self) -> float:
        return max(self.brush_radius * self.scale(), 2.0)

    def _update_cursor_area(self, at: QPointF | None) -> None:
        """Repaint where the brush outline is (or was) drawn at ``at``: a move redraws the
        two outlines, not the whole canvas."""
        if at is None:
            return
        r = math.ceil(self._cursor_radius() + 3) + 1  # the outline's pixmap, and rounding
        self.update(QRectF(at.x() - r, at.y() - r, 2 * r, 2 * r).toAlignedRect())

    def _paint_cursor(self, p: QPainter) -> None:
        if self._cursor is None or not self._can_paint() or self._on_divider(self._cursor):
            return
        if not self.image_rect().contains(self._cursor):
            return
        pixmap = self._cursor_pixmap()
        half = pixmap.deviceIndependentSize() / 2
        p.drawPixmap(QPointF(self._cursor.x() - half.width(), self._cursor.y() - half.height()),
                     pixmap)  # fmt: skip

    def _cursor_pixmap(self) -> QPixmap:
        """The brush outline, made once per radius, colour and screen: stroking an
        anti-aliased circle costs about a millisecond, and the outline moves with every
        mouse event."""
        radius = round(self._cursor_radius() * 4) / 4
        return brush_outline(radius, self.brush_color.rgba(), self.devicePixelRatioF())

    def _paint_placeholder(self, p: QPainter) -> None:
        title, text = self._placeholder
        if title or text:
            paint_placeholder(p, self.font(), self.width(), self.height(), title, text)


def _inner_rect(r: QRectF) -> QRect:
    """The pixels ``r`` covers whole."""
    left, top = math.ceil(r.left()), math.ceil(r.top())
    return QRect(left, top, max(0, math.floor(r.right()) - left),
                 max(0, math.floor(r.bottom()) - top))  # fmt: skip
