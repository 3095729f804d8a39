"""Device choice and mixed-precision guards shared by the training loops.

bf16 autocast is used only on CUDA, and only after a small forward/backward under autocast
has run and given finite numbers; anything else trains in float32.
"""

from __future__ import annotations

import contextlib
import os
import platform

import torch

from ganpaint.core.errors import GanpaintError


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` -> CUDA when available, else CPU; a named device must exist."""
    if isinstance(name, torch.device):
        return name
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise GanpaintError(f"unknown device {name!r} ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GanpaintError("device 'cuda' requested but CUDA is not available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GanpaintError("device 'mps' requested but MPS is not available")
    return device


def describe_device(device: torch.device) -> str:
    """A human-readable hardware description for training cards."""
    if device.type == "cuda":
        try:
            return torch.cuda.get_device_name(device)
        except Exception:  # noqa: BLE001 - a description must never fail a run
            return "CUDA device"
    cpu = platform.processor() or platform.machine() or "CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu} ({os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads)"


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


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when ``enabled``, else a no-op context."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
