"""``ganpaint train-encoder``: the picture encoder trained on the generator's own samples.

Each step draws a batch of seeds from the encoder's own range (:data:`ENCODER_SEEDS`, never
the GAN's training seeds or the evaluation's), runs the generator to the first edit layer
and on to the image, and teaches the encoder (``models/encoder.py``) to predict both the
latent z and that layer's features from the image. The loss is the mean squared error of
each, the features' divided by their variance so both count alike. The result goes into the
bundle as ``encoder.safetensors`` with an ``encoder`` card in ``bundle.json``.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganpaint.core.devices import describe_device, pick_device
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.core.seeds import zs_from_seeds
from ganpaint.models.bundle import ENCODER_FILE, load_bundle, write_bundle_json
from ganpaint.models.encoder import PictureEncoder, save_encoder

# Generator seeds of the encoder's training samples: start and count of the range.
ENCODER_SEEDS = (40_000_000, 10_000_000)


@dataclass(frozen=True)
class EncoderConfig:
    steps: int = 2000
    samples: int = 20_000  # distinct seeds, drawn from the start of ENCODER_SEEDS
    batch: int = 32
    lr: float = 1e-3
    blocks: int = 1
    feature_weight: float = 1.0
    seed: int = 0


def train_encoder(
    bundle_path: str | Path | None,
    config: EncoderConfig,
    device: str | None = None,
    out: str | Path | None = None,
    progress: ProgressFactory = no_progress,
) -> dict[str, Any]:
    """Train an encoder for the bundle's generator; write it to ``out`` (default: into the
    bundle, with its card in bundle.json). Returns the card."""
    if config.steps < 1 or config.samples < 1 or config.batch < 1:
        raise GanpaintError("--steps, --samples and --batch must be at least 1")
    if config.samples > ENCODER_SEEDS[1]:
        raise GanpaintError(f"--samples must be at most {ENCODER_SEEDS[1]}")
    bundle = load_bundle(bundle_path)
    dev = pick_device(device)
    gen = bundle.generator.to(dev).eval().requires_grad_(False)
    layer = bundle.edit_layers[0]
    torch.manual_seed(config.seed)
    enc = PictureEncoder(
        gen.z_dim, gen.layer_channels(layer), gen.layer_resolution(layer), layer, config.blocks
    ).to(dev)
    opt = torch.optim.Adam(enc.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.steps)
    rng = torch.Generator().manual_seed(config.seed)
    bar = progress("encoder", config.steps)
    start, losses = time.perf_counter(), []
    for _ in range(config.steps):
        seeds = torch.randint(0, config.samples, (config.batch,), generator=rng) + ENCODER_SEEDS[0]
        z = zs_from_seeds(seeds.tolist(), gen.z_dim).to(dev)
        with torch.no_grad():
            h = gen.run(z, until=layer)
            images = gen.run(h, after=layer).clamp(-1, 1)
        z_pred, h_pred = enc(images)
        loss = F.mse_loss(z_pred, z) + config.feature_weight * F.mse_loss(h_pred, h) / h.var()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        bar.update(1)
    bar.close()
    card = _card(bundle, enc, config, dev, losses, time.perf_counter() - start)
    target = Path(out) if out else bundle.path / ENCODER_FILE
    save_encoder(enc.cpu(), target, {"card": json.dumps(card)})
    if out is None:
        meta = dict(bundle.meta)
        meta["encoder"] = card
        write_bundle_json(bundle.path, meta)
    return card


def _card(bundle, enc: PictureEncoder, cfg: EncoderConfig, dev, losses, wall: float) -> dict:
    tail = losses[-max(1, len(losses) // 20) :]
    return {
        **enc.config(),
        "predicts": f"z ({enc.z_dim}) and {enc.layer} features "
        f"({enc.channels}x{enc.side}x{enc.side}) from the generator's image",
        "parameters": sum(p.numel() for p in enc.parameters()),
        "training": {
            **asdict(cfg),
            "seeds": [ENCODER_SEEDS[0], ENCODER_SEEDS[0] + cfg.samples - 1],
            "final_loss": round(sum(tail) / len(tail), 5),
            "wall_s": round(wall, 1),
            "device": describe_device(dev, hardware=True),
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "generator": bundle.name,
        },
    }
