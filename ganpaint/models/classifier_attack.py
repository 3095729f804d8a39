"""The ``classifier_attack.json`` document read back: :func:`read_attack_file` gives a typed
:class:`AttackFile` or refuses a malformed file with an :class:`AttackFileError` naming the
file and the key path at fault (layout in docs/FORMATS.md).

The reader lives here, beside the other readers of bundle files, so that every layer above
``models`` (the report, the summary, the fuzzer of :mod:`ganpaint.robust`) can check the file;
:mod:`ganpaint.classify.attack_file` writes it and keeps its public names. The record and
interval types of the document (:class:`AttackRecord`, :class:`Interval`) are plain data and
live here too; :mod:`ganpaint.classify.attack_run` and :mod:`ganpaint.classify.attack_stats`
compute them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganpaint.core.errors import BundleError
from ganpaint.models.schema_fields import (
    DissectionError,
    _bool,
    _fail,
    _Fields,
    _int,
    _list,
    _real,
    _str,
    _strs,
)
from ganpaint.models.sniff import read_json_file

ATTACK_FILE = "classifier_attack.json"
ATTACK_FORMAT = "ganpaint-classifier-attack"
ATTACK_VERSION = 1
GROUPS = ("target", "source", "other")
"""The three groups of units whose change an attack measures, in the file's order."""


class AttackFileError(BundleError):
    """A ``classifier_attack.json`` is malformed or from a newer version."""


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` values with its confidence interval [low, high] at ``level``."""

    mean: float
    low: float
    high: float
    n: int
    level: float

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n}


@dataclass(frozen=True)
class AttackRecord:
    """One attack: the scene's seed, its class, the target, the outcome and the three group
    means (None when it failed)."""

    seed: int
    source: int
    target: int
    success: bool
    l2: float
    target_prob: float
    groups: tuple[float, float, float] | None


@dataclass(frozen=True)
class AttackFile:
    """The figures of ``classifier_attack.json``."""

    classes: tuple[str, ...]
    layer: str
    size: int
    top: int
    success: float
    mean_l2: float
    target_vs_other: float
    target_vs_other_interval: tuple[float, float]
    groups: dict[str, Interval]
    settings: dict[str, float]
    records: tuple[AttackRecord, ...]
    seconds: float
    machine: str
    classifier_sha256: str = ""


def read_attack_file(path: str | Path) -> AttackFile:
    """Read and check ``classifier_attack.json``."""
    path = Path(path)
    doc = read_json_file(path, "an attack file", AttackFileError)
    try:
        return attack_file_from_dict(doc)
    except DissectionError as exc:
        raise AttackFileError(f"{path}: {exc}") from None
    except OverflowError:  # an integer of hundreds of digits where a float is read
        raise AttackFileError(f"{path}: holds a number too large to read") from None


def attack_file_from_dict(doc: Any) -> AttackFile:
    """The typed document; raises ``DissectionError`` naming the key path at fault."""
    f = _Fields(doc, "")
    fmt = f.get("format", _str)
    if fmt != ATTACK_FORMAT:
        raise _fail("format", f"{ATTACK_FORMAT!r}", fmt)
    version = _required(f, "version", _int)
    if version > ATTACK_VERSION:
        raise DissectionError(f"version {version} is newer than this app reads ({ATTACK_VERSION})")
    classes = _required(f, "classes", _strs)
    success = _required(f, "success", _fraction)
    groups_doc = _required(f, "groups", _Fields)
    groups = {g: _interval(groups_doc.get(g, _Fields), f"groups.{g}") for g in GROUPS}
    ratio_iv = f.get("target_vs_other_interval", _pair, (float("nan"), float("nan")))
    records = f.get("records", _list, [])
    settings = f.get("settings", _Fields)
    return AttackFile(
        classes=classes,
        layer=_required(f, "layer", _str),
        size=_required(f, "size", _int),
        top=_required(f, "top", _int),
        success=success,
        mean_l2=_required(f, "mean_l2", _real),
        target_vs_other=_required(f, "target_vs_other", _real),
        target_vs_other_interval=ratio_iv,
        groups=groups,
        settings=dict(settings.d) if settings is not None else {},
        records=tuple(_entry(r, f"records[{i}]", len(classes)) for i, r in enumerate(records)),
        seconds=float(f.get("seconds", _real, 0.0)),
        machine=str(f.get("machine", _str, "")),
        classifier_sha256=str(f.get("classifier_sha256", _str, "")),
    )


def _required(f: _Fields, key: str, check: Any) -> Any:
    value = f.get(key, check)
    if value is None:
        raise DissectionError(f"{f.path + '.' if f.path else ''}{key}: missing")
    return value


def _fraction(v: Any, path: str) -> float:
    if not (_real(v, path) >= 0 and v <= 1):
        raise _fail(path, "a fraction between 0 and 1", v)
    return float(v)


def _pair(v: Any, path: str) -> tuple[float, float]:
    items = _list(v, path)
    if len(items) != 2:
        raise _fail(path, "two numbers [low, high]", v)
    return (float(_real(items[0], f"{path}[0]")), float(_real(items[1], f"{path}[1]")))


def _opt_list(v: Any, path: str) -> list | None:
    return None if v is None else _list(v, path)


def _interval(f: _Fields | None, path: str) -> Interval:
    if f is None:
        raise DissectionError(f"{path}: missing")
    values = [float(_required(f, k, _real)) for k in ("mean", "low", "high")]
    return Interval(*values, n=int(_required(f, "n", _int)), level=0.99)


def _entry(v: Any, path: str, n_classes: int) -> AttackRecord:
    f = _Fields(v, path)
    source, target = (_required(f, k, _int) for k in ("source", "target"))
    for key, c in (("source", source), ("target", target)):
        if not 0 <= c < n_classes:
            raise _fail(f"{path}.{key}", f"a class index below {n_classes}", c)
    groups = f.get("groups", _opt_list)  # null for a failed attack: the writer writes that
    if groups is not None:
        if len(groups) != 3:
            raise _fail(f"{path}.groups", "three numbers (target, source, other)", groups)
        groups = tuple(float(_real(g, f"{path}.groups[{i}]")) for i, g in enumerate(groups))
    success = _required(f, "success", _bool)
    return AttackRecord(
        seed=_required(f, "seed", _int),
        source=source,
        target=target,
        success=success,
        l2=float(_required(f, "l2", _real)),
        target_prob=float(f.get("target_prob", _real, 0.0)),
        groups=groups,
    )
