"""Exporting what the pipeline trained as a model bundle: the generator as float16
safetensors, the segmenter, bundle.json with the training card, a reopen-and-compare check,
and the summary printed at the end."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.devices import describe_device
from ganpaint.models.bundle import load_bundle, write_bundle_json
from ganpaint.models.checkpoint import save_generator
from ganpaint.models.progan import ProGANGenerator
from ganpaint.models.segmenter import Segmenter, save_segmenter
from ganpaint.train.configs import GANConfig
from ganpaint.train.data import GAN_TRAIN_SEED, concepts
from ganpaint.train.gan import GANTrainer
from ganpaint.train.runlog import Clock, Logger

MAX_BUNDLE_FILE_BYTES = 16 * 1024 * 1024
EDIT_LAYERS = ("layer4", "layer6")


def save_generator_half(gen: ProGANGenerator, path: Path, metadata: dict | None = None) -> str:
    """Write generator weights as float16 safetensors (official key layout); float32 when
    a value would not survive the conversion. Returns the dtype written."""
    state = gen.state_dict().values()
    fits = all(bool(torch.isfinite(v.detach().to("cpu", torch.float16)).all()) for v in state)
    dtype = "float16" if fits else "float32"
    meta = {"dtype": dtype, **{str(k): v for k, v in (metadata or {}).items()}}
    save_generator(gen, path, meta, dtype=getattr(torch, dtype))
    return dtype


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values: keys as strings, tuples as lists, non-finite floats as
    ``None``, tensor and numpy scalars as numbers, anything else as its ``str``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return jsonable(obj.item())
    return str(obj)


def export_bundle(
    trainer: GANTrainer,
    seg_model: Segmenter | None,
    seg_metrics: dict[str, Any],
    gan_summary: dict[str, Any],
    evaluation: dict[str, Any],
    errors: list[str],
    cfg: GANConfig,
    plan: dict[str, Any],
    bundle_dir: Path,
    clock: Clock,
    device: str,
    segmenter_mode: str,
    n_gan_scenes: int,
    log: Logger,
) -> dict[str, Any]:
    """Write generator.safetensors (float16), segmenter.safetensors and bundle.json with
    the training card; reopen the bundle to check it. Returns the summary fields."""
    gen = trainer.export_generator()
    gen_path = bundle_dir / "generator.safetensors"
    meta_w = {"config": cfg.name, "step": trainer.step, "images_seen": trainer.images_seen}
    dtype = save_generator_half(gen, gen_path, meta_w)
    seg_path = bundle_dir / "segmenter.safetensors"
    seg_config = None
    if seg_model is not None:
        save_segmenter(seg_model, seg_path, {"miou": seg_metrics.get("miou")})
        seg_config = dict(seg_model.config())
        seg_config["resolution"] = cfg.resolution
        seg_config["miou"] = seg_metrics.get("miou")
    elif seg_path.exists():
        seg_path.unlink()
    hardware = describe_device(device, hardware=True)
    card = training_card(
        trainer,
        gan_summary,
        seg_metrics,
        evaluation,
        errors,
        cfg,
        clock,
        hardware,
        segmenter_mode,
        n_gan_scenes,
        dtype,
    )
    meta = bundle_meta(cfg, gen, seg_config, card)
    write_bundle_json(bundle_dir, jsonable(meta))
    sizes = {p.name: p.stat().st_size for p in bundle_dir.iterdir() if p.is_file()}
    for name, size in sizes.items():
        if size > MAX_BUNDLE_FILE_BYTES:
            errors.append(f"export: {name} is {size} bytes, over 16 MB")
    verified = reopens_equal(bundle_dir, gen, seg_model is not None, errors)
    log(f"bundle written to {bundle_dir} ({sizes}); reopened and checked: {verified}")
    return {
        "bundle": str(bundle_dir),
        "bundle_files": sizes,
        "bundle_verified": verified,
        "config": cfg.name,
        "steps": trainer.step,
        "images_seen": trainer.images_seen,
        "gan_wall_s": gan_summary.get("wall_s"),
        "gan_img_s": gan_summary.get("img_s"),
        "hardware": hardware,
        "segmenter_miou": seg_metrics.get("miou") if seg_metrics else None,
        "segmenter_iou": seg_metrics.get("iou") if seg_metrics else None,
        "fd": evaluation.get("fd"),
        "fd_real_floor": evaluation.get("fd_real_floor"),
        "fd_ratio": evaluation.get("fd_ratio"),
        "precision": evaluation.get("precision"),
        "recall": evaluation.get("recall"),
        "sky_noise_ratio": evaluation.get("sky_noise_ratio"),
        "sky_line_ratio": evaluation.get("sky_line_ratio"),
        "share_distance": evaluation.get("share_distance"),
        "eval_n": evaluation.get("n"),
        "windows": len(trainer.windows),
    }


def training_card(
    trainer: GANTrainer,
    gan_summary: dict[str, Any],
    seg_metrics: dict[str, Any],
    evaluation: dict[str, Any],
    errors: list[str],
    cfg: GANConfig,
    clock: Clock,
    hardware: str,
    segmenter_mode: str,
    n_gan_scenes: int,
    dtype: str,
) -> dict[str, Any]:
    """The ``training`` record of bundle.json: data, steps, hardware, time, quality, errors."""
    return {
        "config": cfg.to_dict(),
        "steps": trainer.step,
        "images_seen": trainer.images_seen,
        "hardware": hardware,
        "cpu_cores": os.cpu_count(),
        "wall_s": gan_summary.get("wall_s"),
        "img_s": gan_summary.get("img_s"),
        "bf16": gan_summary.get("bf16"),
        "stop_reason": gan_summary.get("stop_reason"),
        "events": list(trainer.events),
        "windows": list(trainer.windows),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataset": {
            "world": "ganpaint.scenes",
            "gan_scenes": n_gan_scenes,
            "gan_seeds": [GAN_TRAIN_SEED, GAN_TRAIN_SEED + n_gan_scenes - 1],
        },
        "pipeline": {
            "time_budget_s": clock.budget_s,
            "elapsed_at_export_s": round(clock.elapsed(), 1),
            "segmenter_mode": segmenter_mode,
        },
        "generator_dtype": dtype,
        "segmenter": seg_metrics or None,
        "evaluation": evaluation,
        "errors": list(errors),
    }


def bundle_meta(
    cfg: GANConfig, gen: ProGANGenerator, seg_config: dict | None, card: dict[str, Any]
) -> dict[str, Any]:
    """bundle.json's fields (before the file hashes) for the exported generator."""
    layers = [name for name in EDIT_LAYERS if name in gen.layer_names] or [gen.layer_names[0]]
    return {
        "name": cfg.name,
        "architecture": "progan",
        "widths": list(gen.widths),
        "z_dim": gen.z_dim,
        "resolution": gen.resolution,
        "edit_layers": layers,
        "default_layer": layers[0],
        "concepts": list(concepts()),
        "segmenter": seg_config,
        "training": card,
    }


