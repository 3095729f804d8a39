"""``ganpaint dissect``, ``ganpaint report``, ``refine-sets`` and ``learn-defaults``
(``ganpaint evaluate`` is :mod:`ganpaint.cli.evaluate_cmd`).

``dissect`` also runs under ``torchrun --nproc-per-node N -m ganpaint dissect ...``: each rank
takes a block of samples and rank 0 writes the result (see ganpaint/core/distributed.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace

from ganpaint.cli.options import (
    add_dissection_options,
    add_layers_option,
    check_at_least,
    check_positive,
    finite_float,
    flat_layers,
    layer_names,
    progress_factory,
    writable_bundle,
    writable_folder,
)


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "dissect",
        help="label the units of a model's edit layers with concepts (writes dissection.json)",
        description="Pass 1: per-unit activation quantiles. Pass 2: IoU of each unit's "
        "thresholded, upsampled map with each segmented concept. Then causal ranking: the "
        "concept pixels removed when candidate units are ablated. Results are cached by their "
        "arguments and written to BUNDLE/dissection.json.",
    )
    d.add_argument("bundle", help="model bundle folder")
    add_layers_option(d, "dissect", "the edit layers")
    d.add_argument("--samples", type=int, default=10_000, help="samples (default 10000)")
    d.add_argument("--seed-base", type=int, default=None, help="sample i uses seed BASE + i")
    d.add_argument(
        "--threshold-quantile",
        type=finite_float,
        default=0.995,
        help="unit mask threshold for IoU, as a quantile of the unit's activations "
        "(default 0.995, the top 0.5 %%)",
    )
    add_dissection_options(d)
    c = d.add_argument_group("causal ranking")
    c.add_argument("--no-causal", action="store_true", help="skip the causal ranking")
    c.add_argument("--causal-layers", nargs="+", type=layer_names,
                   help="layers to rank (default: all dissected)")  # fmt: skip
    c.add_argument("--causal-candidates", type=int, default=24, help="units tried (default 24)")
    c.add_argument("--causal-samples", type=int, default=16, help="images per concept (default 16)")
    c.add_argument("--causal-pool", type=int, default=256, help="images searched (default 256)")
    c.add_argument("--causal-set-size", type=int, default=20, help="greedy set size (default 20)")
    c.add_argument(
        "--causal-window", type=int, default=2, help="candidates tried per greedy step (default 2)"
    )
    a = d.add_argument_group(
        "optimised unit sets (ACE)",
        "Weights over all units of each causal layer, optimised through the generator and the "
        "segmenter's class scores: a set for drawing each concept (insert_set) and one for "
        "removing it. Slow on a CPU (minutes per concept); seconds on a GPU.",
    )
    a.add_argument("--ace", action="store_true", help="optimise ACE unit sets")
    a.add_argument("--ace-steps", type=int, default=150, help="optimisation steps (default 150)")
    a.add_argument("--ace-samples", type=int, default=64, help="images per concept (default 64)")
    a.add_argument("--ace-pool", type=int, default=512, help="images searched (default 512)")
    a.add_argument(
        "--ace-window",
        type=int,
        default=8,
        help="greedy refinement of the optimised set: units tried per step (0: none; default 8)",
    )
    _defaults_args(d)
    d.add_argument("--cache-dir", help="cache folder (default: the user cache)")
    d.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    d.set_defaults(handler=_dissect)

    r = sub.add_parser(
        "report",
        help="write an HTML report of a bundle's dissection",
        description="Per layer: a bar chart of units per concept, and the labelled units "
        "grouped by concept with their top-activating samples and heatmaps.",
    )
    r.add_argument("bundle", help="model bundle folder with dissection.json")
    r.add_argument("-o", "--output", required=True, help="output folder (gets index.html)")
    add_layers_option(r, "show", "all dissected")
    r.add_argument("--per-unit", type=int, default=4, help="samples shown per unit (default 4)")
    r.add_argument("--max-units", type=int, default=None, help="units shown per concept")
    r.add_argument("--all-units", action="store_true", help="also show unlabelled units")
    r.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    r.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    r.set_defaults(handler=_report)

    f = sub.add_parser(
        "refine-sets",
        help="a further ACE run for some concepts of an existing dissection",
        description="Optimise and refine the ACE drawing (or removal) sets of the named "
        "concepts again, with the current set among the candidates, and keep a new set only "
        "where it scores higher on the same dissection samples. Writes dissection.json.",
    )
    f.add_argument("bundle", help="model bundle folder with dissection.json")
    f.add_argument("--layer", default=None, help="layer (default: the model's default)")
    f.add_argument("--concepts", nargs="+", required=True, help="concepts to refine")
    f.add_argument("--mode", choices=("insertion", "removal"), default="insertion")
    f.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    f.add_argument("--window", type=int, default=16, help="units tried per step (default 16)")
    f.add_argument("--samples", type=int, default=64, help="images per concept (default 64)")
    f.add_argument("--pool", type=int, default=512, help="images searched (default 512)")
    f.add_argument(
        "--outside-budget",
        type=finite_float,
        default=0.045,
        help="insertion: change outside the square tolerated before the score drops "
        "(default 0.045)",
    )
    add_dissection_options(f)
    _defaults_args(f)
    f.set_defaults(handler=_refine_sets)

    g = sub.add_parser(
        "learn-defaults",
        help="learn per-concept brush defaults and hints for an existing dissection",
        description="Measure, on the dissection's own samples (never the held-out ones), "
        "which unit count, ranking and level draw and remove each concept best, derive a "
        "hint on where each concept draws from the segmentations, index what each sample "
        "shows, and write them into dissection.json (the dissection itself is kept).",
    )
    g.add_argument("bundle", help="model bundle folder with a dissection.json")
    g.add_argument("--layer", default=None, help="edit layer (default: the bundle's)")
    g.add_argument("--samples", type=int, default=32, help="dissection samples (default 32)")
    g.add_argument(
        "--index-samples",
        type=int,
        default=None,
        help="dissection samples in the scene index (default 1000; 0: none)",
    )
    g.add_argument(
        "--reference-scenes",
        type=int,
        default=None,
        help="rendered scenes the index measures how well each sample is drawn against, "
        "with the bundle's own segmenter (default 2000; 0: not measured)",
    )
    g.add_argument(
        "--index-only",
        action="store_true",
        help="write the scene index alone (the brush defaults stay as they are)",
    )
    g.add_argument("--concepts", nargs="+", default=None, help="only these concepts")
    add_dissection_options(g)
    g.set_defaults(handler=_learn_defaults)


def _defaults_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-defaults",
        action="store_true",
        help="do not learn per-concept brush defaults and hints afterwards",
    )
    p.add_argument("--defaults-samples", type=int, default=32,
                   help="dissection samples the defaults are measured on (default 32)")  # fmt: skip


def _learn_after(args: argparse.Namespace, layers, only=None, index: bool = True) -> None:
    """Learn the brush defaults (``learn-defaults``) after ``dissect``/``refine-sets`` wrote,
    and the scene index unless not ``index``."""
    if args.no_defaults:
        return
    from ganpaint.dissect.defaults import DefaultsOptions
    from ganpaint.dissect.existing import learn_bundle_defaults

    check_positive(defaults_samples=args.defaults_samples)
    options = DefaultsOptions(samples=args.defaults_samples, batch_size=args.batch)
    options = options if index else replace(options, index_samples=0)
    found = learn_bundle_defaults(args.bundle, layers, options, args.device, args.segment_fn,
                                  args.batch, progress_factory(not args.quiet), only)  # fmt: skip
    if not args.quiet:
        for layer, per_concept in found.items():
            print(f"brush defaults for {layer}:")
            for name, entry in per_concept.items():
                print("  " + describe_defaults(name, entry))


def _dissect_options(args: argparse.Namespace):
    """(DissectOptions, CausalOptions | None, AceOptions | None) from the arguments."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.dissect.ace import AceOptions
    from ganpaint.dissect.causal import CausalOptions
    from ganpaint.dissect.passes import DissectOptions
    from ganpaint.dissect.sampling import DEFAULT_SEED_BASE

    check_positive(
        samples=args.samples,
        batch=args.batch,
        causal_candidates=args.causal_candidates,
        causal_samples=args.causal_samples,
        causal_pool=args.causal_pool,
        causal_set_size=args.causal_set_size,
        causal_window=args.causal_window,
        ace_steps=args.ace_steps,
        ace_samples=args.ace_samples,
        ace_pool=args.ace_pool,
    )
    if args.ace_window < 0:
        raise GanpaintError(
            f"--ace-window must be 0 (no refinement) or more, got {args.ace_window}"
        )
    if not 0.5 <= args.threshold_quantile < 1.0:
        raise GanpaintError("--threshold-quantile must be in [0.5, 1)")
    options = DissectOptions(
        layers=flat_layers(args.layers),
        samples=args.samples,
        seed_base=DEFAULT_SEED_BASE if args.seed_base is None else args.seed_base,
        batch_size=args.batch,
        threshold_quantile=args.threshold_quantile,
    )
    causal = None
    if not args.no_causal:
        causal = CausalOptions(
            candidates=args.causal_candidates,
            samples=args.causal_samples,
            pool=min(args.causal_pool, args.samples),
            set_size=args.causal_set_size,
            window=args.causal_window,
            batch_size=args.batch,
        )
    ace = None
    if args.ace:
        ace = AceOptions(
            steps=args.ace_steps,
            samples=args.ace_samples,
            pool=min(args.ace_pool, args.samples),
            window=args.ace_window,
            set_size=args.causal_set_size,
            batch_size=min(args.batch, 32),
            measure_batch=args.batch,
        )
    return options, causal, ace


