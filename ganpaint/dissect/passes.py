"""The two dissection passes over generated samples, and what they say about each unit.

Sample ``i`` is generated from ``z_from_seed(seed_base + i)``, so any block of indices can be
computed alone (by a torchrun rank, or again later) and gives the same numbers.

* Pass 1 (:func:`quantile_pass`) runs the generator only up to the deepest requested layer
  and feeds every activation into a per-unit :class:`RunningQuantile`; it also keeps each
  unit's top samples by peak activation (:class:`RunningTopK`, for the report).
* Pass 2 (:func:`iou_pass`) generates each image once, segments it, and for every requested
  layer counts, per (unit, concept), the pixels where the unit's map, upsampled bilinearly to
  the image size, exceeds the unit's threshold (its 0.995 quantile) and the label is the
  concept (:func:`unit_concept_counts`).

The counting is exact and sparse (:mod:`ganpaint.dissect.counting`); the helpers shared with
causal ranking, ACE and the report are in :mod:`ganpaint.dissect.sampling`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ganpaint.core.distributed import Dist, shard
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.cache import ResultCache
from ganpaint.dissect.counting import add_counts
from ganpaint.dissect.sampling import (
    DEFAULT_SEED_BASE,
    SegmentFn,
    batches,
    forward_layers,
    latents,
    ordered_layers,
    prepare_generator,
)
from ganpaint.dissect.stats import IoUCounter, RunningQuantile, RunningTopK, iou_from_counts
from ganpaint.models.progan import ProGANGenerator

# Bump when a change to the passes changes their results, so old cache entries are ignored.
ALGORITHM_VERSION = 1
DEFAULT_QUANTILES = (0.5, 0.9, 0.95, 0.99, 0.995, 0.999)
THRESHOLD_QUANTILE = 0.995
IOU_CUTOFF = 0.05
IOU_RANK_LENGTH = 50


@dataclass
class DissectOptions:
    """What to dissect and how; every field that changes results is in the cache key."""

    layers: list[str]
    samples: int = 10_000
    seed_base: int = DEFAULT_SEED_BASE
    batch_size: int = 32
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    threshold_quantile: float = THRESHOLD_QUANTILE
    sketch_resolution: int = 4096
    top_samples: int = 8

    def pass1_key(self, model_id: str, layer: str) -> dict:
        return {
            "what": "dissect-pass1",
            "algorithm": ALGORITHM_VERSION,
            "model": model_id,
            "layer": layer,
            "samples": self.samples,
            "seed_base": self.seed_base,
            "quantiles": list(self.quantiles),
            "threshold_quantile": self.threshold_quantile,
            "sketch_resolution": self.sketch_resolution,
            "top_samples": self.top_samples,
        }

    def pass2_key(self, model_id: str, layer: str, segmenter_id: str, concepts: list[str]) -> dict:
        key = self.pass1_key(model_id, layer)
        key.update(what="dissect-pass2", segmenter=segmenter_id, concepts=list(concepts))
        return key


@dataclass
class LayerStats:
    """One layer's dissection results (CPU tensors)."""

    layer: str
    resolution: int
    levels: torch.Tensor  # (U, len(quantiles))
    thresholds: torch.Tensor  # (U,)
    top_values: torch.Tensor  # (U, k) peak activation of the top samples
    top_indices: torch.Tensor  # (U, k) their sample indices
    intersection: torch.Tensor | None = None  # (U, K) int64
    unit_area: torch.Tensor | None = None  # (U,)
    concept_area: torch.Tensor | None = None  # (K,)
    cached: dict[str, bool] = field(default_factory=dict)

    @property
    def units(self) -> int:
        return int(self.levels.shape[0])

    def iou(self) -> torch.Tensor:
        """IoU (U, K) float64."""
        if self.intersection is None:
            raise ValueError(f"{self.layer}: pass 2 has not run")
        return iou_from_counts(self.intersection, self.unit_area, self.concept_area)

    def pass1_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "levels": self.levels,
            "thresholds": self.thresholds,
            "top_values": self.top_values,
            "top_indices": self.top_indices,
        }

    def pass2_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "intersection": self.intersection,
            "unit_area": self.unit_area,
            "concept_area": self.concept_area,
        }


