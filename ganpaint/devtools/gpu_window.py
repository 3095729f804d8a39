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
                                      pipeline.log

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

MAX_FILES = 8
MAX_FILE_BYTES = 16 * 1024 * 1024
STATE_PREFIX = "state-"
TEXT_ARCHIVE = "window.tar.gz"


def run_window(
    config: str,
    seconds: float,
    out: Path,
    gpu_dir: Path,
    device: str | None = None,
    eval_samples: int | None = None,
    workers: int | None = None,
    max_steps: int | None = None,
    speed: str | None = None,
) -> dict[str, Any]:
    """Train one window and write its files to ``out`` (see the module docstring);
    ``max_steps`` (total, resumed steps included) stops it early, for checks on a CPU;
    ``speed`` (``"channels_last+compile"``, ``"base"``) overrides the config's speed-only
    fields for this window (:func:`ganpaint.train.configs.parse_speed`)."""
    from ganpaint.train.configs import get_config, parse_speed
    from ganpaint.train.pipeline import Carry, run_pipeline
    from ganpaint.train.state import read_state

    gpu_dir.mkdir(parents=True, exist_ok=True)
    state = gpu_dir / "state"
    segmenter = gpu_dir / "segmenter.safetensors"
    gan_scenes = None
    resume = None
    if (state / "state.json").is_file():
        meta, _ = read_state(state)
        resume = gpu_dir / "state.resumed"
        shutil.rmtree(resume, ignore_errors=True)
        shutil.copytree(state, resume)
        # The same training set as before, so the data order carries over exactly.
        gan_scenes = (meta.get("data") or {}).get("n")
    carry = Carry(
        resume_state=resume,
        segmenter=segmenter if segmenter.is_file() else None,
        state_out=state,
    )
    cfg = get_config(config)
    if speed is not None:
        cfg = cfg.replace(**parse_speed(speed))
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
    if len(plain) + 1 > MAX_FILES:
        raise GanpaintError(f"a window would return {len(plain) + 1} files, over {MAX_FILES}")
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


def half_copy(src: Path, dst: Path) -> None:
    """Copy a safetensors file with its floating-point tensors in float16 and its metadata
    kept: the carried segmenter then takes half the bytes of the 64 MiB a window may be sent
    (the repository, the state and the segmenter travel together). Loading casts back to
    float32, and rounding to float16 again in a later window changes nothing."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iter)
    half = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(half, str(dst), metadata=meta)


def unpack(files: Path, gpu_dir: Path) -> dict[str, str]:
    """Rebuild ``.gpu/state``, ``.gpu/segmenter.safetensors``, ``.gpu/bundle`` and
    ``.gpu/last`` (summary, metrics, log, samples) from a window's returned files."""
    archive = files / TEXT_ARCHIVE
    if not archive.is_file():
        raise GanpaintError(f"{files}: no {TEXT_ARCHIVE}; not a GPU window's files")
    staging = gpu_dir / "unpack.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "state").mkdir(parents=True)
    (staging / "bundle").mkdir()
    (staging / "last").mkdir()
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(staging / "last", filter="data")
    shutil.move(staging / "last" / "state.json", staging / "state" / "state.json")
    for p in files.glob(STATE_PREFIX + "tensors-*.safetensors"):
        shutil.copyfile(p, staging / "state" / p.name[len(STATE_PREFIX) :])
    for name in ("generator.safetensors", "segmenter.safetensors"):
        if (files / name).is_file():
            shutil.copyfile(files / name, staging / "bundle" / name)
    if (staging / "last" / "bundle.json").is_file():
        shutil.move(staging / "last" / "bundle.json", staging / "bundle" / "bundle.json")
    if (files / "samples.png").is_file():
        shutil.copyfile(files / "samples.png", staging / "last" / "samples.png")
    if (staging / "bundle" / "segmenter.safetensors").is_file():
        half_copy(staging / "bundle" / "segmenter.safetensors", staging / "seg")
    out = {}
    for name, target in (("state", "state"), ("bundle", "bundle"), ("last", "last")):
        shutil.rmtree(gpu_dir / target, ignore_errors=True)
        shutil.move(staging / name, gpu_dir / target)
        out[name] = str(gpu_dir / target)
    if (staging / "seg").is_file():
        shutil.move(staging / "seg", gpu_dir / "segmenter.safetensors")
        out["segmenter"] = str(gpu_dir / "segmenter.safetensors")
    shutil.rmtree(staging, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganpaint.devtools.gpu_window", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train one window, write its files to --out")
    r.add_argument("--config", default="scenes256")
    r.add_argument("--seconds", type=float, required=True, help="wall time for the window")
    r.add_argument("--out", default=os.environ.get("OUT"), help="where the files go ($OUT)")
    r.add_argument("--gpu-dir", default=".gpu", help="state carried between windows")
    r.add_argument("--device", default=None)
    r.add_argument("--eval-samples", type=int, default=None)
    r.add_argument("--workers", type=int, default=None)
    r.add_argument("--max-steps", type=int, default=None, help="stop at this step (checks)")
    r.add_argument(
        "--speed",
        default=None,
        help="speed-only options for this window, e.g. channels_last+compile, or base "
        "(default: the config's; python -m ganpaint.devtools.train_speed measures them)",
    )
    u = sub.add_parser("unpack", help="turn a window's returned files into .gpu/")
    u.add_argument("files", help="the folder the window's files came back to")
    u.add_argument("--gpu-dir", default=".gpu")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "unpack":
            print(json.dumps(unpack(Path(args.files), Path(args.gpu_dir)), indent=1))
            return 0
        if not args.out:
            raise GanpaintError("--out (or $OUT) is required")
        summary = run_window(
            args.config, args.seconds, Path(args.out), Path(args.gpu_dir), args.device,
            args.eval_samples, args.workers, args.max_steps, args.speed,
        )  # fmt: skip
    except GanpaintError as exc:
        print(f"gpu_window: {exc}", file=sys.stderr)
        return 2
    keys = ("bundle", "steps", "images_seen", "fd", "fd_ratio", "sky_noise_ratio", "windows")
    print(json.dumps({k: summary.get(k) for k in (*keys, "window_files", "errors")}))
    return 0 if summary.get("bundle") else 1


if __name__ == "__main__":
    sys.exit(main())
