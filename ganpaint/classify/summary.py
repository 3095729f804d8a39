"""``ganpaint classifier summary``: the issue's acceptance figures of a bundle's classifier,
read from what the other commands stored (nothing is recomputed):

* ``accuracy``: held-out accuracy from the card (``bundle.json`` ``classifier``);
* ``labelled_fraction`` and ``concepts_detected``: the last unit layer's units labelled at
  their best level, and how many concepts they detect (``classifier_dissection.json``);
* ``ablation``: ``own_drop_top20``, ``other_drop_top20``, ``keep_top20_drop`` (mean over
  classes, balanced-accuracy points, held-out);
* ``attack``: ``success`` and ``target_vs_other`` from ``classifier_attack.json``.

A figure whose file is absent is null, and so is one measured on an earlier classifier
(``stale`` lists those parts: "dissection", "ablation", "attack"; each part keeps the hash
of the classifier it measured, and ``ganpaint classifier train`` replaces the classifier).
``problems``: the measurement files whose sha256 differs from the one ``bundle.json``
records. A ``classifier.safetensors`` that differs is refused: the card describes the file
``bundle.json`` names, not one copied in since.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganpaint.core.errors import BundleError
from ganpaint.models.classifier_dissection import CLASSIFIER_DISSECTION_FILE

ATTACK_FILE = "classifier_attack.json"


def _attack(folder: Path) -> dict[str, Any]:
    path = folder / ATTACK_FILE
    out: dict[str, Any] = {"success": None, "target_vs_other": None}
    if not path.is_file():
        return out
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(doc, dict):
        raise BundleError(f"{path}: expected a JSON object")
    for key in out:
        v = doc.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise BundleError(f"{path}: {key}: expected a number, got {type(v).__name__}")
        out[key] = v
    return out


def classifier_summary(bundle_path: str | Path | None) -> dict[str, Any]:
    """The figures as one JSON-ready object (see the module docstring)."""
    from ganpaint.models.bundle import (
        default_bundle_path,
        read_bundle_json,
        stale_classifier_parts,
        verify_hashes,
    )
    from ganpaint.models.classifier_dissection import read_classifier_dissection

    folder = Path(bundle_path) if bundle_path is not None else default_bundle_path()
    if not folder.is_dir():
        raise BundleError(f"{folder}: not a bundle folder")
    meta = read_bundle_json(folder)
    problems = verify_hashes(folder, meta)
    if "classifier.safetensors" in problems:  # the card describes the file bundle.json names
        raise BundleError(problems["classifier.safetensors"])
    card = meta.get("classifier")
    if not isinstance(card, dict) or not (folder / "classifier.safetensors").is_file():
        raise BundleError(f"{folder}: no classifier; run `ganpaint classifier train` first")
    out: dict[str, Any] = {
        "accuracy": card.get("heldout_accuracy"),
        "gan_agreement": card.get("gan_agreement"),
        "labelled_fraction": None,
        "labelled_fraction_top1": None,
        "concepts_detected": None,
        "concepts": None,
        "ablation": {"own_drop_top20": None, "other_drop_top20": None, "keep_top20_drop": None},
        "attack": _attack(folder),
        "stale": list(stale_classifier_parts(folder)),
        "problems": problems,
    }
    if "attack" in out["stale"]:
        out["attack"] = {"success": None, "target_vs_other": None}
    path = folder / CLASSIFIER_DISSECTION_FILE
    doc = read_classifier_dissection(path) if path.is_file() else None
    last = doc.layer(doc.layers[-1].name) if doc is not None and doc.layers else None
    if last is not None and "dissection" not in out["stale"]:
        out["layer"] = last.name
        out["labelled_fraction"] = round(last.labelled_fraction(), 4)
        out["labelled_fraction_top1"] = round(last.labelled_fraction(fixed=True), 4)
        out["concepts"] = list(last.concepts_detected())
        out["concepts_detected"] = len(out["concepts"])
    ablated = doc is not None and doc.ablation is not None and "ablation" not in out["stale"]
    if ablated and 20 in doc.ablation.ks:
        f = doc.ablation.figures(20)
        out["ablation"] = {
            "own_drop_top20": round(f["own_drop"], 2),
            "other_drop_top20": round(f["other_drop"], 2),
            "keep_top20_drop": round(f["keep_drop"], 2),
        }
    return out


def summary_text(s: dict[str, Any]) -> str:
    """The figures as lines for a person."""
    a, t = s["ablation"], s["attack"]
    return "\n".join(
        [
            f"held-out accuracy        {s['accuracy']}",
            f"agreement on GAN samples {s['gan_agreement']}",
            f"last layer labelled      {s['labelled_fraction']} (fixed top-1 %: "
            f"{s['labelled_fraction_top1']})",
            f"concepts detected        {s['concepts_detected']} {s['concepts'] or ''}",
            f"remove top 20: own drop  {a['own_drop_top20']} points, others "
            f"{a['other_drop_top20']}",
            f"keep only top 20: drop   {a['keep_top20_drop']} points",
            f"attacks: success         {t['success']}, target vs other {t['target_vs_other']}",
        ]
        + _stale_lines(s.get("stale") or [])
        + [f"problem: {message}" for message in (s.get("problems") or {}).values()]
    )


RERUN = {"dissection": "dissect", "ablation": "ablate", "attack": "attack"}


def _stale_lines(stale: list[str]) -> list[str]:
    if not stale:
        return []
    commands = ", ".join(f"`ganpaint classifier {RERUN[p]}`" for p in stale if p in RERUN)
    return [f"not shown (measured on an earlier classifier): {', '.join(stale)}; run {commands}"]
