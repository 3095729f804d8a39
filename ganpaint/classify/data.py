"""Rendered scenes for the classifier, with their label maps and classes, cached on disk.

The seed ranges of the splits are fixed here so every command (and the card) names the same
ones: training scenes (``TRAIN_START``..), scenes for choosing settings (``CHOOSE_START``..:
training length, learning rate, regularisation), and held-out scenes (``HELDOUT_START``..)
that only report. The attacks use their own held-out range (``classify.attack_bundle``).

Rendering 4000 scenes at 128 px takes about 20 s on two cores; the arrays are cached as
``.npy`` files in ``cache/classifier/`` (git-ignored) so reruns read them instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganpaint.scenes import render_dataset, scene_classes

TRAIN_START = 0
CHOOSE_START = 1_000_000
HELDOUT_START = 2_000_000
DEFAULT_CACHE = Path("cache") / "classifier"


@dataclass(frozen=True)
class SceneSet:
    """Scenes ``start .. start + n - 1``: images (N x H x W x 3 uint8), label maps
    (N x H x W uint8) and classes (N int64)."""

    start: int
    images: np.ndarray
    labels: np.ndarray
    classes: np.ndarray

    @property
    def seeds(self) -> range:
        return range(self.start, self.start + len(self.images))


def load_scenes(
    start: int, n: int, size: int, cache: Path | None = DEFAULT_CACHE, workers: int | None = None
) -> SceneSet:
    """Render (or read from ``cache``) scenes ``start..start+n-1`` at ``size`` px."""
    files = None if cache is None else _files(Path(cache), start, n, size)
    for have in _cached(Path(cache), start, n, size) if cache is not None else ():
        try:
            rgb, lab = (np.load(f, mmap_mode="r") for f in _files(Path(cache), start, have, size))
            if rgb.shape == (have, size, size, 3) and lab.shape == (have, size, size):
                rgb, lab = np.array(rgb[:n]), np.array(lab[:n])
                return SceneSet(start, rgb, lab, scene_classes(lab))
        except (OSError, ValueError):
            pass  # a broken cache file: render again and overwrite it
    rgb, lab = render_dataset(n, size, start, workers)
    if files is not None:
        files[0].parent.mkdir(parents=True, exist_ok=True)
        for f, a in zip(files, (rgb, lab), strict=True):
            tmp = f.with_suffix(".tmp.npy")
            np.save(tmp, a)
            tmp.replace(f)
    return SceneSet(start, rgb, lab, scene_classes(lab))


def _files(cache: Path, start: int, n: int, size: int) -> list[Path]:
    return [cache / f"scenes_{start}_{n}_{size}_{k}.npy" for k in ("rgb", "lab")]


def _cached(cache: Path, start: int, n: int, size: int) -> list[int]:
    """Counts of the cached runs from ``start`` at ``size`` holding at least ``n`` scenes,
    smallest first (a longer run's first ``n`` scenes are the same scenes)."""
    counts = []
    for f in cache.glob(f"scenes_{start}_*_{size}_lab.npy") if cache.is_dir() else ():
        part = f.name.split("_")[2]
        if part.isdigit() and int(part) >= n:
            counts.append(int(part))
    return sorted(counts)


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x 3 pictures as the classifier's input: N x 3 x H x W in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def random_zoom(x: torch.Tensor, least: float, gen: torch.Generator) -> torch.Tensor:
    """Each picture of an N x 3 x H x W batch zoomed in on a random square whose side is a
    random share in [``least``, 1] of the picture's, at a random place inside it, and
    resized back (bilinear): the scale and position jitter of the random crops the paper's
    Places365 classifiers were trained with. ``least`` = 1 returns ``x``."""
    if least >= 1.0:
        return x
    n = len(x)
    scale = least + (1.0 - least) * torch.rand(n, generator=gen)
    shift = (2 * torch.rand(n, 2, generator=gen) - 1) * (1.0 - scale)[:, None]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = torch.nn.functional.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", align_corners=False)
