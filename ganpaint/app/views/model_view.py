"""The window's model side: start-up, loading models on the worker, crash recovery, the edit
layer's concepts, the unit inspector's heatmaps and the gallery's thumbnails.

:class:`ModelView` carries out what :class:`~ganpaint.app.state.model_controller.ModelController`
decides: it submits load jobs, installs a loaded model into the window's parts and reports
failures. It works on the parts a :class:`~ganpaint.app.views.main_window.MainWindow` holds
(worker, session, library, panels, canvas, status bar, prompts).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, QSize

from ganpaint.app.state.artifacts import switched_off
from ganpaint.app.state.concept_library import unit_scores
from ganpaint.app.state.scene_index import SceneContent
from ganpaint.app.state.session import choose_recovery, recovery_question
from ganpaint.app.views.autosave import Recovery
from ganpaint.app.views.imaging import heat_rgba, qimage_rgb, qimage_rgba
from ganpaint.app.views.worker import HeatJob, HeatResult, ModelResult, ThumbJob
from ganpaint.models.bundle import default_bundle_path

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow


class ModelView:
    def __init__(self, window: MainWindow):
        self.w = window
        self.models = window.models
        self.selected_unit: int | None = None

    # -- start and model loading --------------------------------------------------------------

    def start(self, model: str | None, project: str | None, restore: bool | None) -> None:
        """Open the model (the default when None), then the project or an autosave."""
        self.w.autosave.start()
        recovery = self._take_recovery(restore, model)
        if recovery is not None:
            self.models.pending_restore = recovery
            model = recovery.model_path or model
        self.models.pending_project = project
        self.open_model(model)

    def _take_recovery(self, restore: bool | None, asked: str | None) -> Recovery | None:
        def name(path: str | None) -> str:
            return Path(path or default_bundle_path()).name

        def ask(rec: Recovery, strokes: int) -> bool:
            if restore is not None:
                return restore
            picture = rec.meta.get("picture") is True
            instead_of = name(asked) if asked else None  # only a model named on opening
            question = recovery_question(rec.saved_at, strokes, picture,
                                         name(rec.model_path or asked), instead_of,
                                         rec.meta.get("stopped_by"))  # fmt: skip
            return self.w.prompts.restore(question)

        chosen, discard = choose_recovery(self.w.autosave.recoverable(), ask)
        for rec in discard:
            self.w.autosave.discard(rec)
        return chosen

    def open_model(self, path: str | Path | None, device: str | None = None) -> None:
        """Load a model on the worker; the current one stays until the new one is ready."""
        self.w.worker.submit(self.models.request_open(path, device))
        label = Path(path).name if path else "the bundled model"
        self.w.status.showMessage(f"Loading {label}…")
        if self.models.bundle is None:
            self.w.canvas.set_placeholder("Loading model…", str(path or default_bundle_path()))

    def set_device(self, device: str | None) -> None:
        """Move the open model to ``device`` ("cpu", "cuda", … or None for automatic)."""
        self.w.prefs.set("device", device or "")
        request = self.models.request_device(device)
        if request is None:  # the first load failed (e.g. out of GPU memory): try again there
            self.open_model(self.models.requested, device)
        else:
            self.w.worker.submit(request)

    def loaded(self, res: ModelResult) -> None:
        w = self.w
        if res.error is not None:
            self._failed(res.error, res.path)
            return
        w.painter.cancel()
        w.status.clear_error()
        w.status.device.setText(res.device)
        fresh = self.models.loaded(res.key, res.bundle, res.device, res.devices, res.path,
                                   res.reused)  # fmt: skip
        said = None  # what restoring or opening a project said: "Opened" must not hide it
        if fresh:
            w.prefs.add_recent("models", self.models.model_path)
            before = w.status.currentMessage()
            self._install()
            said = w.status.currentMessage() if w.status.currentMessage() != before else None
        w.view_modes.model_opened(self.models.bundle.dissection)
        w.classifier_view.model_opened(self.models.bundle)
        w.frames.set_model(res.key)
        w.brush_changed({"size"})  # the cursor and size label depend on the resolution
        self.request_heat()
        note = w.concept_commands.skipped_note()  # more use than "Opened", on the right too
        if note is None:
            why = self.models.bundle.chosen_because
            opened = f"Opened {self.models.bundle.name} on {res.device}"
            opened = f"{opened}: {why}" if why else opened
            if said:
                w.status.showMessage(f"{opened}. {said}", 10000)
            else:
                w.status.showMessage(opened, 6000 if why else 4000)
        else:
            w.status.showMessage(note, 12000)
        w.update_enabled()
        w.modelLoaded.emit()

    def _install(self) -> None:
        w, b = self.w, self.models.bundle
        g = b.generator
        w.canvas.image_size = QSize(g.resolution, g.resolution)
        w.canvas.fit_to_window()
        self.select_unit(-1)
        restore, project = self.models.take_pending()
        index = SceneContent.from_dissection(b.dissection)
        start = None  # the window's random first scene gives way to a well drawn one
        if not w.session.seed_chosen and restore is None and not project and index is not None:
            start = index.pick_well_drawn(w.gallery.rng)
        w.session.seed_chosen = True  # a model opened later keeps the scene
        w.session.reset(b.name, b.default_layer, start)
        w.worker.clear_thumbnails()
        w.gallery.set_scene_index(index)
        w.gallery.reset(w.document.seed)
        why = f"\n{b.chosen_because[:1].upper()}{b.chosen_because[1:]}" if b.chosen_because else ""
        w.status.set_model(b.name, g.resolution, f"The open model: {b.name}, {b.path}{why}")
        w.concept_panel.set_layers(b.edit_layers, b.default_layer, self.models.describe_layer)
        w.concept_commands.reload()
        self.layer_content()
        if restore is not None:
            w.file_commands.apply_restore(restore)
        elif project:
            w.file_commands.open_project(project)

    def _failed(self, error: str, path: str | None) -> None:
        w = self.w
        w.modelFailed.emit(error)
        failure = self.models.failure(error, path)
        if failure.missing_default:
            w.canvas.set_placeholder(
                "No model yet",
                f"The bundled model “{default_bundle_path().name}” is not installed "
                f"(looked in {default_bundle_path()}).\nOpen a model bundle folder or an "
                "official GAN Dissection ProGAN .pth to start painting.",
                w.actions["file.open_model"],
            )
            w.status.showMessage("The bundled model is missing: open a model to start")
            return
        if self.models.bundle is None:
            w.canvas.set_placeholder(
                "Could not open the model", error, w.actions["file.open_model"]
            )
        w.status.show_error(f"Could not open model: {error}", failure.offer_cpu)
        w.prompts.error(
            "Cannot open model",
            "This file could not be opened as a generator." + failure.keep_note,
            error,
        )

    def layer_content(self) -> None:
        """Show the current layer's concepts and units in the panels."""
        w, layer = self.w, self.w.document.layer
        concepts = w.library.layer_concepts(layer)
        units = w.library.layer_units(layer)
        self.select_unit(-1)  # unit numbers belong to a layer
        w.concept_panel.set_content(concepts, units)
        w.presentation_bar.set_concepts(concepts)
        w.status.layer.setText(self.models.describe_layer(layer))
        combo = w.concept_panel.layer_combo
        with QSignalBlocker(combo):
            combo.setCurrentIndex(max(0, combo.findData(layer)))

    # -- scenes, units, thumbnails ---------------------------------------------------------------

    def thumbnails_wanted(self, seeds: list[int]) -> None:
        """Thumbnails of ``seeds`` with the current (committed, visible) strokes on them."""
        doc = self.w.document
        if self.models.model_key is None or doc.picture is not None:
            return  # a picture has no scenes: the strip waits, unchanged, until it closes
        strokes = tuple(st for st in doc.strokes if st.visible)  # committed: no preview
        edited = self.models.ready and bool(strokes)
        snapshot = replace(doc.snapshot(), strokes=strokes) if edited else None
        for seed in seeds:
            job_snapshot = snapshot.with_seed(int(seed)) if snapshot is not None else None
            revision = snapshot.revision if snapshot is not None else -1
            job = ThumbJob(self.models.model_key, int(seed), job_snapshot, revision)
            self.w.worker.submit(job)

    def thumbnail_ready(self, res) -> None:
        if res.key == self.models.model_key and res.image is not None:
            self.w.gallery.set_thumbnail(res.seed, qimage_rgb(res.image))

    def select_unit(self, unit: int | None) -> None:
        """Show ``unit`` of the edit layer in the inspector and its heatmap (-1 clears)."""
        w = self.w
        self.selected_unit = None if unit is None or unit < 0 else int(unit)
        w.canvas.set_heat(None)
        if self.selected_unit is None or self.models.bundle is None:
            w.inspector.show_unit(None)
            return
        panel = w.concept_panel
        info = unit_scores(panel.concepts, panel.units, w.brush.concept, self.selected_unit)
        w.inspector.show_unit(self.selected_unit, w.document.layer, info)
        self.request_heat()

    def request_heat(self) -> None:
        if self.selected_unit is not None and self.models.model_key is not None:
            d = self.w.document
            off = self._switched_off()
            self.w.worker.submit(HeatJob(self.models.model_key, d.seed, d.layer,
                                         self.selected_unit, original=off))  # fmt: skip

    def _switched_off(self) -> bool:
        """The selected unit is zeroed by View > Clean Artifacts (0 in every frame): the
        inspector then shows where it fires in the network before the zeroing."""
        unit, layer = self.selected_unit, self.w.document.layer
        return unit is not None and switched_off(self.w.frames.zeroed, layer, unit)

    def heat_ready(self, res: HeatResult) -> None:
        w, d = self.w, self.w.document
        current = (self.models.model_key, d.seed, d.layer, self.selected_unit)
        if (res.key, res.seed, res.layer, res.unit) != current:
            return
        if res.original != self._switched_off():
            return  # Clean Artifacts was switched since: its own heatmap is on the way
        if res.heat is None:
            w.status.showMessage(f"Unit heatmap failed: {res.error}", 6000)
            return
        heat = qimage_rgba(heat_rgba(res.heat, res.level))
        w.canvas.set_heat(heat)
        base = w.frames.qimage or w.frames.plain_qimage  # the scene as edited, as on the canvas
        w.inspector.set_heat(base, heat, float(res.heat.max()), res.level, res.original)
        w.inspector.level.setText(f"{res.level:.3f}")
