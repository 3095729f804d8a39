"""One GPU window of a long GAN run, and bringing its result home.

GPU time comes in short windows (minutes) on machines that keep nothing, and what comes back
is a handful of files. ``run`` trains for a given wall time, continuing the state that the
last window left in ``.gpu/`` (git-ignored; carry it to the next machine), and puts at most
8 files of at most 16 MiB into ``--out``::

    state-tensors-NNNNN.safetensors   the GAN state's shards (float16/bfloat16 for scenes256)
    generator.safetensors             the exported EMA generator (float16)
    segmenter.safetensors             the segmenter (reused from .gpu/ or trained this window)
    samples.png                       the last 8x8 sample grid
    window.tar.gz                     state.json, bundle.json, summary.json, metrics.jsonl,
                                      pipeline.log (and ab.json from ``ab``)

A call brings 8 files back and its own ``log.txt`` is one, so a window may use 7
(:data:`TOOL_FILES`: 6 with two state shards, and ``ab`` adds ``samples-other.png``).

The window itself is :func:`ganpaint.train.pipeline.run_pipeline` with a
:class:`~ganpaint.train.pipeline.Carry`: scenes rendering on all cores but one from the
start, (segmenter,) the GAN from the carried state as soon as its first batch is there,
evaluate (``evaluate_gan``: fd, fd_ratio, sky noise, shares), export the bundle with the
training card listing every window. ``unpack`` turns the returned files back into
``.gpu/state``, ``.gpu/segmenter.safetensors`` and ``.gpu/bundle``::

    python -m ganpaint.devtools.gpu_window run --config scenes256 --seconds 420 --out "$OUT"
    python -m ganpaint.devtools.gpu_window unpack FILES_AT --gpu-dir .gpu
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools.gpu_ab import AB_VARIANTS, run_ab
from ganpaint.devtools.gpu_files import (
    LOG_SLOTS,
    MAX_FILE_BYTES,
    MAX_FILES,
    STATE_PREFIX,
    TEXT_ARCHIVE,
    TOOL_FILES,
    keep,
    unpack,
    warm_start_for,
)
from ganpaint.devtools.window_recipe import card_of, recipe_changes, run_batch
from ganpaint.devtools.window_speed import SPEED_FILE, auto_batch, auto_speed, auto_window


def run_window(
    config: str,
    seconds: float,
    out: Path,
    gpu_dir: Path,
    *,
    device: str | None = None,
    eval_samples: int | None = None,
    workers: int | None = None,
    max_steps: int | None = None,
    speed: str | None = None,
    d_spectral: bool = False,
    ema_half_life_images: int | None = None,
    d_projected: float | None = None,
    warm_start: Path | None = None,
    d_warmup_images: int | None = None,
    batch: int | str | None = None,
    d_highpass: float | None = None,
) -> dict[str, Any]:
    """Train one window and write its files to ``out`` (see the module docstring);
    ``max_steps`` (total, resumed steps included) stops it early, for checks on a CPU;
    ``speed`` (``"channels_last+compile"``, ``"base"``) overrides the config's speed-only
    fields for this window (:func:`ganpaint.train.configs.parse_speed`); ``d_spectral``
    adds the discriminator's spectral branch, which a state that has it keeps anyway;
    ``ema_half_life_images`` sets the EMA's half-life, which a state then keeps (a window
    without it takes the state's, or a warm start's card's, so a run goes on with the
    recipe it has); ``d_projected``
    likewise sets the weight of the discriminator's projected heads
    (:mod:`ganpaint.train.projected`), adding them to a state without them; ``warm_start``
    (a bundle or generator file) starts the GAN from that generator when ``gpu_dir`` holds
    no state (:func:`~ganpaint.devtools.gpu_files.warm_start_for`, :mod:`ganpaint.train.warm`;
    ``d_warmup_images``: how long the fresh D trains before G moves); ``batch`` sets the
    batch size, which a state then keeps like the half-life, or ``"auto"`` picks it from the
    probe's rows in ``gpu_dir`` (:func:`~ganpaint.devtools.window_speed.auto_batch`);
    ``d_highpass`` sets the weight of the high-pass head (:mod:`ganpaint.train.highpass`)
    as ``d_projected`` does the projected heads'."""
    from ganpaint.train.configs import SPEED_OPTIONS, get_config, parse_speed, speed_spec
    from ganpaint.train.pipeline import Carry, run_pipeline
    from ganpaint.train.state import read_state

    gpu_dir.mkdir(parents=True, exist_ok=True)
    warm = _warm(gpu_dir, warm_start, d_warmup_images)
    state = gpu_dir / "state"
    segmenter = gpu_dir / "segmenter.safetensors"
    gan_scenes = None
    resume = None
    meta: dict[str, Any] = {}
    if (state / "state.json").is_file():
        meta, _ = read_state(state)
        resume = gpu_dir / "state.resumed"
        shutil.rmtree(resume, ignore_errors=True)
        shutil.copytree(state, resume)
        # The same training set as before, so the data order carries over exactly.
        gan_scenes = (meta.get("data") or {}).get("n")
    elif warm is not None:  # the recipe the kept bundle was trained with, from its card
        meta = card_of(warm.bundle)
    carry = Carry(
        resume_state=resume,
        segmenter=segmenter if segmenter.is_file() else None,
        state_out=state,
        warm_start=warm,
    )
    cfg = get_config(config)
    if speed is not None:
        cfg = cfg.replace(**parse_speed(speed))
    saved = meta.get("config") or {}
    if batch == "auto":
        used = speed_spec(n for n in SPEED_OPTIONS if getattr(cfg, n))
        batch = auto_batch(gpu_dir / SPEED_FILE, used, int(saved.get("batch", cfg.batch)))
    cfg = cfg.replace(**recipe_changes(saved, d_spectral, ema_half_life_images, d_projected, batch,
                                       d_highpass))  # fmt: skip
    run_dir = gpu_dir / "window"
    shutil.rmtree(run_dir, ignore_errors=True)
    if max_steps is not None:
        cfg = cfg.replace(max_steps=int(max_steps))
    summary = run_pipeline(
        cfg,
        run_dir,
        seconds,
        device=device,
        work=gpu_dir / "work",
        workers=workers,
        eval_samples=eval_samples,
        gan_scenes=gan_scenes,
        from_process_start=True,
        carry=carry,
    )
    bundle = run_dir / "bundle"
    if (bundle / "segmenter.safetensors").is_file() and not segmenter.is_file():
        shutil.copyfile(bundle / "segmenter.safetensors", segmenter)
    written = pack(run_dir, state, out)
    summary["window_files"] = written
    return summary


