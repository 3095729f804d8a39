"""Per-class ablation of the classifier's last unit layer (``ganpaint classifier ablate``),
the paper's protocol:

1. On training scenes, each unit alone is zeroed and each class's balanced accuracy
   (``(recall + true-negative rate) / 2``, in points; chance 50) is measured; per class the
   units are ranked by its drop. Many units change no prediction at all (a drop of exactly
   0), so ties are broken by how much the unit lowers the class's logit margin (its logit
   minus the best other one) on the class's training scenes, mean over them.
2. On held-out scenes, for each class and k in ``ks``: its top k units are removed (zeroed),
   or all units but its top k; every class's balanced accuracy is measured.

The classifier's head is a linear layer on the spatial mean of the last layer's units
(:class:`~ganpaint.models.classifier.SceneClassifier`), so zeroing a unit is exactly
dropping its column from the pooled features: the features are computed once per scene and
every ablation is a matrix product (:func:`ablated_logits`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ganpaint.classify.data import SceneSet, to_input
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.models.classifier import SceneClassifier

DEFAULT_KS = (1, 2, 3, 4, 5, 10, 20, 40, 80)


def pooled_features(
    model: SceneClassifier, images: np.ndarray, batch: int = 100, progress=no_progress
) -> torch.Tensor:
    """The head's input for each picture: N x units (float64, CPU)."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    bar = progress("features", len(images))
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            out.append(model.pooled(to_input(images[i : i + batch]).to(device)).double().cpu())
            bar.update(min(batch, len(images) - i))
    bar.close()
    return torch.cat(out)


def ablated_logits(
    feats: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, keep: torch.Tensor
) -> torch.Tensor:
    """Logits (N x classes) with the units where ``keep`` is False zeroed."""
    return (feats * keep.to(feats.dtype)) @ weight.T.to(feats.dtype) + bias.to(feats.dtype)


def balanced_accuracy(pred: torch.Tensor, truth: torch.Tensor, classes: int) -> torch.Tensor:
    """Per class, ``(recall + true-negative rate) / 2`` in points (0-100) of the one-vs-rest
    decision "predicted class == c"; a class absent from ``truth`` scores 50 on recall."""
    out = torch.empty(classes, dtype=torch.float64)
    for c in range(classes):
        pos, hit = truth == c, pred == c
        recall = (hit & pos).sum() / pos.sum() if pos.any() else torch.tensor(0.5)
        tnr = (~hit & ~pos).sum() / (~pos).sum() if (~pos).any() else torch.tensor(0.5)
        out[c] = 50.0 * (float(recall) + float(tnr))
    return out


def _head(model: SceneClassifier) -> tuple[torch.Tensor, torch.Tensor]:
    w = model.head.weight.detach().double().cpu()
    return w, model.head.bias.detach().double().cpu()


def rank_units(
    feats: torch.Tensor, truth: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
) -> list[list[tuple[int, float]]]:
    """Per class, (unit, balanced-accuracy drop in points) for every unit, most important
    first (drop, then the mean drop of the class's logit margin on its scenes)."""
    n_classes, units = weight.shape
    full = torch.ones(units, dtype=torch.bool)
    base_logits = ablated_logits(feats, weight, bias, full)
    base = balanced_accuracy(base_logits.argmax(1), truth, n_classes)
    drops = torch.empty(units, n_classes, dtype=torch.float64)
    margin = torch.zeros(units, n_classes, dtype=torch.float64)
    for u in range(units):
        # zeroing unit u removes feats[:, u] * weight[:, u] from every logit
        logits = base_logits - feats[:, u : u + 1] * weight[:, u]
        drops[u] = base - balanced_accuracy(logits.argmax(1), truth, n_classes)
        margin[u] = _margin_drop(base_logits, logits, truth, n_classes)
    out = []
    for c in range(n_classes):
        order = sorted(range(units), key=lambda u: (-float(drops[u, c]), -float(margin[u, c]), u))
        out.append([(u, round(float(drops[u, c]), 4)) for u in order])
    return out