def reopens_equal(
    bundle_dir: Path, gen: ProGANGenerator, with_segmenter: bool, errors: list[str]
) -> bool:
    """Whether the written bundle loads (hashes checked) and its generator draws what
    ``gen`` draws; a failure to load is recorded in ``errors``."""
    verified = False
    try:
        bundle = load_bundle(bundle_dir)
        z = torch.randn(2, gen.z_dim)
        with torch.no_grad():
            ref = gen(z)
            got = bundle.generator(z)
        verified = float((ref - got).abs().max()) < 0.1
        if with_segmenter:
            verified = verified and bundle.load_segmenter() is not None
    except Exception as exc:  # noqa: BLE001
        errors.append(f"verifying the bundle: {type(exc).__name__}: {exc}")
    return verified


def print_summary(summary: dict[str, Any], log: Logger) -> None:
    """The end-of-run summary block, to stdout and the log."""
    lines = ["", "=" * 72, "GANPaint training pipeline: summary"]
    for key in (
        "bundle",
        "bundle_verified",
        "config",
        "steps",
        "images_seen",
        "gan_wall_s",
        "gan_img_s",
        "hardware",
        "segmenter_miou",
        "fd",
        "fd_real_floor",
        "fd_ratio",
        "precision",
        "recall",
        "sky_noise_ratio",
        "sky_line_ratio",
        "share_distance",
        "eval_n",
        "windows",
        "pipeline_s",
        "time_budget_s",
    ):
        if key in summary:
            lines.append(f"  {key:<16} {summary[key]}")
    if summary.get("segmenter_iou"):
        iou = summary["segmenter_iou"]
        lines.append("  segmenter IoU    " + ", ".join(f"{k} {v}" for k, v in iou.items()))
    if summary.get("errors"):
        lines.append("  errors:")
        lines += [f"    - {e}" for e in summary["errors"]]
    else:
        lines.append("  errors           none")
    lines.append("=" * 72)
    log("\n".join(lines))