def _warm(gpu_dir: Path, bundle: Path | None, d_warmup_images: int | None) -> Any:
    """The :class:`~ganpaint.train.warm.WarmStart` of a window, None when it resumes."""
    from ganpaint.train.warm import WarmStart

    bundle = warm_start_for(gpu_dir, bundle)
    return None if bundle is None else WarmStart.of(bundle, d_warmup_images)


def pack(run_dir: Path, state: Path, out: Path) -> list[str]:
    """Put the window's files into ``out``; refuse more than 8 files or one over 16 MiB."""
    out.mkdir(parents=True, exist_ok=True)
    bundle = run_dir / "bundle"
    plain: list[tuple[Path, str]] = [
        (p, STATE_PREFIX + p.name) for p in sorted(state.glob("tensors-*.safetensors"))
    ]
    for name in ("generator.safetensors", "segmenter.safetensors"):
        if (bundle / name).is_file():
            plain.append((bundle / name, name))
    if (run_dir / "samples.png").is_file():
        plain.append((run_dir / "samples.png", "samples.png"))
    texts = [
        (state / "state.json", "state.json"),
        (bundle / "bundle.json", "bundle.json"),
        (run_dir / "summary.json", "summary.json"),
        (run_dir / "metrics.jsonl", "metrics.jsonl"),
        (run_dir / "pipeline.log", "pipeline.log"),
    ]
    if len(plain) + 1 > TOOL_FILES:
        raise GanpaintError(
            f"a window would return {len(plain) + 1} files, over {TOOL_FILES} "
            f"({MAX_FILES} come back, {LOG_SLOTS} of them the call's log.txt)"
        )
    names = []
    for src, name in plain:
        if src.stat().st_size > MAX_FILE_BYTES:
            raise GanpaintError(f"{src} is {src.stat().st_size} bytes, over 16 MiB")
        shutil.copyfile(src, out / name)
        names.append(name)
    with tarfile.open(out / TEXT_ARCHIVE, "w:gz") as tar:
        for src, name in texts:
            if src.is_file():
                tar.add(src, arcname=name)
    names.append(TEXT_ARCHIVE)
    return names


WINDOW_OPTIONS = (
    "config", "seconds", "device", "eval_samples", "workers", "max_steps", "speed", "warm_start",
    "d_warmup_images", "batch",
)  # fmt: skip


