"""Dissecting a model bundle end to end: both passes, causal ranking, ACE sets and
best-threshold IoU, giving ``dissection.json`` (format in docs/FORMATS.md) with every stage's
results cached by its arguments.

:func:`dissect_bundle` returns the document; :func:`write_dissection` stores it in the bundle
and refreshes ``bundle.json`` so its file hashes include ``dissection.json``;
:func:`dissect_into_bundle` is both (what ``ganpaint dissect`` runs, under torchrun too).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.devices import pick_device
from ganpaint.core.distributed import Dist, init_from_env, local_device
from ganpaint.core.errors import BundleError, GanpaintError
from ganpaint.core.files import atomic_write_text
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.ace import AceOptions
from ganpaint.dissect.cache import ResultCache
from ganpaint.dissect.causal import CausalOptions
from ganpaint.dissect.passes import IOU_CUTOFF, DissectOptions, dissect_layers, layer_summary
from ganpaint.dissect.sampling import SegmentFn, ordered_layers
from ganpaint.dissect.segmenters import bundle_segmenter, generator_id
from ganpaint.dissect.stages import StageContext, add_ace, add_best_iou, add_causal
from ganpaint.models.bundle import ModelBundle, load_bundle, write_bundle_json
from ganpaint.models.dissection import (
    DISSECTION_FORMAT,
    DISSECTION_VERSION,
    Dissection,
    validated,
)


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
    best_threshold: bool = True,
) -> Dissection:
    """The dissection document for ``options.layers``. Every rank computes its share;
    rank 0's document is the complete one (others lack the causal entries and the
    best-threshold IoU).

    With ``ace``, the causal layers also get optimised unit sets (:mod:`ganpaint.dissect.ace`):
    ``insert_set`` for drawing, ``ace_removal`` for removing; ``causal_set`` becomes the ACE
    removal set where it removes more than the greedy set on the same samples (the greedy
    one is kept as ``greedy_set``). With ``best_threshold`` (the default, as ``ganpaint
    dissect`` without ``--fixed-threshold``), IoU rankings and unit labels are measured at
    the best threshold per unit and concept; the fixed top-0.5 % ones stay as ``iou_top05``.
    """
    dist = dist or Dist()
    cache = cache or ResultCache(None)
    concepts = list(concepts)
    model_id = generator_id(bundle)
    ctx = StageContext(
        bundle, segment_fn, concepts, options, model_id, segmenter_id, device, dist, cache, progress
    )
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
    wanted = [layer for layer in (causal_layers or list(stats)) if layer in stats]
    if causal is not None:
        start = time.perf_counter()
        add_causal(ctx, causal, wanted, layers_doc)
        timing["causal_s"] = round(time.perf_counter() - start, 1)
    if ace is not None:
        start = time.perf_counter()
        add_ace(ctx, ace, wanted, layers_doc)
        for layer in wanted:
            layers_doc[layer]["ace_options"] = ace.key()
        timing["ace_s"] = round(time.perf_counter() - start, 1)
    if best_threshold and dist.is_main:
        add_best_iou(ctx, layers_doc)
    return validated(
        {
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
    )


def merge_with_existing(document: Dissection, existing: Dissection | None) -> Dissection:
    """Keep layers of an earlier dissection made with the same samples and concepts."""
    if existing is None:
        return document
    same = all(
        getattr(existing, k) == getattr(document, k) for k in ("samples", "seed_base", "concepts")
    )
    if not same or existing.generator_sha256 not in (None, document.generator_sha256):
        return document
    merged = document.to_dict()
    layers = {name: info.to_dict() for name, info in existing.layers.items()}
    layers.update(merged["layers"])
    merged["layers"] = layers
    return validated(merged)


def write_dissection(bundle: ModelBundle, document: Dissection | dict[str, Any]) -> Path:
    """Write ``dissection.json`` into the bundle folder and refresh ``bundle.json``; a dict
    is validated first (:func:`ganpaint.models.dissection.validated`), so what is written
    always reads back as written."""
    if not bundle.path.is_dir():
        raise BundleError(
            f"{bundle.path}: a bare checkpoint has no bundle folder to hold dissection.json "
            "(convert it to a bundle first)"
        )
    doc = document if isinstance(document, Dissection) else validated(document)
    path = bundle.path / "dissection.json"
    atomic_write_text(path, json.dumps(doc.to_dict(), separators=(",", ":")) + "\n")
    bundle.meta = write_bundle_json(bundle.path, bundle.meta)
    bundle.dissection = doc
    return path


@dataclass(frozen=True)
class Written:
    """What :func:`dissect_into_bundle` wrote: the document, its path, the layers this run
    dissected (the document may also hold earlier ones)."""

    document: Dissection
    path: Path
    layers: tuple[str, ...]


def dissect_into_bundle(
    bundle_path: str | Path,
    options: DissectOptions,
    causal: CausalOptions | None = CausalOptions(),  # noqa: B008 - frozen defaults
    causal_layers: Sequence[str] | None = None,
    ace: AceOptions | None = None,
    best_threshold: bool = True,
    device: str | None = None,
    segment_spec: str | None = None,
    cache: ResultCache | None = None,
    progress: ProgressFactory = no_progress,
) -> Written | None:
    """Dissect the bundle at ``bundle_path`` and write its ``dissection.json``, keeping the
    layers of an earlier dissection of the same samples that this run does not redo.

    Under torchrun every rank takes its share of the samples; rank 0 writes the document and
    gets what it wrote, the other ranks None. ``options.layers`` empty means the
    bundle's edit layers; ``segment_spec`` (``module:function``) replaces the bundle's
    segmenter; ``progress`` is used on rank 0 only.
    """
    dev = pick_device(device)
    dist = init_from_env(dev)
    try:
        dev = local_device(dev, dist)
        bundle = load_bundle(bundle_path)
        if not bundle.path.is_dir():
            raise GanpaintError(
                f"{bundle.path}: dissection.json needs a bundle folder (convert the file first)"
            )
        if not options.layers:
            options = replace(options, layers=list(bundle.edit_layers))
        bad = [x for x in options.layers if x not in bundle.generator.layer_names]
        if bad:
            raise GanpaintError(f"{bad[0]!r} is not a layer of {bundle.name}")
        # Every pass runs the generator forward through the layers in order.
        options = replace(options, layers=ordered_layers(bundle.generator, options.layers))
        seg_fn, seg_id, concepts = bundle_segmenter(bundle, dev, segment_spec, options.batch_size)
        doc = dissect_bundle(
            bundle,
            seg_fn,
            seg_id,
            concepts,
            options,
            causal,
            causal_layers,
            dev,
            dist,
            cache,
            progress if dist.is_main else no_progress,
            ace,
            best_threshold,
        )
        written = None
        if dist.is_main:
            doc = merge_with_existing(doc, bundle.dissection)
            written = Written(doc, write_dissection(bundle, doc), tuple(options.layers))
        dist.barrier()
    finally:
        dist.close()
    return written
