"""What the concept panel shows, read from a bundle's dissection (plain Python, no Qt).

:class:`ConceptInfo` is one paintable concept of one layer: its group, icon and colour (from
:data:`CATALOGUE`, or a stable made-up one for concepts the catalogue does not know) and its
units ranked by IoU and by causal effect. :func:`concepts_for_layer` lists them for a layer;
:func:`unit_table` describes every unit of a layer (its best label, IoU, scores), which is
also what a model without a dissection shows, unlabelled. :func:`custom_concept_info` turns a
user-taught :class:`~ganpaint.dissect.concept_files.CustomConcept` into the same shape (group
"Custom", its own icon, units ranked by IoU with the user's marks) and
:func:`with_custom_concepts` adds them to a layer's list.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass, field
from typing import Any

from ganpaint.models.dissection import ConceptUnits, Dissection, DissectionLayer, UnitSet

RANKINGS = ("causal", "iou")
GROUP_ORDER = ("Sky", "Land", "Buildings", "Indoor", "Other")
CUSTOM_GROUP = "Custom"

# name -> (group, qtawesome icon, colour). GANPaint's brushes plus this project's scene world
# and a few common dissection labels from the LSUN models.
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "sky": ("Sky", "mdi.weather-partly-cloudy", "#5fa8e8"),
    "cloud": ("Sky", "fa5s.cloud", "#d9e2ec"),
    "sun": ("Sky", "mdi.weather-sunny", "#f4c542"),
    "mountain": ("Land", "fa5s.mountain", "#9a8470"),
    "grass": ("Land", "mdi6.grass", "#6cc24a"),
    "tree": ("Land", "fa5s.tree", "#2f9e5b"),
    "plant": ("Land", "fa5s.seedling", "#55b86a"),
    "path": ("Land", "fa5s.road", "#cfae7c"),
    "road": ("Land", "fa5s.road", "#8f8f8f"),
    "water": ("Land", "fa5s.water", "#3d7fd1"),
    "field": ("Land", "mdi.sprout", "#a7c957"),
    "brick": ("Buildings", "mdi6.wall", "#c0583f"),
    "building": ("Buildings", "mdi.office-building", "#a58d7f"),
    "wall": ("Buildings", "mdi6.wall", "#b0a090"),
    "roof": ("Buildings", "mdi.home-roof", "#8e4a3c"),
    "dome": ("Buildings", "mdi6.mosque", "#d7b740"),
    "tower": ("Buildings", "mdi.chess-rook", "#b39c7d"),
    "door": ("Buildings", "fa5s.door-open", "#b0703a"),
    "window": ("Buildings", "mdi.window-closed-variant", "#8fd3f4"),
    "fence": ("Buildings", "mdi6.fence", "#9c7b55"),
    "person": ("Indoor", "mdi.account", "#f28e6b"),
    "table": ("Indoor", "mdi.table-furniture", "#b5835a"),
    "chair": ("Indoor", "mdi.chair-rolling", "#a3a3c2"),
    "bed": ("Indoor", "mdi.bed", "#c7a1d4"),
    "sofa": ("Indoor", "mdi.sofa", "#9bb7d4"),
    "lamp": ("Indoor", "mdi.lamp", "#ffd27f"),
    "curtain": ("Indoor", "mdi.curtains", "#d08fb0"),
    "painting": ("Indoor", "mdi.image-frame", "#e0b060"),
    "floor": ("Indoor", "mdi.floor-plan", "#a08f7a"),
    "ceiling": ("Indoor", "mdi.home-ceiling", "#c9c9c9"),
}
FALLBACK_ICON = "mdi.shape-outline"


def concept_style(name: str) -> tuple[str, str, str]:
    """(group, icon, colour) for a concept name; unknown names get a stable colour."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    r, g, b = colorsys.hsv_to_rgb(digest[0] / 255.0, 0.55, 0.85)
    return "Other", FALLBACK_ICON, f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


