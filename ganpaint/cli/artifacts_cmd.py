"""``ganpaint artifacts``: the units whose zeroing cleans the generated images most."""

from __future__ import annotations

import argparse
import json
import sys

from ganpaint.cli.options import check_at_least, finite_float, layer_names, writable_bundle


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "artifacts",
        help="find the units that draw artifacts (stripes, speckle) and the set to zero",
        description="For each unit of the chosen layers, zero it on a fixed sample of screen "
        "seeds and measure how the images change: the high-pass residual in sky first; with a "
        "segmenter, also GAN Dissection's screen, the Fréchet distance to rendered scenes of "
        "the images where each unit fires most. The best candidates of both get the full "
        "measure: the Fréchet distance of segmenter features to rendered scenes and the sky "
        "noise of `ganpaint evaluate-gan`. A greedy set lowers both most "
        "while no concept's pixel share moves by more than --max-share-shift points. A model "
        "with no segmenter (an official checkpoint) is measured without one: the high-pass "
        "residual in flat regions found by colour, and the percentage of pixels whose colour "
        "changes in place of the shares. --evaluate reports the set on held-out seeds; "
        "--write stores it in the bundle's dissection.json (artifact_units per layer) if it "
        "helps there, where View > Clean artifacts zeroes it in every frame.",
    )
    p.add_argument("bundle", nargs="?", default=None, help="bundle folder (default: bundled)")
    p.add_argument("--layers", default="layer4,layer6", help="comma-separated layers to screen")
    p.add_argument("--seeds", type=int, default=32, help="screen seeds per unit (default 32)")
    p.add_argument(
        "--candidates", type=int, default=24,
        help="units per layer from the residual screen given the full measure (default 24)",
    )  # fmt: skip
    p.add_argument(
        "--fd-candidates", type=int, default=24,
        help="units per layer from the top-activation screen (default 24; 0 skips it)",
    )  # fmt: skip
    p.add_argument("--top-seeds", type=int, default=2000, help="top-activation screen seeds")
    p.add_argument("--top-k", type=int, default=200, help="images per unit in that screen")
    p.add_argument(
        "--measure-seeds", type=int, default=256,
        help="screen seeds of the full measure and the greedy set (default 256)",
    )  # fmt: skip
    p.add_argument("--max-units", type=int, default=16, help="largest set (default 16)")
    p.add_argument("--max-share-shift", type=finite_float, default=1.0, help="points (default 1)")
    p.add_argument(
        "--max-relative-change", type=finite_float, default=15.0,
        help="percent of a concept's own share, for concepts of 0.2 %% of the pixels and up "
        "(default 15)",
    )  # fmt: skip
    p.add_argument("--heldout", type=int, default=200, help="held-out seeds for --evaluate")
    p.add_argument(
        "--heldout-from", type=int, default=None, metavar="SEED",
        help="first held-out seed (default 40000000); another start gives a fresh range",
    )  # fmt: skip
    p.add_argument("--evaluate", action="store_true", help="report the set on held-out seeds")
    p.add_argument("--write", action="store_true", help="store the set where it helps")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_artifacts)


def _artifacts(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.dissect.artifacts import ArtifactOptions
    from ganpaint.dissect.artifacts_run import artifacts_for_bundle

    for name, least in (("seeds", 2), ("heldout", 2), ("candidates", 1), ("max_units", 1),
                        ("fd_candidates", 0), ("top_seeds", 2), ("top_k", 2),
                        ("measure_seeds", 2)):  # fmt: skip
        if getattr(args, name) < least:
            raise GanpaintError(f"--{name.replace('_', '-')} must be at least {least}")
    check_at_least(max_share_shift=(args.max_share_shift, 0),
                   max_relative_change=(args.max_relative_change, 0))  # fmt: skip
    if args.heldout_from is not None and not 0 <= args.heldout_from < 2**31 - 100_000:
        raise GanpaintError(f"--heldout-from must be a seed from 0 to {2**31 - 100_001}")
    layers = tuple(layer_names(args.layers))
    if not layers:
        raise GanpaintError("--layers names no layer")
    options = ArtifactOptions(
        layers=layers,
        screen_seeds=args.seeds,
        candidates=args.candidates,
        fd_candidates=args.fd_candidates,
        top_seeds=args.top_seeds,
        top_k=args.top_k,
        measure_seeds=args.measure_seeds,
        max_units=args.max_units,
        max_share_shift=args.max_share_shift,
        max_relative_change=args.max_relative_change,
        heldout=args.heldout,
        **({} if args.heldout_from is None else {"heldout_start": args.heldout_from}),
    )

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.write:
        writable_bundle(args.bundle, "the artifact set")
    result = artifacts_for_bundle(args.bundle, options, args.evaluate, args.write, log)
    if args.json:
        print(json.dumps(result))
        return 0
    print(format_result(result))
    return 0


def format_result(result: dict) -> str:
    """A short plain-text summary of :func:`artifacts_for_bundle`'s result."""
    lines = [f"measure: {result['measure']}; screen seeds {result['screen_seeds']}, "
             f"measured on {result['measure_seeds']}"]  # fmt: skip
    for layer, units in result["units"].items():
        lines.append(f"{layer}: zero {units if units else 'nothing'}")
    for key in ("fd_ratio", "sky_noise", "flat_noise"):
        if f"{key}_before" in result:
            lines.append(f"{key}: {result[f'{key}_before']} -> {result[f'{key}_after']}")
    for key in ("max_share_shift", "max_relative_change", "changed_pixels_percent", "helps",
                "stored"):  # fmt: skip
        if key in result:
            lines.append(f"{key}: {result[key]}")
    return "\n".join(lines)
