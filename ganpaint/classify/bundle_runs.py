"""``ganpaint classifier dissect`` and ``ablate`` on a bundle: open its classifier, run
:mod:`~ganpaint.classify.dissect` or :mod:`~ganpaint.classify.ablate` on the right scenes,
and merge the result into ``classifier_dissection.json`` (the other part is kept), whose hash
goes into ``bundle.json``.

Scenes: the dissection uses training scenes (``TRAIN_START``..), as the paper dissects on
its training set; the ablation ranks units on training scenes and reports on held-out ones
(``HELDOUT_START``..), which nothing is chosen on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganpaint.classify.data import DEFAULT_CACHE, HELDOUT_START, TRAIN_START, load_scenes
from ganpaint.core.errors import GanpaintError
from ganpaint.core.files import atomic_write_text
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.models.bundle import sha256_file
from ganpaint.models.classifier_dissection import (
    CLASSIFIER_DISSECTION_FILE,
    CLASSIFIER_DISSECTION_FORMAT,
    CLASSIFIER_DISSECTION_VERSION,
    SHA_KEY,
    ClassifierDissection,
)


def open_classifier(bundle_path: str | Path | None, device: str | None = None):
    """(bundle, classifier on ``device``, size); a clear error when there is no classifier."""
    from ganpaint.core.devices import pick_device
    from ganpaint.models import load_bundle

    bundle = load_bundle(bundle_path)
    model = bundle.load_classifier()
    if model is None:
        raise GanpaintError(
            f"{bundle.path}: no classifier.safetensors; run `ganpaint classifier train` first"
        )
    size = int(bundle.meta.get("classifier", {}).get("resolution") or 128)
    return bundle, model.to(pick_device(device)), size


def update_document(folder: Path, classes, part: dict[str, Any]) -> ClassifierDissection:
    """Merge ``part`` (top-level keys) into the bundle's document, validate it, write it
    atomically and record its hash in ``bundle.json``."""
    from ganpaint.models.classifier_dissection import read_classifier_dissection
    from ganpaint.scenes import CONCEPTS

    path = folder / CLASSIFIER_DISSECTION_FILE
    doc: dict[str, Any] = {}
    if path.is_file():
        old = read_classifier_dissection(path)
        if list(old.classes) == list(classes):
            doc = old.to_dict()  # keep the other part (layers or ablation)
    doc.update(
        {
            "format": CLASSIFIER_DISSECTION_FORMAT,
            "version": CLASSIFIER_DISSECTION_VERSION,
            "classes": list(classes),
            "concepts": list(CONCEPTS),
            "iou_threshold": doc.get("iou_threshold", 0.04),
        }
    )
    if "options" in part and "options" in doc:
        part = {**part, "options": {**doc["options"], **part["options"]}}
    doc.update(part)
    return _write_document(folder, doc)


def _write_document(folder: Path, doc: dict[str, Any]) -> ClassifierDissection:
    """Validate ``doc``, write it atomically as the bundle's document and record its hash
    in ``bundle.json``."""
    from ganpaint.models.bundle import read_bundle_json, write_bundle_json

    checked = ClassifierDissection.from_dict(doc)
    atomic_write_text(
        folder / CLASSIFIER_DISSECTION_FILE, json.dumps(checked.to_dict(), indent=1) + "\n"
    )
    write_bundle_json(folder, read_bundle_json(folder))
    return checked


def mark_earlier(folder: Path, earlier_sha256: str) -> None:
    """After a new classifier was stored: a part of ``classifier_dissection.json`` written
    before parts kept their classifier's hash gets ``earlier_sha256`` (the replaced file's,
    or "none"), since whatever it measured, it was not the new classifier. An unreadable
    document is left for its readers to refuse."""
    from ganpaint.core.errors import BundleError
    from ganpaint.models.classifier_dissection import read_classifier_dissection

    path = folder / CLASSIFIER_DISSECTION_FILE
    try:
        doc = read_classifier_dissection(path).to_dict() if path.is_file() else None
    except BundleError:
        return
    if doc is None:
        return
    changed = False
    if doc.get("layers") and SHA_KEY not in (doc.get("options") or {}):
        doc["options"] = {**(doc.get("options") or {}), SHA_KEY: earlier_sha256}
        changed = True
    if isinstance(doc.get("ablation"), dict) and SHA_KEY not in doc["ablation"]:
        doc["ablation"][SHA_KEY] = earlier_sha256
        changed = True
    if changed:
        _write_document(folder, doc)


def dissect_bundle(
    bundle_path: str | Path | None,
    n: int = 1000,
    device: str | None = None,
    grid: int = 128,
    progress: ProgressFactory = no_progress,
) -> ClassifierDissection:
    """Dissect the bundle's classifier on ``n`` training scenes; returns the document."""
    from ganpaint.classify.dissect import IOU_THRESHOLD, dissect_classifier

    bundle, model, size = open_classifier(bundle_path, device)
    scenes = load_scenes(TRAIN_START, n, size, DEFAULT_CACHE)
    part = dissect_classifier(model, scenes, grid=grid, progress=progress)
    part["iou_threshold"] = IOU_THRESHOLD
    part["options"][SHA_KEY] = sha256_file(bundle.classifier_path)
    return update_document(bundle.path, model.classes, part)


def ablate_bundle(
    bundle_path: str | Path | None,
    n_rank: int = 12000,
    n_heldout: int = 2000,
    device: str | None = None,
    progress: ProgressFactory = no_progress,
) -> ClassifierDissection:
    """Rank units on ``n_rank`` training scenes, measure on ``n_heldout`` held-out ones."""
    from ganpaint.classify.ablate import ablate_classifier

    bundle, model, size = open_classifier(bundle_path, device)
    ranking = load_scenes(TRAIN_START, n_rank, size, DEFAULT_CACHE)
    heldout = load_scenes(HELDOUT_START, n_heldout, size, DEFAULT_CACHE)
    ablation = ablate_classifier(model, ranking, heldout, progress=progress)
    ablation[SHA_KEY] = sha256_file(bundle.classifier_path)
    return update_document(bundle.path, model.classes, {"ablation": ablation})
