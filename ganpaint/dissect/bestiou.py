"""Unit-concept IoU at the best of several thresholds, as GAN Dissection chooses them.

A unit thresholded at its top 0.5 % covers about 0.5 % of the image, so its IoU with a
concept that fills a third of the image (sky, grass) cannot exceed about 0.015, however
faithfully the unit draws it. GAN Dissection therefore picks a threshold per unit *and
concept* (the one that maximises how well the thresholded map agrees with the concept).
This pass does the same over the unit's levels at a few quantiles (0.9 … 0.995, from the
first pass) and keeps, per (unit, concept), the best IoU and the quantile that gave it.

Counting happens on a ``grid`` x ``grid`` sampling of the image (unit maps upsampled
bilinearly to the grid, labels read at the grid's pixel centres), exact int64 counts there.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ganpaint.dissect.sampling import SegmentFn, batches, forward_layers, latents, upsample_maps
from ganpaint.dissect.stats import IoUCounter
from ganpaint.models.progan import ProGANGenerator

DEFAULT_QUANTILES = (0.9, 0.95, 0.99, 0.995)


def grid_labels(labels: torch.Tensor, grid: int) -> torch.Tensor:
    """Labels (N, H, W) read at the centres of a grid x grid sampling (nearest)."""
    if labels.shape[-1] == grid:
        return labels
    return F.interpolate(labels[:, None].float(), size=(grid, grid), mode="nearest")[:, 0].long()


def best_threshold_iou(
    generator: ProGANGenerator,
    segment_fn: SegmentFn,
    layers: Sequence[str],
    thresholds: dict[str, torch.Tensor],
    concepts: int,
    indices: range,
    seed_base: int,
    batch_size: int = 32,
    grid: int = 64,
    device: torch.device | str = "cpu",
    progress=None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per layer: (best IoU (units, concepts), index of the threshold that gave it).

    ``thresholds[layer]`` is (units, T): each unit's level at each candidate quantile.
    """
    counters = {
        layer: [
            IoUCounter(thresholds[layer].shape[0], concepts, device=device)
            for _ in range(thresholds[layer].shape[1])
        ]
        for layer in layers
    }
    with torch.inference_mode():
        for chunk in batches(indices, batch_size):
            z = latents(seed_base, chunk, generator.z_dim, torch.device(device))
            feats, images = forward_layers(generator, z, layers, to_image=True)
            labels = grid_labels(segment_fn(images).to(device), grid)
            for layer in layers:
                maps = upsample_maps(feats[layer].float(), (grid, grid))
                levels = thresholds[layer].to(device=device, dtype=maps.dtype)
                for t, counter in enumerate(counters[layer]):
                    counter.add(maps > levels[:, t].view(1, -1, 1, 1), labels)
            if progress is not None:
                progress.update(len(chunk))
    out = {}
    for layer in layers:
        ious = torch.stack([c.iou() for c in counters[layer]])  # (T, units, concepts)
        best, which = ious.max(dim=0)
        out[layer] = (best, which)
    return out


def apply_best_iou(
    doc: dict,
    results: dict[str, tuple[torch.Tensor, torch.Tensor]],
    concepts: Sequence[str],
    quantiles: Sequence[float],
    grid: int,
    length: int = 50,
) -> None:
    """Rewrite ``doc``'s per-layer IoU rankings and unit labels with best-threshold IoU;
    the fixed top-0.5 % rankings stay, renamed ``iou_top05``."""
    for layer, (best, which) in results.items():
        info = doc["layers"][layer]
        info["iou_method"] = {
            "kind": "best threshold per unit and concept",
            "quantiles": list(quantiles),
            "grid": grid,
        }
        for c, name in enumerate(concepts):
            entry = info["concepts"].setdefault(name, {})
            if "iou" in entry and "iou_top05" not in entry:
                entry["iou_top05"] = entry["iou"]
            col = best[:, c]
            order = torch.argsort(col, descending=True, stable=True)[:length]
            entry["iou"] = [[int(u), round(float(col[u]), 5)] for u in order if col[u] > 0]
            entry["iou_quantile"] = [
                float(quantiles[int(which[u, c])]) for u in order if col[u] > 0
            ]
        top, arg = best.max(dim=1)
        info["unit_labels"] = [
            {
                "unit": u,
                "concept": concepts[int(arg[u])],
                "iou": round(float(top[u]), 5),
                "quantile": float(quantiles[int(which[u, int(arg[u])])]),
            }
            for u in range(best.shape[0])
        ]