def quantile_pass(
    generator: ProGANGenerator,
    layers: Sequence[str],
    options: DissectOptions,
    device: torch.device,
    dist: Dist,
    progress: ProgressFactory = no_progress,
) -> dict[str, tuple[RunningQuantile, RunningTopK]]:
    """Pass 1 over this rank's samples, merged over ranks (every rank gets the merged result)."""
    sketches = {
        layer: (
            RunningQuantile(generator.layer_channels(layer), options.sketch_resolution, dist.rank),
            RunningTopK(options.top_samples),
        )
        for layer in layers
    }
    mine = shard(options.samples, dist.rank, dist.world)
    bar = progress(f"quantiles {'+'.join(layers)}", len(mine))
    try:
        with torch.inference_mode():
            for block in batches(mine, options.batch_size):
                z = latents(options.seed_base, block, generator.z_dim, device)
                feats, _ = forward_layers(generator, z, layers, to_image=False)
                idx = torch.as_tensor(list(block), dtype=torch.int64, device=device)
                for layer, h in feats.items():
                    sketch, top = sketches[layer]
                    h = h.float()
                    sketch.add(h.permute(0, 2, 3, 1).reshape(-1, h.shape[1]))
                    top.add(h.amax(dim=(2, 3)), idx)
                bar.update(len(block))
    finally:
        bar.close()
    if not dist.active:
        return sketches
    merged = {}
    with torch.inference_mode():
        for layer, (sketch, top) in sketches.items():
            q = RunningQuantile(sketch.units, options.sketch_resolution, 0)
            for state in dist.all_gather_state(sketch.state_dict()):
                part = RunningQuantile()
                part.load_state_dict(state)
                q.merge(part)
            k = RunningTopK(options.top_samples)
            for state in dist.all_gather_state(top.state_dict()):
                part = RunningTopK(options.top_samples)
                part.load_state_dict(state)
                k.merge(part)
            merged[layer] = (q, k)
    return merged


def iou_pass(
    generator: ProGANGenerator,
    segment_fn: SegmentFn,
    layers: Sequence[str],
    thresholds: dict[str, torch.Tensor],
    concepts: int,
    options: DissectOptions,
    device: torch.device,
    dist: Dist,
    progress: ProgressFactory = no_progress,
) -> dict[str, IoUCounter]:
    """Pass 2 over this rank's samples: one image per sample, all ``layers`` at once; the
    counts are summed over ranks (exact, int64)."""
    counters = {
        layer: IoUCounter(generator.layer_channels(layer), concepts, device=device)
        for layer in layers
    }
    mine = shard(options.samples, dist.rank, dist.world)
    bar = progress(f"IoU {'+'.join(layers)}", len(mine))
    try:
        with torch.inference_mode():
            for block in batches(mine, options.batch_size):
                z = latents(options.seed_base, block, generator.z_dim, device)
                feats, image = forward_layers(generator, z, layers, to_image=True)
                labels = segment_fn(image.float().clamp(-1.0, 1.0))
                for layer, h in feats.items():
                    add_counts(counters[layer], h.float(), thresholds[layer], labels)
                bar.update(len(block))
    finally:
        bar.close()
    with torch.inference_mode():
        for c in counters.values():
            dist.all_reduce_sum_(c.intersection)
            dist.all_reduce_sum_(c.unit_area)
            dist.all_reduce_sum_(c.concept_area)
            n = torch.tensor([c.count], dtype=torch.int64)
            c.count = int(dist.all_reduce_sum_(n).item())
    return counters


def _share(dist: Dist, tensors: dict[str, torch.Tensor] | None, shapes: dict) -> dict:
    """Rank 0's ``tensors`` on every rank (shapes and dtypes known to all in advance)."""
    out = {}
    for name, (shape, dtype) in shapes.items():
        t = tensors[name].to(dtype) if tensors is not None else torch.zeros(shape, dtype=dtype)
        out[name] = dist.broadcast_(t.contiguous().clone())
    return out


