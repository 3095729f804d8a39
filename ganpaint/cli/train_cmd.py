"""``ganpaint train-gan``, ``ganpaint train-segmenter``, ``ganpaint evaluate-gan`` and
``ganpaint train-pipeline``: training the scene world's GAN and segmenter, measuring a
generator against the world, and the one-shot pipeline that builds a bundle in a budget."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ganpaint.cli.interrupt import INTERRUPTED, stop_on_interrupt
from ganpaint.cli.options import (
    check_at_least,
    check_positive,
    finite_float,
    writable_file,
    writable_folder,
)


def register(sub: argparse._SubParsersAction) -> None:
    from ganpaint.train.configs import CONFIGS

    names = ", ".join(sorted(CONFIGS))
    p = sub.add_parser(
        "train-gan",
        help="train (or resume) the scene GAN",
        description="Train a ProGAN generator against a small discriminator "
        "(non-saturating loss, lazy R1, EMA generator; bf16 on CUDA) on the config's training "
        "scenes, rendered on all cores but one beside the training (each step waits for its "
        "batch's scenes, so the run does not depend on the machine's speed). OUT gets "
        "state/ (the resumable state: safetensors shards of at most 16 MiB, 40 MiB in all), "
        "samples_XXXXXX.png, metrics.jsonl and "
        "generator_ema.safetensors. Ctrl-C stops at the end of the step with all of it saved "
        "(exit code 130; Ctrl-C again quits at once). Running again with the same OUT "
        "resumes; --resume STATE "
        "continues another run's state (copied from another machine) exactly where it "
        "stopped; --warm-start BUNDLE, where the state is lost, goes on from a bundle's "
        "generator with a fresh discriminator. Under torchrun it trains data-parallel "
        "(nccl on GPUs, gloo on CPU).",
        epilog="examples:\n"
        "  ganpaint train-gan --config scenes64 --out runs/s64 --time-budget 3600\n"
        "  ganpaint train-gan --config tiny --out /tmp/tiny --max-steps 20\n"
        "  ganpaint train-gan --config tiny --out /tmp/t2 --resume /tmp/tiny/state "
        "--max-steps 40\n"
        "  ganpaint train-gan --config scenes256 --out runs/s256 --warm-start models/scenes256\n"
        "  torchrun --nproc-per-node 2 -m ganpaint train-gan --config tiny --out /tmp/ddp\n"
        f"configs: {names}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config", default="scenes64", help=f"training config ({names}; default scenes64)"
    )
    p.add_argument("--out", default=None, help="output folder (default: runs/<config>)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument(
        "--time-budget",
        type=finite_float,
        default=None,
        metavar="S",
        help="stop after S seconds, rendering included (default: the config's, or none)",
    )
    p.add_argument(
        "--max-steps", type=int, default=None, help="total steps (default: the config's)"
    )
    p.add_argument("--no-resume", action="store_true", help="start over even if OUT has a state")
    p.add_argument(
        "--resume",
        default=None,
        metavar="STATE",
        help="continue from this state folder (written to OUT/state from then on)",
    )
    p.add_argument(
        "--warm-start",
        default=None,
        metavar="BUNDLE",
        help="start from this bundle's generator (or generator file) and its training card "
        "when no state is left: the discriminator, optimisers and data order start fresh",
    )
    p.add_argument(
        "--d-warmup-images",
        type=int,
        default=None,
        metavar="N",
        help="with --warm-start: images the fresh discriminator trains on before the "
        "generator moves (default 8192)",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="rendering processes (default: all cores)"
    )
    p.set_defaults(handler=_train_gan)

    p = sub.add_parser(
        "train-segmenter",
        help="train the scene segmenter used for dissection",
        description="Render training scenes (seeds from 1,000,000) and train the small U-Net "
        "segmenter with augmentation that makes it read GAN output too; report mIoU and "
        "per-concept IoU on held-out scenes (seeds from 10,000,000).",
        epilog="example:\n  ganpaint train-segmenter --size 128 --steps 3000 --out seg.safetensors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--size", type=int, default=128, help="image size in pixels (default 128)")
    p.add_argument("--steps", type=int, default=3000, help="training steps (default 3000)")
    p.add_argument(
        "--time-budget", type=finite_float, default=None, metavar="S", help="stop after S seconds"
    )
    p.add_argument("--out", default="segmenter.safetensors", help="file to write")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--scenes", type=int, default=5000, help="training scenes (default 5000)")
    p.add_argument("--heldout", type=int, default=500, help="held-out scenes (default 500)")
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument(
        "--workers", type=int, default=None, help="rendering processes (default: all cores)"
    )
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(handler=_train_segmenter)

    p = sub.add_parser(
        "evaluate-gan",
        help="compare a generator's images with the scene world",
        description="Generate N images (z from seeds 0..N-1) and render N scenes, segment "
        "both with the bundle's segmenter and print per-concept pixel shares side by side, "
        "the Fréchet distance on segmenter features between generated and rendered "
        "images next to the real-vs-real floor (fd, fd_floor, fd_ratio), and the sky noise "
        "ratio (high-pass residual inside eroded sky, generated over rendered).",
        epilog="examples:\n  ganpaint evaluate-gan models/scenes128 --samples 1000\n"
        "  # a 256 px model measured like scenes128, by its segmenter at 128 px:\n"
        "  ganpaint evaluate-gan BUNDLE256 --segmenter models/scenes128/segmenter.safetensors"
        " --size 128",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("bundle", metavar="BUNDLE", help="model bundle folder (with a segmenter)")
    p.add_argument("--samples", type=int, default=1000, help="samples per set (default 1000)")
    p.add_argument("--segmenter", default=None, help="segmenter file (default: the bundle's)")
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="compare at SIZE px: generated and rendered pictures are resized (antialiased) "
        "before segmenting, for a segmenter trained at another size, or to measure models "
        "of different resolutions alike (default: the generator's resolution)",
    )
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_evaluate_gan)

    p = sub.add_parser(
        "train-pipeline",
        help="render, train segmenter and GAN, evaluate and export a bundle in one budget",
        description="Render scenes, train the segmenter and the GAN, evaluate and export a "
        "model bundle to OUT/bundle, all within one time budget (counted from process start).",
        epilog="example:\n  ganpaint train-pipeline --config scenes128 --out runs/p128 "
        "--time-budget 480",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", default="scenes128", choices=sorted(CONFIGS), help="GAN config")
    p.add_argument("--out", required=True, help="output folder (bundle/, samples, metrics, log)")
    p.add_argument("--time-budget", type=finite_float, default=480.0, help="seconds for everything")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument(
        "--segmenter-mode",
        choices=("auto", "concurrent", "sequential"),
        default="auto",
        help="train the segmenter in a parallel process (default on CUDA) or first, here",
    )
    p.add_argument("--workers", type=int, default=None, help="CPU cores to use for rendering")
    p.add_argument("--eval-samples", type=int, default=None, help="samples for evaluate_gan")
    p.add_argument("--gan-scenes", type=int, default=None, help="GAN training scenes")
    p.set_defaults(handler=_train_pipeline)


def _train_gan(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.train.configs import get_config
    from ganpaint.train.run_gan import train_gan

    cfg = get_config(args.config)
    if args.max_steps is not None and args.max_steps < 0:
        raise GanpaintError("--max-steps must be >= 0")
    if args.time_budget is not None and args.time_budget <= 0:
        raise GanpaintError("--time-budget must be positive")
    check_positive(workers=args.workers)
    out = args.out or f"runs/{cfg.name}"
    if args.resume is not None and args.no_resume:
        raise GanpaintError("--resume and --no-resume contradict each other")
    resume = args.resume if args.resume is not None else not args.no_resume
    if args.warm_start is not None or args.d_warmup_images is not None:
        resume = _warm_start(args, Path(out))
    writable_folder(out)
    with stop_on_interrupt("the training") as interrupted:
        summary = train_gan(
            cfg,
            out,
            device=args.device,
            resume=resume,
            time_budget_s=args.time_budget,
            max_steps=args.max_steps,
            workers=args.workers,
            stop_check=interrupted,
        )
    print(
        f"{summary['steps']} steps, {summary['images_seen']} images, "
        f"{summary['img_s']:.1f} img/s on {summary['device']}; wrote {summary['generator']}"
    )
    if interrupted():
        print(f"stopped by Ctrl-C with the state saved in {Path(out) / 'state'}: run the same "
              "command again to go on from there")  # fmt: skip
        return INTERRUPTED
    return 0


def _warm_start(args: argparse.Namespace, out: Path) -> Any:
    """The :class:`~ganpaint.train.warm.WarmStart` the options ask for, or why not."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.train.warm import WarmStart

    if args.warm_start is None:
        raise GanpaintError("--d-warmup-images goes with --warm-start")
    if args.resume is not None:
        raise GanpaintError("--warm-start and --resume contradict each other")
    if (out / "state" / "state.json").is_file() and not args.no_resume:
        raise GanpaintError(
            f"{out} already holds a training state: run again without --warm-start to "
            "resume it exactly, or pass --no-resume to replace it"
        )
    return WarmStart.of(Path(args.warm_start), args.d_warmup_images)


