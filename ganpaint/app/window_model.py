"""The main window's model side: starting up, loading models on the worker, crash
recovery, the edit layer's concepts, and the unit inspector's heatmaps and the gallery's
thumbnails (which depend on the loaded model).

A mixin of :class:`~ganpaint.app.main_window.MainWindow`; it uses the window's worker,
document, panels and status bar.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, QSize
from PySide6.QtWidgets import QComboBox

from ganpaint.app.autosave import Recovery
from ganpaint.app.concepts import concepts_for_layer, unit_table, with_custom_concepts
from ganpaint.app.imaging import heat_rgba, qimage_rgb, qimage_rgba
from ganpaint.app.tool import CUSTOM
from ganpaint.app.worker import HeatJob, HeatResult, LoadJob, ModelResult, ThumbJob
from ganpaint.engine.document import EditDocument
from ganpaint.models.bundle import default_bundle_path


class ModelMixin:
    # -- start and model loading --------------------------------------------------------------

    def start(self, model: str | None, project: str | None, restore: bool | None) -> None:
        """Open the model (the default when None), then the project or an autosave."""
        self.autosave.start()
        recovery = self._take_recovery(restore)
        if recovery is not None:
            self._pending_restore = recovery
            model = recovery.model_path or model
        self._pending_project = project
        self.open_model(model)

    def _take_recovery(self, restore: bool | None) -> Recovery | None:
        found = self.autosave.recoverable()
        chosen = None
        for rec in found:
            strokes = int(rec.meta.get("strokes", 0) or 0)
            if chosen is None and strokes > 0:
                answer = (
                    restore if restore is not None else self.prompts.restore(rec.saved_at, strokes)
                )
                if answer:
                    chosen = rec
                    continue
            if rec is not chosen:
                self.autosave.discard(rec)
        return chosen

    def open_model(self, path: str | Path | None, device: str | None = None) -> None:
        """Load a model on the worker; the current one stays until the new one is ready."""
        self._load_key += 1
        self._requested_model = str(path) if path is not None else None
        self.worker.submit(
            LoadJob(self._load_key, self._requested_model, device or self.device_pref)
        )
        label = Path(path).name if path else "the bundled model"
        self.status.showMessage(f"Loading {label}…")
        if self.bundle is None:
            self.canvas.set_placeholder("Loading model…", str(path or default_bundle_path()))

    def set_device(self, device: str | None) -> None:
        """Move the open model to ``device`` ("cpu", "cuda", … or None for automatic)."""
        self.device_pref = device
        self.prefs.set("device", device or "")
        if self.bundle is not None:
            self._load_key += 1
            self.worker.submit(LoadJob(self._load_key, None, device, bundle=self.bundle))
        else:  # the first load failed (e.g. out of GPU memory): try again there
            self.open_model(self._requested_model, device)

    def _model_loaded(self, res: ModelResult) -> None:
        if res.error is not None:
            self._model_failed(res.error, res.path)
            return
        self.painter.cancel()
        self.status.clear_error()
        self.device_text = res.device
        self.devices = res.devices
        self.status.device.setText(res.device)
        reused = res.reused and self.bundle is res.bundle
        self.bundle, self.model_key = res.bundle, res.key
        if not reused:
            self.model_path = (
                str(Path(res.path).resolve()) if res.path else str(default_bundle_path())
            )
            self.prefs.add_recent("models", self.model_path)
            self._install_model()
        self.frames.set_model(res.key)
        self._brush_changed({"size"})  # the cursor and size label depend on the resolution
        self._request_heat()
        self.status.showMessage(f"Opened {self.bundle.name} on {res.device}", 4000)
        self._update_enabled()
        self.modelLoaded.emit()

    def _install_model(self) -> None:
        b, g = self.bundle, self.bundle.generator
        self.canvas.image_size = QSize(g.resolution, g.resolution)
        self.select_unit(-1)
        restore, self._pending_restore = self._pending_restore, None
        project, self._pending_project = self._pending_project, None
        fresh = EditDocument(b.name, b.default_layer, self.document.seed)
        self.document.assign(fresh)
        self.project_path = None
        self.worker.clear_thumbnails()
        self.gallery.reset(self.document.seed)
        self.status.model.setText(f"{b.name} · {g.resolution} px")
        self.concept_panel.set_layers(b.edit_layers, b.default_layer, self._describe_layer)
        self._load_custom_concepts()
        self._layer_content()
        if restore is not None:
            self._apply_restore(restore)
        elif project:
            self.open_project(project)

    def _model_failed(self, error: str, path: str | None) -> None:
        self.modelFailed.emit(error)
        missing_default = self.bundle is None and path is None
        if missing_default:
            self.canvas.set_placeholder(
                "No model yet",
                f"The bundled model “{default_bundle_path().name}” is not installed "
                f"(looked in {default_bundle_path()}).\nOpen a model bundle folder or an "
                "official GAN Dissection ProGAN .pth to start painting.",
                self.actions["file.open_model"],
            )
            self.status.showMessage("The bundled model is missing: open a model to start")
            return
        if self.bundle is None:
            self.canvas.set_placeholder(
                "Could not open the model", error, self.actions["file.open_model"]
            )
        keep = f" Still using {self.bundle.name}." if self.bundle is not None else ""
        on_gpu = any(k in error.lower() for k in ("memory", "cuda", "mps"))
        self.status.show_error(
            f"Could not open model: {error}", on_gpu and self.device_pref != "cpu"
        )
        self.prompts.error(
            "Cannot open model", "This file could not be opened as a generator." + keep, error
        )

    def _describe_layer(self, layer: str) -> str:
        g = self.bundle.generator
        side = g.layer_resolution(layer)
        return f"{layer} · {side}×{side} · {g.layer_channels(layer)} units"

    def _layer_content(self) -> None:
        b, layer = self.bundle, self.document.layer
        concepts = with_custom_concepts(
            concepts_for_layer(b.dissection, layer, b.concepts), self.custom_concepts, layer
        )
        units = unit_table(b.dissection, layer, b.generator.layer_channels(layer))
        self.select_unit(-1)  # unit numbers belong to a layer
        self.concept_panel.set_content(concepts, units)
        self.presentation_bar.set_concepts(concepts)
        self.status.layer.setText(self._describe_layer(layer))
        with QSignalBlocker(self.concept_panel.layer_combo):
            combo: QComboBox = self.concept_panel.layer_combo
            combo.setCurrentIndex(max(0, combo.findData(layer)))

    # -- scenes, units, thumbnails ---------------------------------------------------------------

    def _thumbnails_wanted(self, seeds: list[int]) -> None:
        if self.model_key is not None:
            for seed in seeds:
                self.worker.submit(ThumbJob(self.model_key, int(seed)))

    def _thumbnail_ready(self, res) -> None:
        if res.key == self.model_key and res.image is not None:
            self.gallery.set_thumbnail(res.seed, qimage_rgb(res.image))

    def select_unit(self, unit: int) -> None:
        """Show ``unit`` of the edit layer in the inspector and its heatmap (-1 clears)."""
        self.selected_unit = None if unit is None or unit < 0 else int(unit)
        self.canvas.set_heat(None)
        if self.selected_unit is None or self.bundle is None:
            self.inspector.show_unit(None)
            return
        self.inspector.show_unit(
            self.selected_unit, self.document.layer, self._unit_info(self.selected_unit)
        )
        self._request_heat()

    def _unit_info(self, unit: int) -> dict:
        units = self.concept_panel.units
        info = units[unit] if 0 <= unit < len(units) else None
        label = info.label if info else None
        concept = (
            self.concept_panel.concept(self.brush.concept) if self.brush.concept != CUSTOM else None
        )
        if (
            concept is None
            or concept.score("iou", unit) is None
            and concept.score("causal", unit) is None
        ):
            concept = self.concept_panel.concept(label)
        return {
            "label": label or (concept.name if concept else None),
            "iou": concept.score("iou", unit) if concept else (info.iou if info else None),
            "ace": concept.score("causal", unit) if concept else None,
        }

    def _request_heat(self) -> None:
        if self.selected_unit is not None and self.model_key is not None:
            d = self.document
            self.worker.submit(HeatJob(self.model_key, d.seed, d.layer, self.selected_unit))

    def _heat_ready(self, res: HeatResult) -> None:
        d = self.document
        current = (self.model_key, d.seed, d.layer, self.selected_unit)
        if (res.key, res.seed, res.layer, res.unit) != current:
            return
        if res.heat is None:
            self.status.showMessage(f"Unit heatmap failed: {res.error}", 6000)
            return
        heat = qimage_rgba(heat_rgba(res.heat, res.level))
        self.canvas.set_heat(heat)
        base = self.frames.plain_qimage or self.frames.qimage
        self.inspector.set_heat(base, heat, float(res.heat.max()), res.level)
        self.inspector.level.setText(f"{res.level:.3f}")
