"""The stages a dissection runs after its two passes, each cached by its arguments and merged
into the per-layer documents: causal ranking, ACE unit sets, and IoU at the best threshold
per unit and concept.

Each stage works on ``layers_doc`` (layer -> the dict :func:`layer_summary` made), which
:func:`ganpaint.dissect.pipeline.dissect_bundle` validates as a whole when it is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ganpaint.core.distributed import Dist
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory
from ganpaint.dissect.ace import AceOptions, ace_rankings
from ganpaint.dissect.bestiou import DEFAULT_QUANTILES, apply_best_iou, best_threshold_iou
from ganpaint.dissect.cache import ResultCache
from ganpaint.dissect.causal import AblationPool, CausalOptions, causal_rankings
from ganpaint.dissect.passes import DissectOptions
from ganpaint.dissect.sampling import SegmentFn, prepare_generator
from ganpaint.engine.levels import UnitLevels
from ganpaint.models.bundle import ModelBundle


@dataclass(frozen=True)
class StageContext:
    """What every stage needs besides its own options: the bundle, its segmenter, the
    dissection's samples and ids (for cache keys), where to run, and how to report."""

    bundle: ModelBundle
    segment_fn: SegmentFn
    concepts: list[str]
    options: DissectOptions
    model_id: str
    segmenter_id: str
    device: torch.device | str
    dist: Dist
    cache: ResultCache
    progress: ProgressFactory

    def pass2_keys(self, layers: list[str]) -> dict[str, dict]:
        return {
            layer: self.options.pass2_key(self.model_id, layer, self.segmenter_id, self.concepts)
            for layer in layers
        }

    def cached(self, kind: str, key: dict, compute: Callable[[], Any]) -> Any:
        """The cached result for ``key`` (rank 0 reads, every rank learns whether it was
        there), else ``compute()`` on every rank, saved by rank 0."""
        result = self.cache.load_json(kind, key) if self.dist.is_main else None
        flag = self.dist.broadcast_(torch.tensor([result is not None], dtype=torch.int64))
        if not flag[0]:
            result = compute()
            if self.dist.is_main:
                self.cache.save_json(kind, key, result)
        return result


def _candidates(layers_doc: dict, count: int) -> dict[str, dict[str, list[int]]]:
    return {
        layer: {name: [u for u, _ in c["iou"][:count]] for name, c in info["concepts"].items()}
        for layer, info in layers_doc.items()
    }


def add_causal(
    ctx: StageContext, causal: CausalOptions, layers: list[str], layers_doc: dict[str, Any]
) -> None:
    """Causal rankings and greedy sets of ``layers``' candidates (top units by IoU)."""
    cands = _candidates({layer: layers_doc[layer] for layer in layers}, causal.candidates)
    key = {
        "what": "causal",
        "dissection": ctx.pass2_keys(layers),
        "options": causal.key(),
        "candidates": cands,
    }

    def compute() -> dict:
        return causal_rankings(
            ctx.bundle.generator,
            ctx.segment_fn,
            ctx.concepts,
            cands,
            causal,
            ctx.options.seed_base,
            ctx.device,
            ctx.dist,
            ctx.progress,
        )

    result = ctx.cached("causal", key, compute)
    if not ctx.dist.is_main:
        return
    for layer, per_concept in result.items():
        for name, entry in per_concept.items():
            layers_doc[layer]["concepts"][name].update(entry)
    for layer in layers:  # per layer too: merged documents mix runs
        layers_doc[layer]["causal_options"] = causal.key()


def _insert_levels(layers_doc: dict[str, Any], layer: str, quantile: float) -> torch.Tensor:
    info = layers_doc[layer]
    if not info.get("quantiles") or not info.get("levels"):
        raise GanpaintError(f"the dissection of {layer} has no levels for ACE insertion")
    levels = UnitLevels(info["quantiles"], torch.tensor(info["levels"], dtype=torch.float32))
    return levels.at(quantile).float()