def _cached_results(
    generator: ProGANGenerator,
    layers: list[str],
    concepts: list[str],
    options: DissectOptions,
    model_id: str,
    segmenter_id: str,
    dist: Dist,
    cache: ResultCache,
) -> tuple[dict[str, dict | None], dict[str, dict | None]]:
    """Per layer: pass 1 and pass 2 results from the cache (None where absent), read by
    rank 0 and shared, so ranks never disagree."""
    nq = len(options.quantiles)
    k = max(1, min(options.top_samples, options.samples))
    found1: dict[str, dict | None] = {}
    found2: dict[str, dict | None] = {}
    for layer in layers:
        hit1 = hit2 = None
        if dist.is_main:
            hit1 = cache.load_tensors(f"pass1-{layer}", options.pass1_key(model_id, layer))
            key2 = options.pass2_key(model_id, layer, segmenter_id, concepts)
            hit2 = cache.load_tensors(f"pass2-{layer}", key2) if hit1 is not None else None
        flags = torch.tensor([hit1 is not None, hit2 is not None], dtype=torch.int64)
        dist.broadcast_(flags)
        units = generator.layer_channels(layer)
        found1[layer] = None
        found2[layer] = None
        if flags[0]:
            shapes1 = {
                "levels": ((units, nq), torch.float32),
                "thresholds": ((units,), torch.float32),
                "top_values": ((units, k), torch.float32),
                "top_indices": ((units, k), torch.int64),
            }
            found1[layer] = _share(dist, hit1, shapes1)
        if flags[1]:
            shapes2 = {
                "intersection": ((units, len(concepts)), torch.int64),
                "unit_area": ((units,), torch.int64),
                "concept_area": ((len(concepts),), torch.int64),
            }
            found2[layer] = _share(dist, hit2, shapes2)
    return found1, found2


def _run_pass1(
    generator: ProGANGenerator,
    todo: list[str],
    options: DissectOptions,
    model_id: str,
    device: torch.device,
    dist: Dist,
    cache: ResultCache,
    progress: ProgressFactory,
) -> dict[str, dict]:
    """Pass 1 for ``todo``: levels, thresholds and top samples per layer (saved by rank 0)."""
    nq = len(options.quantiles)
    out = {}
    sketches = quantile_pass(generator, todo, options, device, dist, progress)
    qs = list(options.quantiles) + [options.threshold_quantile]
    for layer, (sketch, top) in sketches.items():
        values = sketch.quantiles(qs).float()
        top_values, top_indices = top.result()
        result = {
            "levels": values[:, :nq].contiguous(),
            "thresholds": values[:, nq].contiguous(),
            "top_values": top_values.float(),
            "top_indices": top_indices.long(),
        }
        # Rank 0's numbers are the answer everywhere (merges are deterministic anyway).
        shapes = {name: (tuple(t.shape), t.dtype) for name, t in result.items()}
        result = _share(dist, result, shapes)
        if dist.is_main:
            cache.save_tensors(f"pass1-{layer}", options.pass1_key(model_id, layer), result)
        out[layer] = result
    return out


def _run_pass2(
    generator: ProGANGenerator,
    segment_fn: SegmentFn,
    todo: list[str],
    stats: dict[str, LayerStats],
    concepts: list[str],
    options: DissectOptions,
    ids: tuple[str, str],
    device: torch.device,
    dist: Dist,
    cache: ResultCache,
    progress: ProgressFactory,
) -> dict[str, dict]:
    """Pass 2 for ``todo``: unit/concept counts per layer (saved by rank 0)."""
    model_id, segmenter_id = ids
    thresholds = {layer: stats[layer].thresholds.to(device) for layer in todo}
    counters = iou_pass(
        generator, segment_fn, todo, thresholds, len(concepts), options, device, dist, progress
    )
    out = {}
    for layer, c in counters.items():
        result = {
            "intersection": c.intersection.cpu(),
            "unit_area": c.unit_area.cpu(),
            "concept_area": c.concept_area.cpu(),
        }
        if dist.is_main:
            key2 = options.pass2_key(model_id, layer, segmenter_id, concepts)
            cache.save_tensors(f"pass2-{layer}", key2, result)
        out[layer] = result
    return out


