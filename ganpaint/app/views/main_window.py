"""The main window: composes the app's state, the canvas, the panels and the commands.

It holds the Qt-free state (:class:`~ganpaint.app.state.session.DocumentSession` with its one
:class:`~ganpaint.engine.document.EditDocument`, the
:class:`~ganpaint.app.state.model_controller.ModelController`, the
:class:`~ganpaint.app.state.concept_library.ConceptLibrary` and the
:class:`~ganpaint.app.state.tool.BrushSettings`), one :class:`RenderWorker`, the widgets, and
the command objects that act on them: :class:`ModelView` (loading, layers, units),
:class:`FileCommands` (projects, export, About), :class:`PictureCommands` (open an image),
:class:`ConceptCommands` (custom concepts) and :class:`ViewModes` (display flags, compare,
presentation). The window itself wires them together and handles painting, drag and drop
and closing. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMainWindow,
)

from ganpaint.app.state.artifacts import artifact_set
from ganpaint.app.state.brush import PRESSURE_MODES
from ganpaint.app.state.concept_library import ConceptLibrary
from ganpaint.app.state.model_controller import ModelController
from ganpaint.app.state.painting import StrokeTemplate, stroke_template
from ganpaint.app.state.session import DocumentSession
from ganpaint.app.state.tool import BrushSettings, learned_settings
from ganpaint.app.views import theme
from ganpaint.app.views.actions import build_actions
from ganpaint.app.views.autosave import Autosave
from ganpaint.app.views.canvas import PaintCanvas
from ganpaint.app.views.classifier_panel import ClassifierPanel
from ganpaint.app.views.classifier_view import ClassifierView
from ganpaint.app.views.concept_commands import ConceptCommands
from ganpaint.app.views.concept_panel import ConceptPanel
from ganpaint.app.views.file_commands import FileCommands
from ganpaint.app.views.frames import FrameView
from ganpaint.app.views.gallery import GalleryPanel, random_seed
from ganpaint.app.views.history_panel import HistoryPanel
from ganpaint.app.views.incoming import can_open, open_incoming
from ganpaint.app.views.inspector import InspectorPanel
from ganpaint.app.views.model_view import ModelView
from ganpaint.app.views.painting import PaintController
from ganpaint.app.views.picture_commands import PictureCommands
from ganpaint.app.views.presentation import PresentationBar
from ganpaint.app.views.prompts import Prompts
from ganpaint.app.views.scene_commands import SceneCommands
from ganpaint.app.views.settings import Preferences
from ganpaint.app.views.status_bar import StatusBar
from ganpaint.app.views.stroke_feedback import StrokeFeedback
from ganpaint.app.views.view_modes import ViewModes
from ganpaint.app.views.window_layout import build_docks, build_menus, build_toolbar
from ganpaint.app.views.window_placement import FRAME_ALLOWANCE, fit_screen, keep_on_screen
from ganpaint.app.views.worker import RenderWorker

BRUSH_PREFS = (
    "action", "size", "hardness", "strength", "quantile", "unit_count", "ranking", "pressure"
)  # fmt: skip
# the autosave of a slider's later values waits this long for it to rest: each save writes
# the whole document (27.6 ms at 300 strokes on a picture, devtools.save_time)
AUTOSAVE_REST_MS = 300


class MainWindow(QMainWindow):
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
        # a dragged slider's values after its first are saved once it rests this long
        self._autosave_later = QTimer(self, singleShot=True, interval=AUTOSAVE_REST_MS)
        self._autosave_later.timeout.connect(self.autosave_now)
        self._stopped_by: str | None = None  # the signal that is closing the window
        # state (no Qt)
        self.session = DocumentSession(
            random_seed() if seed is None else int(seed), seed_chosen=seed is not None
        )
        self.document = self.session.document
        self.models = ModelController(prefs.get("device", "") or None)
        self.library = ConceptLibrary(concepts_folder)
        self.brush = BrushSettings()
        # a value edited by hand or left by another version keeps its default (the next
        # close writes a good one over it)
        self.brush.restore(
            {k: prefs.get(f"brush/{k}", getattr(self.brush, k)) for k in BRUSH_PREFS}
        )
        # commands
        self.model_view = ModelView(self)
        self.file_commands = FileCommands(self)
        self.concept_commands = ConceptCommands(self)
        self.view_modes = ViewModes(self)
        self.scene_commands = SceneCommands(self)
        self.classifier_view = ClassifierView(self)
        # widgets
        self.worker = RenderWorker(self, threads)
        self.worker.stepsRendered.connect(self.file_commands.steps_rendered)
        self.canvas = PaintCanvas()
        self.frames = FrameView(self.document, self.worker, self.canvas)
        self.picture_commands = PictureCommands(self)
        self.actions = build_actions(self)
        self.concept_panel = ConceptPanel(self.brush, self.actions)
        self.history_panel = HistoryPanel(self.document, self.actions)
        self.history_panel.style_of = self.library.style_of
        self.history_panel.strokeHovered.connect(self.frames.spotlight_stroke)
        self.gallery = GalleryPanel(self.document)
        self.inspector = InspectorPanel()
        self.classifier_panel = ClassifierPanel()
        self.painter = PaintController(
            self.canvas, self.document, self.brush, self.stroke_template, self
        )
        self.presentation_bar = PresentationBar(self.brush, self.actions, self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.setCentralWidget(self.canvas)
        self.docks = build_docks(self)
        self.toolbar, self.brush_controls = build_toolbar(self)
        self.recent_menu, self.device_menu = build_menus(self)
        self.addToolBar(Qt.TopToolBarArea, self.presentation_bar)
        self.presentation_bar.hide()
        self._connect()
        self.stroke_feedback = StrokeFeedback(self)
        self.setAcceptDrops(True)
        self._restore_layout()
        self.brush_changed({"action", "size", "concept"})
        self.update_title()
        self.update_enabled()
        self.status.set_ms(None)
        app = QApplication.instance()
        self._keys_from: QObject | None = None  # the native window whose keys are filtered
        # A window deleted without closing must not leave its thread running.
        app.aboutToQuit.connect(self.worker.stop)
        app.aboutToQuit.connect(self.classifier_view.stop)
        self.worker.start()

    def start(self, model: str | None, project: str | None, restore: bool | None) -> None:
        """Open the model (the default when None), then the project or an autosave."""
        self.model_view.start(model, project, restore)

    # -- construction ----------------------------------------------------------------------

    def _restore_layout(self) -> None:
        # a small screen (a 1280 x 800 projector) fits it whole, title bar too (at the
        # screen's full height for its inside, the status bar fell off the bottom)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        size = fit_screen(QSize(1360, 860), screen)
        self.resize(size)
        geometry = self.prefs.get_bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
            # saved on a larger screen, or at a smaller scaling: it would hang off this one
            fitted = fit_screen(self.size(), screen)
            if screen is not None and fitted != self.size():
                self.resize(fitted)
                self.move(keep_on_screen(self.pos(), fitted + FRAME_ALLOWANCE, screen))
        state = self.prefs.get_bytes("window/state")
        if state is not None:
            self.restoreState(state)
        # restoreGeometry alone does not bring back a maximised window on every platform
        if self.prefs.get("window/maximized", False):
            self.setWindowState(self.windowState() | Qt.WindowMaximized)
        self.view_modes.restore_flags()

    def _connect(self) -> None:
        w, mv = self.worker, self.model_view
        w.modelLoaded.connect(mv.loaded)
        w.heatReady.connect(mv.heat_ready)
        w.thumbnailReady.connect(mv.thumbnail_ready)
        w.busyChanged.connect(self.status.set_busy)
        self.frames.frameShown.connect(self._frame_shown)
        self.frames.renderFailed.connect(self._render_failed)
        self.classifier_view.connect()
        self.painter.message.connect(lambda text: self.status.showMessage(text, 4000))
        self.canvas.brushResize.connect(self.resize_brush)
        self.concept_panel.layerChosen.connect(self.document.set_layer)
        self.concept_panel.unitSelected.connect(mv.select_unit)
        self.concept_panel.exportRequested.connect(self.concept_commands.choose_export)
        self.concept_panel.deleteRequested.connect(self.concept_commands.delete_concept)
        self.inspector.cleared.connect(lambda: mv.select_unit(-1))
        self.gallery.thumbnailsWanted.connect(mv.thumbnails_wanted)
        self.status.cpuRequested.connect(lambda: mv.set_device("cpu"))
        self.document.subscribe(self._document_changed)
        self.brush.subscribe(self.brush_changed)

    # -- painting ------------------------------------------------------------------------------

    def stroke_template(self) -> StrokeTemplate | str:
        panel = self.concept_panel
        units = panel.brush_units() if self.models.ready else ()
        return stroke_template(self.models.resolution, self.brush.concept, units,
                               self.document.layer, panel.brush_color())  # fmt: skip

    def set_action(self, action: str) -> None:
        self.brush.update(action=action)

    def swap_action(self) -> None:
        self.brush.update(action="remove" if self.brush.action == "draw" else "draw")

    def resize_brush(self, steps: int) -> None:
        self.brush.update(size=self.brush.size * (1.2 ** int(steps)))

    def new_random_scene(self) -> None:
        self.gallery.new_random()

    def brush_changed(self, changed: set[str]) -> None:
        b, c = self.brush, self.brush_controls
        with QSignalBlocker(c.size_slider), QSignalBlocker(c.hard_slider):
            c.size_slider.setValue(round(b.size * 1000))
            c.hard_slider.setValue(round(b.hardness * 100))
        res = self.models.resolution
        c.size_label.setText(f"{b.size * 2 * res:.0f} px" if res else f"{b.size * 200:.0f} %")
        checked = {"tool.draw": b.action == "draw", "tool.remove": b.action == "remove"}
        checked.update({f"brush.pressure_{m}": b.pressure == m for m in PRESSURE_MODES})
        for key, on in checked.items():
            with QSignalBlocker(self.actions[key]):
                self.actions[key].setChecked(on)
        color = theme.REMOVE if b.action == "remove" else self.concept_panel.brush_color()
        self.canvas.set_brush(b.size * max(res, 1), color)
        if "concept" in changed:
            self.concept_commands.update_actions()
        if changed & {"concept", "action"}:
            self._apply_learned_defaults()

    def _apply_learned_defaults(self) -> None:
        """A picked concept (or a switch between draw and remove) takes the unit count,
        ranking and level learned for it on the dissection samples, when there are any."""
        concept = self.concept_panel.concept(self.brush.concept)
        if concept is not None:
            settings = learned_settings(concept.defaults, self.brush.action)
            if settings:
                self.brush.update(**settings)

    # -- documents and frames ------------------------------------------------------------------

    def _document_changed(self, kind: str) -> None:
        if kind == "preview":
            return
        ready = self.models.bundle is not None
        if kind == "layer" and ready:
            self.model_view.layer_content()
        if kind == "seed":
            self.model_view.request_heat()
        if kind in ("strokes", "seed", "layer", "loaded") and ready:
            if self.document.merging:  # a slider's later values: saved once it rests
                self._autosave_later.start()
            else:
                self.autosave_now()
        self.update_title()
        self.update_enabled()

    def autosave_now(self) -> None:
        self._autosave_later.stop()
        meta = self.session.autosave_meta(self.models.model_path)
        if meta is None:
            return
        try:
            self.autosave.save(self.session.to_dict(), meta)
        except OSError as exc:
            self.status.showMessage(f"Autosave failed: {exc}", 6000)

    def _frame_shown(self, result) -> None:
        if not self.status.cpu_button.isVisible():  # keep the CPU offer until it is taken
            self.status.clear_error()
        self.status.set_ms(self.frames.typical_ms)
        if not self.painter.active:  # not per frame of a drag: once it ends
            self.inspector.set_base(self.frames.qimage or self.frames.plain_qimage)
        self.frameShown.emit(result)

    def _render_failed(self, error: str) -> None:
        self.status.show_error(f"Render failed: {error}", self.models.offer_cpu_on_render_error)

    def update_title(self) -> None:
        self.setWindowTitle(self.session.title)
        self.setWindowModified(self.session.dirty)

    def update_enabled(self) -> None:
        a, d, ready = self.actions, self.document, self.models.ready
        a["edit.undo"].setEnabled(d.can_undo)
        a["edit.redo"].setEnabled(d.can_redo)
        a["edit.reset"].setEnabled(bool(d.strokes))
        for key in ("file.save", "file.save_as", "file.export", "file.copy", "scene.new",
                    "file.open_project", "file.open_image"):  # fmt: skip
            a[key].setEnabled(ready)
        # A picture has no seed: the scene commands and the strip wait until it is closed.
        picture = d.picture is not None
        for key in ("scene.new", "scene.goto", "scene.previous", "scene.next"):
            a[key].setEnabled(ready and not picture)
        a["file.close_picture"].setEnabled(picture)
        self.gallery.setEnabled(not picture)
        bundle = self.models.bundle if ready else None
        a["view.clean"].setEnabled(bool(artifact_set(getattr(bundle, "dissection", None))))
        self.concept_commands.update_actions()

    # -- keys, drag and drop, closing ------------------------------------------------------------

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # Keys reach the focused widget through the native window; filtering there sees them
        # first, and sees little else (an application-wide filter would run Python for every
        # event of every object: a tenth of the GUI thread's time during a brush drag).
        handle = self.windowHandle()
        if handle is not None and handle is not self._keys_from:
            if self._keys_from is not None:
                self._keys_from.removeEventFilter(self)
            handle.installEventFilter(self)
            self._keys_from = handle

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Hold Space anywhere in this window (outside text fields) to compare."""
        kind = event.type()
        if (kind == QEvent.KeyPress or kind == QEvent.KeyRelease) and self._compare_key(event):
            self.view_modes.set_compare(kind == QEvent.KeyPress)
            return True
        return False

    def _compare_key(self, event) -> bool:
        if event.key() != Qt.Key_Space or event.isAutoRepeat():
            return False
        focus = QApplication.focusWidget()
        return focus is None or (
            focus.window() is self
            and not isinstance(focus, QLineEdit | QAbstractSpinBox | QComboBox)
        )

    def dragEnterEvent(self, event) -> None:
        if can_open(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        if open_incoming(self, event.mimeData(), "dropped"):
            event.acceptProposedAction()

    def stop(self, signal_name: str) -> None:
        """Close at once for a stop signal (Ctrl+C in the terminal, a logout): no question
        to answer; unsaved strokes stay in the autosave, offered again at the next start."""
        self._stopped_by = signal_name
        if not self.close():
            self._stopped_by = None

    def closeEvent(self, event) -> None:
        stopped_by = self._stopped_by
        if stopped_by is None and not self.file_commands.confirm_discard("closing"):
            event.ignore()
            return
        keep = stopped_by is not None and self.session.needs_confirm
        if keep and self.models.bundle is not None:
            self.autosave_now()  # the document as it is now, for the restore
        self.painter.cancel()
        self.picture_commands.cancel()
        if self.view_modes.presenting:
            self.view_modes.set_presentation(False)
        self.prefs.set("window/geometry", self.saveGeometry())
        self.prefs.set("window/state", self.saveState())
        self.prefs.set("window/maximized", self.isMaximized())
        for key in BRUSH_PREFS:
            self.prefs.set(f"brush/{key}", getattr(self.brush, key))
        self.prefs.sync()
        if self._keys_from is not None:
            self._keys_from.removeEventFilter(self)
            self._keys_from = None
        self.classifier_view.stop()
        self.worker.stop()
        self.autosave.finish(keep_for=stopped_by if keep else None)
        super().closeEvent(event)
