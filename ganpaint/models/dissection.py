"""The ``dissection.json`` document as frozen dataclasses, validated once when it is read.

The file's layout is described in docs/FORMATS.md; this module is its one reader.
:meth:`Dissection.from_dict` refuses a malformed document with a :class:`DissectionError`
naming the key path and the type expected, and :meth:`Dissection.to_dict` gives the same
JSON back (keys in their original order, unknown keys kept, so a file written by a newer
minor revision survives a rewrite).

What is refused and what is skipped: the document's structure (format, version, layers,
per-unit levels and thresholds, numbers in sets, options) is refused when malformed. Entries
of the lists a person may edit by hand -- a concept's rankings (``iou``, ``causal``), a
set's ``units``, ``unit_labels`` items, a concept or set that is not an object -- are skipped
when malformed, as the app has always shown them (unless ``strict``, which writers use so
that what is written is exactly what was meant).

Option objects (``causal_options``, ``ace_options``, ``iou_method``, ``timing``, a set's
``options``/``previous``) stay read-only JSON mappings: their keys are those of the option
classes in ``ganpaint.dissect``, which this layer does not import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ganpaint.models.schema_fields import (
    _EMPTY,
    DissectionError,
    JsonMap,
    _bool,
    _fail,
    _Fields,
    _int,
    _int_rows,
    _ints,
    _is_int,
    _is_num,
    _json_map,
    _list,
    _Node,
    _num,
    _num_rows,
    _nums,
    _opt_str,
    _reals,
    _str,
    _strs,
    _thaw,
)

DISSECTION_FORMAT = "ganpaint-dissection"
DISSECTION_VERSION = 1

Ranking = tuple[tuple[int, float], ...]  # (unit, score), best first


# ---- the document -----------------------------------------------------------------------


def _ranking(v: Any, path: str, strict: bool) -> Ranking:
    """[[unit, score], ...]; a malformed item is skipped unless ``strict``."""
    if not isinstance(v, list):
        if strict:
            raise _fail(path, "a list of [unit, score] pairs", v)
        return ()
    out = []
    for i, item in enumerate(v):
        if isinstance(item, list) and len(item) == 2 and _is_int(item[0]) and _is_num(item[1]):
            out.append((item[0], item[1]))
        elif strict:
            raise _fail(f"{path}[{i}]", "a [unit, score] pair", item)
    return tuple(out)


def _set_units(v: Any, path: str, strict: bool) -> tuple[int, ...]:
    """A set's units; an entry that is not a unit number is skipped unless ``strict``."""
    if strict:
        return _ints(v, path)
    out = []
    for u in v if isinstance(v, list) else ():
        if _is_num(u) and u == u and abs(u) < 2**31:
            out.append(int(u))
    return tuple(out)


@dataclass(frozen=True)
class UnitSet(_Node):
    """A set of units chosen together for a concept, in the order chosen, with what it was
    measured to do (``causal_set``, ``greedy_set``, ``insert_set``, ``ace_removal``)."""

    units: tuple[int, ...] = ()
    removal: float | None = None  # fraction of the concept's pixels removed (ablation)
    steps: tuple[float, ...] | None = None  # greedy: removal after each unit added
    samples: int | None = None  # images measured on
    method: str | None = None  # "ace" where the ACE set replaced the greedy one
    weights: tuple[float, ...] | None = None  # ACE: optimised weight per unit
    set_size: int | None = None
    refined: bool | None = None
    insertion: float | None = None  # fraction of the square that became the concept
    outside_change: float | None = None  # change outside the square
    compare_removal: float | None = None  # the greedy set's removal on the same images
    options: JsonMap | None = None  # refine-sets: the options of the run
    candidates: str | None = None  # refine-sets: where candidates came from
    previous: JsonMap | None = None  # refine-sets: the set it replaced and its effect
    run: str | None = None

    @classmethod
    def from_dict(cls, d: Any, path: str, strict: bool = False) -> UnitSet:
        r = _Fields(d, path)
        return cls(
            units=r.get("units", lambda v, p: _set_units(v, p, strict), ()),
            removal=r.get("removal", _num),
            steps=r.get("steps", _nums),
            samples=r.get("samples", _int),
            method=r.get("method", _str),
            weights=r.get("weights", _nums),
            set_size=r.get("set_size", _int),
            refined=r.get("refined", _bool),
            insertion=r.get("insertion", _num),
            outside_change=r.get("outside_change", _num),
            compare_removal=r.get("compare_removal", _num),
            options=r.get("options", _json_map),
            candidates=r.get("candidates", _str),
            previous=r.get("previous", _json_map),
            run=r.get("run", _str),
            **r.rest(),
        )


