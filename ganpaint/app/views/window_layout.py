"""How the main window is laid out: its docks, toolbar (with the brush sliders) and menus.

Each builder takes the window, adds its part and returns what the window keeps; the actions
come from the one table in :mod:`ganpaint.app.views.actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolBar,
    QWidget,
)

from ganpaint.app.views import theme
from ganpaint.app.views.actions import MENUS, TOOLBAR
from ganpaint.app.views.scene_commands import demo_menu

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow


@dataclass
class BrushControls:
    """The toolbar's brush sliders."""

    widget: QWidget
    size_slider: QSlider
    size_label: QLabel
    hard_slider: QSlider


def _dock(window: MainWindow, title: str, name: str, widget: QWidget, area) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetMovable
        | QDockWidget.DockWidgetClosable
        | QDockWidget.DockWidgetFloatable
    )
    window.addDockWidget(area, dock)
    return dock


class VerticalScroll(QScrollArea):
    """A panel that scrolls up and down only: as wide as the panel needs, as short as the
    dock allows. A tall panel (the Classifier's six heatmaps, 535 px) then scrolls in a
    short dock instead of making the window taller than a laptop's screen."""

    def __init__(self, panel: QWidget):
        super().__init__()
        self.setObjectName(f"{panel.objectName() or 'panel'}Scroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setWidget(panel)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        panel = self.widget()
        if panel is not None:
            bar = self.verticalScrollBar().sizeHint().width()
            hint.setWidth(max(hint.width(), panel.minimumSizeHint().width() + bar))
        return hint

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget() and event.type() == QEvent.LayoutRequest:
            self.updateGeometry()  # the panel's least width changed: tell the dock
        return super().eventFilter(watched, event)


def build_docks(w: MainWindow) -> dict[str, QDockWidget]:
    w.setDockNestingEnabled(True)
    w.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
    w.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
    docks = {
        "concepts": _dock(w, "Concepts", "conceptsDock", w.concept_panel, Qt.LeftDockWidgetArea),
        "history": _dock(w, "History", "historyDock", w.history_panel, Qt.RightDockWidgetArea),
        "inspector": _dock(
            w, "Unit Inspector", "inspectorDock", w.inspector, Qt.RightDockWidgetArea
        ),
        "gallery": _dock(w, "Scenes", "galleryDock", w.gallery, Qt.BottomDockWidgetArea),
        "classifier": _dock(
            w,
            "Classifier",
            "classifierDock",
            VerticalScroll(w.classifier_panel),
            Qt.RightDockWidgetArea,
        ),
    }
    w.tabifyDockWidget(docks["inspector"], docks["classifier"])
    # closed until asked for (View > Classifier Panel): reading every frame costs the brush
    docks["classifier"].hide()
    docks["classifier"].visibilityChanged.connect(w.classifier_view.set_live)
    w.resizeDocks([docks["concepts"], docks["history"]], [320, 300], Qt.Horizontal)
    w.resizeDocks([docks["history"], docks["inspector"]], [420, 380], Qt.Vertical)
    return docks


def build_toolbar(w: MainWindow) -> tuple[QToolBar, BrushControls]:
    bar = QToolBar("Main", w)
    bar.setObjectName("mainToolBar")
    bar.setMovable(False)
    bar.setIconSize(QSize(20, 20))
    controls = brush_controls(w)
    for key in TOOLBAR:
        if key == "-":
            bar.addSeparator()
        elif key == "@brush":
            bar.addWidget(controls.widget)
        else:
            bar.addAction(w.actions[key])
    w.addToolBar(Qt.TopToolBarArea, bar)
    return bar, controls


def brush_controls(w: MainWindow) -> BrushControls:
    widget = QWidget()
    widget.setObjectName("brushControls")
    widget.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
    row = QHBoxLayout(widget)
    row.setContentsMargins(8, 0, 8, 0)
    size_slider = QSlider(Qt.Horizontal)
    size_slider.setObjectName("brushSize")
    size_slider.setRange(5, 500)
    size_slider.setFixedWidth(120)
    size_slider.setToolTip("<b>Brush size</b>&nbsp;&nbsp;<code>[</code> <code>]</code>")
    size_slider.valueChanged.connect(lambda v: w.brush.update(size=v / 1000.0))
    size_label = QLabel()
    size_label.setMinimumWidth(48)
    hard_slider = QSlider(Qt.Horizontal)
    hard_slider.setObjectName("brushHardness")
    hard_slider.setRange(0, 100)
    hard_slider.setFixedWidth(80)
    hard_slider.setToolTip("<b>Hardness</b><br>Soft edges fade the edit out gradually")
    hard_slider.valueChanged.connect(lambda v: w.brush.update(hardness=v / 100.0))
    for part in (QLabel("Size"), size_slider, size_label, QLabel("Hardness"), hard_slider):
        row.addWidget(part)
    return BrushControls(widget, size_slider, size_label, hard_slider)


def build_menus(w: MainWindow) -> tuple[QMenu, QMenu]:
    """The menu bar; returns the Open Recent and Device menus (filled when shown)."""
    recent = device = None
    for title, items in MENUS:
        menu = w.menuBar().addMenu(title)
        for key in items:
            if key == "-":
                menu.addSeparator()
            elif key == "@recent":
                recent = menu.addMenu(theme.icon("mdi.history"), "Open &Recent")
                recent.aboutToShow.connect(lambda m=recent: w.file_commands.fill_recent(m))
            elif key == "@device":
                device = menu.addMenu(theme.icon("mdi.chip"), "&Device")
                device.aboutToShow.connect(lambda m=device: w.file_commands.fill_devices(m))
            elif key == "@demo":
                demo_menu(w, menu)
            elif key == "@attack":
                towards = menu.addMenu(theme.icon("mdi.target"), "Attack &Towards")
                towards.aboutToShow.connect(lambda m=towards: w.classifier_view.fill_attack_menu(m))
            elif key == "@docks":
                panels = menu.addMenu("&Panels")
                for dock in w.docks.values():
                    panels.addAction(dock.toggleViewAction())
            else:
                menu.addAction(w.actions[key])
    return recent, device