def _window_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="scenes256")
    p.add_argument("--seconds", type=float, required=True, help="wall time for the window")
    p.add_argument("--out", default=os.environ.get("OUT"), help="where the files go ($OUT)")
    p.add_argument("--gpu-dir", default=".gpu", help="state carried between windows")
    p.add_argument("--device", default=None)
    p.add_argument("--eval-samples", type=int, default=None)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--max-steps", type=int, default=None, help="stop at this step (checks)")
    p.add_argument(
        "--speed",
        default=None,
        help="speed-only options for this window, e.g. channels_last+compile, or base, or "
        "auto: the best by the rows python -m ganpaint.devtools.train_speed --json wrote to "
        "GPU_DIR/speed.json (default: the config's)",
    )
    p.add_argument(
        "--warm-start",
        default=None,
        metavar="BUNDLE",
        help="when GPU_DIR has no state (a fresh checkout lost it), start the GAN from this "
        "bundle's generator and card, with a fresh discriminator, and take its segmenter",
    )
    p.add_argument("--d-warmup-images", type=int, default=None, metavar="N",
                   help="with a warm start: images D trains on before G moves "
                   "(default 8192)")  # fmt: skip
    p.add_argument("--batch", type=_batch, default=None, metavar="N|auto",
                   help="batch size, which the state then keeps (default: the state's, or "
                   "the config's), or auto: another, at most twice the run's, where the rows "
                   "in GPU_DIR/speed.json show it trains 1.8x the images (with --speed auto, "
                   "speed and batch are picked together)")  # fmt: skip


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def _batch(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _run_args(args: argparse.Namespace) -> list[str]:
    """``run``'s options (all but --out and --gpu-dir) as given, for an A/B arm."""
    out = []
    for name in WINDOW_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            out += [f"--{name.replace('_', '-')}", str(value)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganpaint.devtools.gpu_window", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train one window, write its files to --out")
    _window_options(r)
    r.add_argument(
        "--d-spectral",
        action="store_true",
        help="add the discriminator's spectral branch (a state that has it keeps it)",
    )
    r.add_argument("--ema-half-life-images", type=_positive_int, default=None,
                   help="EMA half-life in images (default: the state's or config's)")  # fmt: skip
    r.add_argument("--d-projected", type=_positive_float, default=None,
                   help="weight of the discriminator's projected heads on the bundled "
                   "classifier's features (default: the state's; none)")  # fmt: skip
    r.add_argument("--d-highpass", type=_positive_float, default=None,
                   help="weight of the discriminator's high-pass head (default: the "
                   "state's; none)")  # fmt: skip
    a = sub.add_parser(
        "ab",
        help="two windows from the same state, B with --variant; the better one's files go "
        "to --out and its state goes on",
    )
    _window_options(a)
    a.add_argument("--variant", required=True, help=f"what B adds: {', '.join(AB_VARIANTS)}")
    u = sub.add_parser("unpack", help="turn a window's returned files into .gpu/")
    u.add_argument("files", help="the folder the window's files came back to")
    u.add_argument("--gpu-dir", default=".gpu")
    k = sub.add_parser("keep", help="copy .gpu/bundle to a bundled model's folder to commit")
    k.add_argument("target", help="the folder under models/, e.g. models/scenes256")
    k.add_argument("--gpu-dir", default=".gpu")
    k.add_argument("--drop-others", action="store_true",
                   help="replace the folder whole, even its dissection of an older "
                   "generator")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.cmd == "unpack":
            print(json.dumps(unpack(Path(args.files), Path(args.gpu_dir)), indent=1))
            return 0
        if args.cmd == "keep":
            kept = keep(Path(args.gpu_dir), Path(args.target), args.drop_others)
            print(json.dumps(kept, indent=1))
            return 0
        if args.cmd == "ab" and args.warm_start is not None:  # its arms need a segmenter
            warm_start_for(Path(args.gpu_dir), Path(args.warm_start))
        if not args.out:
            raise GanpaintError("--out (or $OUT) is required")
        if args.speed == "auto" and args.batch == "auto":  # picked together
            warm = Path(args.warm_start) if args.warm_start else None
            batch = run_batch(Path(args.gpu_dir), args.config, warm)
            rows = Path(args.gpu_dir) / SPEED_FILE
            args.speed, args.batch = auto_window(rows, args.seconds, batch)
        elif args.speed == "auto":
            args.speed = auto_speed(Path(args.gpu_dir) / SPEED_FILE, args.seconds)
        if args.speed is not None:
            from ganpaint.train.configs import parse_speed

            parse_speed(args.speed)  # refused here, before any window starts
        if args.cmd == "ab":
            result = run_ab(args.variant, _run_args(args), Path(args.out), Path(args.gpu_dir))
            print(json.dumps(result))
            return 0
        summary = run_window(
            args.config, args.seconds, Path(args.out), Path(args.gpu_dir),
            device=args.device, eval_samples=args.eval_samples, workers=args.workers,
            max_steps=args.max_steps, speed=args.speed, d_spectral=args.d_spectral,
            ema_half_life_images=args.ema_half_life_images, d_projected=args.d_projected,
            warm_start=Path(args.warm_start) if args.warm_start else None,
            d_warmup_images=args.d_warmup_images, batch=args.batch, d_highpass=args.d_highpass,
        )  # fmt: skip
    except GanpaintError as exc:
        print(f"gpu_window: {exc}", file=sys.stderr)
        return 2
    keys = ("bundle", "steps", "images_seen", "fd", "fd_ratio", "precision", "recall",
            "sky_noise_ratio", "sky_line_ratio", "windows")  # fmt: skip
    print(json.dumps({k: summary.get(k) for k in (*keys, "window_files", "errors")}))
    return 0 if summary.get("bundle") else 1


if __name__ == "__main__":
    sys.exit(main())
