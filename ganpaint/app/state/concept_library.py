"""The concepts a brush can paint: the dissection's and the user's, and which units a stroke uses.

:class:`ConceptLibrary` holds the open model's custom concepts (all layers), read from the
user's concept file for that model (``ganpaint.models.concept_files`` reads and writes the file),
checks whether a concept fits the model, and lists a layer's concepts (built-in then custom)
and units for the panel. :func:`brush_units` and :func:`unit_scores` are the rules for which
units a stroke sets and which scores the inspector shows; :func:`name_problem` is the rule for
a new concept's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganpaint.app.state.concepts import (
    CUSTOM_GROUP,
    ConceptInfo,
    UnitInfo,
    concept_style,
    concepts_for_layer,
    unit_table,
    with_custom_concepts,
)
from ganpaint.app.state.tool import CUSTOM, BrushSettings
from ganpaint.core.errors import GanpaintError
from ganpaint.models.concept_files import valid_concept_name


@dataclass
class ImportResult:
    """What importing a concept file did."""

    found: int = 0
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # added in place of one of that name
    skipped: list[str] = field(default_factory=list)  # "name: why"
    error: str | None = None  # the file could not be read or written, or nothing fitted


class ConceptLibrary:
    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.bundle: Any = None  # the open ModelBundle
        self.custom: list = []  # CustomConcepts of the open model (all layers)
        # (name, why) of the concepts in the file that do not fit the open model
        self.skipped: list[tuple[str, str]] = []

    # -- the open model's concepts -------------------------------------------------------------

    def file(self) -> Path | None:
        """The user's concept file for the open model (None before a model is open)."""
        from ganpaint.models.concept_files import concepts_path

        if self.bundle is None:
            return None
        return concepts_path(self.bundle.name, self.folder)

    def set_model(self, bundle: Any) -> str | None:
        """Use ``bundle``'s concepts; returns why its concept file was not read (or None)."""
        self.bundle = bundle
        return self.reload()

    def reload(self) -> str | None:
        """Read the model's concept file; concepts that do not fit this model are skipped
        (``skipped`` says which and why). Returns why the file could not be read (None when
        it could, or there is none)."""
        from ganpaint.models.concept_files import ModelFit, load_concepts

        self.custom, self.skipped = [], []
        path = self.file()
        if path is None:
            return None
        try:
            found = load_concepts(path)
        except GanpaintError as exc:
            return str(exc)
        fit = ModelFit.of(self.bundle)  # once: it reads the dissection's names per layer
        for c in found:
            why = fit.problem(c)
            if why is None:
                self.custom.append(c)
            else:
                self.skipped.append((c.name, why))
        return None

    def problem(self, concept: Any) -> str | None:
        """Why ``concept`` cannot be used with the open model (None when it can): the rule
        importing uses too (:class:`~ganpaint.models.concept_files.ModelFit`)."""
        from ganpaint.models.concept_files import ModelFit

        return ModelFit.of(self.bundle).problem(concept)

    def builtin_names(self, layer: str) -> set[str]:
        """Names of the built-in concepts of ``layer`` that have units."""
        from ganpaint.models.concept_files import builtin_names

        return set(builtin_names(self.bundle.dissection, layer))

    def reserved(self, layer: str) -> set[str]:
        """Names a new concept on ``layer`` cannot take."""
        return self.builtin_names(layer) | {CUSTOM}

    def custom_concept(self, name: str | None) -> Any:
        return next((c for c in self.custom if c.name == name), None)

    def custom_layer(self, name: str) -> str | None:
        c = self.custom_concept(name)
        return c.layer if c is not None else None

    def style_of(self, name: str) -> tuple[str, str, str]:
        """(group, icon, colour) of a concept, custom concepts with the icon the user chose."""
        style = concept_style(name)
        c = self.custom_concept(name)
        return (CUSTOM_GROUP, c.icon, style[2]) if c is not None else style

    def layer_concepts(self, layer: str) -> list[ConceptInfo]:
        """The concepts of ``layer`` as the panel lists them: built-in, then custom."""
        b = self.bundle
        builtin = concepts_for_layer(b.dissection, layer, b.concepts)
        return with_custom_concepts(builtin, self.custom, layer)

    def layer_units(self, layer: str) -> list[UnitInfo]:
        b = self.bundle
        return unit_table(b.dissection, layer, b.generator.layer_channels(layer))

    # -- the concept file ----------------------------------------------------------------------

    def save(self, concept: Any) -> None:
        """Add (or replace) ``concept`` in the file (OSError or GanpaintError on failure)."""
        from ganpaint.models.concept_files import add_concept

        add_concept(self.file(), concept, self.bundle.name)

    def delete(self, name: str) -> None:
        """Remove the concept ``name`` from the file (OSError or GanpaintError on failure)."""
        from ganpaint.models.concept_files import load_concepts, save_concepts

        path = self.file()
        kept = [c for c in load_concepts(path) if c.name != name]
        save_concepts(path, kept, self.bundle.name)

    def export(self, name: str, path: str | Path) -> bool:
        """Write the custom concept ``name`` alone to ``path``; False when there is none
        (OSError when it cannot be written)."""
        from ganpaint.models.concept_files import save_concepts

        concept = self.custom_concept(name)
        if concept is None:
            return False
        save_concepts(path, [concept], self.bundle.name)
        return True

    def import_file(self, path: str | Path) -> ImportResult:
        """Add the concepts in ``path`` that fit this model (each one skipped is named with
        why), then reload: :func:`~ganpaint.models.concept_files.import_concepts`, the
        rule ``ganpaint concept --import`` follows too."""
        from ganpaint.models.concept_files import ModelFit, import_concepts

        result = ImportResult()
        try:
            report = import_concepts(self.file(), path, ModelFit.of(self.bundle))
        except (OSError, GanpaintError) as exc:
            result.error = str(exc)
            return result
        result.found, result.added = report.found, report.added
        result.replaced, result.skipped = report.replaced, report.skipped_lines()
        if not report.added:
            result.error = report.nothing_imported()
        self.reload()
        return result


def brush_units(brush: BrushSettings, concept: ConceptInfo | None) -> tuple[int, ...]:
    """The units the next stroke sets: the hand-picked ones, or the concept's top ones in
    the brush's ranking (which depends on whether it draws or removes)."""
    if brush.concept == CUSTOM:
        return brush.custom_units
    return concept.units(brush.ranking, brush.unit_count, brush.action) if concept else ()


def unit_scores(
    concepts: Sequence[ConceptInfo], units: Sequence[UnitInfo], brush_concept: str | None, unit: int
) -> dict[str, Any]:
    """The label and scores the inspector shows for ``unit``: against the brush's concept
    when that concept ranks the unit, else against the unit's own label."""
    by_name = {c.name: c for c in concepts}
    info = units[unit] if 0 <= unit < len(units) else None
    label = info.label if info else None
    concept = by_name.get(brush_concept) if brush_concept != CUSTOM else None
    if (
        concept is None
        or concept.score("iou", unit) is None
        and concept.score("causal", unit) is None
    ):
        concept = by_name.get(label)
    return {
        "label": label or (concept.name if concept else None),
        "iou": concept.score("iou", unit) if concept else (info.iou if info else None),
        "ace": concept.score("causal", unit) if concept else None,
    }


def name_problem(name: str, reserved: set[str]) -> str | None:
    """Why ``name`` cannot name a new concept (None when it can)."""
    if not name:
        return "Give the concept a name."
    if not valid_concept_name(name):
        return "Use letters, digits, spaces, - or _ in the name."
    if name in reserved:
        return f"“{name}” is already a concept of this model."
    return None
