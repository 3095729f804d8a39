"""Data-parallel GAN training under ``torchrun`` (nccl on GPUs, gloo on CPU).

Every rank holds the same G, D, EMA generator and optimisers; the global batch is split
evenly over the ranks (all of them walk one shared data order and take their slice of it),
each rank draws its own latents and flips, and after each backward the gradients of the
network being trained are averaged over the ranks in one flat all-reduce, so every rank
takes the same optimiser step. That is what ``DistributedDataParallel`` does for a plain
forward/backward; it is done by hand here (as StyleGAN2-ADA does) because DDP's reducer does
not follow the R1 penalty's gradient of a gradient, the two discriminator passes before one
backward, or the generator step through a frozen discriminator.

Rank 0 decides when to stop, log, snapshot and checkpoint (one small broadcast per step) so
that all ranks act at the same step; it alone writes files.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ganpaint.core.distributed import Dist
from ganpaint.core.errors import GanpaintError

# Rank r > 0 draws its latents and flips from seed + r * this (rank 0 keeps the config seed).
RANK_SEED_STRIDE = 1_000_003


def per_rank_batch(batch: int, dist: Dist) -> int:
    """The slice of the global batch each rank trains on."""
    if batch % dist.world:
        raise GanpaintError(f"the batch ({batch}) must divide evenly over {dist.world} processes")
    return batch // dist.world


def rank_seed(seed: int, dist: Dist) -> int:
    return seed + RANK_SEED_STRIDE * dist.rank


@torch.no_grad()
def broadcast_params(modules: Iterable[torch.nn.Module], dist: Dist) -> None:
    """Rank 0's parameters and buffers on every rank."""
    if not dist.active:
        return
    for module in modules:
        for t in module.state_dict().values():
            dist.broadcast_(t)


@torch.no_grad()
def mean_grads(params: Iterable[torch.nn.Parameter], dist: Dist) -> None:
    """Average the gradients over the ranks (one flat all-reduce)."""
    if not dist.active:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1).float() for g in grads])
    dist.all_reduce_sum_(flat)
    flat.div_(dist.world)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def agree(flags: list[int], dist: Dist, device: torch.device) -> list[int]:
    """Rank 0's ``flags`` on every rank (small non-negative integers)."""
    if not dist.active:
        return flags
    t = torch.tensor(flags, dtype=torch.int64, device=dist.comm_device)
    dist.broadcast_(t)
    return [int(v) for v in t.tolist()]


def gather_rng(dist: Dist, device: torch.device) -> dict[str, torch.Tensor]:
    """Every rank's RNG states, named ``rng.cpu.rankR`` / ``rng.cuda.rankR`` (collective)."""
    mine: dict[str, torch.Tensor | int | float] = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        mine["cuda"] = torch.cuda.get_rng_state(device)
    out: dict[str, torch.Tensor] = {}
    for rank, state in enumerate(dist.all_gather_state(mine)):
        for key, value in state.items():
            assert isinstance(value, torch.Tensor)
            out[f"rng.{key}.rank{rank}"] = value
    return out


def set_rng(tensors: dict[str, torch.Tensor], dist: Dist, device: torch.device) -> bool:
    """Restore this rank's RNG states; False when the state has none for this rank."""
    cpu = tensors.get(f"rng.cpu.rank{dist.rank}")
    if cpu is None:
        return False
    torch.set_rng_state(cpu.to(torch.uint8))
    cuda = tensors.get(f"rng.cuda.rank{dist.rank}")
    if cuda is not None and device.type == "cuda":
        torch.cuda.set_rng_state(cuda.to(torch.uint8), device)
    return True


@torch.no_grad()
def check_in_sync(modules: dict[str, torch.nn.Module], dist: Dist) -> None:
    """Raise when the ranks' weights have drifted apart (a broken gradient average)."""
    if not dist.active:
        return
    for name, module in modules.items():
        mine = torch.stack([t.double().sum() for t in module.state_dict().values()]).sum()
        total = dist.all_reduce_sum_(mine.reshape(1).cpu().clone())
        expect = float(mine) * dist.world
        if abs(float(total) - expect) > 1e-9 * max(abs(expect), 1.0):
            raise GanpaintError(f"data-parallel training: the ranks' {name} weights differ")
