"""The window's custom-concept commands: teaching one, and the user's concept file.

Custom concepts live in one JSON file per model (the
:class:`~ganpaint.app.state.concept_library.ConceptLibrary` reads and writes it) and are read
when a model is installed. The panel shows those of the current layer in a "Custom" group;
they paint like the others. Commands come in two steps like the file commands: ``choose_*``
asks for a file, the plain method does the work (tests call those). :class:`ConceptCommands`
works on the parts a :class:`~ganpaint.app.views.main_window.MainWindow` holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from ganpaint.app.state.concept_draft import DEFAULT_SAMPLES, ConceptDraft
from ganpaint.app.views.concept_dialog import ConceptDialog
from ganpaint.app.views.gallery import random_seed
from ganpaint.core.errors import GanpaintError

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

CONCEPT_FILTER = "GANPaint concepts (*.json);;All files (*)"


class ConceptCommands:
    def __init__(self, window: MainWindow):
        self.w = window
        self.library = window.library
        self.dialog: ConceptDialog | None = None  # the last New Concept dialog

    def reload(self) -> None:
        """Read the open model's concept file (a message when it cannot be read)."""
        error = self.library.set_model(self.w.models.bundle)
        if error is not None:
            self.w.status.showMessage(f"Custom concepts not loaded: {error}", 8000)

    def skipped_note(self) -> str | None:
        """Which concepts of the user's file the open model cannot use, and why (None: all
        fit), for the message when a model opens."""
        skipped = self.library.skipped
        if not skipped:
            return None
        whys = "; ".join(f"{name} ({why})" for name, why in skipped[:2])
        more = f"; and {len(skipped) - 2} more" if len(skipped) > 2 else ""
        return f"Not shown from your concepts: {whys}{more}"

    def changed(self, select: str | None = None) -> None:
        """Show the concept file's new content (and paint with ``select``)."""
        w = self.w
        self.reload()
        w.model_view.layer_content()
        w.history_panel.rebuild()  # rows show the concepts' icons
        if select is not None and w.concept_panel.concept(select) is not None:
            w.brush.update(concept=select)
            w.concept_panel.tabs.setCurrentIndex(0)
        self.update_actions()

    def update_actions(self) -> None:
        a, ready = self.w.actions, self.w.models.ready
        a["concept.new"].setEnabled(ready)
        a["concept.import"].setEnabled(ready)
        a["concept.export"].setEnabled(
            ready and self.library.custom_concept(self.w.brush.concept) is not None
        )

    # -- teaching ------------------------------------------------------------------------------

    def new_concept(self, seeds: list[int] | None = None) -> ConceptDialog | None:
        """Open the New Concept dialog (window-modal, not blocking); returns it."""
        w, models = self.w, self.w.models
        if models.bundle is None or models.model_key is None:
            w.status.showMessage("Open a model first", 4000)
            return None
        if seeds is None:
            seeds = [w.document.seed] + [random_seed() for _ in range(DEFAULT_SAMPLES - 1)]
        b, layer = models.bundle, w.document.layer
        draft = ConceptDraft(b.generator.resolution, layer, seeds)
        dialog = ConceptDialog(
            w,
            w.worker,
            models.model_key,
            draft,
            [(name, models.describe_layer(name)) for name in b.edit_layers],
            random_seed,
            self.save_concept,
            reserved=self.library.reserved,
            existing={c.name for c in self.library.custom},
            unit_count=w.brush.unit_count,
        )
        self.dialog = dialog
        dialog.open()
        return dialog

    def save_concept(self, concept) -> bool:
        """Add (or replace) ``concept`` in the model's concept file and paint with it."""
        w = self.w
        problem = self.library.problem(concept)
        if problem is not None:
            w.prompts.error("Cannot save the concept", f"The concept cannot be used: {problem}.")
            return False
        try:
            self.library.save(concept)
        except (OSError, GanpaintError) as exc:
            w.prompts.error(
                "Cannot save the concept", "The concept file could not be written.", str(exc)
            )
            return False
        if concept.layer != w.document.layer:
            w.document.set_layer(concept.layer)
        self.changed(select=concept.name)
        w.status.showMessage(
            f"Concept “{concept.name}” saved: {len(concept.units)} units ranked", 6000
        )
        return True

    def delete_concept(self, name: str, ask: bool = True) -> bool:
        w = self.w
        if ask and not w.prompts.confirm(
            "delete_concept",
            "Delete concept",
            f"Delete your concept “{name}”? Strokes already painted with it stay.",
        ):
            return False
        try:
            self.library.delete(name)
        except (OSError, GanpaintError) as exc:
            w.prompts.error("Cannot delete the concept", str(exc))
            return False
        self.changed()
        w.status.showMessage(f"Deleted the concept “{name}”", 4000)
        return True

    # -- export and import ---------------------------------------------------------------------

    def choose_export(self, name: str | None = None) -> None:
        w = self.w
        name = name or w.brush.concept
        if self.library.custom_concept(name) is None:
            w.status.showMessage("Choose one of your custom concepts to export", 4000)
            return
        start = str(Path(w.prefs.get("dialogs/concept", str(Path.home()))) / f"{name}.json")
        path, _ = QFileDialog.getSaveFileName(w, "Export Concept", start, CONCEPT_FILTER)
        if path:
            if not path.lower().endswith(".json"):
                path += ".json"
            w.prefs.set("dialogs/concept", str(Path(path).parent))
            self.export_concept(name, path)

    def export_concept(self, name: str, path: str | Path) -> bool:
        """Write the custom concept ``name`` alone to a concept file at ``path``."""
        try:
            if not self.library.export(name, path):
                return False
        except OSError as exc:
            self.w.prompts.error(
                "Cannot export", f"The concept could not be written to {path}.", str(exc)
            )
            return False
        self.w.status.showMessage(f"Exported “{name}” to {Path(path).name}", 4000)
        return True

    def choose_import(self) -> None:
        w = self.w
        start = w.prefs.get("dialogs/concept", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(w, "Import Concepts", start, CONCEPT_FILTER)
        if path:
            w.prefs.set("dialogs/concept", str(Path(path).parent))
            self.import_concepts(path)

    def import_concepts(self, path: str | Path) -> list[str]:
        """Add the concepts in ``path`` that fit this model; returns the names added. Each
        one skipped is named with why (the rule of ``ganpaint concept --import``)."""
        w, lib = self.w, self.library
        result = lib.import_file(path)
        name, model = Path(path).name, lib.bundle.name
        skipped = "\n".join(f"• {line}" for line in result.skipped)
        if not result.added:
            if result.skipped:
                text = (
                    f"The concept in {name} does not fit {model}:"
                    if result.found == 1
                    else f"None of the {result.found} concepts in {name} fits {model}:"
                )
                w.prompts.error("Nothing imported", text, skipped)
            else:
                w.prompts.error("Cannot import", f"{name} could not be imported.", result.error)
            return []
        layer = w.document.layer
        added = result.added
        self.changed(select=next((n for n in added if lib.custom_layer(n) == layer), None))
        if result.skipped:
            w.prompts.info(
                "Some concepts were not imported",
                f"Imported {len(added)} of the {result.found} concepts in {name} into "
                f"{model}; skipped {len(result.skipped)}:",
                skipped,
            )
        elsewhere = [n for n in added if lib.custom_layer(n) != layer]
        note = f" ({', '.join(elsewhere)} on another layer)" if elsewhere else ""
        replaced = f"; replaced {', '.join(result.replaced)}" if result.replaced else ""
        w.status.showMessage(f"Imported {', '.join(added)}{note}{replaced}", 6000)
        return added
