"""``ganpaint concept``: teach a brush from marked samples; list, export and import brushes."""

from __future__ import annotations

import argparse

from ganpaint.cli.options import writable_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "concept",
        help="make a custom concept brush from masks painted on a few samples",
        description="Rank the edit layer's units for a concept you marked: DIR holds masks "
        "named seed_<n>.png (white = the concept) on the samples of those seeds, at the "
        "model's resolution. The concept is saved in your concept file for the model (or "
        "--file) and appears in the app as a brush. Also lists, exports and imports concepts.",
    )
    p.add_argument("model", nargs="?", default=None, help="bundle folder or checkpoint")
    p.add_argument("--name", help="the new concept's name")
    p.add_argument("--masks", help="folder of seed_<n>.png masks")
    p.add_argument("--layer", default=None, help="edit layer (default: the model's)")
    p.add_argument("--file", default=None, help="concept file (default: per model, user data)")
    p.add_argument("--list", action="store_true", help="list the model's custom concepts")
    p.add_argument("--export", metavar="NAME", help="write concept NAME to -o FILE")
    p.add_argument("--import", dest="import_file", metavar="FILE", help="add concepts from FILE")
    p.add_argument("-o", "--output", help="file for --export")
    p.add_argument("--top", type=int, default=10, help="units to print (default 10)")
    p.set_defaults(handler=_concept)


def _concept(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.models import load_bundle
    from ganpaint.models.concept_files import concepts_path

    bundle = load_bundle(args.model)
    path = args.file or concepts_path(bundle.name)
    if args.list:
        return _list(path, bundle)
    if args.export:
        return _export(args, path, bundle.name)
    if args.import_file:
        return _import(args, path, bundle)
    if not args.name or not args.masks:
        raise GanpaintError("give --name and --masks (or --list, --export, --import)")
    return _teach(args, path, bundle)


def _list(path, bundle) -> int:
    """Every concept in the file, and why one the app will not offer does not fit."""
    from ganpaint.models.concept_files import ModelFit, load_concepts

    fit = ModelFit.of(bundle)
    for c in load_concepts(path):
        problem = fit.problem(c)
        note = f"  (not usable: {problem})" if problem else ""
        print(f"{c.name:<20} {c.layer:<8} units {', '.join(map(str, c.units[:10]))}{note}")
    return 0


def _export(args: argparse.Namespace, path, model: str) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.models.concept_files import export_concept

    if not args.output:
        raise GanpaintError("--export needs -o FILE")
    writable_file(args.output)
    export_concept(path, args.export, args.output, model)
    print(f"exported {args.export!r} to {args.output}")
    return 0


def _import(args: argparse.Namespace, path, bundle) -> int:
    """The concepts that fit are added, each one skipped is named with why; none fitting
    is an error (exit code 2), as in the app."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.models.concept_files import ModelFit, import_concepts

    report = import_concepts(path, args.import_file, ModelFit.of(bundle))
    if not report.added:
        raise GanpaintError(report.nothing_imported())
    for line in report.skipped_lines():
        print(f"skipped {line}")
    replaced = f" (replacing {', '.join(report.replaced)})" if report.replaced else ""
    print(f"imported {len(report.added)} of {report.found} concept(s) into {path}: "
          f"{', '.join(report.added)}{replaced}")  # fmt: skip
    return 0


def _teach(args: argparse.Namespace, path, bundle) -> int:
    from ganpaint.dissect.custom import find_concept
    from ganpaint.models.concept_files import add_concept, read_masks

    seeds, masks = read_masks(args.masks)
    concept = find_concept(bundle, args.name, seeds, masks, args.layer)
    add_concept(path, concept, bundle.name)
    print(f"concept {concept.name!r} on {concept.layer} from {len(seeds)} samples -> {path}")
    for u, i, c in list(zip(concept.units, concept.iou, concept.contrast, strict=True))[: args.top]:
        print(f"  unit {u:4d}  IoU {i:.3f}  contrast {c:+.2f}")
    return 0
