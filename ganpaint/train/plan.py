"""The pipeline's plan: how many scenes and seconds each stage gets for a config, a time
budget and a device, and how long evaluation is expected to take."""

from __future__ import annotations

from typing import Any

from ganpaint.models.progan import progan_flops
from ganpaint.models.segmenter import DEFAULT_DECODER, DEFAULT_ENCODER
from ganpaint.train.configs import GANConfig


def make_plan(cfg: GANConfig, budget_s: float, device_type: str, cores: int) -> dict[str, Any]:
    """How many scenes and seconds each stage gets for this config, budget and device."""
    res = cfg.resolution
    small = cfg.name == "tiny" or res <= 32
    gpu = device_type == "cuda"
    seg_arch = {"encoder": list(DEFAULT_ENCODER), "decoder": list(DEFAULT_DECODER)}
    if small:
        seg_train, heldout, eval_n, seg_steps = 128, 32, 32, 40
        seg_arch = {"encoder": [8, 16, 32, 32], "decoder": [8, 16, 32]}
    elif res <= 64:
        seg_train, heldout, eval_n, seg_steps = 3000, 500, 500, None
    else:
        seg_train, heldout, eval_n, seg_steps = 5000, 500, 1000, None
    # On an H100 the segmenter reached mIoU 0.96 in 110 s sharing the GPU with the GAN
    # (whose speed it halves meanwhile); 50 s is enough for >0.9 and costs the GAN ~25 s.
    if gpu:
        seg_seconds = min(50.0, max(5.0, 0.12 * budget_s))
    else:
        seg_seconds = min(600.0, max(5.0, 0.17 * budget_s))
    # Per-image costs for the evaluation estimate (seconds).
    scale = (res / 128) ** 2
    seg_image_s = (0.0006 if gpu else 0.015) * scale
    gen_image_s = 0.0003 if gpu else progan_flops(cfg.g_widths, cfg.z_dim) / 15e9
    return {
        "gan_scenes": cfg.dataset_size,
        "seg_arch": seg_arch,
        "seg_train_scenes": seg_train,
        "heldout_scenes": heldout,
        "eval_samples": eval_n,
        "seg_steps": seg_steps,
        "seg_seconds": seg_seconds,
        "render_cap_s": 0.22 * budget_s,
        "seg_image_s": seg_image_s,
        "gen_image_s": gen_image_s,
        "export_s": 3.0 if not small else 1.0,
        "margin_s": 2.0 + 0.01 * budget_s,
        "cores": cores,
    }


def eval_seconds(plan: dict[str, Any], n: int) -> float:
    """Seconds :func:`evaluate_gan` is expected to need for ``n`` samples (generous: 1,000
    took 1.9 s on an H100)."""
    return 3.0 + n * (3 * plan["seg_image_s"] + plan["gen_image_s"]) * 1.5
