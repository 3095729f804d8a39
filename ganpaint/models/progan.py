"""The ProGAN generator in the official GAN Dissection layout (``layerN.conv.weight``,
``layerN.wscale.b``, ``output_RxR.*``), with equalized-learning-rate scaling done at run time
so the same module serves loading, training and editing.

The module is a chain of named blocks ``layer1 … layer{2S}`` and ``output_RxR``; hooks on a
block see its output after the leaky ReLU, which is where GAN Dissection reads and edits units.
``forward`` returns images in the [-1, 1] scale, *unclamped* (clamp before display).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class PixelNorm(nn.Module):
    """x / sqrt(mean(x^2 over channels) + eps), computed in float32 for half inputs."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype in (torch.float16, torch.bfloat16):
            xf = x.float()
            return (xf * torch.rsqrt(xf.pow(2).mean(dim=1, keepdim=True) + self.eps)).to(x.dtype)
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class WScale(nn.Module):
    """Equalized learning rate: ``x * scale + b``; ``b`` is the block's bias (key ``wscale.b``)."""

    def __init__(self, channels: int, scale: float):
        super().__init__()
        self.scale = scale
        self.b = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.b.view(1, -1, 1, 1).to(x.dtype)


class ConvBlock(nn.Module):
    """Pixel norm, optional 2x nearest upsampling, conv (no bias), wscale, leaky ReLU 0.2."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        padding: int,
        upsample: bool = False,
        activation: bool = True,
        gain: float = math.sqrt(2.0),
    ):
        super().__init__()
        self.norm = PixelNorm()
        self.upsample = upsample
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=padding, bias=False)
        self.wscale = WScale(out_ch, gain / math.sqrt(in_ch * kernel * kernel))
        self.activation = activation
        self.inplace = False
        # A per-picture residual added to the block's output (engine.picture sets it on a
        # copy of the network); non-persistent, so checkpoints never hold it.
        self.register_buffer("offset", None, persistent=False)
        nn.init.normal_(self.conv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.wscale(self.conv(x))
        if self.activation:
            x = F.leaky_relu(x, 0.2, inplace=self.inplace)
        if self.offset is not None:
            x = x + self.offset.to(x.dtype)
        return x

    def fuse_(self) -> None:
        """For inference only: fold the wscale multiply and bias into the convolution, so
        each block makes two fewer passes over its output; activations become in place."""
        if not isinstance(self.wscale, WScale):
            return
        old = self.conv
        conv = nn.Conv2d(
            old.in_channels, old.out_channels, old.kernel_size, padding=old.padding, bias=True
        ).to(device=old.weight.device, dtype=old.weight.dtype)
        with torch.no_grad():
            conv.weight.copy_(old.weight * self.wscale.scale)
            conv.bias.copy_(self.wscale.b)
        self.conv = conv.requires_grad_(False)
        self.wscale = nn.Identity()
        self.inplace = True


class ProGANGenerator(nn.Module):
    """ProGAN generator: z (N, z_dim) -> image (N, 3, R, R), R = 4 * 2**(len(widths) - 1).

    ``widths[s]`` is the channel count of stage s (layers 2s+1 and 2s+2, 1-based).
    """

    def __init__(self, widths: Sequence[int], z_dim: int = 512, out_channels: int = 3):
        super().__init__()
        widths = [int(w) for w in widths]
        if not 2 <= len(widths) <= 9:
            raise ValueError(f"ProGAN needs 2..9 stages (8..1024 px), got {len(widths)}")
        self.widths = tuple(widths)
        self.z_dim = int(z_dim)
        self.resolution = 4 * 2 ** (len(widths) - 1)
        names = []
        in_ch = self.z_dim
        for s, w in enumerate(widths):
            first, second = f"layer{2 * s + 1}", f"layer{2 * s + 2}"
            if s == 0:
                self.add_module(first, ConvBlock(in_ch, w, 4, padding=3))
            else:
                self.add_module(first, ConvBlock(in_ch, w, 3, padding=1, upsample=True))
            self.add_module(second, ConvBlock(w, w, 3, padding=1))
            names += [first, second]
            in_ch = w
        out_name = f"output_{self.resolution}x{self.resolution}"
        self.add_module(
            out_name, ConvBlock(in_ch, out_channels, 1, padding=0, activation=False, gain=1.0)
        )
        self.layer_names: tuple[str, ...] = tuple(names)
        self.output_name = out_name

    # -- running parts of the chain -------------------------------------------------------

    def block_names(self) -> tuple[str, ...]:
        """Every block in order, the output block last."""
        return self.layer_names + (self.output_name,)

    def layer_resolution(self, name: str) -> int:
        """Spatial size of the named layer's output (``layer1``/``layer2`` are 4x4)."""
        if name == self.output_name:
            return self.resolution
        index = self.layer_names.index(name)
        return 4 * 2 ** (index // 2)

    def layer_channels(self, name: str) -> int:
        if name == self.output_name:
            return 3
        return self.widths[self.layer_names.index(name) // 2]

    def run(
        self, x: torch.Tensor, after: str | None = None, until: str | None = None
    ) -> torch.Tensor:
        """Run the blocks strictly after ``after`` up to and including ``until``.

        ``after=None`` starts from z (N, z_dim) or (N, z_dim, 1, 1); ``until=None`` runs to
        the image.
        """
        names = self.block_names()
        start = 0 if after is None else names.index(after) + 1
        stop = len(names) if until is None else names.index(until) + 1
        if start == 0 and x.dim() == 2:
            x = x.view(x.shape[0], x.shape[1], 1, 1)
        for name in names[start:stop]:
            x = getattr(self, name)(x)
        return x

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.run(z)

    def arch_summary(self) -> dict:
        return {
            "architecture": "progan",
            "z_dim": self.z_dim,
            "resolution": self.resolution,
            "widths": list(self.widths),
            "layers": {
                n: [self.layer_channels(n), self.layer_resolution(n), self.layer_resolution(n)]
                for n in self.layer_names
            },
            "parameters": sum(p.numel() for p in self.parameters()),
        }


def seeded_generator(
    widths: Sequence[int], z_dim: int = 512, seed: int = 0, init_std: float | None = None
) -> ProGANGenerator:
    """An untrained generator whose weights depend only on ``seed`` (the global random state
    is left as it was), for inference; ``init_std`` redraws every parameter from
    N(0, init_std) instead of the default initialisation."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = ProGANGenerator(list(widths), z_dim=z_dim)
        if init_std is not None:
            for p in gen.parameters():
                torch.nn.init.normal_(p, std=init_std)
    return gen.eval().requires_grad_(False)


def fused_for_inference(gen: ProGANGenerator) -> ProGANGenerator:
    """A copy of ``gen`` for inference with each block's scale and bias folded into its
    convolution (same function up to float rounding; not for training or saving)."""
    import copy

    fused = copy.deepcopy(gen).eval().requires_grad_(False)
    for module in fused.modules():
        if isinstance(module, ConvBlock):
            module.fuse_()
    return fused


def zero_units_(gen: ProGANGenerator, units: Mapping[str, Iterable[int]]) -> ProGANGenerator:
    """Zero the listed output units of each named layer in place and return ``gen``: the
    conv's filter and bias of each unit become 0, so after the leaky ReLU the unit is exactly
    0 everywhere (the next block's pixel norm sees it as zeroed features would be). Costs no
    extra work per frame, so every render path (full, incremental, CUDA graph) keeps its
    speed. Works on fused and unfused blocks."""
    with torch.no_grad():
        for layer, idx in units.items():
            if layer not in gen.layer_names:
                raise ValueError(f"the generator has no layer {layer!r}")
            keep = [int(u) for u in idx]
            width = gen.layer_channels(layer)
            if any(not 0 <= u < width for u in keep):
                raise ValueError(f"{layer} has units 0..{width - 1}, not {keep}")
            if not keep:
                continue
            block = getattr(gen, layer)
            block.conv.weight[keep] = 0
            if block.conv.bias is not None:
                block.conv.bias[keep] = 0
            if isinstance(block.wscale, WScale):
                block.wscale.b[keep] = 0
            if block.offset is not None:
                block.offset[:, keep] = 0
    return gen


def without_units(gen: ProGANGenerator, units: Mapping[str, Iterable[int]]) -> ProGANGenerator:
    """A copy of ``gen`` with :func:`zero_units_` applied (``gen`` is left as it was)."""
    import copy

    return zero_units_(copy.deepcopy(gen), units)


def block_flops(widths: Sequence[int], z_dim: int = 512) -> dict[str, float]:
    """FLOP (2 x multiply-adds of the convolutions) of each block, in forward order."""
    flops: dict[str, float] = {}
    in_ch = z_dim
    for s, w in enumerate(widths):
        res = 4 * 2**s
        k1 = 16 if s == 0 else 9
        flops[f"layer{2 * s + 1}"] = 2.0 * in_ch * w * k1 * res * res
        flops[f"layer{2 * s + 2}"] = 2.0 * w * w * 9 * res * res
        in_ch = w
    res = 4 * 2 ** (len(widths) - 1)
    flops[f"output_{res}x{res}"] = 2.0 * in_ch * 3 * res * res
    return flops


def progan_flops(widths: Sequence[int], z_dim: int = 512, after: str | None = None) -> float:
    """FLOP of one forward pass, or of the blocks strictly after the layer ``after``."""
    flops = block_flops(widths, z_dim)
    names = list(flops)
    start = 0 if after is None else names.index(after) + 1
    return sum(flops[n] for n in names[start:])
