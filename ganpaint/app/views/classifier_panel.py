"""The Classifier panel: what the bundle's scene classifier makes of the picture on screen.

Large enough to read from the back of a room: the top class in big letters, one bar per class
with its probability, then the units of the classifier's last layer that drive the top class
most, each a small heatmap over the frame with its concept label and its drive. The panel
only shows readings (:class:`~ganpaint.classify.explain.FrameReading`, made on the render
worker) and says plainly when the model has no classifier; it never touches torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.state.concepts import concept_style
from ganpaint.app.views import theme
from ganpaint.app.views.imaging import heat_pixmap, heat_rgba, qimage_rgba

if TYPE_CHECKING:
    from ganpaint.classify.explain import FrameReading, UnitReading

TILE = 84  # unit tile side, logical pixels
COLUMNS = 3
BAR_ROW = 26


class ProbabilityBars(QWidget):
    """One row per class: its name, a bar as long as its probability, the percentage."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("probabilityBars")
        self.classes: tuple[str, ...] = ()
        self.probs = np.zeros(0, dtype=np.float32)
        self.top = -1
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def set_probs(self, classes: tuple[str, ...], probs: np.ndarray | None, top: int) -> None:
        self.classes = tuple(classes)
        self.probs = np.zeros(len(classes)) if probs is None else np.asarray(probs, dtype=float)
        self.top = top
        self.setFixedHeight(max(1, len(self.classes)) * BAR_ROW + 4)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, max(1, len(self.classes)) * BAR_ROW + 4)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        name_w, pct_w = 92, 48
        bar_w = max(20, self.width() - name_w - pct_w - 8)
        for i, (name, prob) in enumerate(zip(self.classes, self.probs, strict=True)):
            y = 2 + i * BAR_ROW
            top = i == self.top
            font = p.font()
            font.setBold(top)
            p.setFont(font)
            p.setPen(QColor(theme.TEXT if top else theme.TEXT_DIM))
            p.drawText(QRectF(0, y, name_w - 6, BAR_ROW), Qt.AlignVCenter | Qt.AlignRight, name)
            track = QRectF(name_w, y + 6, bar_w, BAR_ROW - 12)
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(theme.BASE))
            p.drawRoundedRect(track, 4, 4)
            if prob > 0:
                fill = QRectF(track.x(), track.y(), max(3.0, bar_w * float(prob)), track.height())
                p.setBrush(QColor(theme.ACCENT if top else "#5b606a"))
                p.drawRoundedRect(fill, 4, 4)
            p.setPen(QColor(theme.TEXT if top else theme.TEXT_DIM))
            p.drawText(
                QRectF(name_w + bar_w + 4, y, pct_w, BAR_ROW),
                Qt.AlignVCenter | Qt.AlignRight,
                percent(float(prob)),
            )
        p.end()


def percent(prob: float) -> str:
    """A probability as the panel shows it: "87 %", "< 1 %", "100 %"."""
    value = 100.0 * prob
    if 0 < value < 0.5:
        return "< 1 %"
    return f"{value:.0f} %"


def unit_heat_pixmap(frame: QImage | None, heat: np.ndarray, side: int, peak: float) -> QPixmap:
    """A unit's activation map (any size) drawn smoothly over the dimmed frame."""
    return heat_pixmap(frame, qimage_rgba(heat_rgba(heat, peak)), side, 0.6, theme.BASE)


