"""Custom concepts: find the units that draw what a user marked on a few samples.

The user paints masks (the concept's region) on 3–10 generated samples. Each unit of the
edit layer is scored the way dissection scores it against a segmenter: its map, upsampled
bilinearly to the image and thresholded at its levels at a few quantiles (0.9 … 0.995), is
compared with the marked masks by IoU over all samples, keeping the best threshold; a
second score, the contrast of its mean activation inside versus outside the marks (in units
of its overall standard deviation), orders units the thresholded maps do not separate.
The concept files that hold the results, and the marked masks a command reads, are in
:mod:`ganpaint.models.concept_files`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.core.seeds import zs_from_seeds
from ganpaint.dissect.sampling import upsample_maps
from ganpaint.engine.levels import UnitLevels
from ganpaint.models.bundle import ModelBundle
from ganpaint.models.concept_files import CustomConcept, valid_concept_name
from ganpaint.models.progan import ProGANGenerator

# Candidate thresholds, as in the dissection: each unit is judged at its best one.
THRESHOLD_QUANTILES = (0.9, 0.95, 0.99, 0.995)
MAX_UNITS_KEPT = 50


def unit_thresholds(bundle: ModelBundle, layer: str) -> torch.Tensor:
    """Each unit's levels (units, T) at :data:`THRESHOLD_QUANTILES`: from the dissection,
    else estimated from samples."""
    levels = UnitLevels.from_dissection(bundle.dissection, layer)
    if levels is None:
        levels = UnitLevels.estimate(bundle.generator, layer, samples=128)
    return torch.stack([levels.at(q).double() for q in THRESHOLD_QUANTILES], dim=1)


def score_units(
    generator: ProGANGenerator,
    layer: str,
    seeds: Sequence[int],
    masks: Sequence[np.ndarray],
    thresholds: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(iou, contrast) per unit of ``layer`` against ``masks`` (bool/uint8 HxW per seed).

    ``thresholds`` is (units,) or (units, T); with several, each unit keeps its best IoU.
    """
    if len(seeds) != len(masks) or not seeds:
        raise GanpaintError("give one mask per sample, and at least one sample")
    size = (generator.resolution, generator.resolution)
    marks = []
    for seed, m in zip(seeds, masks, strict=True):
        m = np.asarray(m)
        if m.shape != size:
            raise GanpaintError(f"the mask for seed {seed} is {m.shape}, expected {size}")
        marks.append(torch.from_numpy(m > (127 if m.dtype == np.uint8 else 0.5)))
    target = torch.stack(marks)  # (N, H, W)
    if not target.any():
        raise GanpaintError("the masks mark nothing")
    z = zs_from_seeds(seeds, generator.z_dim)
    with torch.inference_mode():
        feats = upsample_maps(generator.run(z, until=layer).double(), size)  # (N, U, H, W)
    t = target[:, None]
    levels = thresholds.double().reshape(thresholds.shape[0], -1)
    iou = torch.zeros(feats.shape[1], dtype=torch.float64)
    for k in range(levels.shape[1]):
        active = feats > levels[:, k].view(1, -1, 1, 1)
        inter = (active & t).sum(dim=(0, 2, 3)).double()
        union = (active | t).sum(dim=(0, 2, 3)).double()
        iou = torch.maximum(iou, torch.where(union > 0, inter / union.clamp(min=1), 0.0))
    inside = (feats * t).sum(dim=(0, 2, 3)) / t.sum()
    outside = (feats * ~t).sum(dim=(0, 2, 3)) / (~t).sum().clamp(min=1)
    spread = feats.transpose(0, 1).reshape(feats.shape[1], -1).std(dim=1).clamp(min=1e-6)
    return iou, (inside - outside) / spread


def find_concept(
    bundle: ModelBundle,
    name: str,
    seeds: Sequence[int],
    masks: Sequence[np.ndarray],
    layer: str | None = None,
    keep: int = MAX_UNITS_KEPT,
    thresholds: torch.Tensor | None = None,
) -> CustomConcept:
    """Rank the units of ``layer`` (default: the bundle's) for the marked concept;
    ``thresholds`` (from :func:`unit_thresholds`) saves working them out again."""
    if not valid_concept_name(name):
        raise GanpaintError(f"concept name {name!r}: use 1-40 letters, digits, spaces, - or _")
    layer = layer or bundle.default_layer
    if layer not in bundle.generator.layer_names:
        raise GanpaintError(f"{layer!r} is not a layer of {bundle.name}")
    if thresholds is None:
        thresholds = unit_thresholds(bundle, layer)
    iou, contrast = score_units(bundle.generator, layer, list(seeds), list(masks), thresholds)
    # IoU first; contrast orders the units whose thresholded maps never touch the marks.
    order = sorted(range(len(iou)), key=lambda u: (-float(iou[u]), -float(contrast[u])))[:keep]
    return CustomConcept(
        name=name,
        layer=layer,
        units=order,
        iou=[float(iou[u]) for u in order],
        contrast=[float(contrast[u]) for u in order],
        seeds=[int(s) for s in seeds],
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
