"""The GAN Dissection edit rule as plain functions on tensors (no GAN needed to test them).

For one stroke with units U, strength a, values v_u and a mask m resampled to the layer's
grid by area averaging:  h[u] <- h[u] * (1 - a*m) + v_u * a*m  for u in U; other units are
untouched. Strokes compose in the order given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class UnitEdit:
    """One stroke lowered to a layer: units, per-unit target values, strength, layer mask."""

    units: torch.Tensor  # long (k,)
    values: torch.Tensor  # float (k,): the level (draw) or zeros (remove)
    strength: float
    mask: torch.Tensor  # float (h, w) in [0, 1] at the layer's resolution


def resample_mask(mask: np.ndarray | torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-average a mask (H, W) to ``size`` = (h, w); uint8 masks are read as value/255.

    Exact block averaging when H, W are multiples of h, w (adaptive pooling otherwise).
    """
    if isinstance(mask, np.ndarray):
        scale = 255.0 if mask.dtype == np.uint8 else 1.0
        t = torch.from_numpy(mask.astype(np.float32) / np.float32(scale))
    else:
        t = mask.to(torch.float32) / 255.0 if mask.dtype == torch.uint8 else mask.float()
    if t.dim() != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {tuple(t.shape)}")
    if tuple(t.shape) == tuple(size):
        return t.clamp(0.0, 1.0)
    pooled = F.adaptive_avg_pool2d(t[None, None], size)[0, 0]
    return pooled.clamp(0.0, 1.0)


def apply_edit(h: torch.Tensor, edit: UnitEdit) -> torch.Tensor:
    """Apply one edit to features ``h`` (N, C, H, W) in place and return ``h``."""
    if edit.units.numel() == 0 or edit.strength == 0.0:
        return h
    units = edit.units.to(h.device)
    alpha = (edit.mask.to(device=h.device, dtype=h.dtype) * float(edit.strength))[None, None]
    values = edit.values.to(device=h.device, dtype=h.dtype).view(1, -1, 1, 1)
    sub = h.index_select(1, units)
    h.index_copy_(1, units, sub * (1.0 - alpha) + values * alpha)
    return h


def apply_strokes(h: torch.Tensor, edits: Sequence[UnitEdit]) -> torch.Tensor:
    """A copy of ``h`` with every edit applied in order (``h`` itself is left unchanged)."""
    out = h.clone()
    for edit in edits:
        apply_edit(out, edit)
    return out
