"""One sample of the concept dialog: the generated image, the user's marks over it, a brush.

:class:`MarkTile` is the main canvas (:class:`~ganpaint.app.views.canvas.PaintCanvas`: scaling,
brush cursor, mouse to image coordinates) at thumbnail size, with the marks as its overlay.
:class:`SampleCard` frames a tile with its caption and buttons, and turns a drag into a
:class:`~ganpaint.app.state.brush.StrokeMask` that it shows live and hands to the draft on release
(left button marks, right button erases).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
)

from ganpaint.app.state.brush import StrokeMask
from ganpaint.app.state.concept_draft import merge_stroke
from ganpaint.app.views import theme
from ganpaint.app.views.canvas import PaintCanvas
from ganpaint.app.views.imaging import mask_overlay, qimage_rgba

TILE = 196  # a usable size to paint on, whatever the model's resolution
MARGIN = 4
MARK_HARDNESS = 0.9


class MarkTile(PaintCanvas):
    margin = MARGIN

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("markTile")
        self.setMinimumSize(150, 150)
        self.set_flag("show_overlay", True)

    def sizeHint(self) -> QSize:
        return QSize(TILE, TILE)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def _paint_placeholder(self, p: QPainter) -> None:
        p.setPen(QColor(theme.TEXT_DIM))
        p.drawText(QRectF(self.rect()), Qt.AlignCenter, "Rendering…")


class SampleCard(QFrame):
    """A sample's tile, caption and buttons; ``index`` is its place in the draft."""

    strokeDone = Signal(int, object, bool)  # index, stroke coverage (uint8), erase
    clearRequested = Signal(int)
    replaceRequested = Signal(int)
    removeRequested = Signal(int)
    brushResize = Signal(int)

    def __init__(self, index: int, seed: int, resolution: int, color: str, parent=None):
        super().__init__(parent)
        self.setObjectName("sampleCard")
        self.index, self.seed, self.resolution, self.color = index, seed, resolution, color
        self.mask = np.zeros((resolution, resolution), np.uint8)
        self.radius = 6.0  # image pixels
        self._stroke: StrokeMask | None = None
        self._erase = False

        self.tile = MarkTile()
        self.tile.image_size = QSize(resolution, resolution)
        self.tile.strokeStarted.connect(self._begin)
        self.tile.strokeMoved.connect(self._extend)
        self.tile.strokeFinished.connect(self._finish)
        self.tile.brushResize.connect(self.brushResize)
        self.title = QLabel(f"Sample {index + 1}")
        self.title.setObjectName("sampleTitle")
        self.title.setToolTip(f"The scene of seed {seed}")
        self.state = QLabel()
        self.state.setObjectName("sampleState")
        for label in (self.title, self.state):  # never wider than the tile
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.clear_button = self._button(
            "mdi.eraser-variant", "Clear the marks", self.clearRequested
        )
        self.replace_button = self._button(
            "mdi.dice-5", "Show another scene here (its marks go)", self.replaceRequested
        )
        self.remove_button = self._button("mdi.close", "Remove this sample", self.removeRequested)
        caption = QHBoxLayout()
        caption.setContentsMargins(6, 0, 2, 0)
        caption.setSpacing(2)
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(self.title)
        names.addWidget(self.state)
        caption.addLayout(names, 1)
        for b in (self.clear_button, self.replace_button, self.remove_button):
            caption.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 6)
        layout.setSpacing(4)
        layout.addWidget(self.tile, 1)
        layout.addLayout(caption)
        self._show_state()

    def _button(self, icon: str, tip: str, signal) -> QToolButton:
        b = QToolButton()
        b.setIcon(theme.icon(icon, theme.TEXT_DIM))
        b.setIconSize(QSize(16, 16))
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(lambda: signal.emit(self.index))
        return b

    # -- given by the dialog ---------------------------------------------------------------

    def set_image(self, image: QImage | None) -> None:
        if image is not None:
            self.tile.set_image(image)

    def set_mask(self, mask: np.ndarray) -> None:
        self.mask = mask
        self._show_marks(mask)
        self._show_state()

    def set_brush(self, radius: float) -> None:
        self.radius = float(radius)
        self.tile.set_brush(self.radius, self.color)

    def set_removable(self, on: bool) -> None:
        self.remove_button.setEnabled(on)

    # -- painting --------------------------------------------------------------------------

    def _begin(self, x: float, y: float, secondary: bool, pressure: float = 1.0) -> None:
        # marks say where the concept is, yes or no: a pen's pressure does not thin them
        self._erase = secondary
        self._stroke = StrokeMask(self.resolution, self.radius, MARK_HARDNESS)
        self._stroke.move_to(x, y)
        self._show_marks(merge_stroke(self.mask, self._stroke.mask, self._erase))

    def _extend(self, x: float, y: float, pressure: float = 1.0) -> None:
        if self._stroke is not None:
            self._stroke.line_to(x, y)
            self._show_marks(merge_stroke(self.mask, self._stroke.mask, self._erase))

    def _finish(self) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is not None and not stroke.empty:
            self.strokeDone.emit(self.index, stroke.mask, self._erase)

    def _show_marks(self, mask: np.ndarray) -> None:
        if mask.any():
            edge = (outline(mask >= 128) * 255).astype(np.uint8)
            layers = [(mask, self.color), (edge, "#ffffff"), (edge, self.color)]
            self.tile.set_overlay(qimage_rgba(mask_overlay(layers, opacity=0.5)))
        else:
            self.tile.set_overlay(None)
        self.tile.update()

    def _show_state(self) -> None:
        marked = bool((self.mask >= 128).any())
        self.state.setText("marked" if marked else "no marks")
        self.state.setToolTip(
            "Your marks say where the concept is"
            if marked
            else "A sample without marks counts as one where the concept is absent"
        )
        self.state.setProperty("marked", marked)
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)
        self.clear_button.setEnabled(bool(self.mask.any()))


def outline(region: np.ndarray) -> np.ndarray:
    """The pixels of a boolean ``region`` that touch a pixel outside it (4-neighbours)."""
    inner = region.copy()
    inner[1:, :] &= region[:-1, :]
    inner[:-1, :] &= region[1:, :]
    inner[:, 1:] &= region[:, :-1]
    inner[:, :-1] &= region[:, 1:]
    return region & ~inner
