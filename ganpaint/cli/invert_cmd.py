"""``ganpaint invert`` and ``ganpaint train-encoder``: a picture into a paintable project,
the evaluation of that on rendered scenes, and the encoder the inversion starts from."""

from __future__ import annotations

import argparse
import json

from ganpaint.cli.options import check_positive, writable_bundle, writable_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "invert",
        help="turn a picture into a project you can paint on (or --evaluate the inversion)",
        description="Fit the picture to the model's resolution (saying what was done), find "
        "it in the generator (encoder start, residuals on z and the first edit layer, then "
        "an image-specific adaptation of the later layers) and save a .ganpaint project "
        "that renders the picture and paints on it. --evaluate N measures the inversion on "
        "N rendered scenes whose seeds were never used in training (20,000,000 on): PSNR "
        "and segmentation mIoU of the reconstruction, tree insertion against generated "
        "scenes, change outside the brush's reach, seconds per picture.",
        epilog="examples:\n"
        "  ganpaint invert photo.jpg -o photo.ganpaint\n"
        "  ganpaint invert --evaluate 50 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", nargs="?", help="picture file (PNG, JPEG, ...)")
    p.add_argument("-o", "--output", help="project file to write (.ganpaint)")
    p.add_argument("--model", default=None, help="bundle folder (default: the bundled model)")
    p.add_argument("--steps", type=int, default=None, help="optimisation steps (default 200)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--evaluate", type=int, default=None, metavar="N", help="evaluate on N scenes")
    p.add_argument("--seed-base", type=int, default=None, help="first scene seed of --evaluate")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an inversion setting (InvertConfig field) for --evaluate",
    )
    p.add_argument(
        "--rows",
        default=None,
        metavar="FILE",
        help="--evaluate: append each picture's figures to this JSON-lines file and skip the "
        "pictures already in it (a stopped evaluation goes on)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_invert)

    p = sub.add_parser(
        "train-encoder",
        help="train the picture encoder of a bundle on its generator's samples",
        description="Train a small ResNet (torchvision, no pretrained weights) to predict z "
        "and the first edit layer's features from the generator's own images, and write it "
        "into the bundle as encoder.safetensors with its card in bundle.json.",
    )
    p.add_argument("bundle", help="bundle folder")
    p.add_argument("--steps", type=int, default=600, help="optimiser steps (default 600)")
    p.add_argument("--samples", type=int, default=20_000, help="distinct training seeds")
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--out", default=None, help="write the encoder here instead of the bundle")
    p.set_defaults(handler=_train_encoder)


def _invert(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError

    if args.evaluate is not None:
        return _evaluate(args)
    if not args.image or not args.output:
        raise GanpaintError("invert needs IMAGE and -o PROJECT (or --evaluate N)")
    from ganpaint.core.progress import progress_bar
    from ganpaint.invert.project import invert_file

    writable_file(args.output)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or progress_bar("inverting", total)
        bar.update(1)

    done = invert_file(
        args.image,
        args.output,
        model=args.model,
        steps=args.steps,
        device=args.device,
        progress=progress,
    )
    if bar is not None:
        bar.close()
    for note in done.notes:
        print(note)
    print(f"wrote {done.path} ({done.steps} steps, {done.seconds:.1f} s)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ganpaint.core.progress import progress_bar
    from ganpaint.invert.evaluate import EVAL_SEEDS, evaluate_inversion
    from ganpaint.invert.inversion import config_with
    from ganpaint.models.bundle import load_bundle

    check_positive(steps=args.steps)
    if args.rows:
        writable_file(args.rows, "--rows")
    report = evaluate_inversion(
        load_bundle(args.model),
        args.evaluate,
        seed_base=EVAL_SEEDS if args.seed_base is None else args.seed_base,
        steps=args.steps,
        config=config_with(args.set),
        device=args.device,
        progress=progress_bar,
        rows=args.rows,
    )
    if args.json:
        print(json.dumps(report))
        return 0
    for key in ("psnr", "miou", "insertion_ratio", "outside_max_levels", "seconds_per_image"):
        print(f"{key}: {report[key]}")
    return 0


def _train_encoder(args: argparse.Namespace) -> int:
    from ganpaint.core.progress import progress_bar
    from ganpaint.invert.train_encoder import EncoderConfig, train_encoder

    cfg = EncoderConfig(steps=args.steps, samples=args.samples, batch=args.batch)
    if args.out:
        writable_file(args.out, "--out")
    else:
        writable_bundle(args.bundle, "the encoder")
    card = train_encoder(args.bundle, cfg, args.device, args.out, progress=progress_bar)
    print(json.dumps(card["training"]))
    return 0
