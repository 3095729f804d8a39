"""``ganpaint evaluate``: removal and insertion per concept on held-out samples, for a
bundle's dissection (:mod:`ganpaint.cli.dissect_cmd`), printed as a table with insertion by
the class each square covered, or as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from ganpaint.cli.options import (
    add_clean_option,
    add_dissection_options,
    check_positive,
    finite_float,
    progress_factory,
)


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "evaluate",
        help="measure concept removal and insertion on held-out samples",
        description="Per concept, on held-out samples: the fraction of its pixels removed "
        "when its top 5/10/20 units are ablated, and the fraction of a square that becomes "
        "the concept when its units are drawn there (with the change outside the square).",
    )
    e.add_argument("bundle", help="model bundle folder with dissection.json")
    e.add_argument("--samples", type=int, default=500, help="held-out samples (default 500)")
    e.add_argument("--layer", default=None, help="layer to edit (default: the model's default)")
    e.add_argument("--insert-units", type=int, default=20, help="units drawn (default 20)")
    e.add_argument(
        "--insert-quantile", type=finite_float, default=0.99, help="draw level (default 0.99)"
    )
    e.add_argument(
        "--mask",
        choices=("quarter", "concept"),
        default="quarter",
        help="insertion region: a square a quarter of the image side (default), or sized "
        "like the concept (its median area in the held-out images)",
    )
    e.add_argument(
        "--placement",
        choices=("prior", "context"),
        default="prior",
        help="where the insertion square goes: where the concept is most frequent over the "
        "held-out images (default), or where it fits in each image (a door at the foot of a "
        "wall without a door, a dome on a tower or roof top, a tree on lawn reaching the "
        "horizon, a window on a wall; concept-sized); both print insertion by covered class",
    )
    e.add_argument(
        "--examples",
        metavar="IMAGE",
        help="also write a picture of insertion (PNG or JPEG, by the name's extension): per "
        "concept, held-out images before (top) and after (bottom) its units are drawn in the "
        "outlined square",
    )
    e.add_argument(
        "--examples-per-concept", type=int, default=6, help="images per concept (default 6)"
    )
    e.add_argument("--json", action="store_true", help="print only the JSON table")
    add_clean_option(e, "measure")
    add_dissection_options(e)
    e.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    """``ganpaint evaluate``: the dissection's removal and insertion figures, as a table or
    JSON."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.dissect.evaluate import EvalOptions
    from ganpaint.dissect.existing import dissected_layer, evaluate_layer

    check_positive(
        samples=args.samples,
        batch=args.batch,
        insert_units=args.insert_units,
        examples_per_concept=args.examples_per_concept,
    )
    if not 0.0 < args.insert_quantile < 1.0:
        raise GanpaintError("--insert-quantile must be between 0 and 1")
    target = dissected_layer(
        args.bundle, args.layer, args.device, args.segment_fn, args.batch, args.clean
    )
    options = EvalOptions(
        samples=args.samples,
        insert_units=args.insert_units,
        insert_quantile=args.insert_quantile,
        mask=args.mask,
        placement=args.placement,
        examples=args.examples_per_concept if args.examples else 0,
        batch_size=args.batch,
    )
    result = evaluate_layer(
        target, options, args.examples, progress_factory(not args.json and not args.quiet)
    )
    if result.examples is not None and not args.json:
        print(f"wrote {result.examples}")
    if args.json:
        json.dump(result.table, sys.stdout)
        sys.stdout.write("\n")
        return 0
    mask = args.mask
    if args.placement == "context":
        mask += " (door, dome, tree, window: concept-sized, placed in context)"
    _print_evaluation(result, args.samples, mask, [str(k) for k in options.ks])
    if target.zeroed:
        count = sum(len(u) for u in target.zeroed.values())
        print(f"artifacts cleaned: {count} units zeroed, as the app paints (--no-clean: not)")
    _print_by_covered(result, args.placement)
    return 0


def _print_by_covered(result, placement: str) -> None:
    print(f"\ninsertion by the class the square covered ({placement} placement):")
    for name, row in result.table.items():
        groups = row.get("insertion_by_covered")
        if groups:
            cells = ", ".join(
                f"{c} {g['insertion']:.3f} ({g['squares']})" for c, g in groups.items()
            )
            print(f"{name:>10}  {cells}")


def _print_evaluation(result, samples: int, mask: str, ks: list[str]) -> None:
    print(f"{result.model} {result.layer}: {samples} held-out samples, {mask} insertion mask")
    head = f"{'concept':>10} " + " ".join(f"{'rm' + k:>6}" for k in ks)
    print(head + f" {'insert':>7} {'outside':>7}  images(rm/ins)")

    def fmt(x) -> str:
        return "     -" if x is None else f"{x:6.3f}"

    for name, row in result.table.items():
        info = result.details.get(name, {})
        removal = " ".join(fmt(row["removal"][k]) for k in ks)
        print(
            f"{name:>10} {removal} {fmt(row['insertion']):>7} {fmt(row['outside_change']):>7}"
            f"  {info.get('removal_images', 0)}/{info.get('insertion_images', 0)}"
            + (f"  mask {info['mask_cells']} cells" if "mask_cells" in info else "")
        )
