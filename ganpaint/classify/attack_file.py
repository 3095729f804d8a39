"""``classifier_attack.json``: what ``ganpaint classifier attack`` measured, written into the
bundle, read back by the report (and, for its two headline figures, by the summary).

:func:`attack_document` turns an :class:`~ganpaint.classify.attack_run.AttackRun` into the
JSON document (format in docs/FORMATS.md); :func:`read_attack_file` reads one back as a
typed :class:`AttackFile`, refusing a malformed one with an :class:`AttackFileError` that
names the file and the key path at fault.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganpaint.classify.attack_run import AttackRun, settings_dict
from ganpaint.models.classifier_attack import (  # the reader: re-exported, names kept
    ATTACK_FILE,
    ATTACK_FORMAT,
    ATTACK_VERSION,
    GROUPS,
    AttackFile,
    AttackFileError,
    attack_file_from_dict,
    read_attack_file,
)

__all__ = [
    "ATTACK_FILE",
    "ATTACK_FORMAT",
    "ATTACK_VERSION",
    "AttackFile",
    "AttackFileError",
    "attack_document",
    "attack_file_from_dict",
    "attack_text",
    "read_attack_file",
]

METHOD = "targeted minimal-L2 PGD (DDN), every step on the uint8-quantised picture"
L2_UNITS = "Euclidean norm of (adversarial - original) over H x W x 3 values in [0, 1] pixel units"
INTERVAL = "99 % normal approximation over successful attacks (mean +- 2.576 sd / sqrt(n))"
RATIO_INTERVAL = "99 % percentile bootstrap over successful attacks (2000 resamples, seed 0)"


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