def _dissect(args: argparse.Namespace) -> int:
    from ganpaint.dissect.cache import ResultCache, default_cache_dir
    from ganpaint.dissect.pipeline import dissect_into_bundle

    options, causal, ace = _dissect_options(args)
    writable_bundle(args.bundle, "dissection.json")
    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    written = dissect_into_bundle(
        args.bundle,
        options,
        causal,
        flat_layers(args.causal_layers) or None,
        ace,
        best_threshold=not args.fixed_threshold,
        device=args.device,
        segment_spec=args.segment_fn,
        cache=ResultCache(cache_dir),
        progress=progress_factory(not args.quiet),
    )
    if written is not None and not args.quiet:
        _print_summary(written.document, written.layers, written.path)
    if written is not None:
        _learn_after(args, written.layers)
    return 0


def _print_summary(doc, layers: Sequence[str], path) -> None:
    cutoff = doc.iou_cutoff
    for layer in layers:
        info = doc.layers[layer]
        labelled = [x for x in info.unit_labels if x.concept and x.iou >= cutoff]
        print(f"{layer}: {len(labelled)}/{info.units} units labelled (IoU >= {cutoff})")
        for name, c in info.concepts.items():
            best = c.iou[0] if c.iou else (None, 0.0)
            n = sum(1 for x in labelled if x.concept == name)
            line = f"  {name:>10}: {n:3d} units, best unit {best[0]} IoU {best[1]:.3f}"
            if c.causal_set is not None:
                line += f", causal set removes {c.causal_set.removal:.2f}"
            if c.insert_set is not None:
                ins = c.insert_set
                line += (
                    f", ACE set draws {ins.insertion:.2f} (outside change {ins.outside_change:.3f})"
                )
            print(line)
    print(f"wrote {path} ({dict(doc.timing)})")


