"""Shared test helpers: random state dicts in the official ProGAN key layout and an
independent forward pass written from the published ProGAN description (Karras et al. 2018 and
GAN Dissection's checkpoint layout, summarised in docs/FORMATS.md), not from ganpaint's own
module."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def official_state_dict(
    widths: list[int], z_dim: int = 512, old_names: bool = False, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Random weights named as GAN Dissection's proggan checkpoints name them."""
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    in_ch = z_dim
    for s, w in enumerate(widths):
        k = 4 if s == 0 else 3
        for i, (cin, kk) in enumerate(((in_ch, k), (w, 3))):
            idx = 2 * s + i
            name = f"features.{idx}" if old_names else f"layer{idx + 1}"
            sd[f"{name}.conv.weight"] = torch.randn(w, cin, kk, kk, generator=g)
            sd[f"{name}.wscale.b"] = torch.randn(w, generator=g) * 0.1
        in_ch = w
    res = 4 * 2 ** (len(widths) - 1)
    out = "output" if old_names else f"output_{res}x{res}"
    sd[f"{out}.conv.weight"] = torch.randn(3, in_ch, 1, 1, generator=g)
    sd[f"{out}.wscale.b"] = torch.randn(3, generator=g) * 0.1
    return sd


def reference_forward(sd: dict[str, torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """ProGAN forward straight from the published description: pixel norm, [upsample], conv,
    x*scale+b, lrelu."""

    def pixnorm(x: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + 1e-8)

    def get(name_new: str, idx: int, part: str) -> torch.Tensor:
        for key in (f"{name_new}.{part}", f"features.{idx}.{part}"):
            if key in sd:
                return sd[key]
        raise KeyError(name_new)

    x = z.view(z.shape[0], -1, 1, 1).double()
    i = 0
    while f"layer{i + 1}.conv.weight" in sd or f"features.{i}.conv.weight" in sd:
        w = get(f"layer{i + 1}", i, "conv.weight").double()
        b = get(f"layer{i + 1}", i, "wscale.b").double()
        k = w.shape[-1]
        x = pixnorm(x)
        if i >= 2 and i % 2 == 0:
            x = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        pad = 3 if i == 0 else 1
        x = F.conv2d(x, w, padding=pad) * (math.sqrt(2) / math.sqrt(w.shape[1] * k * k))
        x = F.leaky_relu(x + b.view(1, -1, 1, 1), 0.2)
        i += 1
    out_w = next(v for k, v in sd.items() if k.startswith("output") and k.endswith("weight"))
    out_b = next(v for k, v in sd.items() if k.startswith("output") and k.endswith(".b"))
    x = pixnorm(x)
    x = F.conv2d(x, out_w.double()) * (1 / math.sqrt(out_w.shape[1])) + out_b.double().view(
        1, -1, 1, 1
    )
    return x.float()