@dataclass(frozen=True)
class ConceptInfo:
    """A concept of one layer with its ranked units (unit, score), best first."""

    name: str
    group: str
    icon: str
    color: str
    iou: tuple[tuple[int, float], ...] = ()
    causal: tuple[tuple[int, float], ...] = ()
    causal_set: tuple[int, ...] = ()
    # ACE sets (dissections made with --ace): units chosen to draw the concept, best first
    insert_set: tuple[int, ...] = ()
    _scores: dict[str, dict[int, float]] = field(default_factory=dict, compare=False, repr=False)
    custom: bool = False  # taught by the user (ranked by IoU with their marks)
    contrast: tuple[tuple[int, float], ...] = ()  # custom concepts: the tie-break score
    samples: int = 0  # custom concepts: how many samples were marked

    @property
    def available(self) -> bool:
        return bool(self.iou or self.causal)

    def ranked(self, ranking: str, action: str = "draw") -> tuple[tuple[int, float], ...]:
        """The ranking asked for, falling back to the other one when it is absent.

        The causal ranking depends on what the stroke does, as ``ganpaint evaluate``
        measures it: drawing puts the concept's ``insert_set`` first (when the dissection
        has one), removing its ``causal_set``; then the single-unit causal order. The scores
        are the single-unit ones (0 for a set unit that has none).
        """
        if ranking != "causal":
            return self.iou or self.causal
        base = self.causal or self.iou
        lead = self.insert_set if action == "draw" and self.insert_set else self.causal_set
        if not lead:
            return base
        scores = dict(base)
        seen = set(lead)
        return tuple((u, scores.get(u, 0.0)) for u in lead) + tuple(
            p for p in base if p[0] not in seen
        )

    def units(self, ranking: str, count: int, action: str = "draw") -> tuple[int, ...]:
        return tuple(u for u, _ in self.ranked(ranking, action)[: max(0, int(count))])

    def score(self, kind: str, unit: int) -> float | None:
        """The unit's "iou", "causal" or "contrast" score, None when it has none."""
        if kind not in self._scores:
            source = {"iou": self.iou, "causal": self.causal, "contrast": self.contrast}
            self._scores[kind] = dict(source.get(kind, ()))
        return self._scores[kind].get(int(unit))


@dataclass(frozen=True)
class UnitInfo:
    """One unit of a layer: its best concept label (None when unlabelled) and IoU."""

    unit: int
    label: str | None = None
    iou: float | None = None


def _set_units(unit_set: UnitSet | None) -> tuple[int, ...]:
    return unit_set.units if unit_set is not None else ()


def _layer(dissection: Dissection | None, layer: str) -> DissectionLayer | None:
    return dissection.layer(layer) if dissection is not None else None


def concepts_for_layer(
    dissection: Dissection | None, layer: str, names: list[str] | None = None
) -> list[ConceptInfo]:
    """Concepts of ``layer`` in catalogue group order; ``names`` (the bundle's concept list)
    adds concepts the dissection found no units for, so they show as unavailable."""
    info = _layer(dissection, layer)
    per_concept = info.concepts if info is not None else {}
    ordered = list(dict.fromkeys(list(names or []) + list(per_concept)))
    out = []
    for name in ordered:
        group, icon, color = concept_style(name)
        d = per_concept.get(name) or ConceptUnits()
        out.append(
            ConceptInfo(
                name=name,
                group=group,
                icon=icon,
                color=color,
                iou=d.iou,
                causal=d.causal,
                causal_set=_set_units(d.causal_set),
                insert_set=_set_units(d.insert_set),
            )
        )
    rank = {g: i for i, g in enumerate(GROUP_ORDER)}
    return sorted(out, key=lambda c: (rank.get(c.group, len(rank)), ordered.index(c.name)))


def unit_table(dissection: Dissection | None, layer: str, channels: int) -> list[UnitInfo]:
    """Every unit of ``layer``; labelled (IoU above the dissection's cut-off) when known."""
    cutoff = float((dissection.iou_cutoff if dissection is not None else None) or 0.0)
    labels: dict[int, tuple[str, float]] = {}
    info = _layer(dissection, layer)
    for item in info.unit_labels if info is not None else ():
        if item.concept and item.iou >= cutoff:
            labels[item.unit] = (item.concept, float(item.iou))
    return [UnitInfo(u, *labels[u]) if u in labels else UnitInfo(u) for u in range(int(channels))]


def custom_concept_info(concept: Any) -> ConceptInfo:
    """A :class:`~ganpaint.dissect.concept_files.CustomConcept` as the panel shows it."""
    color = concept_style(concept.name)[2]
    return ConceptInfo(
        name=concept.name,
        group=CUSTOM_GROUP,
        icon=concept.icon or FALLBACK_ICON,
        color=color,
        iou=tuple((int(u), float(i)) for u, i in zip(concept.units, concept.iou, strict=True)),
        custom=True,
        contrast=tuple(
            (int(u), float(c)) for u, c in zip(concept.units, concept.contrast, strict=True)
        ),
        samples=len(concept.seeds),
    )


def with_custom_concepts(
    builtin: list[ConceptInfo], custom: list[Any], layer: str
) -> list[ConceptInfo]:
    """``builtin`` followed by the custom concepts of ``layer`` (group "Custom").

    A custom concept takes the place of a built-in one of the same name that has no units
    (teaching a concept the dissection missed); one that clashes with a usable built-in
    concept is left out (the dialog and import refuse such names).
    """
    usable = {c.name for c in builtin if c.available}
    mine = [custom_concept_info(c) for c in custom if c.layer == layer and c.name not in usable]
    names = {c.name for c in mine}
    return [c for c in builtin if c.name not in names] + mine