def _report(args: argparse.Namespace) -> int:
    from ganpaint.dissect.existing import report_bundle

    check_positive(per_unit=args.per_unit, batch=args.batch, max_units=args.max_units)
    writable_folder(args.output, "-o")
    index = report_bundle(
        args.bundle,
        args.output,
        flat_layers(args.layers) or None,
        args.per_unit,
        args.max_units,
        args.all_units,
        batch_size=args.batch,
        device=args.device,
        progress=progress_factory(True),
    )
    print(f"wrote {index}")
    return 0


def _refine_sets(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.dissect.ace import AceOptions
    from ganpaint.dissect.existing import dissected_layer, refine_layer_sets

    check_positive(
        steps=args.steps, window=args.window, samples=args.samples, pool=args.pool, batch=args.batch
    )
    if not 0.0 <= args.outside_budget < 1.0:
        raise GanpaintError("--outside-budget must be in [0, 1)")
    writable_bundle(args.bundle, "the refined sets")
    target = dissected_layer(args.bundle, args.layer, args.device, args.segment_fn, args.batch)
    options = AceOptions(
        steps=args.steps,
        samples=args.samples,
        pool=args.pool,
        window=args.window,
        refine_samples=args.samples,
        outside_budget=args.outside_budget,
        batch_size=min(args.batch, 32),
        measure_batch=args.batch,
    )
    result = refine_layer_sets(
        target, args.concepts, args.mode, options, progress_factory(not args.quiet)
    )
    metric = result.metric
    for name, entry in result.found.items():
        if entry is None:
            print(f"{name}: kept the current set (the new one does not score higher)")
            continue
        before = (entry.get("previous") or {}).get(metric)
        print(f"{name}: new set, {metric} {entry[metric]:.3f} (was {before}) on dissection samples")
    if result.path is not None:
        print(f"wrote {result.path}")
        changed = [name for name, entry in result.found.items() if entry is not None]
        _learn_after(args, [target.layer], changed, index=False)
    return 0


def _learn_defaults(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.dissect.defaults import DefaultsOptions
    from ganpaint.dissect.existing import dissected_layer, learn_layer_defaults

    check_positive(samples=args.samples, batch=args.batch)
    check_at_least(index_samples=(args.index_samples, 0),
                   reference_scenes=(args.reference_scenes, 0))  # fmt: skip
    options = DefaultsOptions(samples=args.samples, batch_size=args.batch,
                              brush=not args.index_only)  # fmt: skip
    if args.index_samples is not None:
        options = replace(options, index_samples=args.index_samples)
    if args.reference_scenes is not None:
        options = replace(options, reference_scenes=args.reference_scenes)
    if args.index_only and options.index_samples <= 0:
        raise GanpaintError("--index-only needs --index-samples of 1 or more")
    writable_bundle(args.bundle, "the learned defaults")
    target = dissected_layer(args.bundle, args.layer, args.device, args.segment_fn, args.batch)
    found, path = learn_layer_defaults(
        target, options, progress_factory(not args.quiet), args.concepts
    )
    for name, entry in found.items():
        print(describe_defaults(name, entry))
    print(f"wrote {path}")
    return 0


def describe_defaults(name: str, entry: dict) -> str:
    """One line per concept: the learned draw and remove settings and the hint."""
    parts = []
    for action in ("draw", "remove"):
        d = entry.get(action)
        if d:
            q = f" q{d['quantile']}" if "quantile" in d else ""
            parts.append(f"{action} {d['units']} by {d['ranking']}{q} ({d['score']:.3f})")
    return f"{name:10s} " + "; ".join(parts) + f"  | {entry.get('hint', '')}"
