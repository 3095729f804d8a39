"""The picture encoder: a picture -> the generator's z and its first edit layer's features.

A torchvision ResNet trunk (``BasicBlock``, built with ``weights=None``: nothing downloaded)
cut after its third stage, whose stride-16 map is the generator's layer4 grid at 128 px
(8x8); a linear head predicts z from the pooled map and a 1x1 head the edit layer's
features. Trained on the generator's own samples (``ganpaint train-encoder``,
``invert/train_encoder.py``); it gives the inversion its start. Stored as safetensors
(float16 weights, the architecture in the metadata), in a bundle as ``encoder.safetensors``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.core.errors import CheckpointError
from ganpaint.models.checkpoint import (
    check_safetensors_header,
    load_checked_state,
    network_config,
)

ENCODER_FORMAT = "ganpaint-encoder"
ENCODER_VERSION = 1
MAX_Z_DIM = 4096
MAX_CHANNELS = 4096


class PictureEncoder(nn.Module):
    """Images (N, 3, R, R) in [-1, 1] -> (z (N, z_dim), features (N, C, side, side))."""

    def __init__(self, z_dim: int, channels: int, side: int, layer: str, blocks: int = 1):
        super().__init__()
        from torchvision.models.resnet import BasicBlock, ResNet

        trunk = ResNet(BasicBlock, [blocks, blocks, blocks, 1], num_classes=1)
        self.trunk = nn.Sequential(
            trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool, trunk.layer1, trunk.layer2
        )
        self.stage3 = trunk.layer3
        self.z_head = nn.Linear(256, z_dim)
        self.feature_head = nn.Conv2d(256, channels, 1)
        self.z_dim, self.channels, self.side = int(z_dim), int(channels), int(side)
        self.layer, self.blocks = str(layer), int(blocks)

    def config(self) -> dict[str, Any]:
        return {
            "architecture": "resnet-basic-3stage",
            "z_dim": self.z_dim,
            "channels": self.channels,
            "side": self.side,
            "layer": self.layer,
            "blocks": self.blocks,
        }

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.stage3(self.trunk(x))
        if h.shape[-1] != self.side:
            h = F.adaptive_avg_pool2d(h, self.side)
        return self.z_head(h.mean(dim=(2, 3))), self.feature_head(h)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, features) in eval mode, float32, on ``x``'s device."""
        p = next(self.parameters())
        self.eval()
        z, h = self(x.to(p.device, p.dtype))
        return z.float(), h.float()


def save_encoder(model: PictureEncoder, path: str | Path, metadata: dict | None = None) -> None:
    """Write the weights as float16 (the buffers of batch norm as float32) and the config,
    atomically: an interrupted save leaves the bundle's previous encoder whole."""
    from safetensors.torch import save

    from ganpaint.core.files import atomic_write_bytes

    state = {}
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        dtype = torch.float16 if k.endswith("weight") or k.endswith("bias") else torch.float32
        state[k] = v.detach().to("cpu", dtype).contiguous()
    meta = {
        "format": ENCODER_FORMAT,
        "version": str(ENCODER_VERSION),
        "config": json.dumps(model.config()),
    }
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    atomic_write_bytes(path, save(state, metadata=meta))


def _config(path: Path, header: dict) -> dict[str, Any]:
    meta, cfg = network_config(path, header, ENCODER_FORMAT, "encoder")
    version = meta.get("version", "")
    # ASCII digits only: "²".isdigit() is true but int("²") fails
    if not (version.isascii() and version.isdigit() and len(version) < 6):
        raise CheckpointError(f"{path}: encoder version {version[:20]!r} is not a number")
    if int(version) > ENCODER_VERSION:
        raise CheckpointError(f"{path}: encoder version {version!r} is not supported")
    if cfg.get("architecture") != "resnet-basic-3stage":
        raise CheckpointError(f"{path}: unknown encoder architecture")
    limits = {"z_dim": MAX_Z_DIM, "channels": MAX_CHANNELS, "side": 256, "blocks": 4}
    for key, top in limits.items():
        v = cfg.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= top:
            raise CheckpointError(f"{path}: encoder config {key!r} is invalid ({v!r})")
    if not isinstance(cfg.get("layer"), str):
        raise CheckpointError(f"{path}: encoder config 'layer' must be a layer name")
    return cfg


def read_encoder_config(path: str | Path) -> dict[str, Any]:
    """The architecture an encoder file declares, checked with its header (no weights read):
    a quick test that the file is whole and ours."""
    path = Path(path)
    return _config(path, check_safetensors_header(path))


def load_encoder(path: str | Path) -> PictureEncoder:
    """Open an encoder written by :func:`save_encoder` (eval mode, CPU, float32)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such encoder file")
    cfg = read_encoder_config(path)
    model = PictureEncoder(cfg["z_dim"], cfg["channels"], cfg["side"], cfg["layer"], cfg["blocks"])
    return load_checked_state(path, model, "encoder")
