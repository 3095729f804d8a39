"""Rendering many scenes at once, in parallel worker processes."""

from __future__ import annotations

import multiprocessing as mp
import os

import numpy as np

from ganpaint.scenes.render import render_scene


def _render_chunk(job: tuple[int, int, int]) -> tuple[int, np.ndarray, np.ndarray]:
    """Render seeds start..start+count-1 (a module-level function, so "spawn" pools can
    import it)."""
    start, count, size = job
    rgb = np.empty((count, size, size, 3), np.uint8)
    labels = np.empty((count, size, size), np.uint8)
    for k in range(count):
        rgb[k], labels[k] = render_scene(start + k, size)
    return start, rgb, labels


def render_dataset(
    n: int, size: int, start_seed: int = 0, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Render seeds ``start_seed .. start_seed + n - 1``.

    Returns (N, size, size, 3) and (N, size, size) uint8 arrays equal to calling
    :func:`~ganpaint.scenes.render_scene` per seed. Work is split into chunks over a
    multiprocessing pool of ``workers`` processes (default ``os.cpu_count()``); with one
    worker (or a single chunk) it renders in this process."""
    n, size = int(n), int(size)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    workers = int(workers or os.cpu_count() or 1)
    rgb = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty((n, size, size), np.uint8)
    if n == 0:
        return rgb, labels
    chunk = max(1, min(64, -(-n // (workers * 4))))
    jobs = [(start_seed + i, min(chunk, n - i), size) for i in range(0, n, chunk)]
    if workers <= 1 or len(jobs) == 1:
        results = map(_render_chunk, jobs)
        _collect(results, rgb, labels, start_seed)
        return rgb, labels
    with mp.get_context().Pool(min(workers, len(jobs))) as pool:
        _collect(pool.imap_unordered(_render_chunk, jobs), rgb, labels, start_seed)
    return rgb, labels


def _collect(results, rgb: np.ndarray, labels: np.ndarray, start_seed: int) -> None:
    for start, r, lab in results:
        i = start - start_seed
        rgb[i : i + len(r)] = r
        labels[i : i + len(r)] = lab
