"""Work on a bundle that already has a dissection: its HTML report, the evaluation of one
layer on held-out samples, and a further ACE run for chosen concepts (``ganpaint report``,
``evaluate`` and ``refine-sets``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.devices import pick_device
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.ace import AceOptions, refine_sets
from ganpaint.dissect.defaults import DefaultsOptions, learn_defaults, scene_index
from ganpaint.dissect.evaluate import EvalOptions, evaluate
from ganpaint.dissect.examples import write_examples
from ganpaint.dissect.pipeline import write_dissection
from ganpaint.dissect.report import write_report
from ganpaint.dissect.sampling import SegmentFn
from ganpaint.dissect.segmenters import bundle_segmenter
from ganpaint.models.bundle import ModelBundle, load_bundle
from ganpaint.models.progan import zero_units_


def open_dissected(path: str | Path) -> ModelBundle:
    """The bundle at ``path``, which must have a ``dissection.json``."""
    bundle = load_bundle(path)
    if bundle.dissection is None:
        raise GanpaintError(f"{bundle.path}: no dissection.json (run `ganpaint dissect` first)")
    return bundle


def report_bundle(
    path: str | Path,
    output: str | Path,
    layers: Sequence[str] | None = None,
    per_unit: int = 4,
    max_units: int | None = None,
    all_units: bool = False,
    batch_size: int = 32,
    device: str | None = None,
    progress: ProgressFactory = no_progress,
) -> Path:
    """Write the HTML report of the dissection of the bundle at ``path``; returns its index."""
    dev = pick_device(device)
    bundle = open_dissected(path)
    if layers:
        bad = [x for x in layers if bundle.dissection.layer(x) is None]
        if bad:
            raise GanpaintError(f"the dissection has no layer {bad[0]!r}")
    return write_report(
        bundle.generator,
        bundle.dissection,
        output,
        layers,
        per_unit,
        max_units,
        all_units,
        batch_size=batch_size,
        device=dev,
        progress=progress,
    )


@dataclass
class DissectedLayer:
    """One layer of an existing dissection, ready to measure: the bundle, where to run, and
    the segmenter with the dissection's concept names."""

    bundle: ModelBundle
    layer: str
    device: torch.device
    segment_fn: SegmentFn
    concepts: list[str]
    zeroed: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """The artifact units zeroed in ``bundle.generator`` (``clean``), per layer."""


def dissected_layer(
    path: str | Path,
    layer: str | None = None,
    device: str | None = None,
    segment_spec: str | None = None,
    batch_size: int = 32,
    clean: bool | None = False,
) -> DissectedLayer:
    """``layer`` (default: the bundle's default layer) of the dissection at ``path``; with
    ``clean`` (see :meth:`ModelBundle.artifacts_to_zero`; None: as the app starts), its
    generator has the artifact set zeroed, the network the app paints with."""
    dev = pick_device(device)
    bundle = open_dissected(path)
    layer = layer or bundle.default_layer
    if bundle.dissection.layer(layer) is None:
        raise GanpaintError(f"the dissection has no layer {layer!r}")
    zeroed = bundle.artifacts_to_zero(clean)
    zero_units_(bundle.generator, zeroed)
    seg_fn, _, concepts = bundle_segmenter(bundle, dev, segment_spec, batch_size)
    names = list(bundle.dissection.concepts or concepts)
    return DissectedLayer(bundle, layer, dev, seg_fn, names, zeroed)


@dataclass
class Evaluation:
    """What :func:`evaluate_layer` measured: per concept its removal and insertion figures
    (``table``, as ``--json`` prints it) and the image counts behind them (``details``)."""

    model: str
    layer: str
    table: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    examples: str | Path | None = None  # the examples picture written, if asked for


def evaluate_layer(
    target: DissectedLayer,
    options: EvalOptions,
    examples: str | Path | None = None,
    progress: ProgressFactory = no_progress,
) -> Evaluation:
    """Removal and insertion of every concept of ``target`` on held-out samples; with
    ``examples``, also the picture of insertion examples written there."""
    details: dict[str, Any] = {}
    table = evaluate(
        target.bundle.generator,
        target.segment_fn,
        target.concepts,
        target.bundle.dissection,
        target.layer,
        options,
        target.device,
        progress,
        details,
    )
    written = write_examples(details, examples) if examples else None
    return Evaluation(target.bundle.name, target.layer, table, details, written)


