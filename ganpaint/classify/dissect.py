"""Dissection of the scene classifier (``ganpaint classifier dissect``): every conv layer's
post-ReLU units against the scene world's exact labels.

Two passes over rendered scenes, as ``ganpaint dissect`` does for generators, reusing its
statistics (:class:`~ganpaint.dissect.stats.RunningQuantile`,
:class:`~ganpaint.dissect.stats.IoUCounter`): the first estimates each unit's activation
levels at the quantiles ``quantiles``; the second upsamples each unit's map bilinearly to the
label resolution (``grid``), thresholds it at each level and counts exact IoU with every
concept. Per unit two labels come out: at the paper's fixed top-1 % threshold (quantile
0.99), and at the unit's best level (the quantile and concept with the highest IoU). A label
counts when its IoU exceeds ``IOU_THRESHOLD`` (0.04).

At the fixed 1 % a unit cannot reach IoU 0.04 with a concept covering more than a quarter
of the picture (sky, grass: the union is at least the concept's area). The best level fixes
that, but lowers the bar too: an unrelated mask covering a fraction ``m`` of the picture
meets a concept of share ``p`` by chance with IoU ``m p / (m + p - m p)``, so
:func:`chance_iou` is stored beside the labels for each concept and quantile.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.classify.data import SceneSet, to_input
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.bestiou import DEFAULT_QUANTILES, grid_labels
from ganpaint.dissect.stats import IoUCounter, RunningQuantile
from ganpaint.engine.hooks import TraceDict
from ganpaint.models.classifier import SceneClassifier
from ganpaint.scenes import CONCEPTS

IOU_THRESHOLD = 0.04
FIXED_QUANTILE = 0.99
QUANTILES: tuple[float, ...] = tuple(sorted({*DEFAULT_QUANTILES, FIXED_QUANTILE}))


def module_names(model: SceneClassifier, layers: Sequence[str]) -> dict[str, str]:
    """Unit layer -> the dotted name of the module whose output holds its units."""
    names = {id(m): n for n, m in model.named_modules()}
    return {layer: names[id(model.module_for(layer))] for layer in layers}


def _forward(model, images: np.ndarray, names: dict[str, str]) -> dict[str, torch.Tensor]:
    device = next(model.parameters()).device
    with torch.inference_mode(), TraceDict(model, list(names.values())) as traces:
        model(to_input(images).to(device))
    return {layer: traces[name].output.float() for layer, name in names.items()}


def unit_levels(
    model: SceneClassifier, scenes: SceneSet, batch: int, progress: ProgressFactory
) -> dict[str, torch.Tensor]:
    """Pass 1: per layer, each unit's activation level at each of ``QUANTILES`` (units x T)."""
    names = module_names(model, model.unit_layers)
    sketches = {layer: RunningQuantile() for layer in names}
    bar = progress("levels", len(scenes.images))
    for i in range(0, len(scenes.images), batch):
        acts = _forward(model, scenes.images[i : i + batch], names)
        for layer, a in acts.items():
            sketches[layer].add(a.permute(0, 2, 3, 1).reshape(-1, a.shape[1]))
        bar.update(min(batch, len(scenes.images) - i))
    bar.close()
    return {layer: s.quantiles(list(QUANTILES)) for layer, s in sketches.items()}


def unit_ious(
    model: SceneClassifier,
    scenes: SceneSet,
    levels: dict[str, torch.Tensor],
    batch: int,
    grid: int,
    progress: ProgressFactory,
) -> dict[str, torch.Tensor]:
    """Pass 2: per layer, IoU (T x units x concepts) of each unit thresholded at each level."""
    names = module_names(model, model.unit_layers)
    k = len(CONCEPTS)
    counters = {
        layer: [IoUCounter(lv.shape[0], k) for _ in range(lv.shape[1])]
        for layer, lv in levels.items()
    }
    bar = progress("IoU", len(scenes.images))
    for i in range(0, len(scenes.images), batch):
        acts = _forward(model, scenes.images[i : i + batch], names)
        labels = grid_labels(torch.from_numpy(scenes.labels[i : i + batch]).long(), grid)
        for layer, a in acts.items():
            maps = F.interpolate(a, size=(grid, grid), mode="bilinear", align_corners=False)
            lv = levels[layer].to(maps.dtype)
            for t, counter in enumerate(counters[layer]):
                counter.add(maps > lv[:, t].view(1, -1, 1, 1), labels)
        bar.update(min(batch, len(scenes.images) - i))
    bar.close()
    return {layer: torch.stack([c.iou() for c in cs]) for layer, cs in counters.items()}


def chance_iou(share: float, quantile: float) -> float:
    """IoU of a mask covering ``1 - quantile`` of the picture, independent of a concept
    covering ``share`` of it."""
    m = 1.0 - quantile
    union = m + share - m * share
    return m * share / union if union > 0 else 0.0


def _label(concept: str, iou: float, level: float) -> dict:
    return {"concept": concept, "iou": round(iou, 5), "level": level,
            "labelled": bool(iou > IOU_THRESHOLD)}  # fmt: skip


def layer_entry(layer: str, ious: torch.Tensor) -> dict:
    """The document's entry for one layer from its IoU (T x units x concepts)."""
    fixed = QUANTILES.index(FIXED_QUANTILE)
    t, units, k = ious.shape
    flat = ious.permute(1, 0, 2).reshape(units, t * k)
    best = flat.argmax(1)
    top1 = ious[fixed].argmax(1)
    entries = []
    for u in range(units):
        bt, bc = divmod(int(best[u]), k)
        c1 = int(top1[u])
        entries.append(
            {
                "unit": u,
                "best": _label(CONCEPTS[bc], float(ious[bt, u, bc]), QUANTILES[bt]),
                "top1": _label(CONCEPTS[c1], float(ious[fixed, u, c1]), FIXED_QUANTILE),
            }
        )
    return {"name": layer, "count": units, "units": entries}


def dissect_classifier(
    model: SceneClassifier,
    scenes: SceneSet,
    batch: int = 50,
    grid: int = 128,
    progress: ProgressFactory = no_progress,
) -> dict:
    """The ``layers`` part of ``classifier_dissection.json`` and its ``options``."""
    model.eval()
    levels = unit_levels(model, scenes, batch, progress)
    ious = unit_ious(model, scenes, levels, batch, grid, progress)
    shares = np.bincount(scenes.labels.ravel(), minlength=len(CONCEPTS))[: len(CONCEPTS)]
    shares = shares / max(1, scenes.labels.size)
    chance = {c: [round(chance_iou(float(p), q), 5) for q in QUANTILES]
              for c, p in zip(CONCEPTS, shares, strict=True)}  # fmt: skip
    return {
        "layers": [layer_entry(layer, ious[layer]) for layer in model.unit_layers],
        "options": {
            "samples": len(scenes.images),
            "seeds": [scenes.seeds.start, scenes.seeds.stop],
            "split": "train",
            "quantiles": list(QUANTILES),
            "fixed_quantile": FIXED_QUANTILE,
            "grid": grid,
            "upsampling": "bilinear",
            "concept_shares": dict(zip(CONCEPTS, np.round(shares, 5).tolist(), strict=True)),
            "chance_iou": chance,
        },
    }