_SETS = ("causal_set", "greedy_set", "insert_set", "ace_removal")


@dataclass(frozen=True)
class ConceptUnits(_Node):
    """One concept at one layer: its units ranked by IoU and by causal effect, and the
    unit sets found for removing and drawing it."""

    iou: Ranking = ()  # by IoU, best first (best threshold per unit when measured so)
    causal: Ranking = ()  # by the fraction of the concept removed when ablated alone
    causal_set: UnitSet | None = None  # the set the app removes with
    greedy_set: UnitSet | None = None  # the greedy set, kept where ACE's replaced it
    insert_set: UnitSet | None = None  # ACE: the set the app draws with
    ace_removal: UnitSet | None = None  # ACE: the optimised removal set
    iou_top05: Ranking | None = None  # IoU at the fixed top-0.5 % threshold
    iou_quantile: tuple[float, ...] | None = None  # per ``iou`` entry: its threshold quantile
    defaults: ConceptDefaults | None = None  # learned brush settings and hint

    @classmethod
    def from_dict(cls, d: Any, path: str, strict: bool = False) -> ConceptUnits:
        r = _Fields(d, path)

        def ranking(v: Any, p: str) -> Ranking:
            return _ranking(v, p, strict)

        def unit_set(v: Any, p: str) -> UnitSet | None:
            if not isinstance(v, dict) and not strict:
                return None
            return UnitSet.from_dict(v, p, strict)

        sets = {name: r.get(name, unit_set) for name in _SETS}
        return cls(
            iou=r.get("iou", ranking, ()),
            causal=r.get("causal", ranking, ()),
            iou_top05=r.get("iou_top05", ranking),
            iou_quantile=r.get("iou_quantile", _nums),
            defaults=r.get("defaults", lambda v, p: ConceptDefaults.from_dict(v, p, strict)),
            **sets,
            **r.rest(),
        )

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        # a skipped (malformed) set is absent, not null
        return {k: v for k, v in out.items() if not ((k in _SETS or k == "defaults") and v is None)}

    def brush_ranking(self, ranking: str, action: str = "draw") -> Ranking:
        """See :func:`brush_ranking`."""
        lead = {name: s.units if s is not None else () for name in _SETS
                for s in [getattr(self, name)]}  # fmt: skip
        return brush_ranking(
            self.iou, self.causal, lead["causal_set"], lead["insert_set"], ranking, action
        )


def brush_ranking(
    iou: Ranking,
    causal: Ranking,
    causal_set: tuple[int, ...],
    insert_set: tuple[int, ...],
    ranking: str,
    action: str = "draw",
) -> Ranking:
    """The units a brush uses, best first, for ``ranking`` ("iou" or "causal") and
    ``action`` ("draw" or "remove"), falling back to the other ranking when one is absent.

    The causal ranking depends on what the stroke does, as ``ganpaint evaluate`` measures
    it: drawing puts the concept's ``insert_set`` first (when there is one), removing its
    ``causal_set``; then the single-unit causal order. The scores are the single-unit ones
    (0 for a set unit that has none). The app and ``ganpaint learn-defaults`` both use this.
    """
    if ranking != "causal":
        return iou or causal
    base = causal or iou
    lead = insert_set if action == "draw" and insert_set else causal_set
    if not lead:
        return base
    scores = dict(base)
    seen = set(lead)
    return tuple((u, scores.get(u, 0.0)) for u in lead) + tuple(p for p in base if p[0] not in seen)


