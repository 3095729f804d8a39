"""The main window: puts the canvas, panels, actions and worker together.

It owns one :class:`~ganpaint.engine.document.EditDocument` for its whole life (a loaded
project or a restored autosave is ``assign``-ed into it, so every listener stays attached),
one :class:`~ganpaint.app.tool.BrushSettings` and one :class:`RenderWorker`. Models load on
the worker; until one succeeds the previous model stays. File commands come in two steps:
``choose_*`` asks with a dialog, the plain method does the work (tests call those).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSizePolicy,
    QSlider,
    QToolBar,
    QWidget,
)

from ganpaint.app import theme
from ganpaint.app.actions import MENUS, TOOLBAR, build_actions
from ganpaint.app.autosave import Autosave, Recovery
from ganpaint.app.canvas import PaintCanvas
from ganpaint.app.concept_panel import ConceptPanel
from ganpaint.app.frames import FrameView
from ganpaint.app.gallery import GalleryPanel, random_seed
from ganpaint.app.history_panel import HistoryPanel
from ganpaint.app.inspector import InspectorPanel
from ganpaint.app.painting import PaintController, StrokeTemplate
from ganpaint.app.presentation import PresentationBar
from ganpaint.app.prompts import Prompts
from ganpaint.app.settings import Preferences
from ganpaint.app.status_bar import StatusBar
from ganpaint.app.tool import CUSTOM, BrushSettings
from ganpaint.app.window_concepts import ConceptsMixin
from ganpaint.app.window_files import FilesMixin
from ganpaint.app.window_model import ModelMixin
from ganpaint.app.worker import RenderWorker
from ganpaint.engine.document import EditDocument

BRUSH_PREFS = ("action", "size", "hardness", "strength", "quantile", "unit_count", "ranking")
VIEW_PREFS = {"smooth": True, "show_overlay": False, "show_heat": True}
VIEW_ACTIONS = {"smooth": "view.smooth", "show_overlay": "view.overlay", "show_heat": "view.heat"}


class MainWindow(ModelMixin, FilesMixin, ConceptsMixin, QMainWindow):
    modelLoaded = Signal()
    modelFailed = Signal(str)
    frameShown = Signal(object)  # RenderResult
    restored = Signal(int)  # strokes restored from an autosave

    def __init__(
        self,
        prefs: Preferences,
        seed: int | None = None,
        threads: int | None = None,
        autosave: Autosave | None = None,
        concepts_folder: str | Path | None = None,
    ):
        super().__init__()
        self.setObjectName("mainWindow")
        self.prefs = prefs
        self.prompts = Prompts(self)
        self.autosave = autosave if autosave is not None else Autosave()
        self.document = EditDocument("", "", random_seed() if seed is None else int(seed))
        self.brush = BrushSettings()
        self.brush.update(
            **{k: prefs.get(f"brush/{k}", getattr(self.brush, k)) for k in BRUSH_PREFS}
        )
        self.bundle = None
        self.model_path: str | None = None
        self.model_key: int | None = None
        self.device_pref: str | None = prefs.get("device", "") or None
        self.device_text = ""
        self.devices: tuple[str, ...] = ("cpu",)
        self.project_path: str | None = None
        self.selected_unit: int | None = None
        self._load_key = 0
        self._requested_model: str | None = None
        self._pending_project: str | None = None
        self._pending_restore: Recovery | None = None
        self._presenting = False
        self._saved_state = None
        self.custom_concepts: list = []  # CustomConcepts of the open model (all layers)
        self.concepts_folder = Path(concepts_folder) if concepts_folder is not None else None
        self.concept_dialog = None  # the last New Concept dialog

        self.worker = RenderWorker(self, threads)
        self.canvas = PaintCanvas()
        self.frames = FrameView(self.document, self.worker, self.canvas)
        self.actions = build_actions(self)
        self.concept_panel = ConceptPanel(self.brush, self.actions)
        self.history_panel = HistoryPanel(self.document, self.actions)
        self.history_panel.style_of = self.concept_style_of
        self.gallery = GalleryPanel(self.document)
        self.inspector = InspectorPanel()
        self.painter = PaintController(
            self.canvas, self.document, self.brush, self.stroke_template, self
        )
        self.presentation_bar = PresentationBar(self.brush, self.actions, self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.setCentralWidget(self.canvas)
        self._build_docks()
        self._build_toolbar()
        self._build_menus()
        self.addToolBar(Qt.TopToolBarArea, self.presentation_bar)
        self.presentation_bar.hide()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1360, 860)
        geometry = prefs.get_bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = prefs.get_bytes("window/state")
        if state is not None:
            self.restoreState(state)
        for name, default in VIEW_PREFS.items():
            on = prefs.get(f"view/{name}", default)
            self.canvas.set_flag(name, on)
            with QSignalBlocker(self.actions[VIEW_ACTIONS[name]]):
                self.actions[VIEW_ACTIONS[name]].setChecked(on)
        self._brush_changed({"action", "size", "concept"})
        self._update_title()
        self._update_enabled()
        self.status.set_ms(None)
        app = QApplication.instance()
        app.installEventFilter(self)
        # A window deleted without closing must not leave its thread running.
        app.aboutToQuit.connect(self.worker.stop)
        self.worker.start()

    # -- construction ----------------------------------------------------------------------

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetMovable
            | QDockWidget.DockWidgetClosable
            | QDockWidget.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.docks = {
            "concepts": self._dock(
                "Concepts", "conceptsDock", self.concept_panel, Qt.LeftDockWidgetArea
            ),
            "history": self._dock(
                "History", "historyDock", self.history_panel, Qt.RightDockWidgetArea
            ),
            "inspector": self._dock(
                "Unit Inspector", "inspectorDock", self.inspector, Qt.RightDockWidgetArea
            ),
            "gallery": self._dock("Scenes", "galleryDock", self.gallery, Qt.BottomDockWidgetArea),
        }
        self.resizeDocks([self.docks["concepts"], self.docks["history"]], [320, 300], Qt.Horizontal)
        self.resizeDocks([self.docks["history"], self.docks["inspector"]], [420, 380], Qt.Vertical)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setIconSize(QSize(20, 20))
        for key in TOOLBAR:
            if key == "-":
                bar.addSeparator()
            elif key == "@brush":
                bar.addWidget(self._brush_widget())
            else:
                bar.addAction(self.actions[key])
        self.addToolBar(Qt.TopToolBarArea, bar)
        self.toolbar = bar

    def _brush_widget(self) -> QWidget:
        w = QWidget()
        w.setObjectName("brushControls")
        w.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        row = QHBoxLayout(w)
        row.setContentsMargins(8, 0, 8, 0)
        self.size_slider = QSlider(Qt.Horizontal)
        self.size_slider.setObjectName("brushSize")
        self.size_slider.setRange(5, 500)
        self.size_slider.setFixedWidth(120)
        self.size_slider.setToolTip("<b>Brush size</b>&nbsp;&nbsp;<code>[</code> <code>]</code>")
        self.size_slider.valueChanged.connect(lambda v: self.brush.update(size=v / 1000.0))
        self.size_label = QLabel()
        self.size_label.setMinimumWidth(48)
        self.hard_slider = QSlider(Qt.Horizontal)
        self.hard_slider.setObjectName("brushHardness")
        self.hard_slider.setRange(0, 100)
        self.hard_slider.setFixedWidth(80)
        self.hard_slider.setToolTip("<b>Hardness</b><br>Soft edges fade the edit out gradually")
        self.hard_slider.valueChanged.connect(lambda v: self.brush.update(hardness=v / 100.0))
        for widget in (
            QLabel("Size"),
            self.size_slider,
            self.size_label,
            QLabel("Hardness"),
            self.hard_slider,
        ):
            row.addWidget(widget)
        return w

    def _build_menus(self) -> None:
        bar = self.menuBar()
        for title, items in MENUS:
            menu = bar.addMenu(title)
            for key in items:
                if key == "-":
                    menu.addSeparator()
                elif key == "@recent":
                    self.recent_menu = menu.addMenu(theme.icon("mdi.history"), "Open &Recent")
                    self.recent_menu.aboutToShow.connect(self._fill_recent)
                elif key == "@device":
                    self.device_menu = menu.addMenu(theme.icon("mdi.chip"), "&Device")
                    self.device_menu.aboutToShow.connect(self._fill_devices)
                elif key == "@docks":
                    panels = menu.addMenu("&Panels")
                    for dock in self.docks.values():
                        panels.addAction(dock.toggleViewAction())
                else:
                    menu.addAction(self.actions[key])

    def _connect(self) -> None:
        w = self.worker
        w.modelLoaded.connect(self._model_loaded)
        w.heatReady.connect(self._heat_ready)
        w.thumbnailReady.connect(self._thumbnail_ready)
        w.busyChanged.connect(self.status.set_busy)
        self.frames.frameShown.connect(self._frame_shown)
        self.frames.renderFailed.connect(self._render_failed)
        self.painter.message.connect(lambda text: self.status.showMessage(text, 4000))
        self.canvas.brushResize.connect(self.resize_brush)
        self.concept_panel.layerChosen.connect(self.document.set_layer)
        self.concept_panel.unitSelected.connect(self.select_unit)
        self.concept_panel.exportRequested.connect(self.choose_export_concept)
        self.concept_panel.deleteRequested.connect(self.delete_custom_concept)
        self.inspector.cleared.connect(lambda: self.select_unit(-1))
        self.gallery.thumbnailsWanted.connect(self._thumbnails_wanted)
        self.status.cpuRequested.connect(lambda: self.set_device("cpu"))
        self.document.subscribe(self._document_changed)
        self.brush.subscribe(self._brush_changed)

    # -- painting ------------------------------------------------------------------------------

    def stroke_template(self) -> StrokeTemplate | str:
        if self.bundle is None:
            return "Open a model first"
        units = self.concept_panel.brush_units()
        if not units:
            return "Pick a concept (or check units in “Units”) to paint with"
        return StrokeTemplate(
            concept=self.brush.concept or CUSTOM,
            units=units,
            layer=self.document.layer,
            resolution=self.bundle.generator.resolution,
            color=self.concept_panel.brush_color(),
        )

    def set_action(self, action: str) -> None:
        self.brush.update(action=action)

    def swap_action(self) -> None:
        self.brush.update(action="remove" if self.brush.action == "draw" else "draw")

    def resize_brush(self, steps: int) -> None:
        self.brush.update(size=self.brush.size * (1.2 ** int(steps)))

    def new_random_scene(self) -> None:
        self.gallery.new_random()

    def _brush_changed(self, changed: set[str]) -> None:
        b = self.brush
        with QSignalBlocker(self.size_slider), QSignalBlocker(self.hard_slider):
            self.size_slider.setValue(round(b.size * 1000))
            self.hard_slider.setValue(round(b.hardness * 100))
        res = self.bundle.generator.resolution if self.bundle is not None else 0
        self.size_label.setText(f"{b.size * 2 * res:.0f} px" if res else f"{b.size * 200:.0f} %")
        for key, action in (("tool.draw", "draw"), ("tool.remove", "remove")):
            with QSignalBlocker(self.actions[key]):
                self.actions[key].setChecked(b.action == action)
        color = theme.REMOVE if b.action == "remove" else self.concept_panel.brush_color()
        self.canvas.set_brush(b.size * max(res, 1), color)
        if "concept" in changed:
            self._update_concept_actions()

    # -- documents and frames ------------------------------------------------------------------

    def _document_changed(self, kind: str) -> None:
        if kind == "preview":
            return
        if kind == "layer" and self.bundle is not None:
            self._layer_content()
        if kind == "seed":
            self._request_heat()
        if kind in ("strokes", "seed", "layer", "loaded") and self.bundle is not None:
            self._autosave()
        self._update_title()
        self._update_enabled()

    def _autosave(self) -> None:
        if not (self.document.strokes or self.document.modified):
            return
        meta = {
            "model_path": self.model_path,
            "project_path": self.project_path,
            "strokes": len(self.document.strokes),
        }
        try:
            self.autosave.save(self.document.to_dict(), meta)
        except OSError as exc:
            self.status.showMessage(f"Autosave failed: {exc}", 6000)

    def _frame_shown(self, result) -> None:
        if not self.status.cpu_button.isVisible():  # keep the CPU offer until it is taken
            self.status.clear_error()
        self.status.set_ms(self.frames.mean_ms)
        self.frameShown.emit(result)

    def _render_failed(self, error: str) -> None:
        offer = not self.device_text.startswith("cpu")
        self.status.show_error(f"Render failed: {error}", offer)

    def _update_title(self) -> None:
        name = Path(self.project_path).stem if self.project_path else "Untitled"
        self.setWindowTitle(f"GANPaint — {name}[*]")
        self.setWindowModified(
            self.document.modified and bool(self.document.strokes or self.project_path)
        )

    def _update_enabled(self) -> None:
        a, d, ready = self.actions, self.document, self.bundle is not None
        a["edit.undo"].setEnabled(d.can_undo)
        a["edit.redo"].setEnabled(d.can_redo)
        a["edit.reset"].setEnabled(bool(d.strokes))
        for key in (
            "file.save",
            "file.save_as",
            "file.export",
            "file.copy",
            "scene.new",
            "file.open_project",
        ):
            a[key].setEnabled(ready)
        self._update_concept_actions()

    # -- view ------------------------------------------------------------------------------------

    def set_view(self, name: str, on: bool) -> None:
        self.canvas.set_flag(name, on)
        self.prefs.set(f"view/{name}", bool(on))

    def set_compare(self, on: bool) -> None:
        if on and self.painter.active:
            self.painter.finish()
        self.canvas.set_flag("compare", on)
        with QSignalBlocker(self.actions["view.compare"]):
            self.actions["view.compare"].setChecked(on)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Hold Space anywhere in this window (outside text fields) to compare."""
        kind = event.type()
        if (kind == QEvent.KeyPress or kind == QEvent.KeyRelease) and self._compare_key(obj, event):
            self.set_compare(kind == QEvent.KeyPress)
            return True
        return False

    def _compare_key(self, obj: QObject, event) -> bool:
        return (
            event.key() == Qt.Key_Space
            and not event.isAutoRepeat()
            and isinstance(obj, QWidget)
            and obj.window() is self
            and not isinstance(obj, QLineEdit | QAbstractSpinBox | QComboBox)
        )

    def set_presentation(self, on: bool) -> None:
        """Full screen, large canvas, only the presentation bar (F11 / Esc)."""
        on = bool(on)
        if on == self._presenting:
            return
        self._presenting = on
        with QSignalBlocker(self.actions["view.presentation"]):
            self.actions["view.presentation"].setChecked(on)
        if on:
            self._saved_state = (self.saveState(), self.isMaximized())
            for dock in self.docks.values():
                dock.hide()
            self.toolbar.hide()
            self.menuBar().hide()
            self.status.hide()
            self.presentation_bar.show()
            self.canvas.setProperty("presenting", True)
            self.showFullScreen()
        else:
            self.presentation_bar.hide()
            self.menuBar().show()
            self.status.show()
            self.toolbar.show()
            state, maximized = self._saved_state or (None, False)
            if state is not None:
                self.restoreState(state)
            self.canvas.setProperty("presenting", False)
            self.showMaximized() if maximized else self.showNormal()

    @property
    def presenting(self) -> bool:
        return self._presenting

    # -- drag and drop, closing --------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if path.endswith(".ganpaint"):
                if self._confirm_discard("opening the dropped project"):
                    self.open_project(path)
            elif path and self._confirm_discard("opening the dropped model"):
                self.open_model(path)
            return

    def closeEvent(self, event) -> None:
        if not self._confirm_discard("closing"):
            event.ignore()
            return
        self.painter.cancel()
        if self._presenting:
            self.set_presentation(False)
        self.prefs.set("window/geometry", self.saveGeometry())
        self.prefs.set("window/state", self.saveState())
        for key in BRUSH_PREFS:
            self.prefs.set(f"brush/{key}", getattr(self.brush, key))
        self.prefs.sync()
        QApplication.instance().removeEventFilter(self)
        self.worker.stop()
        self.autosave.finish()
        super().closeEvent(event)
