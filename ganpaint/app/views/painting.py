"""Brush input to document strokes: the live preview while dragging, one undo step on release.

:class:`PaintController` listens to the canvas. On press it starts a
:class:`~ganpaint.app.state.brush.StrokeMask` at the generator's resolution; every move grows the
mask and replaces the document's *preview* stroke (a new revision, which the render worker
picks up latest-wins); release commits the stroke with ``add_stroke``. What the stroke
paints (concept, units, colour) comes from a ``template`` callable the window provides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from ganpaint.app.state.brush import StrokeMask
from ganpaint.app.state.painting import StrokeTemplate
from ganpaint.app.state.tool import BrushSettings
from ganpaint.app.views.canvas import PaintCanvas
from ganpaint.app.views.imaging import mask_overlay, qimage_rgba
from ganpaint.engine.document import EditDocument, Stroke


class PaintController(QObject):
    message = Signal(str)  # why a stroke could not start

    def __init__(
        self,
        canvas: PaintCanvas,
        document: EditDocument,
        brush: BrushSettings,
        template: Callable[[], StrokeTemplate | str],
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.canvas, self.document, self.brush, self.template = canvas, document, brush, template
        self._mask: StrokeMask | None = None
        self._tpl: StrokeTemplate | None = None
        self._action = "draw"
        # the live overlay (RGBA at the mask's size), redrawn only where each move painted
        self._live: np.ndarray | None = None
        canvas.strokeStarted.connect(self.begin)
        canvas.strokeMoved.connect(self.extend)
        canvas.strokeFinished.connect(self.finish)

    @property
    def active(self) -> bool:
        return self._mask is not None

    def begin(self, x: float, y: float, secondary: bool = False, pressure: float = 1.0) -> bool:
        tpl = self.template()
        if isinstance(tpl, str):
            self.message.emit(tpl)
            return False
        b = self.brush
        self._tpl = tpl
        self._action = b.action if not secondary else ("remove" if b.action == "draw" else "draw")
        self._mask = StrokeMask(tpl.resolution, b.size * tpl.resolution, b.hardness, b.pressure)
        self._live = np.zeros((tpl.resolution, tpl.resolution, 4), np.uint8)
        self._mask.move_to(x, y, pressure)
        self._update_preview()
        return True

    def extend(self, x: float, y: float, pressure: float = 1.0) -> None:
        if self._mask is None:
            return
        self._mask.line_to(x, y, pressure)
        self._update_preview()

    def finish(self) -> Stroke | None:
        if self._mask is None:
            return None
        stroke = self._stroke() if not self._mask.empty else None
        self._mask = self._live = None
        self.canvas.set_live(None)
        if stroke is None:
            self.document.set_preview(None)
        else:
            self.document.add_stroke(stroke)
        return stroke

    def cancel(self) -> None:
        if self._mask is not None:
            self._mask = self._live = None
            self.canvas.set_live(None)
            self.document.set_preview(None)

    def paint(self, points: Sequence[tuple[float, float]], secondary: bool = False):
        """Paint a whole stroke through ``points`` (image pixels) without a mouse."""
        if not points or not self.begin(*points[0], secondary):
            return None
        for x, y in points[1:]:
            self.extend(x, y)
        return self.finish()

    def _stroke(self) -> Stroke:
        tpl, b = self._tpl, self.brush
        return Stroke(
            concept=tpl.concept,
            action=self._action,
            units=tpl.units,
            strength=b.strength,
            quantile=b.quantile,
            layer=tpl.layer,
            mask=self._mask.mask,
        )

    def _update_preview(self) -> None:
        box = self._mask.changed
        if box is not None:
            # each overlay pixel depends on its mask pixel alone, so the box is enough
            x, y, w, h = box
            color = self._tpl.color if self._action == "draw" else "#ef6f5b"
            patch = self._mask.mask[y : y + h, x : x + w]
            self._live[y : y + h, x : x + w] = mask_overlay([(patch, color)], opacity=0.22)
        self.canvas.set_live(qimage_rgba(self._live), box or (0, 0, 0, 0))
        self.document.set_preview(self._stroke())