class UnitTile(QWidget):
    """One driving unit: heatmap over the frame, "unit 123", its concept and its drive."""

    clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("unitTile")
        self.unit = -1
        self.image = QLabel()
        self.image.setFixedSize(TILE, TILE)
        self.image.setObjectName("heatPreview")
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignHCenter)
        self.caption.setTextFormat(Qt.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(2)
        layout.addWidget(self.image, 0, Qt.AlignHCenter)
        layout.addWidget(self.caption)
        self.setCursor(Qt.PointingHandCursor)

    def show_unit(self, u: UnitReading, frame: QImage | None, scale: float) -> None:
        self.unit = u.unit
        self.image.setPixmap(unit_heat_pixmap(frame, u.heatmap, TILE, scale))
        if u.label is not None:
            color = concept_style(u.label.concept)[2]
            concept = f"<span style='color:{color}'><b>{u.label.concept}</b></span>"
            tip = f"labelled {u.label.concept} (IoU {u.label.iou:.2f} in the dissection)"
        else:
            concept = f"<span style='color:{theme.TEXT_DIM}'>unlabelled</span>"
            tip = "no concept label (its best IoU is below 0.04, or no dissection)"
        self.caption.setText(
            f"{concept}<br><span style='color:{theme.TEXT_DIM}'>unit {u.unit} · "
            f"{u.drive:+.2f}</span>"
        )
        self.setToolTip(
            f"<b>Unit {u.unit}</b>: {tip}.<br>Drive {u.drive:+.3f}: its contribution to the top "
            "class's logit (relative to the mean logit). Click to show it over the canvas."
        )

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.unit >= 0:
            self.clicked.emit(self.unit)


class TileGrid(QWidget):
    """The unit tiles in rows of :data:`COLUMNS`, or of 2 in a dock too narrow for that (a
    laptop at 150 %): its least width is two tiles', so the panel never widens the window
    for the third."""

    def __init__(self, tiles: list[UnitTile], parent=None):
        super().__init__(parent)
        self.tiles = tiles
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.columns = 0
        self._arrange(COLUMNS)

    def _width_for(self, columns: int) -> int:
        tile = max(t.minimumSizeHint().width() for t in self.tiles)
        return columns * tile + (columns - 1) * self.grid.spacing()

    def _arrange(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for tile in self.tiles:
            self.grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles):
            self.grid.addWidget(tile, i // columns, i % columns)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self._width_for(2), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._arrange(COLUMNS if event.size().width() >= self._width_for(COLUMNS) else 2)


class ClassifierPanel(QWidget):
    """The dock's contents; :meth:`show_reading` and :meth:`set_note` are all it needs."""

    unitClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("classifierPanel")
        self.reading: FrameReading | None = None
        self.source = QLabel()
        self.source.setObjectName("dim")
        self.top_class = QLabel("—")
        self.top_class.setObjectName("topClass")
        self.top_prob = QLabel()
        self.top_prob.setObjectName("topProb")  # both sized in resources/style.qss
        self.bars = ProbabilityBars()
        self.units_title = QLabel()
        self.units_title.setTextFormat(Qt.RichText)
        self.tiles = [UnitTile() for _ in range(6)]
        for tile in self.tiles:
            tile.clicked.connect(self.unitClicked.emit)
        self.tile_grid = TileGrid(self.tiles)
        self.attack_button = QToolButton()
        self.attack_button.setObjectName("attackButton")
        self.attack_button.setText("Attack…")
        self.attack_button.setIcon(theme.icon("mdi.target"))
        self.attack_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.attack_button.setPopupMode(QToolButton.InstantPopup)
        self.attack_button.setToolTip(
            "Find a small change to this picture that makes the classifier see another class"
        )
        self.attack_menu = QMenu(self.attack_button)
        self.attack_button.setMenu(self.attack_menu)
        self.timing = QLabel()
        self.timing.setObjectName("dim")
        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.top_class, 1)
        head.addWidget(self.top_prob, 0, Qt.AlignBottom)
        body.addWidget(self.source)
        body.addLayout(head)
        body.addWidget(self.bars)
        body.addSpacing(6)
        body.addWidget(self.units_title)
        body.addWidget(self.tile_grid)
        foot = QHBoxLayout()
        foot.addWidget(self.attack_button)
        foot.addStretch(1)
        foot.addWidget(self.timing)
        body.addLayout(foot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.note)
        layout.addWidget(self.body)
        layout.addStretch(1)
        self.set_note("Open a model to see what its scene classifier makes of the picture.")
        self.body.hide()

    def set_available(self, available: bool, note: str = "") -> None:
        """Show the readings, or only ``note`` (e.g. the model has no classifier)."""
        self.body.setVisible(available and self.reading is not None)
        waiting = available and self.reading is None and not note
        # the first reading also loads the classifier: say something meanwhile
        self.set_note("Reading the picture…" if waiting else note)

    def set_note(self, note: str) -> None:
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def clear(self) -> None:
        self.reading = None
        self.body.hide()

    def show_reading(self, reading: FrameReading, frame: QImage | None, source: str) -> None:
        """Show ``reading`` of ``frame`` (the picture it was made from); ``source`` says
        which picture that is ("Edited frame", "Original (compare)")."""
        self.reading = reading
        self.source.setText(source)
        self.top_class.setText(reading.top_class.upper())
        self.top_prob.setText(percent(reading.top_prob))
        self.bars.set_probs(reading.classes, reading.probs, reading.top)
        self.units_title.setText(
            f"<b>Units driving “{reading.top_class}”</b> "
            f"<span style='color:{theme.TEXT_DIM}'>· {reading.layer}</span>"
        )
        # one colour scale for all tiles, so a weak unit looks weak next to a strong one
        scale = max((u.peak for u in reading.units), default=1.0)
        for tile, u in zip(self.tiles, reading.units, strict=False):
            tile.show_unit(u, frame, scale)
            tile.show()
        for tile in self.tiles[len(reading.units) :]:
            tile.hide()
        self.timing.setText(f"read in {reading.ms:.0f} ms")
        self.body.show()

    def set_attack_targets(self, classes: tuple[str, ...], choose) -> None:
        """The Attack button's menu: one entry per class, ``choose(index)`` when picked."""
        self.attack_menu.clear()
        for i, name in enumerate(classes):
            self.attack_menu.addAction(f"Towards {name}", lambda i=i: choose(i))
        self.attack_button.setEnabled(bool(classes))
