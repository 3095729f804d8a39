"""What the concept panel shows, read from a bundle's dissection (plain Python, no Qt).

:class:`ConceptInfo` is one paintable concept of one layer: its group and icon (from
:data:`CATALOGUE`), its colour (:func:`concept_color`: the scene world's, a known
LSUN label's, or a stable made-up one) and its units ranked by IoU and by causal effect.
:func:`concepts_for_layer` lists them for a layer; :func:`unit_table` describes every unit
of a layer (its best label, IoU, scores), which is also what a model without a dissection
shows, unlabelled. :func:`custom_concept_info` turns a user-taught
:class:`~ganpaint.models.concept_files.CustomConcept` into the same shape (group "Custom", its own
icon, units ranked by IoU with the user's marks) and :func:`with_custom_concepts` adds them
to a layer's list.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from ganpaint.models.dissection import (
    ConceptDefaults,
    ConceptUnits,
    Dissection,
    DissectionLayer,
    UnitSet,
    brush_ranking,
)
from ganpaint.scenes.concepts import CONCEPT_COLORS

RANKINGS = ("causal", "iou")
GROUP_ORDER = ("Sky", "Land", "Buildings", "Indoor", "Other")
CUSTOM_GROUP = "Custom"

# name -> (group, qtawesome icon). GANPaint's brushes plus this project's scene world and a
# few common dissection labels from the LSUN models.
CATALOGUE: dict[str, tuple[str, str]] = {
    "sky": ("Sky", "mdi.weather-partly-cloudy"),
    "cloud": ("Sky", "fa5s.cloud"),
    "sun": ("Sky", "mdi.weather-sunny"),
    "mountain": ("Land", "fa5s.mountain"),
    "grass": ("Land", "mdi6.grass"),
    "tree": ("Land", "fa5s.tree"),
    "plant": ("Land", "fa5s.seedling"),
    "path": ("Land", "fa5s.road"),
    "road": ("Land", "fa5s.road"),
    "water": ("Land", "fa5s.water"),
    "field": ("Land", "mdi.sprout"),
    "brick": ("Buildings", "mdi6.wall"),
    "building": ("Buildings", "mdi.office-building"),
    "wall": ("Buildings", "mdi6.wall"),
    "roof": ("Buildings", "mdi.home-roof"),
    "dome": ("Buildings", "mdi6.mosque"),
    "tower": ("Buildings", "mdi.chess-rook"),
    "door": ("Buildings", "fa5s.door-open"),
    "window": ("Buildings", "mdi.window-closed-variant"),
    "fence": ("Buildings", "mdi6.fence"),
    "person": ("Indoor", "mdi.account"),
    "table": ("Indoor", "mdi.table-furniture"),
    "chair": ("Indoor", "mdi.chair-rolling"),
    "bed": ("Indoor", "mdi.bed"),
    "sofa": ("Indoor", "mdi.sofa"),
    "lamp": ("Indoor", "mdi.lamp"),
    "curtain": ("Indoor", "mdi.curtains"),
    "painting": ("Indoor", "mdi.image-frame"),
    "floor": ("Indoor", "mdi.floor-plan"),
    "ceiling": ("Indoor", "mdi.home-ceiling"),
}
# Colours of the LSUN labels above that the scene world does not have; the world's own
# concepts take theirs from ganpaint.scenes.concepts (one colour per name, one place each).
OTHER_COLORS: dict[str, str] = {
    "sun": "#f4c542", "plant": "#55b86a", "road": "#8f8f8f", "water": "#3d7fd1",
    "field": "#a7c957", "building": "#a58d7f", "wall": "#b0a090", "tower": "#b39c7d",
    "fence": "#9c7b55", "person": "#f28e6b", "table": "#b5835a", "chair": "#a3a3c2",
    "bed": "#c7a1d4", "sofa": "#9bb7d4", "lamp": "#ffd27f", "curtain": "#d08fb0",
    "painting": "#e0b060", "floor": "#a08f7a", "ceiling": "#c9c9c9",
}  # fmt: skip
FALLBACK_ICON = "mdi.shape-outline"
MIN_LIGHTNESS = 0.45  # darker colours vanish against the app's dark panels


def concept_color(name: str) -> str:
    """A concept's colour as ``#rrggbb``: the scene world's colour lifted to
    :data:`MIN_LIGHTNESS`, a known LSUN label's from :data:`OTHER_COLORS`, else a stable
    made-up one."""
    if name in CONCEPT_COLORS:
        h, lightness, s = colorsys.rgb_to_hls(*(v / 255.0 for v in CONCEPT_COLORS[name]))
        r, g, b = colorsys.hls_to_rgb(h, max(lightness, MIN_LIGHTNESS), s)
        return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
    if name in OTHER_COLORS:
        return OTHER_COLORS[name]
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    r, g, b = colorsys.hsv_to_rgb(digest[0] / 255.0, 0.55, 0.85)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def concept_style(name: str) -> tuple[str, str, str]:
    """(group, icon, colour) for a concept name; unknown names go to the group "Other"."""
    group, icon = CATALOGUE.get(name, ("Other", FALLBACK_ICON))
    return group, icon, concept_color(name)


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
    defaults: ConceptDefaults | None = None  # learned brush settings and hint
    other_layer: str | None = None  # a custom concept taught at another layer (not usable here)

    @property
    def available(self) -> bool:
        return bool(self.iou or self.causal)

    @property
    def causal_measured(self) -> bool:
        """Whether ranking by causal effect differs from IoU here: a single-unit causal
        ranking or an ACE set (``refine-sets`` adds sets to a ``--no-causal`` dissection)."""
        return bool(self.causal or self.causal_set or self.insert_set)

    def ranked(self, ranking: str, action: str = "draw") -> tuple[tuple[int, float], ...]:
        """The ranking asked for (see :func:`ganpaint.models.dissection.brush_ranking`)."""
        return brush_ranking(
            self.iou, self.causal, self.causal_set, self.insert_set, ranking, action
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
                defaults=d.defaults,
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
    """A :class:`~ganpaint.models.concept_files.CustomConcept` as the panel shows it."""
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
    """``builtin`` followed by the custom concepts of ``layer`` (group "Custom"), then those
    taught at other layers, listed but not usable here (``other_layer`` names their layer), so
    they do not seem to vanish when the layer changes.

    A custom concept takes the place of a built-in one of the same name that has no units
    (teaching a concept the dissection missed); one that clashes with a usable built-in
    concept is left out (the dialog and import refuse such names).
    """
    usable = {c.name for c in builtin if c.available}
    mine = [custom_concept_info(c) for c in custom if c.layer == layer and c.name not in usable]
    names = {c.name for c in mine}
    shown = names | {c.name for c in builtin}
    elsewhere = [
        replace(custom_concept_info(c), iou=(), contrast=(), other_layer=c.layer)
        for c in custom
        if c.layer != layer and c.name not in shown
    ]
    return [c for c in builtin if c.name not in names] + mine + elsewhere