def dissect_layers(
    generator: ProGANGenerator,
    segment_fn: SegmentFn,
    concepts: Sequence[str],
    options: DissectOptions,
    model_id: str,
    segmenter_id: str,
    device: torch.device | str = "cpu",
    dist: Dist | None = None,
    cache: ResultCache | None = None,
    progress: ProgressFactory = no_progress,
) -> dict[str, LayerStats]:
    """Both passes for ``options.layers`` (cached per layer and pass); results on every rank.

    Rank 0 reads and writes the cache and shares what it found, so ranks never disagree.
    """
    dist = dist or Dist()
    cache = cache or ResultCache(None)
    device = torch.device(device)
    concepts = list(concepts)
    generator = prepare_generator(generator, device)
    layers = ordered_layers(generator, options.layers)
    found1, found2 = _cached_results(
        generator, layers, concepts, options, model_id, segmenter_id, dist, cache
    )
    todo1 = [layer for layer in layers if found1[layer] is None]
    if todo1:
        found1.update(
            _run_pass1(generator, todo1, options, model_id, device, dist, cache, progress)
        )
    stats: dict[str, LayerStats] = {}
    for layer in layers:
        r = found1[layer]
        stats[layer] = LayerStats(
            layer=layer,
            resolution=generator.layer_resolution(layer),
            levels=r["levels"],
            thresholds=r["thresholds"],
            top_values=r["top_values"],
            top_indices=r["top_indices"],
            cached={"pass1": layer not in todo1},
        )
    todo2 = [layer for layer in layers if found2[layer] is None]
    if todo2:
        found2.update(
            _run_pass2(
                generator,
                segment_fn,
                todo2,
                stats,
                concepts,
                options,
                (model_id, segmenter_id),
                device,
                dist,
                cache,
                progress,
            )
        )
    for layer in layers:
        r = found2[layer]
        s = stats[layer]
        s.intersection, s.unit_area, s.concept_area = (
            r["intersection"],
            r["unit_area"],
            r["concept_area"],
        )
        s.cached["pass2"] = layer not in todo2
    return stats


# -- summaries ---------------------------------------------------------------------------


def _num(x: float, digits: int = 6) -> float:
    return float(f"{float(x):.{digits}g}")


def iou_ranking(iou: torch.Tensor, concept: int, length: int = IOU_RANK_LENGTH) -> list[list]:
    """[[unit, IoU], ...] best first for one concept column, units with IoU > 0 only."""
    col = iou[:, concept]
    order = torch.argsort(col, descending=True, stable=True)[:length]
    return [[int(u), round(float(col[u]), 5)] for u in order if col[u] > 0]


def layer_summary(stats: LayerStats, concepts: Sequence[str], options: DissectOptions) -> dict:
    """The ``dissection.json`` entry of one layer (without causal results)."""
    iou = stats.iou()
    best_iou, best = iou.max(dim=1) if iou.shape[1] else (torch.zeros(stats.units), None)
    unit_labels = []
    for u in range(stats.units):
        if best is None:
            unit_labels.append({"unit": u, "concept": None, "iou": 0.0})
        else:
            unit_labels.append(
                {"unit": u, "concept": concepts[int(best[u])], "iou": round(float(best_iou[u]), 5)}
            )
    per_concept = {}
    for c, name in enumerate(concepts):
        per_concept[name] = {"iou": iou_ranking(iou, c)}
    return {
        "units": stats.units,
        "resolution": stats.resolution,
        "quantiles": list(options.quantiles),
        "levels": [[_num(v) for v in row] for row in stats.levels.tolist()],
        "thresholds": [_num(v) for v in stats.thresholds.tolist()],
        "unit_labels": unit_labels,
        "concepts": per_concept,
        "top_samples": stats.top_indices.tolist(),
        "top_activations": [[_num(v, 5) for v in row] for row in stats.top_values.tolist()],
        "concept_pixels": [int(v) for v in stats.concept_area.tolist()],
    }
