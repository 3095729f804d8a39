"""Which torch device to run on, and how to name it to a person.

One rule for the whole program: a named device is used if it exists (else a
:class:`~ganpaint.core.errors.DeviceError` naming it); with no name, CUDA, then Apple MPS,
then the CPU. :func:`describe_device` gives the short form the status bar and benchmarks
print, or with ``hardware=True`` the long form a training card records.
:func:`native_bf16` says whether bfloat16 autocast pays there.
"""

from __future__ import annotations

import functools
import os
import platform

import torch

from ganpaint.core.errors import DeviceError

AUTO = (None, "", "auto")


def available_devices() -> tuple[str, ...]:
    """The device types usable here, CPU first (``("cpu", "cuda")`` on a CUDA machine)."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if torch.backends.mps.is_available():
        found.append("mps")
    return tuple(found)


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """``name`` if given and present; ``None``/``""``/``"auto"``: CUDA, then MPS, then CPU."""
    if isinstance(name, torch.device):
        device = name
    elif name in AUTO:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    else:
        try:
            device = torch.device(str(name))
        except RuntimeError:
            raise DeviceError(f"unknown device {name!r} (use cpu, cuda or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA was asked for but no CUDA device is available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("MPS was asked for but is not available")
    return device


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so a timer reads true."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe_device(device: torch.device | str, *, hardware: bool = False) -> str:
    """``"cuda (NVIDIA H100 …)"``, ``"cpu (4 threads)"`` or ``"mps"``; with ``hardware`` the
    processor's model name and core count as well (for training cards). Never raises."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return f"cuda ({torch.cuda.get_device_name(device)})"
        except Exception:  # noqa: BLE001 - a description must never fail a run
            return "cuda"
    if device.type != "cpu":
        return device.type
    threads = torch.get_num_threads()
    plural = "" if threads == 1 else "s"
    if not hardware:
        return f"cpu ({threads} thread{plural})"
    return f"{_cpu_name()} ({os.cpu_count()} logical cores, {threads} torch thread{plural})"


NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
"""CPU flags (``/proc/cpuinfo``) of instructions that compute in bfloat16 natively."""


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively, so that bf16 autocast speeds
    training up there: CUDA with bf16 support, or a CPU with AVX-512 BF16 or AMX (Linux; False
    on other systems, and on MPS). Elsewhere bf16 is emulated: on an AVX2-only 2-core AMD EPYC
    a classifier training pass ran 6.4 images/s in bf16 against 57 in float32."""
    if device.type == "cuda":
        try:
            return bool(torch.cuda.is_bf16_supported())
        except Exception:  # noqa: BLE001 - an answer, not an error
            return False
    return device.type == "cpu" and bool(NATIVE_BF16_FLAGS & _cpu_flags())


@functools.cache
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def _cpu_name() -> str:
    name = platform.processor() or platform.machine() or "CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return name