@dataclass
class Refinement:
    """What :func:`refine_layer_sets` did: per concept asked for, the new set entry or None
    (the current set was kept), and the file written when any set changed."""

    metric: str  # "insertion" or "removal"
    found: dict[str, dict | None]
    path: Path | None


def refine_layer_sets(
    target: DissectedLayer,
    names: Sequence[str],
    mode: str,
    options: AceOptions,
    progress: ProgressFactory = no_progress,
) -> Refinement:
    """A further ACE run for ``names`` (:func:`ganpaint.dissect.ace.refine_sets`); a new set
    replaces the concept's ``insert_set`` (or ``ace_removal``) only where it scores higher,
    and the dissection is written back when one does."""
    unknown = [c for c in names if c not in target.concepts]
    if unknown:
        raise GanpaintError(f"{unknown[0]!r} is not a concept of {target.bundle.name}")
    if getattr(target.segment_fn, "logits", None) is None:
        raise GanpaintError("refining sets needs the segmenter's class scores ('logits')")
    bundle = target.bundle
    found = refine_sets(
        bundle.generator,
        target.segment_fn,
        target.concepts,
        bundle.dissection,
        target.layer,
        names,
        mode,
        options,
        target.device,
        progress,
    )
    key = "insert_set" if mode == "insertion" else "ace_removal"
    path = None
    if found:
        doc = bundle.dissection.to_dict()
        per_concept = doc["layers"][target.layer].setdefault("concepts", {})
        for name, entry in found.items():
            per_concept.setdefault(name, {})[key] = entry
        path = write_dissection(bundle, doc)
    metric = "insertion" if mode == "insertion" else "removal"
    return Refinement(metric, {name: found.get(name) for name in names}, path)


def learn_layer_defaults(
    target: DissectedLayer,
    options: DefaultsOptions,
    progress: ProgressFactory = no_progress,
    only: Sequence[str] | None = None,
) -> tuple[dict[str, dict], Path]:
    """Learn the brush defaults and hints of ``target``'s concepts (or ``only`` those) and
    the scene index on the dissection samples, and write them into its ``dissection.json``
    without redoing the dissection."""
    bundle = target.bundle
    found = {}
    if options.brush:
        found = learn_defaults(
            bundle.generator, target.segment_fn, target.concepts, bundle.dissection,
            target.layer, options, target.device, progress, only,
        )  # fmt: skip
    doc = bundle.dissection.to_dict()
    per_concept = doc["layers"][target.layer].setdefault("concepts", {})
    for name, entry in found.items():
        per_concept.setdefault(name, {})["defaults"] = entry
    if options.index_samples > 0:
        segmenter = bundle.load_segmenter()  # measures how well each scene is drawn
        doc["scene_index"] = scene_index(
            bundle.generator, target.segment_fn, target.concepts, bundle.dissection,
            options.index_samples, target.device, options.batch_size,
            segmenter.to(target.device) if segmenter is not None else None,
            options.reference_scenes,
        )  # fmt: skip
    return found, write_dissection(bundle, doc)


def learn_bundle_defaults(
    path: str | Path,
    layers: Sequence[str],
    options: DefaultsOptions,
    device: str | None = None,
    segment_spec: str | None = None,
    batch_size: int = 32,
    progress: ProgressFactory = no_progress,
    only: Sequence[str] | None = None,
) -> dict[str, dict[str, dict]]:
    """:func:`learn_layer_defaults` for each of ``layers`` of the bundle at ``path`` (what
    ``ganpaint dissect`` and ``refine-sets`` run after writing); the scene index once."""
    found = {}
    for i, layer in enumerate(layers):
        target = dissected_layer(path, layer, device, segment_spec, batch_size)
        opts = options if i == 0 else replace(options, index_samples=0)
        found[layer], _ = learn_layer_defaults(target, opts, progress, only)
    return found
