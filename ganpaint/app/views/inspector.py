"""The unit inspector: where the selected unit fires, with its label and scores.

The window asks the worker for the unit's unedited activation map
(``Renderer.features``) and hands it here; the panel shows a preview (heat over the
unedited image) and the numbers, and the canvas draws the same heat over the image. A unit
View > Clean Artifacts zeroes is 0 in every frame: its map is then the one before the
zeroing, and the panel says the unit is switched off (a blank map would read as a fault,
and where the unit would fire is what a person inspecting an artifact unit wants to see).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.views import theme
from ganpaint.app.views.imaging import heat_pixmap

PREVIEW = 180
SWITCHED_OFF = f"<span style='color:{theme.REMOVE}'><b>Switched off by Clean Artifacts</b></span>"
SWITCHED_OFF_TIP = (
    "View > Clean Artifacts zeroes this unit: it is 0 in every frame. The heat shows where "
    "it would fire without the cleaning."
)


class InspectorPanel(QWidget):
    cleared = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("inspectorPanel")
        self.unit: int | None = None
        self._heat: QImage | None = None  # the chosen unit's heat, kept for new frames
        self.title = QLabel()
        self.title.setObjectName("inspectorTitle")
        self.preview = QLabel()
        self.preview.setFixedSize(QSize(PREVIEW, PREVIEW))
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setObjectName("heatPreview")
        self.label = QLabel()
        self.iou = QLabel()
        self.ace = QLabel()
        self.level = QLabel()
        self.peak = QLabel()
        self.clear_button = QToolButton()
        self.clear_button.setIcon(theme.icon("mdi.close"))
        self.clear_button.setToolTip("Clear the unit selection")
        self.clear_button.clicked.connect(self.cleared.emit)
        self.hint = QLabel(
            "Select a unit in the concept list (expand a concept) or in “Units” "
            "to see where it fires in this scene."
        )
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.switched_off = QLabel(SWITCHED_OFF)
        self.switched_off.setObjectName("switchedOff")
        self.switched_off.setTextFormat(Qt.RichText)
        self.switched_off.setToolTip(SWITCHED_OFF_TIP)
        self.switched_off.hide()
        form = QFormLayout()
        rows = (
            ("Concept", self.label, "The concept this unit's activation overlaps most"),
            ("IoU", self.iou, "Intersection over union of the unit's strongest activations "
             "with the concept's pixels on the dissection samples (0–1)"),
            ("Causal effect", self.ace, "Fraction of the concept's pixels that disappear "
             "when this unit alone is switched off"),
            ("Draw level", self.level, "The activation a drawing stroke sets this unit to: "
             "its level at the brush's insert quantile (0.99 by default)"),
            ("Peak here", self.peak, "The unit's highest activation in this scene, and its "
             "draw level for comparison"),
        )  # fmt: skip
        for name, field_label, tip in rows:
            caption = QLabel(name)
            caption.setToolTip(tip)
            field_label.setToolTip(tip)
            form.addRow(caption, field_label)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.clear_button)
        self.details = QWidget()
        dl = QVBoxLayout(self.details)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addLayout(title_row)
        dl.addWidget(self.preview, 0, Qt.AlignHCenter)
        dl.addWidget(self.switched_off, 0, Qt.AlignHCenter)
        dl.addLayout(form)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.hint)
        layout.addWidget(self.details)
        layout.addStretch(1)
        self.show_unit(None)

    def show_unit(self, unit: int | None, layer: str = "", info: dict | None = None) -> None:
        """Describe ``unit`` (None clears); ``info`` has label, iou, ace, level when known."""
        self.unit = unit
        self._heat = None
        self.hint.setVisible(unit is None)
        self.details.setVisible(unit is not None)
        if unit is None:
            return
        info = info or {}
        self.title.setText(
            f"<b>Unit {unit}</b> <span style='color:{theme.TEXT_DIM}'>· {layer}</span>"
        )
        label = info.get("label")
        self.label.setText(label or "unlabelled")
        self.iou.setText(_fmt(info.get("iou")))
        self.ace.setText(_fmt(info.get("ace")))
        self.level.setText(_fmt(info.get("level")))
        self.peak.setText("…")
        self.preview.setPixmap(QPixmap())
        self.switched_off.hide()

    def set_heat(self, base: QImage | None, heat: QImage, peak: float, level: float,
                 switched_off: bool = False) -> None:  # fmt: skip
        """The unit's heat over the scene; ``switched_off``: the unit is zeroed by Clean
        Artifacts and the heat is where it fires in the network before the zeroing."""
        self._heat = heat
        self.preview.setPixmap(heat_pixmap(base, heat, PREVIEW))
        self.switched_off.setVisible(switched_off)
        if switched_off:
            self.preview.setToolTip("Where the unit would fire without Clean Artifacts")
            self.peak.setText(f"{peak:.2f} uncleaned  (level {level:.2f})")
        else:
            self.preview.setToolTip("Where the unit fires, over the scene as edited now")
            self.peak.setText(f"{peak:.2f}  (level {level:.2f})")

    def set_base(self, base: QImage | None) -> None:
        """A new frame of the scene: the unit's heat, unchanged, over it (the preview
        showed the scene as it was when the unit was chosen, before the strokes since)."""
        if self.unit is not None and self._heat is not None and base is not None:
            self.preview.setPixmap(heat_pixmap(base, self._heat, PREVIEW))


def _fmt(value) -> str:
    return "—" if value is None else f"{float(value):.3f}"