def add_ace(
    ctx: StageContext, ace: AceOptions, layers: list[str], layers_doc: dict[str, Any]
) -> None:
    """Compute (or load) the ACE sets of ``layers`` and merge them into ``layers_doc``."""
    logits_fn = getattr(ctx.segment_fn, "logits", None)
    if logits_fn is None:
        raise GanpaintError(
            "ACE unit sets need the segmenter's class scores; this segmentation function has "
            "no 'logits' attribute (use the bundle's segmenter or give the function one)"
        )
    greedy = {
        layer: {
            name: list((c.get("causal_set") or {}).get("units") or [])
            for name, c in layers_doc[layer]["concepts"].items()
        }
        for layer in layers
    }
    key = {
        "what": "ace",
        "dissection": ctx.pass2_keys(layers),
        "options": ace.key(),
        "compare": greedy,
        "shortlist": "iou-2k",
    }

    def compute() -> dict:
        device = torch.device(ctx.device)
        levels = {
            layer: _insert_levels(layers_doc, layer, ace.insert_quantile).to(device)
            for layer in layers
        }
        generator = prepare_generator(ctx.bundle.generator, device)
        pool = AblationPool(
            generator,
            ctx.segment_fn,
            layers,
            ace.pool,
            ctx.options.seed_base,
            ace.measure_batch,
            device,
            ctx.progress,
        )
        by_iou = {
            layer: {
                name: [int(u) for u, _ in (c.get("iou") or [])[: 2 * ace.set_size]]
                for name, c in layers_doc[layer]["concepts"].items()
            }
            for layer in layers
        }
        return ace_rankings(
            pool,
            logits_fn,
            ctx.concepts,
            layers,
            levels,
            ace,
            greedy,
            ctx.dist,
            ctx.progress,
            by_iou,
        )

    result = ctx.cached("ace", key, compute)
    if ctx.dist.is_main:
        _merge_ace(result, layers_doc, ace.set_size)


def _merge_ace(result: dict, layers_doc: dict[str, Any], set_size: int) -> None:
    """ACE entries into the documents; the removal set becomes ``causal_set`` where it
    removes more than the greedy set did (kept as ``greedy_set``)."""
    for layer, per_concept in result.items():
        for name, entry in per_concept.items():
            target = layers_doc[layer]["concepts"].setdefault(name, {})
            target.update(entry)
            removal = entry.get("ace_removal")
            if not removal or removal["removal"] <= removal.get("compare_removal", -1.0):
                continue
            old = target.get("causal_set") or {}
            if old:
                target["greedy_set"] = old
            target["causal_set"] = {
                "units": removal["units"][:set_size],
                "removal": removal["removal"],
                "steps": [],
                "samples": removal["samples"],
                "method": "ace",
            }


def add_best_iou(ctx: StageContext, layers_doc: dict[str, Any]) -> None:
    """Best-threshold IoU (GAN Dissection's per unit-concept threshold) for every layer of
    ``layers_doc``, cached; single process (rank 0)."""
    bundle, options = ctx.bundle, ctx.options
    layers = list(options.layers)
    grid = min(64, bundle.generator.resolution)
    key = {
        "what": "best-threshold-iou",
        "generator": ctx.model_id,
        "segmenter": ctx.segmenter_id,
        "layers": layers,
        "samples": options.samples,
        "seed_base": options.seed_base,
        "quantiles": list(DEFAULT_QUANTILES),
        "grid": grid,
        "version": 1,
    }
    cached = ctx.cache.load_json("bestiou", key)
    if cached is None:
        thresholds = {}
        for layer in layers:
            info = layers_doc[layer]
            levels = torch.tensor(info["levels"], dtype=torch.float32)
            cols = [info["quantiles"].index(q) for q in DEFAULT_QUANTILES]
            thresholds[layer] = levels[:, cols]
        bar = ctx.progress("IoU, best threshold", options.samples)
        try:
            results = best_threshold_iou(
                bundle.generator.to(ctx.device),
                ctx.segment_fn,
                layers,
                thresholds,
                len(ctx.concepts),
                range(options.samples),
                options.seed_base,
                options.batch_size,
                grid,
                ctx.device,
                bar,
            )
        finally:
            bar.close()
        cached = {layer: [b.tolist(), w.tolist()] for layer, (b, w) in results.items()}
        ctx.cache.save_json("bestiou", key, cached)
    results = {
        layer: (torch.tensor(b, dtype=torch.float64), torch.tensor(w, dtype=torch.long))
        for layer, (b, w) in cached.items()
    }
    apply_best_iou({"layers": layers_doc}, results, ctx.concepts, DEFAULT_QUANTILES, grid)
