"""Dissecting a model bundle end to end: segmenter, both passes, causal ranking, and
``dissection.json`` (format in docs/FORMATS.md), with results cached by their arguments.

:func:`dissect_bundle` returns the document; :func:`write_dissection` stores it in the bundle
and refreshes ``bundle.json`` so its file hashes include ``dissection.json``.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.errors import BundleError, GanpaintError
from ganpaint.core.files import atomic_write_text
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.ace import AceOptions, ace_rankings
from ganpaint.dissect.cache import ResultCache
from ganpaint.dissect.causal import AblationPool, CausalOptions, causal_rankings
from ganpaint.dissect.dissect import (
    DISSECTION_FORMAT,
    DISSECTION_VERSION,
    IOU_CUTOFF,
    DissectOptions,
    SegmentFn,
    dissect_layers,
    layer_summary,
    prepare_generator,
)
from ganpaint.dissect.distributed import Dist
from ganpaint.models.bundle import ModelBundle, sha256_file, write_bundle_json


def display_images(images: torch.Tensor) -> torch.Tensor:
    """Images as the app shows them: clamped to [-1, 1] and rounded to 8-bit steps."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


def generator_id(bundle: ModelBundle) -> str:
    """sha256 of the generator weights (from bundle.json when listed there)."""
    info = bundle.meta.get("files", {}).get("generator.safetensors")
    if isinstance(info, dict) and info.get("sha256"):
        return str(info["sha256"])
    path = bundle.path / "generator.safetensors" if bundle.path.is_dir() else bundle.path
    return sha256_file(path)


