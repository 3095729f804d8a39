"""The ``classifier_dissection.json`` document (the scene classifier's dissection and its
per-class ablation) as frozen dataclasses, validated once when read.

Its layout is described in docs/FORMATS.md; this module is its one reader
(:func:`read_classifier_dissection`, :meth:`ClassifierDissection.from_dict`) and gives the
same JSON back (:meth:`ClassifierDissection.to_dict`; key order and unknown keys kept, on
the base classes of :mod:`ganpaint.models.schema_fields`). A malformed document is refused
with a :class:`DissectionError` naming the key path and what was expected.

* ``layers``: per conv layer its unit count and per unit two labels: ``best`` (the concept
  with the highest IoU at the unit's best quantile level, and that level) and ``top1``
  (the paper's fixed top-1 % threshold). A label counts when its IoU exceeds the
  document's ``iou_threshold`` (``labelled``).
* ``ablation``: the layer ablated (the last unit layer), per class its units ranked by the
  drop of that class's balanced accuracy when each is zeroed alone on training scenes, and
  the held-out curves: per k, every class's balanced accuracy when the class's top k units
  are removed (``remove``) or all units but those (``keep``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganpaint.models.schema_fields import (
    DissectionError,
    JsonMap,
    _fail,
    _Fields,
    _int,
    _ints,
    _is_int,
    _is_real,
    _json_map,
    _list,
    _Node,
    _num,
    _real_rows,
    _reals,
    _str,
    _strs,
    _tuple_of,
)

CLASSIFIER_DISSECTION_FORMAT = "ganpaint-classifier-dissection"
CLASSIFIER_DISSECTION_VERSION = 1
CLASSIFIER_DISSECTION_FILE = "classifier_dissection.json"
SHA_KEY = "classifier_sha256"
"""The key, in ``options`` and in ``ablation``, of the hash of the classifier file measured."""

__all__ = [
    "Ablation",
    "ClassAblation",
    "ClassifierDissection",
    "DissectionError",
    "LayerUnits",
    "UnitEntry",
    "UnitLabel",
    "read_classifier_dissection",
]


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise _fail(path, "true or false", v)
    return v


@dataclass(frozen=True)
class UnitLabel(_Node):
    """A unit's label: ``concept`` with its ``iou``; ``level``: the activation quantile of the
    threshold (0.99 for the fixed top-1 %); ``labelled``: iou above the threshold."""

    concept: str = ""
    iou: float = 0.0
    level: float = 0.99
    labelled: bool = False

    @classmethod
    def from_dict(cls, d: Any, path: str) -> UnitLabel:
        r = _Fields(d, path)
        return cls(
            concept=r.get("concept", _str, ""),
            iou=r.get("iou", _num, 0.0),
            level=r.get("level", _num, 0.99),
            labelled=r.get("labelled", _bool, False),
            **r.rest(),
        )


@dataclass(frozen=True)
class UnitEntry(_Node):
    """One unit of a layer: its ``best`` label and its ``top1`` label."""

    unit: int = 0
    best: UnitLabel = UnitLabel()
    top1: UnitLabel = UnitLabel()

    @classmethod
    def from_dict(cls, d: Any, path: str) -> UnitEntry:
        r = _Fields(d, path)
        return cls(
            unit=r.get("unit", _int, 0),
            best=r.get("best", UnitLabel.from_dict, UnitLabel()),
            top1=r.get("top1", UnitLabel.from_dict, UnitLabel()),
            **r.rest(),
        )


_unit_entries = _tuple_of(UnitEntry.from_dict)


@dataclass(frozen=True)
class LayerUnits(_Node):
    """One conv layer: ``name``, ``count`` units (entries in ``units``, by unit number)."""

    name: str = ""
    count: int = 0
    units: tuple[UnitEntry, ...] = ()

    @classmethod
    def from_dict(cls, d: Any, path: str) -> LayerUnits:
        r = _Fields(d, path)
        out = cls(
            name=r.get("name", _str, ""),
            count=r.get("count", _int, 0),
            units=r.get("units", _unit_entries, ()),
            **r.rest(),
        )
        seen: set[int] = set()
        for i, u in enumerate(out.units):
            if not 0 <= u.unit < out.count:
                raise DissectionError(
                    f"{path}.units[{i}].unit: unit {u.unit} outside 0..{out.count - 1}"
                )
            if u.unit in seen:
                raise DissectionError(f"{path}.units[{i}].unit: unit {u.unit} listed twice")
            seen.add(u.unit)
        return out

    def labelled_fraction(self, fixed: bool = False) -> float:
        """The fraction of the layer's units labelled (at their best level, or at the fixed
        top-1 % threshold with ``fixed``)."""
        n = sum((u.top1 if fixed else u.best).labelled for u in self.units)
        return n / self.count if self.count else 0.0

    def concepts_detected(self, fixed: bool = False) -> tuple[str, ...]:
        """The concepts some labelled unit of this layer detects, sorted."""
        labels = (u.top1 if fixed else u.best for u in self.units)
        return tuple(sorted({x.concept for x in labels if x.labelled}))


def _ranked(v: Any, path: str) -> tuple[tuple[int, float], ...]:
    out = []
    for i, item in enumerate(_list(v, path)):
        ok = isinstance(item, list) and len(item) == 2
        if not (ok and _is_int(item[0]) and _is_real(item[1])):
            raise _fail(f"{path}[{i}]", "a [unit, drop] pair", item)
        out.append((item[0], float(item[1])))
    return tuple(out)


@dataclass(frozen=True)
class ClassAblation(_Node):
    """One class: ``ranked`` (unit, drop of its balanced accuracy in points when zeroed
    alone, training scenes), most important first; ``remove``/``keep``: per k of the
    ablation's ``ks``, every class's held-out balanced accuracy (points) with this class's
    top k units removed / all but its top k removed."""

    name: str = ""
    ranked: tuple[tuple[int, float], ...] = ()
    remove: tuple[tuple[float, ...], ...] = ()
    keep: tuple[tuple[float, ...], ...] = ()

    @classmethod
    def from_dict(cls, d: Any, path: str) -> ClassAblation:
        r = _Fields(d, path)
        return cls(
            name=r.get("name", _str, ""),
            ranked=r.get("ranked", _ranked, ()),
            remove=r.get("remove", _real_rows, ()),  # figures() does arithmetic on them
            keep=r.get("keep", _real_rows, ()),
            **r.rest(),
        )

    @property
    def units(self) -> tuple[int, ...]:
        return tuple(u for u, _ in self.ranked)


@dataclass(frozen=True)
class Ablation(_Node):
    """The per-class ablation of ``layer``: ``baseline`` (held-out balanced accuracy per
    class, points, nothing removed), ``ks`` and one :class:`ClassAblation` per class."""

    layer: str = ""
    ks: tuple[int, ...] = ()
    baseline: tuple[float, ...] = ()
    classes: tuple[ClassAblation, ...] = ()
    ranking_seeds: tuple[int, ...] = ()
    heldout_seeds: tuple[int, ...] = ()

    @classmethod
    def from_dict(cls, d: Any, path: str) -> Ablation:
        r = _Fields(d, path)
        out = cls(
            layer=r.get("layer", _str, ""),
            ks=r.get("ks", _ints, ()),
            baseline=r.get("baseline", _reals, ()),
            classes=r.get("classes", _tuple_of(ClassAblation.from_dict), ()),
            ranking_seeds=r.get("ranking_seeds", _ints, ()),
            heldout_seeds=r.get("heldout_seeds", _ints, ()),
            **r.rest(),
        )
        n = len(out.classes)
        for i, c in enumerate(out.classes):
            for key in ("remove", "keep"):
                rows = getattr(c, key)
                if len(rows) != len(out.ks) or any(len(row) != n for row in rows):
                    raise DissectionError(
                        f"{path}.classes[{i}].{key}: expected {len(out.ks)} rows (one per k) "
                        f"of {n} balanced accuracies (one per class)"
                    )
        if len(out.baseline) != n:
            raise DissectionError(f"{path}.baseline: expected {n} balanced accuracies")
        return out

    def figures(self, k: int = 20) -> dict[str, float]:
        """Mean over classes, in points: ``own_drop`` (a class's drop when its top k are
        removed), ``other_drop`` (the other classes' mean drop then), ``keep_drop`` (a class's
        drop when only its top k are kept)."""
        if k not in self.ks:
            raise DissectionError(f"the ablation has no k = {k} (ks: {list(self.ks)})")
        j = self.ks.index(k)
        own, other, keep = [], [], []
        for i, c in enumerate(self.classes):
            drops = [b - a for a, b in zip(c.remove[j], self.baseline, strict=True)]
            own.append(drops[i])
            other.append(sum(drops[:i] + drops[i + 1 :]) / max(1, len(drops) - 1))
            keep.append(self.baseline[i] - c.keep[j][i])
        n = max(1, len(self.classes))
        return {"own_drop": sum(own) / n, "other_drop": sum(other) / n, "keep_drop": sum(keep) / n}


def _ablation(v: Any, path: str) -> Ablation | None:
    return None if v is None else Ablation.from_dict(v, path)


@dataclass(frozen=True)
class ClassifierDissection(_Node):
    """The whole document; ``options``: how it was measured (samples, quantile, threshold)."""

    format: str = CLASSIFIER_DISSECTION_FORMAT
    version: int = CLASSIFIER_DISSECTION_VERSION
    classes: tuple[str, ...] = ()
    concepts: tuple[str, ...] = ()
    iou_threshold: float = 0.04
    layers: tuple[LayerUnits, ...] = ()
    ablation: Ablation | None = None
    options: JsonMap | None = None

    @classmethod
    def from_dict(cls, d: Any, path: str = "") -> ClassifierDissection:
        r = _Fields(d, path)
        fmt = r.get("format", _str, "")
        if fmt != CLASSIFIER_DISSECTION_FORMAT:
            raise DissectionError(f"format: expected {CLASSIFIER_DISSECTION_FORMAT!r}, got {fmt!r}")
        version = r.get("version", _int, 0)
        if not 1 <= version <= CLASSIFIER_DISSECTION_VERSION:
            raise DissectionError(f"version: {version} is not supported by this program")
        return cls(
            format=fmt,
            version=version,
            classes=r.get("classes", _strs, ()),
            concepts=r.get("concepts", _strs, ()),
            iou_threshold=r.get("iou_threshold", _num, 0.04),
            layers=r.get("layers", _tuple_of(LayerUnits.from_dict), ()),
            ablation=r.get("ablation", _ablation),
            options=r.get("options", _json_map),
            **r.rest(),
        )

    def layer(self, name: str) -> LayerUnits | None:
        """The dissection of layer ``name``, or None."""
        return next((x for x in self.layers if x.name == name), None)

    def class_rankings(self) -> dict[str, list[int]]:
        """Class name -> the ablated layer's units, most important first ({} without an
        ablation)."""
        if self.ablation is None:
            return {}
        return {c.name: list(c.units) for c in self.ablation.classes}

    def stale_parts(self, classifier_sha256: str) -> tuple[str, ...]:
        """The parts ("dissection", "ablation") computed from another classifier than the one
        whose file hash is ``classifier_sha256``: each part carries the hash of the
        classifier it measured (``options.classifier_sha256``,
        ``ablation.classifier_sha256``); a part without one (written before the hash was
        kept) cannot be judged and is not listed."""
        stamps = {
            "dissection": (self.options or {}).get(SHA_KEY) if self.layers else None,
            "ablation": self.ablation.extra.get(SHA_KEY) if self.ablation is not None else None,
        }
        return tuple(k for k, v in stamps.items() if isinstance(v, str) and v != classifier_sha256)


def read_classifier_dissection(path: str | Path) -> ClassifierDissection:
    """Read and validate ``classifier_dissection.json``; errors name the file and key path."""
    from ganpaint.models.sniff import read_json_file

    path = Path(path)
    raw = read_json_file(path, "a classifier_dissection.json file", DissectionError)
    try:
        return ClassifierDissection.from_dict(raw)
    except DissectionError as exc:
        raise DissectionError(f"{path}: {exc}") from None
    except RecursionError:
        raise DissectionError(f"{path}: nested too deeply") from None
    except OverflowError:  # float() of an integer of hundreds of digits
        raise DissectionError(f"{path}: holds a number too large to read") from None


def document_dict(doc: ClassifierDissection | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object of a document (validated when given as a mapping)."""
    if isinstance(doc, ClassifierDissection):
        return doc.to_dict()
    return ClassifierDissection.from_dict(dict(doc)).to_dict()
