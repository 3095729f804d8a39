"""Training data from the scene world: seed ranges, time-capped parallel rendering and
uint8 <-> float conversion.

Seed ranges are disjoint so no evaluation ever sees a training scene:
GAN training ``0..``, segmenter training ``1,000,000..``, held-out segmenter evaluation
``10,000,000..``, GAN quality evaluation ``20,000,000..``.
"""

from __future__ import annotations

import os
import time
import types

import numpy as np
import torch

from ganpaint.train.runlog import Log

GAN_TRAIN_SEED = 0
SEGMENTER_TRAIN_SEED = 1_000_000
HELDOUT_SEED = 10_000_000
EVAL_SEED = 20_000_000


def scenes_module() -> types.ModuleType:
    """``ganpaint.scenes``, imported on first use (tests may substitute a stand-in)."""
    import ganpaint.scenes

    return ganpaint.scenes


def concepts() -> tuple[str, ...]:
    """The scene world's concept names; label value i is ``concepts()[i]``."""
    return tuple(scenes_module().CONCEPTS)


def render_scenes(
    n: int,
    size: int,
    start_seed: int,
    workers: int | None = None,
    time_limit_s: float | None = None,
    min_n: int = 1,
    log: Log | None = None,
    what: str = "scenes",
) -> tuple[np.ndarray, np.ndarray]:
    """Render seeds ``start_seed ..`` in parallel; returns uint8 (N, H, W, 3) and (N, H, W).

    With ``time_limit_s`` the work is split into a few chunks and stops early (returning
    fewer scenes, at least ``min_n``) when the next chunk would not finish in time, so a
    slower-than-expected renderer cannot eat a training budget.
    """
    render_dataset = scenes_module().render_dataset
    n = int(n)
    workers = int(workers or os.cpu_count() or 1)
    start = time.perf_counter()
    if time_limit_s is None or n <= 4 * workers:
        rgb, labels = render_dataset(n, size, start_seed=start_seed, workers=workers)
        _report(log, what, len(rgb), size, time.perf_counter() - start)
        return rgb, labels
    rgb = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty((n, size, size), np.uint8)
    done = 0
    chunk = min(n, 8 * workers)  # a small first chunk measures the rate
    while done < n:
        chunk = min(chunk, n - done)
        if done:
            elapsed = time.perf_counter() - start
            fits = int((time_limit_s - elapsed) * done / max(elapsed, 1e-6) * 0.95)
            chunk = min(chunk, fits if done >= min_n else max(fits, min_n - done))
            if chunk <= 0:
                break
        try:
            r, lab = render_dataset(chunk, size, start_seed=start_seed + done, workers=workers)
        except Exception as exc:
            if done < min_n:
                raise
            if log is not None:
                log(f"rendering {what} failed after {done} scenes ({exc}); using those")
            break
        rgb[done : done + chunk], labels[done : done + chunk] = r, lab
        done += chunk
        chunk = max(chunk, (n - done) // 4)
    if done < n and log is not None:
        log(f"rendering {what}: time limit {time_limit_s:.0f}s reached, using {done} of {n}")
    _report(log, what, done, size, time.perf_counter() - start)
    return rgb[:done], labels[:done]


def _report(log: Log | None, what: str, n: int, size: int, seconds: float) -> None:
    if log is not None:
        rate = n / seconds if seconds > 0 else 0.0
        log(f"rendered {n} {what} at {size} px in {seconds:.1f}s ({rate:.0f} scenes/s)")


def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1], on the same device."""
    x = images.permute(0, 3, 1, 2).float()
    return x.mul_(1.0 / 127.5).sub_(1.0)


def float_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3), clamped and rounded."""
    x = (images.detach().float().clamp(-1, 1) + 1.0) * 127.5
    return x.round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def random_flip(
    x: torch.Tensor, y: torch.Tensor | None = None, p: float = 0.5
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Flip each sample of (N, C, H, W) ``x`` (and labels (N, H, W) ``y``) left-right with
    probability ``p``."""
    flip = torch.rand(x.shape[0], device=x.device) < p
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    if y is None:
        return x
    return x, torch.where(flip.view(-1, 1, 1), y.flip(-1), y)
