"""The main window's custom concepts: teaching one, and the user's concept file.

Custom concepts live in one JSON file per model (``concepts_path(bundle.name)`` in the user
data folder, or under the window's data folder) and are read when a model is installed.
The panel shows those of the current layer in a "Custom" group; they paint like the others.
Commands come in two steps like the file commands: ``choose_*`` asks for a file, the plain
method does the work (tests call those). A mixin of
:class:`~ganpaint.app.main_window.MainWindow`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ganpaint.app.concept_dialog import ConceptDialog
from ganpaint.app.concept_draft import DEFAULT_SAMPLES, ConceptDraft
from ganpaint.app.gallery import random_seed
from ganpaint.app.tool import CUSTOM
from ganpaint.core.errors import GanpaintError

CONCEPT_FILTER = "GANPaint concepts (*.json);;All files (*)"


class ConceptsMixin:
    custom_concepts: list
    concepts_folder: Path | None

    # -- the concept file ----------------------------------------------------------------------

    def concepts_file(self) -> Path | None:
        """The user's concept file for the open model (None before a model is open)."""
        from ganpaint.dissect.concept_files import concepts_path

        if self.bundle is None:
            return None
        return concepts_path(self.bundle.name, self.concepts_folder)

    def _load_custom_concepts(self) -> None:
        """Read the model's concept file; concepts that do not fit this model are skipped."""
        from ganpaint.dissect.concept_files import load_concepts

        self.custom_concepts = []
        path = self.concepts_file()
        if path is None:
            return
        try:
            found = load_concepts(path)
        except GanpaintError as exc:
            self.status.showMessage(f"Custom concepts not loaded: {exc}", 8000)
            return
        self.custom_concepts = [c for c in found if self._concept_problem(c) is None]

    def _concept_problem(self, concept) -> str | None:
        g = self.bundle.generator
        if concept.layer not in self.bundle.edit_layers:
            return f"its layer {concept.layer} is not an edit layer of {self.bundle.name}"
        channels = g.layer_channels(concept.layer)
        if not concept.units or any(u >= channels for u in concept.units):
            return f"its units do not fit the {channels} units of {concept.layer}"
        if concept.name == CUSTOM or concept.name in self._builtin_names(concept.layer):
            return f"“{concept.name}” is already a concept of {self.bundle.name}"
        return None

    def _builtin_names(self, layer: str) -> set[str]:
        """Names of the built-in concepts of ``layer`` that have units."""
        from ganpaint.app.concepts import concepts_for_layer

        b = self.bundle
        return {c.name for c in concepts_for_layer(b.dissection, layer, b.concepts) if c.available}

    def custom_concept(self, name: str | None):
        return next((c for c in self.custom_concepts if c.name == name), None)

    def concept_style_of(self, name: str) -> tuple[str, str, str]:
        """(group, icon, colour) of a concept, custom concepts with the icon the user chose."""
        from ganpaint.app.concepts import CUSTOM_GROUP, concept_style

        style = concept_style(name)
        c = self.custom_concept(name)
        return (CUSTOM_GROUP, c.icon, style[2]) if c is not None else style

    def _custom_changed(self, select: str | None = None) -> None:
        self._load_custom_concepts()
        self._layer_content()
        self.history_panel.rebuild()  # rows show the concepts' icons
        if select is not None and self.concept_panel.concept(select) is not None:
            self.brush.update(concept=select)
            self.concept_panel.tabs.setCurrentIndex(0)
        self._update_concept_actions()

    def _update_concept_actions(self) -> None:
        ready = self.bundle is not None
        self.actions["concept.new"].setEnabled(ready)
        self.actions["concept.import"].setEnabled(ready)
        self.actions["concept.export"].setEnabled(
            ready and self.custom_concept(self.brush.concept) is not None
        )

    # -- teaching ------------------------------------------------------------------------------

    def new_concept(self, seeds: list[int] | None = None) -> ConceptDialog | None:
        """Open the New Concept dialog (window-modal, not blocking); returns it."""
        if self.bundle is None or self.model_key is None:
            self.status.showMessage("Open a model first", 4000)
            return None
        if seeds is None:
            seeds = [self.document.seed] + [random_seed() for _ in range(DEFAULT_SAMPLES - 1)]
        b, layer = self.bundle, self.document.layer
        draft = ConceptDraft(b.generator.resolution, layer, seeds)
        names = {c.name for c in self.custom_concepts}
        dialog = ConceptDialog(
            self,
            self.worker,
            self.model_key,
            draft,
            [(name, self._describe_layer(name)) for name in b.edit_layers],
            random_seed,
            self.save_custom_concept,
            reserved=lambda on_layer: self._builtin_names(on_layer) | {CUSTOM},
            existing=names,
            unit_count=self.brush.unit_count,
        )
        self.concept_dialog = dialog
        dialog.open()
        return dialog

    def save_custom_concept(self, concept) -> bool:
        """Add (or replace) ``concept`` in the model's concept file and paint with it."""
        from ganpaint.dissect.concept_files import add_concept

        problem = self._concept_problem(concept)
        if problem is not None:
            self.prompts.error("Cannot save the concept", f"The concept cannot be used: {problem}.")
            return False
        try:
            add_concept(self.concepts_file(), concept, self.bundle.name)
        except (OSError, GanpaintError) as exc:
            self.prompts.error(
                "Cannot save the concept", "The concept file could not be written.", str(exc)
            )
            return False
        if concept.layer != self.document.layer:
            self.document.set_layer(concept.layer)
        self._custom_changed(select=concept.name)
        self.status.showMessage(
            f"Concept “{concept.name}” saved: {len(concept.units)} units ranked", 6000
        )
        return True

    def delete_custom_concept(self, name: str, ask: bool = True) -> bool:
        from ganpaint.dissect.concept_files import load_concepts, save_concepts

        if ask and not self.prompts.confirm(
            "delete_concept",
            "Delete concept",
            f"Delete your concept “{name}”? Strokes already painted with it stay.",
        ):
            return False
        path = self.concepts_file()
        try:
            kept = [c for c in load_concepts(path) if c.name != name]
            save_concepts(path, kept, self.bundle.name)
        except (OSError, GanpaintError) as exc:
            self.prompts.error("Cannot delete the concept", str(exc))
            return False
        self._custom_changed()
        self.status.showMessage(f"Deleted the concept “{name}”", 4000)
        return True

    # -- export and import ---------------------------------------------------------------------

    def choose_export_concept(self, name: str | None = None) -> None:
        name = name or self.brush.concept
        if self.custom_concept(name) is None:
            self.status.showMessage("Choose one of your custom concepts to export", 4000)
            return
        start = str(Path(self.prefs.get("dialogs/concept", str(Path.home()))) / f"{name}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Export Concept", start, CONCEPT_FILTER)
        if path:
            if not path.lower().endswith(".json"):
                path += ".json"
            self.prefs.set("dialogs/concept", str(Path(path).parent))
            self.export_concept(name, path)

    def export_concept(self, name: str, path: str | Path) -> bool:
        """Write the custom concept ``name`` alone to a concept file at ``path``."""
        from ganpaint.dissect.concept_files import save_concepts

        concept = self.custom_concept(name)
        if concept is None:
            return False
        try:
            save_concepts(path, [concept], self.bundle.name)
        except OSError as exc:
            self.prompts.error(
                "Cannot export", f"The concept could not be written to {path}.", str(exc)
            )
            return False
        self.status.showMessage(f"Exported “{name}” to {Path(path).name}", 4000)
        return True

    def choose_import_concepts(self) -> None:
        start = self.prefs.get("dialogs/concept", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Import Concepts", start, CONCEPT_FILTER)
        if path:
            self.prefs.set("dialogs/concept", str(Path(path).parent))
            self.import_concepts(path)

    def import_concepts(self, path: str | Path) -> list[str]:
        """Add the concepts in ``path`` that fit this model; returns the names added."""
        from ganpaint.dissect.concept_files import add_concept, load_concepts

        try:
            found = load_concepts(path)
            if not found:
                raise GanpaintError(f"{path}: no concepts in the file")
        except GanpaintError as exc:
            self.prompts.error("Cannot import", "The file holds no usable concepts.", str(exc))
            return []
        added, skipped = [], []
        try:
            for c in found:
                problem = self._concept_problem(c)
                if problem is None:
                    add_concept(self.concepts_file(), c, self.bundle.name)
                    added.append(c.name)
                else:
                    skipped.append(f"{c.name}: {problem}")
        except (OSError, GanpaintError) as exc:
            self.prompts.error("Cannot import", "The concept file could not be written.", str(exc))
        self._load_custom_concepts()
        here = next((n for n in added if self.custom_concept_layer(n) == self.document.layer), None)
        self._custom_changed(select=here)
        if skipped:
            self.prompts.error(
                "Some concepts were not imported",
                f"{len(skipped)} of {len(found)} concepts do not fit {self.bundle.name}.",
                "\n".join(skipped),
            )
        if added:
            elsewhere = [n for n in added if self.custom_concept_layer(n) != self.document.layer]
            note = f" ({', '.join(elsewhere)} on another layer)" if elsewhere else ""
            self.status.showMessage(f"Imported {', '.join(added)}{note}", 6000)
        return added

    def custom_concept_layer(self, name: str) -> str | None:
        c = self.custom_concept(name)
        return c.layer if c is not None else None
