"""Backend settings and mixed-precision guards shared by the training loops (the device
itself is chosen by :func:`ganpaint.core.devices.pick_device`).

bf16 autocast is used only on CUDA, and only after a small forward/backward under autocast
has run and given finite numbers; anything else trains in float32.
"""

from __future__ import annotations

import contextlib

import torch


def setup_backend(device: torch.device) -> None:
    """Fast, deterministic-enough settings for fixed-shape training on this device."""
    if device.type == "cpu":
        # Denormal gradients make CPU convolutions many times slower.
        torch.set_flush_denormal(True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        with contextlib.suppress(Exception):
            torch.set_float32_matmul_precision("high")
        with contextlib.suppress(Exception):
            torch.backends.cudnn.allow_tf32 = True


def bf16_autocast_works(device: torch.device) -> bool:
    """True when bf16 autocast runs a conv forward/backward on ``device`` with finite output."""
    if device.type != "cuda":
        return False
    try:
        if not torch.cuda.is_bf16_supported():
            return False
        conv = torch.nn.Conv2d(4, 4, 3, padding=1).to(device)
        x = torch.randn(2, 4, 8, 8, device=device, requires_grad=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            y = conv(x).square().mean()
        y.backward()
        ok = bool(torch.isfinite(y.float()).item()) and bool(torch.isfinite(x.grad).all().item())
        return ok
    except Exception:  # noqa: BLE001 - any failure means: do not use it
        return False


def autocast(
    device: torch.device, enabled: bool, cache: bool = True
) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when ``enabled``, else a no-op context. ``cache`` False turns
    off autocast's cache of cast weights, as a CUDA graph capture needs."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=cache)
    return contextlib.nullcontext()
