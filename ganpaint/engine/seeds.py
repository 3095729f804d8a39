"""Latent vectors from integer seeds, identical on every machine.

NumPy's legacy ``RandomState`` stream is frozen by NumPy's compatibility policy, so a seed
names the same z everywhere (GAN Dissection's z datasets use the same generator).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

MAX_SEED = 2**32 - 1


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The latent vector (z_dim,) float32 for ``seed`` (0 <= seed < 2**32)."""
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in 0..{MAX_SEED}, got {seed}")
    values = np.random.RandomState(seed).standard_normal(int(z_dim)).astype(np.float32)
    return torch.from_numpy(values)


def zs_from_seeds(seeds: Iterable[int], z_dim: int) -> torch.Tensor:
    """Stacked latents (N, z_dim) for several seeds."""
    return torch.stack([z_from_seed(s, z_dim) for s in seeds])