@dataclass(frozen=True)
class BrushDefault(_Node):
    """The brush settings that drew (or removed) a concept best on the dissection samples:
    how many units, ranked how, at which level, and the effect measured with them."""

    units: int | None = None
    ranking: str | None = None  # "iou" or "causal"
    quantile: float | None = None  # drawing: the level the units are set to
    score: float | None = None  # insertion (drawing) or removal fraction
    outside_change: float | None = None

    @classmethod
    def from_dict(cls, d: Any, path: str) -> BrushDefault:
        r = _Fields(d, path)
        return cls(
            units=r.get("units", _int),
            ranking=r.get("ranking", _str),
            quantile=r.get("quantile", _num),
            score=r.get("score", _num),
            outside_change=r.get("outside_change", _num),
            **r.rest(),
        )


@dataclass(frozen=True)
class ConceptDefaults(_Node):
    """Per concept (``ganpaint learn-defaults``): the best draw and remove settings, and a
    one-line hint on where the concept draws, from where it lives in the segmentations."""

    draw: BrushDefault | None = None
    remove: BrushDefault | None = None
    hint: str | None = None
    samples: int | None = None  # dissection samples measured on
    neighbours: JsonMap | None = None  # share of the labels around, below and above it

    @classmethod
    def from_dict(cls, d: Any, path: str, strict: bool = False) -> ConceptDefaults | None:
        if not isinstance(d, dict) and not strict:
            return None
        r = _Fields(d, path)
        return cls(
            draw=r.get("draw", BrushDefault.from_dict),
            remove=r.get("remove", BrushDefault.from_dict),
            hint=r.get("hint", _str),
            samples=r.get("samples", _int),
            neighbours=r.get("neighbours", _json_map),
            **r.rest(),
        )


@dataclass(frozen=True)
class SceneIndex(_Node):
    """What each of some dissection samples shows (per seed, each concept's pixel share by
    the segmenter) and, where measured, how well it is drawn (``distance``)."""

    seeds: tuple[int, ...] = ()
    concepts: tuple[str, ...] = ()
    shares: tuple[tuple[float, ...], ...] = ()  # per seed, per concept
    distance: tuple[float, ...] = ()  # per seed or none: realism.nearest_distance, small is good
    distance_to: JsonMap | None = None  # the rendered scenes and k: scenes, first_seed, k

    @classmethod
    def from_dict(cls, d: Any, path: str) -> SceneIndex:
        r = _Fields(d, path)
        index = cls(
            seeds=r.get("seeds", _ints, ()),
            concepts=r.get("concepts", _strs, ()),
            shares=r.get("shares", _num_rows, ()),
            distance=r.get("distance", _reals, ()),
            distance_to=r.get("distance_to", _json_map),
            **r.rest(),
        )
        if len(index.shares) != len(index.seeds) or any(
            len(row) != len(index.concepts) for row in index.shares
        ):
            raise DissectionError(f"{path}.shares: expected one share per concept per seed")
        if index.distance and len(index.distance) != len(index.seeds):
            raise DissectionError(f"{path}.distance: expected one distance per seed")
        return index


@dataclass(frozen=True)
class UnitLabel(_Node):
    """A unit's best concept and its IoU (the app shows it when IoU >= ``iou_cutoff``)."""

    unit: int
    concept: str | None
    iou: float
    quantile: float | None = None  # the threshold quantile that gave ``iou``

    @classmethod
    def from_dict(cls, d: Any, path: str) -> UnitLabel:
        r = _Fields(d, path)
        return cls(
            unit=r.get("unit", _int),
            concept=r.get("concept", _opt_str),
            iou=r.get("iou", _num),
            quantile=r.get("quantile", _num),
            **r.rest(),
        )


