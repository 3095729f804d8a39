"""``ganpaint classifier attack BUNDLE`` as one library call: open the bundle's classifier
and its dissection (for the class rankings), run :func:`~ganpaint.classify.attack_run.run_attacks`
on held-out scenes, and write ``classifier_attack.json`` into the bundle with its hash.

Held-out scenes: seeds from ``HELDOUT_FIRST_SEED`` on unless given, checked to be disjoint
from every seed range the classifier's card (``bundle.json``) names (training, choosing,
held-out evaluation), so neither the classifier nor the attack settings have seen them. The
attack settings were chosen on training scenes (``--split train``, see the README); the
figures reported come from held-out ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.classify.attack import AttackSettings
from ganpaint.classify.attack_file import ATTACK_FILE, attack_document
from ganpaint.classify.attack_run import run_attacks
from ganpaint.core.errors import GanpaintError
from ganpaint.core.files import atomic_write_text
from ganpaint.core.progress import ProgressFactory, no_progress

HELDOUT_FIRST_SEED = 5_000_000
"""First seed of the held-out scenes the attacks use (far from the training seeds)."""
SCENES_LIMIT = 4000
"""Seeds looked at, at most, while collecting correctly classified scenes of every class."""


def class_rankings(dissection: Any, classes: Sequence[str]) -> dict[int, list[int]]:
    """Per class index, the last unit layer's units, most important first, from the
    classifier dissection (the single-unit ablation on the training split)."""
    ranked = dissection.class_rankings()
    out = {}
    for i, name in enumerate(classes):
        if name not in ranked:
            raise GanpaintError(f"the classifier dissection ranks no units for class {name!r}")
        out[i] = [int(u) for u in ranked[name]]
    return out


def card_ranges(card: Mapping[str, Any]) -> dict[str, range]:
    """The seed ranges the classifier card names (``seeds``: name -> [start, stop])."""
    seeds = card.get("seeds") if isinstance(card, Mapping) else None
    out = {}
    for name, v in seeds.items() if isinstance(seeds, Mapping) else ():
        if isinstance(v, list) and len(v) == 2 and all(type(x) is int for x in v):
            out[str(name)] = range(v[0], v[1])
    return out


def attack_seeds(card: Mapping[str, Any], split: str, first: int | None) -> range:
    """The seeds to look at: held-out ones (default; disjoint from every range the card
    names) or the training ones (``split="train"``, for choosing the attack's settings)."""
    ranges = card_ranges(card)
    if split == "train":
        if "train" not in ranges:
            raise GanpaintError("the classifier card names no training seeds for --split train")
        return ranges["train"]
    start = HELDOUT_FIRST_SEED if first is None else first
    seeds = range(start, start + SCENES_LIMIT)
    for name, used in ranges.items():
        if seeds.start < used.stop and used.start < seeds.stop:
            raise GanpaintError(
                f"seeds {seeds.start}..{seeds.stop - 1} overlap the classifier's {name} seeds "
                f"{used.start}..{used.stop - 1}; the attacks need scenes of their own"
            )
    return seeds


def attack_bundle(
    bundle_path: str | Path | None,
    per_pair: int = 3,
    split: str = "held-out",
    first_seed: int | None = None,
    settings: AttackSettings | None = None,
    write: bool = True,
    progress: ProgressFactory = no_progress,
) -> dict[str, Any]:
    """Run the attacks and (with ``write``) store the document in the bundle; returns it."""
    from ganpaint.core.devices import describe_device
    from ganpaint.models import load_bundle
    from ganpaint.scenes import render_scene_with_class

    bundle = load_bundle(bundle_path)
    classifier = bundle.load_classifier()
    if classifier is None:
        raise GanpaintError(f"{bundle.path}: no classifier; run `ganpaint classifier train` first")
    dissection = bundle.classifier_dissection()
    if dissection is None:
        raise GanpaintError(
            f"{bundle.path}: no classifier_dissection.json with the class rankings; run "
            "`ganpaint classifier dissect` and `ganpaint classifier ablate` first"
        )
    rankings = class_rankings(dissection, classifier.classes)
    card = bundle.meta.get("classifier", {})
    seeds = attack_seeds(card, split, first_seed)
    size = int(bundle.meta.get("resolution") or 128)
    run = run_attacks(
        classifier,
        rankings,
        render_scene_with_class,
        seeds,
        size,
        per_pair=per_pair,
        settings=settings,
        progress=progress,
    )
    device = next(classifier.parameters()).device
    from ganpaint.models.bundle import sha256_file

    sha = sha256_file(bundle.classifier_path)
    doc = attack_document(run, describe_device(device, hardware=True), split, sha)
    if write:
        write_attack_file(bundle.path, doc)
    return doc


def write_attack_file(folder: Path, doc: Mapping[str, Any]) -> Path:
    """Write the document into the bundle folder and record its hash in ``bundle.json``."""
    from ganpaint.models.bundle import read_bundle_json, write_bundle_json

    path = folder / ATTACK_FILE
    atomic_write_text(path, json.dumps(_plain(doc), indent=1) + "\n")
    write_bundle_json(folder, read_bundle_json(folder))
    return path


def _plain(v: Any) -> Any:
    """NumPy numbers as Python ones, so ``json`` can write them."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
