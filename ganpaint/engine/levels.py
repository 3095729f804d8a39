"""Per-unit activation levels at chosen quantiles: what "draw" sets a unit to.

:class:`UnitLevels` reads them from a bundle's dissection (levels at a list of quantiles,
interpolated between them) or estimates them from sampled activations when a model has no
dissection (exact quantiles over a few hundred samples; good enough to paint with).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ganpaint.core.seeds import zs_from_seeds
from ganpaint.models.dissection import Dissection

# Seeds used to estimate levels on the fly, far from the seeds a user browses.
ESTIMATE_SEED_BASE = 3_000_000_000


class UnitLevels:
    """Levels (units, len(quantiles)) for one layer, queried at any quantile in range."""

    def __init__(self, quantiles: Sequence[float], levels: torch.Tensor):
        q = torch.as_tensor(list(quantiles), dtype=torch.float64)
        lv = torch.as_tensor(levels, dtype=torch.float32)
        if lv.dim() != 2 or lv.shape[1] != q.numel() or q.numel() == 0:
            raise ValueError("levels must be (units, len(quantiles))")
        order = torch.argsort(q)
        self.quantiles = q[order]
        self.levels = lv[:, order]

    @property
    def units(self) -> int:
        return int(self.levels.shape[0])

    def at(self, quantile: float) -> torch.Tensor:
        """Per-unit level at ``quantile`` (linear between stored quantiles, clamped at ends)."""
        q = self.quantiles
        x = float(quantile)
        if x <= q[0]:
            return self.levels[:, 0].clone()
        if x >= q[-1]:
            return self.levels[:, -1].clone()
        i = int(torch.searchsorted(q, torch.tensor([x], dtype=torch.float64), right=True)) - 1
        t = (x - float(q[i])) / float(q[i + 1] - q[i])
        return self.levels[:, i] * (1 - t) + self.levels[:, i + 1] * t

    @classmethod
    def from_dissection(cls, dissection: Dissection | None, layer: str) -> UnitLevels | None:
        info = dissection.layer(layer) if dissection is not None else None
        if info is None or not info.quantiles or not info.levels:
            return None
        return cls(info.quantiles, torch.tensor(info.levels, dtype=torch.float32))

    @classmethod
    def required(cls, dissection: Dissection | None, layer: str) -> UnitLevels:
        """:meth:`from_dissection`, for callers that cannot go on without levels (ValueError)."""
        levels = cls.from_dissection(dissection, layer)
        if levels is None:
            raise ValueError(f"the dissection has no levels for {layer!r}")
        return levels

    @classmethod
    def estimate(
        cls,
        generator: torch.nn.Module,
        layer: str,
        quantiles: Sequence[float] = (0.5, 0.9, 0.95, 0.99, 0.995, 0.999),
        samples: int = 64,
        device: torch.device | str = "cpu",
    ) -> UnitLevels:
        """Exact quantiles of the layer's activations over ``samples`` generated images."""
        z_dim = generator.z_dim
        chunks = []
        with torch.inference_mode():
            for start in range(0, samples, 16):
                seeds = range(
                    ESTIMATE_SEED_BASE + start, ESTIMATE_SEED_BASE + min(samples, start + 16)
                )
                dtype = next(generator.parameters()).dtype
                z = zs_from_seeds(seeds, z_dim).to(device, dtype)
                h = generator.run(z, until=layer).float()
                chunks.append(h.permute(1, 0, 2, 3).reshape(h.shape[1], -1).cpu())
        acts = torch.cat(chunks, dim=1)
        q = torch.tensor(list(quantiles), dtype=torch.float32)
        levels = torch.quantile(acts, q, dim=1).T.contiguous()
        return cls(quantiles, levels)