def _unit_labels(v: Any, path: str, strict: bool) -> tuple[UnitLabel, ...]:
    out = []
    for i, item in enumerate(_list(v, path) if strict else v if isinstance(v, list) else ()):
        try:
            label = UnitLabel.from_dict(item, f"{path}[{i}]")
        except DissectionError:
            if strict:
                raise
            continue
        if label.unit is None or label.iou is None:
            if strict:
                raise DissectionError(f"{path}[{i}]: needs 'unit' and 'iou'")
            continue
        out.append(label)
    return tuple(out)


@dataclass(frozen=True)
class DissectionLayer(_Node):
    """What dissection found at one layer."""

    units: int | None = None
    resolution: int | None = None
    quantiles: tuple[float, ...] = ()  # the quantiles of ``levels``' columns
    levels: tuple[tuple[float, ...], ...] = ()  # per unit: its levels at ``quantiles``
    thresholds: tuple[float, ...] = ()  # per unit: level at the document's threshold
    unit_labels: tuple[UnitLabel, ...] = ()
    concepts: Mapping[str, ConceptUnits] = field(default_factory=lambda: _EMPTY)
    top_samples: tuple[tuple[int, ...], ...] | None = None  # per unit: top sample indices
    top_activations: tuple[tuple[float, ...], ...] | None = None
    concept_pixels: tuple[int, ...] | None = None  # per concept: labelled pixels counted
    iou_method: JsonMap | None = None  # how ``iou`` was measured (best threshold)
    causal_options: JsonMap | None = None  # the options this layer was ranked with
    ace_options: JsonMap | None = None
    artifact_units: tuple[int, ...] | None = None  # zeroed by View > Clean artifacts

    @classmethod
    def from_dict(cls, d: Any, path: str, strict: bool = False) -> DissectionLayer:
        r = _Fields(d, path)
        quantiles = r.get("quantiles", _nums, ())
        levels = r.get("levels", _num_rows, ())
        for i, row in enumerate(levels):
            if len(row) != len(quantiles):
                raise DissectionError(
                    f"{path}.levels[{i}]: expected {len(quantiles)} levels (one per quantile), "
                    f"got {len(row)}"
                )
        return cls(
            units=r.get("units", _int),
            resolution=r.get("resolution", _int),
            quantiles=quantiles,
            levels=levels,
            thresholds=r.get("thresholds", _nums, ()),
            unit_labels=r.get("unit_labels", lambda v, p: _unit_labels(v, p, strict), ()),
            concepts=r.get("concepts", lambda v, p: _concepts(v, p, strict), _EMPTY),
            top_samples=r.get("top_samples", _int_rows),
            top_activations=r.get("top_activations", _num_rows),
            concept_pixels=r.get("concept_pixels", _ints),
            iou_method=r.get("iou_method", _json_map),
            causal_options=r.get("causal_options", _json_map),
            ace_options=r.get("ace_options", _json_map),
            artifact_units=r.get("artifact_units", _ints),
            **r.rest(),
        )

    def concept(self, name: str) -> ConceptUnits | None:
        return self.concepts.get(name)


def _concepts(v: Any, path: str, strict: bool) -> Mapping[str, ConceptUnits]:
    if not isinstance(v, dict):
        if strict:
            raise _fail(path, "an object of concepts", v)
        return _EMPTY
    out = {}
    for name, entry in v.items():
        # a malformed entry still names a concept of the layer: listed, with no units
        ok = isinstance(entry, dict) or strict
        out[name] = (
            ConceptUnits.from_dict(entry, f"{path}.{name}", strict) if ok else ConceptUnits()
        )
    return MappingProxyType(out)


def _layers(strict: bool) -> Callable[[Any, str], Mapping[str, DissectionLayer]]:
    def check(v: Any, path: str) -> Mapping[str, DissectionLayer]:
        if not isinstance(v, dict):
            raise _fail(path, "an object of layers", v)
        return MappingProxyType(
            {k: DissectionLayer.from_dict(x, f"{path}.{k}", strict) for k, x in v.items()}
        )

    return check


