"""The scene classifier's card and ``ganpaint classifier train`` on a bundle.

The card (:func:`evaluate_card`) reports accuracy on held-out scenes (seeds never used for
training or choosing) and the agreement on GAN samples: the classifier's class of each
generator sample against the class the segmenter's labels of that sample imply.
:func:`train_bundle` trains (:func:`~ganpaint.classify.train.train_classifier`) and
:func:`refit_bundle` refits a stored classifier's head (and fine-tunes its trunk); both
write ``classifier.safetensors`` and the ``classifier`` section of ``bundle.json`` (with
the file's hash).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganpaint.classify.data import (
    CHOOSE_START,
    DEFAULT_CACHE,
    HELDOUT_START,
    TRAIN_START,
    load_scenes,
)
from ganpaint.classify.train import (
    TrainSettings,
    accuracy,
    class_frequencies,
    finetune_trunk,
    predict,
    refit_head,
    resolve_precision,
    train_classifier,
)
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.models.classifier import SceneClassifier
from ganpaint.scenes import SCENE_CLASSES, scene_classes

CLASSIFIER_FILE = "classifier.safetensors"


def gan_agreement(model: SceneClassifier, bundle, n: int, batch: int = 25) -> dict[str, Any]:
    """Classify ``n`` generator samples (z seeds 0..n-1) and compare with the class the
    bundle's segmenter's labels of each sample imply."""
    from ganpaint.core.seeds import zs_from_seeds
    from ganpaint.models.segmenter import segment

    segmenter = bundle.load_segmenter()
    if segmenter is None or n <= 0:
        return {"gan_agreement": None, "gan_n": 0}
    device = next(model.parameters()).device
    gen = bundle.generator.to(device).eval()
    segmenter = segmenter.to(device)
    z = zs_from_seeds(range(n), gen.z_dim)
    implied, predicted = [], []
    with torch.no_grad():
        for i in range(0, n, batch):
            x = gen(z[i : i + batch].to(device)).clamp(-1, 1)
            implied.append(scene_classes(segment(segmenter, x).cpu().numpy()))
            predicted.append(model(x).argmax(1).cpu().numpy())
    implied_a, predicted_a = np.concatenate(implied), np.concatenate(predicted)
    return {
        "gan_agreement": round(float((implied_a == predicted_a).mean()), 4),
        "gan_n": n,
        "gan_z_seeds": [0, n],
        "gan_class_frequencies": class_frequencies(implied_a),
    }


def evaluate_card(
    model: SceneClassifier, settings: TrainSettings, bundle=None, cache: Path | None = DEFAULT_CACHE
) -> dict[str, Any]:
    """Held-out accuracy (overall and recall per class) and agreement on GAN samples."""
    s = settings
    held = load_scenes(HELDOUT_START, s.n_heldout, s.size, cache)
    pred = predict(model, held.images)
    recall = {
        c: round(float((pred[held.classes == i] == i).mean()), 4)
        for i, c in enumerate(SCENE_CLASSES)
        if (held.classes == i).any()
    }
    card = {
        "heldout_accuracy": round(float((pred == held.classes).mean()), 4),
        "heldout_n": len(held.images),
        "heldout_recall": recall,
        "class_frequencies_heldout": class_frequencies(held.classes),
    }
    if bundle is not None:
        card.update(gan_agreement(model, bundle, s.n_gan))
    return card


def make_card(model: SceneClassifier, s: TrainSettings, run: dict, evaluation: dict, device):
    """The ``classifier`` section of ``bundle.json``."""
    from ganpaint.core.devices import describe_device

    return {
        "architecture": model.config()["architecture"],
        "classes": list(model.classes),
        "widths": list(model.widths),
        "pool": model.pool,
        "unit_layers": list(model.unit_layers),
        "resolution": s.size,
        "class_rule": "ganpaint.scenes.classes.scene_class",
        "seeds": {
            "train": [TRAIN_START, TRAIN_START + s.n_train],
            "choose": [CHOOSE_START, CHOOSE_START + s.n_choose],
            "heldout": [HELDOUT_START, HELDOUT_START + s.n_heldout],
        },
        "settings": asdict(s),
        **evaluation,
        **run,
        "device": describe_device(device, hardware=True),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def train_bundle(
    bundle_path: str | Path | None,
    settings: TrainSettings,
    device: str | None = None,
    *,
    cache: Path | None = DEFAULT_CACHE,
    progress: ProgressFactory = no_progress,
    log: Callable[[str], None] = lambda msg: None,
) -> dict[str, Any]:
    """Train, evaluate and store the classifier in the bundle; returns the card."""
    from ganpaint.core.devices import pick_device
    from ganpaint.models import load_bundle

    bundle = load_bundle(bundle_path)
    if not bundle.path.is_dir():
        raise GanpaintError(f"{bundle.path}: a classifier is stored in a bundle folder")
    dev = pick_device(device)
    settings = resolve_precision(settings, dev)  # the card records the precision used
    model, run = train_classifier(settings, dev, cache=cache, progress=progress, log=log)
    evaluation = evaluate_card(model, settings, bundle, cache)
    card = make_card(model, settings, run, evaluation, dev)
    _store(bundle.path, model, card)
    return card


def _store(folder: Path, model: SceneClassifier, card: dict[str, Any]) -> None:
    """Write the classifier and its card (the ``classifier`` section of ``bundle.json``)."""
    from ganpaint.classify.bundle_runs import mark_earlier
    from ganpaint.models.bundle import read_bundle_json, sha256_file, write_bundle_json
    from ganpaint.models.classifier import save_classifier

    path = folder / CLASSIFIER_FILE
    earlier = sha256_file(path) if path.is_file() else "none"
    save_classifier(model, path)
    mark_earlier(folder, earlier)
    meta = read_bundle_json(folder)
    meta["classifier"] = card
    write_bundle_json(folder, meta)


def refit_bundle(
    bundle_path: str | Path | None,
    settings: TrainSettings,
    device: str | None = None,
    *,
    cache: Path | None = DEFAULT_CACHE,
    progress: ProgressFactory = no_progress,
    log: Callable[[str], None] = lambda msg: None,
) -> dict[str, Any]:
    """Refit the head of the bundle's classifier on its first ``refit_scenes`` training
    scenes, then (``finetune_epochs`` > 0) fine-tune its conv layers under that head on all
    its training scenes (:func:`finetune_trunk`; the dissection must then be run again);
    evaluate and store it with the card updated. Returns the card."""
    from ganpaint.classify.ablate import pooled_features
    from ganpaint.core.devices import pick_device
    from ganpaint.models import load_bundle

    bundle = load_bundle(bundle_path)
    model = bundle.load_classifier()
    card = dict(bundle.meta.get("classifier") or {})
    train_seeds = (card.get("seeds") or {}).get("train")
    if model is None or not isinstance(train_seeds, list) or len(train_seeds) != 2:
        raise GanpaintError(f"{bundle.path}: no trained classifier with its card to refit")
    dev = pick_device(device)
    model = model.to(dev)
    s = resolve_precision(settings, dev)
    n_train = int(train_seeds[1]) - int(train_seeds[0])
    n = min(s.refit_scenes, n_train)
    train = load_scenes(int(train_seeds[0]), n_train if s.finetune_epochs else n, s.size, cache)
    choose = load_scenes(CHOOSE_START, s.n_choose, s.size, cache)
    before = accuracy(model, choose)
    start = time.perf_counter()
    refit_head(model, pooled_features(model, train.images[:n]), train.classes[:n], s)
    after = accuracy(model, choose)
    log(f"head refitted: accuracy on the choosing scenes {before:.3f} -> {after:.3f}")
    finetune = finetune_trunk(model, train, choose, s, progress, log) if s.finetune_epochs else []
    card["head_refit"] = {
        "scenes": [train.start, train.start + n],  # the refit's; a fine-tune reads them all
        "head_l1": s.head_l1,
        "head_units": s.head_units,
        "dropout": s.dropout,
        "steps": s.refit_steps,
        "choose_accuracy_before": round(before, 4),
        "choose_accuracy_after": round(after, 4),
        "finetune_epochs": s.finetune_epochs,
        "finetune_lr": s.finetune_lr,
        "finetune": finetune,
        "seconds": round(time.perf_counter() - start, 1),
    }
    card.update(evaluate_card(model, s, bundle, cache))
    card["seeds"] = {**card["seeds"], "heldout": [HELDOUT_START, HELDOUT_START + s.n_heldout]}
    card["load_average"] = [round(v, 2) for v in os.getloadavg()]
    _store(bundle.path, model, card)
    return card