def _margin_drop(before: torch.Tensor, after: torch.Tensor, truth: torch.Tensor, n: int):
    """Per class: mean over its scenes of the fall of (its logit - best other logit)."""
    out = torch.zeros(n, dtype=torch.float64)
    for c in range(n):
        rows = truth == c
        if rows.any():
            out[c] = (_margin(before[rows], c) - _margin(after[rows], c)).mean()
    return out


def _margin(logits: torch.Tensor, c: int) -> torch.Tensor:
    others = torch.cat([logits[:, :c], logits[:, c + 1 :]], 1)
    return logits[:, c] - others.max(1).values


def ablation_curves(
    feats: torch.Tensor,
    truth: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    ranked: Sequence[Sequence[int]],
    ks: Sequence[int],
) -> tuple[list[float], list[dict[str, list[list[float]]]]]:
    """Held-out: the baseline balanced accuracy per class, and per class the ``remove`` and
    ``keep`` rows (one per k: every class's balanced accuracy)."""
    n_classes, units = weight.shape
    full = torch.ones(units, dtype=torch.bool)
    base = balanced_accuracy(ablated_logits(feats, weight, bias, full).argmax(1), truth, n_classes)
    curves = []
    for c in range(n_classes):
        rows: dict[str, list[list[float]]] = {"remove": [], "keep": []}
        for k in ks:
            top = torch.zeros(units, dtype=torch.bool)
            top[list(ranked[c][:k])] = True
            for key, keep in (("remove", ~top), ("keep", top)):
                pred = ablated_logits(feats, weight, bias, keep).argmax(1)
                acc = balanced_accuracy(pred, truth, n_classes)
                rows[key].append([round(float(v), 4) for v in acc])
        curves.append(rows)
    return [round(float(v), 4) for v in base], curves


def ablate_classifier(
    model: SceneClassifier,
    ranking: SceneSet,
    heldout: SceneSet,
    ks: Sequence[int] = DEFAULT_KS,
    progress: ProgressFactory = no_progress,
) -> dict:
    """The ``ablation`` part of ``classifier_dissection.json``."""
    weight, bias = _head(model)
    rank = (pooled_features(model, ranking.images, progress=progress),
            torch.from_numpy(ranking.classes))  # fmt: skip
    held = (pooled_features(model, heldout.images, progress=progress),
            torch.from_numpy(heldout.classes))  # fmt: skip
    return {
        "layer": model.unit_layers[-1],
        **ablate_features(rank, held, weight, bias, model.classes, ks),
        "ranking_seeds": [ranking.seeds.start, ranking.seeds.stop],
        "heldout_seeds": [heldout.seeds.start, heldout.seeds.stop],
    }


def ablate_features(
    ranking: tuple[torch.Tensor, torch.Tensor],
    heldout: tuple[torch.Tensor, torch.Tensor],
    weight: torch.Tensor,
    bias: torch.Tensor,
    classes: Sequence[str],
    ks: Sequence[int] = DEFAULT_KS,
) -> dict:
    """The protocol on pooled units already computed: ``ranking`` and ``heldout`` are
    (features N x units, classes N); returns ``ks``, ``baseline`` and ``classes`` of the
    ``ablation`` part (a head refitted on the same trunk needs no new forward pass)."""
    ks = [k for k in ks if 1 <= k <= weight.shape[1]]
    ranked = rank_units(ranking[0], ranking[1], weight, bias)
    order = [[u for u, _ in r] for r in ranked]
    base, curves = ablation_curves(heldout[0], heldout[1], weight, bias, order, ks)
    return {
        "ks": ks,
        "baseline": base,
        "classes": [
            {"name": name, "ranked": [[u, d] for u, d in ranked[c]], **curves[c]}
            for c, name in enumerate(classes)
        ],
    }
