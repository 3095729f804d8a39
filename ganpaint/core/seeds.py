"""Latent vectors from integer seeds, so any sample (or shard of samples) is reproducible on
its own: z for seed s is numpy's ``RandomState(s).standard_normal(z_dim)`` as float32 (the
legacy RandomState stream is frozen, so the values are the same on every machine)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

MAX_SEED = 2**32 - 1


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The latent vector (z_dim,) float32 for ``seed`` (0 <= seed < 2**32)."""
    seed, z_dim = int(seed), int(z_dim)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in 0..{MAX_SEED}, got {seed}")
    if z_dim < 1:
        raise ValueError(f"z_dim must be positive, got {z_dim}")
    import torch  # here: the app imports MAX_SEED before torch has loaded

    z = np.random.RandomState(seed).standard_normal(z_dim).astype(np.float32)
    return torch.from_numpy(z)


def zs_from_seeds(seeds: Iterable[int], z_dim: int) -> torch.Tensor:
    """Latent vectors (N, z_dim) float32, row i from the i-th seed."""
    import torch

    rows = [z_from_seed(s, z_dim) for s in seeds]
    if not rows:
        return torch.zeros((0, int(z_dim)), dtype=torch.float32)
    return torch.stack(rows)
