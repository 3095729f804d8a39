"""``classifier_attack.json``: what ``ganpaint classifier attack`` measured, written into the
bundle, read back by the report (and, for its two headline figures, by the summary).

:func:`attack_document` turns an :class:`~ganpaint.classify.attack_run.AttackRun` into the
JSON document (format in docs/FORMATS.md); :func:`read_attack_file` reads one back as a
typed :class:`AttackFile`, refusing a malformed one with an :class:`AttackFileError` that
names the file and the key path at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.classify.attack_run import AttackRecord, AttackRun, settings_dict
from ganpaint.classify.attack_stats import GROUPS, Interval
from ganpaint.core.errors import BundleError
from ganpaint.models.schema_fields import (
    DissectionError,
    _bool,
    _fail,
    _Fields,
    _int,
    _list,
    _num,
    _str,
    _strs,
)
from ganpaint.models.sniff import read_json_file

ATTACK_FILE = "classifier_attack.json"
ATTACK_FORMAT = "ganpaint-classifier-attack"
ATTACK_VERSION = 1
METHOD = "targeted minimal-L2 PGD (DDN), every step on the uint8-quantised picture"
L2_UNITS = "Euclidean norm of (adversarial - original) over H x W x 3 values in [0, 1] pixel units"
INTERVAL = "99 % normal approximation over successful attacks (mean +- 2.576 sd / sqrt(n))"
RATIO_INTERVAL = "99 % percentile bootstrap over successful attacks (2000 resamples, seed 0)"


class AttackFileError(BundleError):
    """A ``classifier_attack.json`` is malformed or from a newer version."""


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


def attack_document(
    run: AttackRun, machine: str, split: str = "held-out", classifier_sha256: str = ""
) -> dict[str, Any]:
    """The JSON document of one run; ``classifier_sha256`` names the classifier attacked, so
    a reader can tell when the bundle's classifier has changed since."""
    groups = run.group_intervals()
    ratio, low, high = run.ratio()
    l2 = run.l2_interval()
    pairs = []
    n = len(run.classes)
    for s in range(n):
        for t in range(n):
            rows = [r for r in run.records if r.source == s and r.target == t]
            if rows:
                ok = [r.l2 for r in rows if r.success]
                pairs.append(
                    {
                        "source": run.classes[s],
                        "target": run.classes[t],
                        "attacks": len(rows),
                        "success": len(ok) / len(rows),
                        "mean_l2": float(np.mean(ok)) if ok else None,
                    }
                )
    return {
        "format": ATTACK_FORMAT,
        "version": ATTACK_VERSION,
        "method": METHOD,
        "classifier_sha256": classifier_sha256,
        "classes": list(run.classes),
        "layer": run.layer,
        "size": run.size,
        "top": run.top,
        "settings": settings_dict(run.settings),
        "seeds": {"first": run.seeds_scanned[0], "last": run.seeds_scanned[1], "split": split},
        "attacks": len(run.records),
        "success": run.success(),
        "mean_l2": l2.mean,
        "mean_l2_interval": [l2.low, l2.high],
        "l2_units": L2_UNITS,
        "groups": {g: iv.to_dict() for g, iv in groups.items()},
        "interval": INTERVAL,
        "target_vs_other": ratio,
        "target_vs_other_interval": [low, high],
        "ratio_interval": RATIO_INTERVAL,
        "pairs": pairs,
        "records": [_record_dict(r) for r in run.records],
        "seconds": round(run.seconds, 1),
        "machine": machine,
    }