def load_segment_fn(spec: str) -> SegmentFn:
    """A segmentation callable named ``module:attribute`` (for tests and custom segmenters)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise GanpaintError(f"--segment-fn must look like module:function, got {spec!r}")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise GanpaintError(f"cannot load segmentation function {spec!r}: {exc}") from None
    if not callable(fn):
        raise GanpaintError(f"{spec!r} is not callable")
    return fn


def bundle_segmenter(
    bundle: ModelBundle, device: torch.device, spec: str | None = None, batch_size: int = 32
) -> tuple[SegmentFn, str, list[str]]:
    """(segment_fn, id for cache keys, concept names) for ``bundle``.

    ``spec`` (``module:function``) overrides the bundle's own segmenter. Concept names come
    from bundle.json, else the segmenter file, else ``ganpaint.scenes.CONCEPTS``.
    """
    concepts = bundle.concepts
    if spec:
        fn = load_segment_fn(spec)
        seg_id = f"callable:{spec}"
        names = list(getattr(fn, "concepts", []) or [])
    else:
        model = bundle.load_segmenter()
        if model is None:
            raise BundleError(f"{bundle.path}: the bundle has no segmenter.safetensors")
        from ganpaint.models.segmenter import segment

        # channels_last now, outside any inference_mode block: converting it later inside one
        # (as segment() would on first use) turns the weights into inference tensors, which
        # the ACE optimisation cannot back-propagate through
        model = model.to(device).eval().to(memory_format=torch.channels_last)
        info = bundle.meta.get("files", {}).get("segmenter.safetensors", {})
        seg_id = str(info.get("sha256") or sha256_file(bundle.segmenter_path))
        names = list(model.concepts or [])

        def fn(images: torch.Tensor) -> torch.Tensor:
            return segment(model, images, batch_size=batch_size)

        def logits(images: torch.Tensor) -> torch.Tensor:
            return model(images.contiguous(memory_format=torch.channels_last))

    if not concepts:
        concepts = names
    if not concepts:
        try:
            from ganpaint.scenes import CONCEPTS

            concepts = list(CONCEPTS)
        except ImportError:
            concepts = []
    if not concepts:
        raise BundleError(f"{bundle.path}: no concept names (bundle.json lists none)")

    def display_fn(images: torch.Tensor) -> torch.Tensor:
        return fn(display_images(images))

    if not spec:
        display_fn.logits = logits  # type: ignore[attr-defined]  # for ACE optimisation
    elif hasattr(fn, "logits"):
        display_fn.logits = fn.logits  # type: ignore[attr-defined]
    return display_fn, seg_id, list(concepts)


def _candidates(layers_doc: dict, count: int) -> dict[str, dict[str, list[int]]]:
    return {
        layer: {name: [u for u, _ in c["iou"][:count]] for name, c in info["concepts"].items()}
        for layer, info in layers_doc.items()
    }


def dissect_bundle(
    bundle: ModelBundle,
    segment_fn: SegmentFn,
    segmenter_id: str,
    concepts: Sequence[str],
    options: DissectOptions,
    causal: CausalOptions | None = CausalOptions(),  # noqa: B008 - frozen defaults
    causal_layers: Sequence[str] | None = None,
    device: torch.device | str = "cpu",
    dist: Dist | None = None,
    cache: ResultCache | None = None,
    progress: ProgressFactory = no_progress,
    ace: AceOptions | None = None,
) -> dict[str, Any]:
    """The dissection document for ``options.layers``. Every rank computes its share;
    rank 0's document is the complete one (others lack the causal entries).

    With ``ace``, the causal layers also get optimised unit sets (:mod:`ganpaint.dissect.ace`):
    ``insert_set`` for drawing, ``ace_removal`` for removing; ``causal_set`` becomes the ACE
    removal set where it removes more than the greedy set on the same samples (the greedy
    one is kept as ``greedy_set``)."""
    dist = dist or Dist()
    cache = cache or ResultCache(None)
    concepts = list(concepts)
    model_id = generator_id(bundle)
    start = time.perf_counter()
    stats = dissect_layers(
        bundle.generator,
        segment_fn,
        concepts,
        options,
        model_id,
        segmenter_id,
        device,
        dist,
        cache,
        progress,
    )
    timing = {"dissect_s": round(time.perf_counter() - start, 1)}
    layers_doc = {layer: layer_summary(s, concepts, options) for layer, s in stats.items()}
    if causal is not None:
        start = time.perf_counter()
        wanted = [layer for layer in (causal_layers or list(stats)) if layer in stats]
        cands = _candidates({layer: layers_doc[layer] for layer in wanted}, causal.candidates)
        key = {
            "what": "causal",
            "dissection": {
                layer: options.pass2_key(model_id, layer, segmenter_id, concepts)
                for layer in wanted
            },
            "options": causal.key(),
            "candidates": cands,
        }
        result = cache.load_json("causal", key) if dist.is_main else None
        flag = dist.broadcast_(torch.tensor([result is not None], dtype=torch.int64))
        if not flag[0]:
            result = causal_rankings(
                bundle.generator,
                segment_fn,
                concepts,
                cands,
                causal,
                options.seed_base,
                device,
                dist,
                progress,
            )
            if dist.is_main:
                cache.save_json("causal", key, result)
        if dist.is_main:
            for layer, per_concept in result.items():
                for name, entry in per_concept.items():
                    layers_doc[layer]["concepts"][name].update(entry)
            for layer in wanted:  # per layer too: merged documents mix runs
                layers_doc[layer]["causal_options"] = causal.key()
        timing["causal_s"] = round(time.perf_counter() - start, 1)
    if ace is not None:
        start = time.perf_counter()
        wanted = [layer for layer in (causal_layers or list(stats)) if layer in stats]
        _add_ace(
            bundle,
            segment_fn,
            concepts,
            options,
            ace,
            wanted,
            layers_doc,
            model_id,
            segmenter_id,
            device,
            dist,
            cache,
            progress,
        )
        for layer in wanted:
            layers_doc[layer]["ace_options"] = ace.key()
        timing["ace_s"] = round(time.perf_counter() - start, 1)
    return {
        "format": DISSECTION_FORMAT,
        "version": DISSECTION_VERSION,
        "model": bundle.name,
        "samples": options.samples,
        "seed_base": options.seed_base,
        "concepts": concepts,
        "threshold_quantile": options.threshold_quantile,
        "iou_cutoff": IOU_CUTOFF,
        "layers": layers_doc,
        "generator_sha256": model_id,
        "segmenter": segmenter_id,
        "causal_options": causal.key() if causal is not None else None,
        "ace_options": ace.key() if ace is not None else None,
        "processes": dist.world,
        "timing": timing,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _add_ace(
    bundle: ModelBundle,
    segment_fn: SegmentFn,
    concepts: list[str],
    options: DissectOptions,
    ace: AceOptions,
    layers: list[str],
    layers_doc: dict[str, Any],
    model_id: str,
    segmenter_id: str,
    device: torch.device | str,
    dist: Dist,
    cache: ResultCache,
    progress: ProgressFactory,
) -> None:
    """Compute (or load) the ACE sets of ``layers`` and merge them into ``layers_doc``."""
    from ganpaint.engine.levels import UnitLevels

    logits_fn = getattr(segment_fn, "logits", None)
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
        "dissection": {
            layer: options.pass2_key(model_id, layer, segmenter_id, concepts) for layer in layers
        },
        "options": ace.key(),
        "compare": greedy,
        "shortlist": "iou-2k",
    }
    result = cache.load_json("ace", key) if dist.is_main else None
    flag = dist.broadcast_(torch.tensor([result is not None], dtype=torch.int64))
    if not flag[0]:
        device = torch.device(device)
        levels = {}
        for layer in layers:
            lv = UnitLevels.from_dissection({"layers": layers_doc}, layer)
            if lv is None:
                raise GanpaintError(f"the dissection of {layer} has no levels for ACE insertion")
            levels[layer] = lv.at(ace.insert_quantile).float().to(device)
        generator = prepare_generator(bundle.generator, device)
        pool = AblationPool(
            generator,
            segment_fn,
            layers,
            ace.pool,
            options.seed_base,
            ace.measure_batch,
            device,
            progress,
        )
        by_iou = {
            layer: {
                name: [int(u) for u, _ in (c.get("iou") or [])[: 2 * ace.set_size]]
                for name, c in layers_doc[layer]["concepts"].items()
            }
            for layer in layers
        }
        result = ace_rankings(
            pool, logits_fn, concepts, layers, levels, ace, greedy, dist, progress, by_iou
        )
        if dist.is_main:
            cache.save_json("ace", key, result)
    if not dist.is_main:
        return
    for layer, per_concept in result.items():
        for name, entry in per_concept.items():
            target = layers_doc[layer]["concepts"].setdefault(name, {})
            target.update(entry)
            removal = entry.get("ace_removal")
            if not removal:
                continue
            old = target.get("causal_set") or {}
            if removal["removal"] > removal.get("compare_removal", -1.0):
                if old:
                    target["greedy_set"] = old
                units = removal["units"][: ace.set_size]
                target["causal_set"] = {
                    "units": units,
                    "removal": removal["removal"],
                    "steps": [],
                    "samples": removal["samples"],
                    "method": "ace",
                }


def merge_with_existing(document: dict[str, Any], existing: dict[str, Any] | None) -> dict:
    """Keep layers of an earlier dissection made with the same samples and concepts."""
    if not existing or existing.get("format") != DISSECTION_FORMAT:
        return document
    same = all(existing.get(k) == document.get(k) for k in ("samples", "seed_base", "concepts"))
    if not same or existing.get("generator_sha256") not in (None, document["generator_sha256"]):
        return document
    merged = dict(document)
    layers = dict(existing.get("layers", {}))
    layers.update(document["layers"])
    merged["layers"] = layers
    return merged


def write_dissection(bundle: ModelBundle, document: dict[str, Any]) -> Path:
    """Write ``dissection.json`` into the bundle folder and refresh ``bundle.json``."""
    if not bundle.path.is_dir():
        raise BundleError(
            f"{bundle.path}: a bare checkpoint has no bundle folder to hold dissection.json "
            "(convert it to a bundle first)"
        )
    path = bundle.path / "dissection.json"
    atomic_write_text(path, json.dumps(document, separators=(",", ":")) + "\n")
    bundle.meta = write_bundle_json(bundle.path, bundle.meta)
    bundle.dissection = document
    return path