def _train_segmenter(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.train.segmenter import train_segmenter

    if not 16 <= args.size <= 1024:
        raise GanpaintError(f"--size must be in 16..1024, got {args.size}")
    if args.steps < 1 or args.scenes < 1 or args.batch < 1 or args.heldout < 0:
        raise GanpaintError("--steps, --scenes and --batch must be positive")
    if args.time_budget is not None and args.time_budget <= 0:
        raise GanpaintError("--time-budget must be positive")
    check_positive(workers=args.workers)
    writable_file(args.out, "--out")
    result = train_segmenter(
        size=args.size,
        steps=args.steps,
        time_budget_s=args.time_budget,
        out_path=args.out,
        device=args.device,
        n_train=args.scenes,
        n_heldout=args.heldout,
        batch=args.batch,
        workers=args.workers,
        progress=not args.json,
    )
    if args.json:
        print(json.dumps(result.metrics, indent=2))
    else:
        miou = result.metrics.get("miou")
        print(f"wrote {args.out}; held-out mIoU {miou}")
    return 0


def _evaluate_gan(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.models.bundle import load_bundle
    from ganpaint.models.segmenter import load_segmenter
    from ganpaint.train.quality import evaluate_gan, format_report

    if args.samples < 2:
        raise GanpaintError("--samples must be at least 2")
    if args.size is not None and not 16 <= args.size <= 1024:
        raise GanpaintError(f"--size must be in 16..1024, got {args.size}")
    bundle = load_bundle(args.bundle)
    seg = load_segmenter(args.segmenter) if args.segmenter else bundle.load_segmenter()
    if seg is None:
        raise GanpaintError(f"{args.bundle}: the bundle has no segmenter; pass --segmenter FILE")
    result = evaluate_gan(bundle, seg, n=args.samples, device=args.device, size=args.size)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def _train_pipeline(args: argparse.Namespace) -> int:
    """Exit code 0 when the bundle was written, 1 when not."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.train.pipeline import run_pipeline

    if args.time_budget <= 0:
        raise GanpaintError("--time-budget must be positive")
    check_positive(workers=args.workers, gan_scenes=args.gan_scenes)
    check_at_least(eval_samples=(args.eval_samples, 2))
    writable_folder(args.out)
    summary = run_pipeline(
        args.config,
        args.out,
        args.time_budget,
        device=args.device,
        work=args.work,
        segmenter_mode=args.segmenter_mode,
        workers=args.workers,
        eval_samples=args.eval_samples,
        gan_scenes=args.gan_scenes,
        from_process_start=True,
    )
    return 0 if summary.get("bundle") else 1