def _record_dict(r: Any) -> dict[str, Any]:
    return {
        "seed": r.seed,
        "source": r.source,
        "target": r.target,
        "success": r.success,
        "l2": r.l2,
        "target_prob": r.target_prob,
        "groups": list(r.groups) if r.groups is not None else None,
    }


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
    version = f.get("version", _int)
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
        mean_l2=_required(f, "mean_l2", _num),
        target_vs_other=_required(f, "target_vs_other", _num),
        target_vs_other_interval=ratio_iv,
        groups=groups,
        settings=dict(settings.d) if settings is not None else {},
        records=tuple(_entry(r, f"records[{i}]", len(classes)) for i, r in enumerate(records)),
        seconds=float(f.get("seconds", _num, 0.0)),
        machine=str(f.get("machine", _str, "")),
        classifier_sha256=str(f.get("classifier_sha256", _str, "")),
    )


def _required(f: _Fields, key: str, check: Any) -> Any:
    value = f.get(key, check)
    if value is None:
        raise DissectionError(f"{f.path + '.' if f.path else ''}{key}: missing")
    return value


def _fraction(v: Any, path: str) -> float:
    if not (_num(v, path) >= 0 and v <= 1):
        raise _fail(path, "a fraction between 0 and 1", v)
    return float(v)


def _pair(v: Any, path: str) -> tuple[float, float]:
    items = _list(v, path)
    if len(items) != 2:
        raise _fail(path, "two numbers [low, high]", v)
    return (float(_num(items[0], f"{path}[0]")), float(_num(items[1], f"{path}[1]")))


def _interval(f: _Fields | None, path: str) -> Interval:
    if f is None:
        raise DissectionError(f"{path}: missing")
    values = [float(_required(f, k, _num)) for k in ("mean", "low", "high")]
    return Interval(*values, n=int(_required(f, "n", _int)), level=0.99)


def _entry(v: Any, path: str, n_classes: int) -> AttackRecord:
    f = _Fields(v, path)
    source, target = (_required(f, k, _int) for k in ("source", "target"))
    for key, c in (("source", source), ("target", target)):
        if not 0 <= c < n_classes:
            raise _fail(f"{path}.{key}", f"a class index below {n_classes}", c)
    groups = f.get("groups", _list)
    if groups is not None:
        if len(groups) != 3:
            raise _fail(f"{path}.groups", "three numbers (target, source, other)", groups)
        groups = tuple(float(_num(g, f"{path}.groups[{i}]")) for i, g in enumerate(groups))
    success = _required(f, "success", _bool)
    return AttackRecord(
        seed=_required(f, "seed", _int),
        source=source,
        target=target,
        success=success,
        l2=float(_required(f, "l2", _num)),
        target_prob=float(f.get("target_prob", _num, 0.0)),
        groups=groups,
    )


def attack_text(doc: dict[str, Any]) -> str:
    """The document's figures as a few lines for the terminal."""
    seeds = doc["seeds"]
    groups = doc["groups"]
    lo, hi = doc["target_vs_other_interval"]
    l2lo, l2hi = doc["mean_l2_interval"]
    top = doc["top"]
    names = {"target": f"target top {top}", "source": f"source top {top}", "other": "other units"}
    lines = [
        f"{doc['attacks']} attacks on {seeds['split']} scenes (seeds {seeds['first']}.."
        f"{seeds['last']} looked at), layer {doc['layer']}, {doc['seconds']:.0f} s on "
        f"{doc['machine']}",
        f"success {doc['success']:.1%}; mean L2 {doc['mean_l2']:.3f} (99 % {l2lo:.3f}.."
        f"{l2hi:.3f}) in [0, 1] pixel units over {doc['size']}x{doc['size']}x3 values",
        f"mean |change of spatial-max activation|, 99 % normal intervals, "
        f"n = {groups['target']['n']} successful attacks:",
    ]
    for key in GROUPS:
        g = groups[key]
        lines.append(f"  {names[key]:<14} {g['mean']:.4f}  [{g['low']:.4f}, {g['high']:.4f}]")
    lines.append(
        f"target / other: {doc['target_vs_other']:.2f}x (99 % bootstrap {lo:.2f}..{hi:.2f})"
    )
    return "\n".join(lines)
