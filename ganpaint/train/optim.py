"""Optimiser and state helpers for resumable training: Adam made once per device, optimiser
state loaded without losing this run's kernel flags, and CPU copies of nested tensors."""

from __future__ import annotations

from typing import Any

import torch


def to_cpu(obj: Any) -> Any:
    """A CPU copy of every tensor in nested dicts, lists and tuples (for checkpoints)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu").clone()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_cpu(v) for v in obj)
    return obj


def plain(value: Any) -> Any:
    """Tuples as lists, recursively, so a config value compares equal to its JSON form."""
    return [plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def make_adam(
    params: Any,
    lr: float,
    betas: tuple[float, float],
    device: torch.device,
    capturable: bool = False,
) -> torch.optim.Adam:
    """Adam (eps 1e-8), the fused kernel on CUDA where this torch has it; ``capturable``
    (CUDA only) keeps its step counts on the device, so a CUDA graph can record its steps."""
    params = list(params)
    if device.type == "cuda":
        flags = {"capturable": True} if capturable else {}
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8, fused=True, **flags)
        except (RuntimeError, TypeError, ValueError):
            if capturable:
                return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8, capturable=True)
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8)


def load_optimizer(opt: torch.optim.Optimizer, state: dict) -> None:
    """Load an optimizer state but keep this run's implementation flags (fused/foreach)."""
    keep = [
        {k: g[k] for k in ("fused", "foreach", "capturable", "differentiable") if k in g}
        for g in opt.param_groups
    ]
    opt.load_state_dict(state)
    for group, flags in zip(opt.param_groups, keep, strict=True):
        group.update(flags)
