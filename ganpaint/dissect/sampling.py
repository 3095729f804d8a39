"""What every dissection stage shares: the segmentation callable's type, sample latents
(sample ``i`` is ``z_from_seed(seed_base + i)``), the generator run up to chosen layers in
one chain, and unit maps upsampled to image size as GAN Dissection upsamples them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ganpaint.core.seeds import zs_from_seeds
from ganpaint.models.progan import ProGANGenerator, fused_for_inference

DEFAULT_SEED_BASE = 1_000_000_000

SegmentFn = Callable[[torch.Tensor], torch.Tensor]
"""Images (N, 3, H, W) in [-1, 1] -> labels long (N, H, W); values outside [0, K) are ignored."""


def prepare_generator(generator: ProGANGenerator, device: torch.device) -> ProGANGenerator:
    """A copy of ``generator`` on ``device`` in eval mode; on the CPU, as the renderer runs
    it there, with each block's scale and bias folded into its convolution
    (:func:`~ganpaint.models.progan.fused_for_inference`: the same function up to float
    rounding, two fewer passes over each block's output) and channels_last (faster
    convolutions). The caller's module is left as it was."""
    if torch.device(device).type == "cpu":  # fused_for_inference makes its own copy
        return fused_for_inference(generator).to(device, memory_format=torch.channels_last)
    return copy.deepcopy(generator).to(device).eval()


def ordered_layers(generator: ProGANGenerator, layers: Sequence[str]) -> list[str]:
    """``layers`` without repeats, in forward order; unknown names raise ValueError."""
    names = list(generator.layer_names)
    bad = [layer for layer in layers if layer not in names]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a layer of this generator ({', '.join(names)})")
    return sorted(set(layers), key=names.index)


def latents(
    seed_base: int, indices: Sequence[int], z_dim: int, device: torch.device
) -> torch.Tensor:
    """z (N, z_dim) of samples ``indices`` (sample i uses seed ``seed_base + i``)."""
    return zs_from_seeds([seed_base + int(i) for i in indices], z_dim).to(device)


def forward_layers(
    generator: ProGANGenerator, z: torch.Tensor, layers: Sequence[str], to_image: bool
) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Features at each of ``layers`` (in forward order) and, if ``to_image``, the image;
    the chain runs once, in pieces, and stops at the last layer when no image is needed."""
    feats: dict[str, torch.Tensor] = {}
    h, previous = z, None
    for layer in layers:
        h = generator.run(h, after=previous, until=layer)
        feats[layer] = h
        previous = layer
    image = generator.run(h, after=previous) if to_image else None
    return feats, image


def batches(indices: range, batch_size: int) -> list[range]:
    return [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]


def upsample_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling (N, C, h, w) -> (N, C, H, W), as GAN Dissection upsamples units."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)