@dataclass(frozen=True)
class Dissection(_Node):
    """A model's ``dissection.json``: per edit layer, what each unit draws."""

    format: str = DISSECTION_FORMAT
    version: int = DISSECTION_VERSION
    model: str | None = None
    samples: int | None = None  # sample i used z_from_seed(seed_base + i)
    seed_base: int | None = None
    concepts: tuple[str, ...] = ()
    threshold_quantile: float | None = None
    iou_cutoff: float | None = None  # the IoU a unit label needs to be shown
    layers: Mapping[str, DissectionLayer] = field(default_factory=lambda: _EMPTY)
    generator_sha256: str | None = None
    segmenter: str | None = None  # the segmenter's id (sha256, or callable:NAME)
    causal_options: JsonMap | None = None  # the last run's options (layers hold their own)
    ace_options: JsonMap | None = None
    processes: int | None = None
    timing: JsonMap | None = None
    created: str | None = None
    scene_index: SceneIndex | None = None  # what each of some dissection samples shows
    artifacts: JsonMap | None = None  # how ``artifact_units`` were found, held-out figures

    @classmethod
    def from_dict(cls, d: Any, strict: bool = False) -> Dissection:
        """The document ``d`` (parsed JSON), or :class:`DissectionError` naming the key at
        fault. ``strict`` refuses what a reader would skip (see the module docstring)."""
        r = _Fields(d, "")
        fmt = r.get("format", _str)
        if fmt != DISSECTION_FORMAT:
            raise DissectionError(f"format: expected {DISSECTION_FORMAT!r}, got {fmt!r}")
        version = r.get("version", _int)
        if version is None or version < 1:
            raise DissectionError(f"version: expected a positive integer, got {version!r}")
        if version > DISSECTION_VERSION:
            raise DissectionError(
                f"version {version} is newer than this program reads ({DISSECTION_VERSION}); "
                "update ganpaint to open it"
            )
        return cls(
            format=fmt,
            version=version,
            model=r.get("model", _str),
            samples=r.get("samples", _int),
            seed_base=r.get("seed_base", _int),
            concepts=r.get("concepts", _strs, ()),
            threshold_quantile=r.get("threshold_quantile", _num),
            iou_cutoff=r.get("iou_cutoff", _num),
            layers=r.get("layers", _layers(strict), _EMPTY),
            generator_sha256=r.get("generator_sha256", _opt_str),
            segmenter=r.get("segmenter", _opt_str),
            causal_options=r.get("causal_options", _json_map),
            ace_options=r.get("ace_options", _json_map),
            processes=r.get("processes", _int),
            timing=r.get("timing", _json_map),
            created=r.get("created", _str),
            scene_index=r.get("scene_index", SceneIndex.from_dict),
            artifacts=r.get("artifacts", _json_map),
            **r.rest(),
        )

    def layer(self, name: str) -> DissectionLayer | None:
        return self.layers.get(name)

    def concept(self, layer: str, name: str) -> ConceptUnits | None:
        info = self.layers.get(layer)
        return info.concept(name) if info is not None else None

    def artifact_units(self) -> dict[str, tuple[int, ...]]:
        """Per layer, the units ``ganpaint artifacts`` found drawing artifacts (non-empty
        sets only)."""
        return {k: v.artifact_units for k, v in self.layers.items() if v.artifact_units}

    def artifacts_help(self) -> bool:
        """Whether a set is stored and ``ganpaint artifacts`` measured it to help on
        held-out seeds (``artifacts.helps``): then View > Clean artifacts starts on and
        ``ganpaint render`` zeroes it; a set written by hand without that record does not."""
        return bool(self.artifact_units()) and (self.artifacts or {}).get("helps") is True


def validated(document: Mapping[str, Any]) -> Dissection:
    """``document`` as a :class:`Dissection`, refusing anything a lenient read would skip
    or change (for writers: what is written reads back as exactly this)."""
    raw = _thaw(document)
    doc = Dissection.from_dict(raw, strict=True)
    # compared as JSON text: NaN levels (a generator gone wrong) still equal themselves there
    if json.dumps(doc.to_dict(), sort_keys=True) != json.dumps(raw, sort_keys=True):
        raise DissectionError("the document does not read back as written")
    return doc
