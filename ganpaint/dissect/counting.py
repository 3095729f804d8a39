"""Exact per (unit, concept) pixel counts of thresholded, upsampled unit maps.

Upsampling every unit's map to full size is the expensive part on a CPU (256 units x 128 x 128
per image and layer), so :func:`unit_concept_counts` is exact but sparse: a bilinearly
upsampled value is a convex combination of at most four map cells, so it can exceed the
threshold only in the blocks of pixels next to a cell that does; since the threshold is the
top 0.5 %, those blocks are few, and only they are evaluated. The result equals dense
counting (:func:`unit_masks` with :class:`IoUCounter`, tested).
"""

from __future__ import annotations

import torch

from ganpaint.dissect.sampling import upsample_maps
from ganpaint.dissect.stats import IoUCounter


def unit_masks(
    features: torch.Tensor, thresholds: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """Dense masks bool (B, U, H, W): upsampled unit maps above their thresholds (computed
    in float64, like :func:`unit_concept_counts`)."""
    t = thresholds.to(device=features.device, dtype=torch.float64).view(1, -1, 1, 1)
    return upsample_maps(features.double(), size) > t


def _axis_blocks(cells: int, size: int, device: torch.device):
    """Output pixels of one axis grouped by the pair of cells they interpolate between.

    Bilinear upsampling with ``align_corners=False`` (PyTorch's rule): pixel p reads source
    position s = max((p + 0.5) * cells / size - 0.5, 0) and mixes cells i0 = floor(s) and
    i1 = min(i0 + 1, cells - 1) with weight s - i0 on i1. Returns, per block i0, its pixel
    indices (cells, L) padded with -1, their weights (cells, L) float64, and i1 (cells,).
    """
    p = torch.arange(size, dtype=torch.float64)
    src = ((p + 0.5) * (cells / size) - 0.5).clamp_min(0.0)
    i0 = src.floor().long().clamp_max(cells - 1)
    weight = src - i0
    counts = torch.bincount(i0, minlength=cells)
    length = int(counts.max())
    rank = torch.arange(size) - torch.cumsum(counts, 0)[i0] + counts[i0]
    pixels = torch.full((cells, length), -1, dtype=torch.long)
    weights = torch.zeros(cells, length, dtype=torch.float64)
    pixels[i0, rank] = torch.arange(size)
    weights[i0, rank] = weight
    i1 = (torch.arange(cells) + 1).clamp_max(cells - 1)
    return pixels.to(device), weights.to(device), i1.to(device)


def unit_concept_counts(
    features: torch.Tensor,
    thresholds: torch.Tensor,
    labels: torch.Tensor,
    concepts: int,
    chunk_values: int = 1 << 22,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exact counts for one batch, the same as :class:`IoUCounter` on :func:`unit_masks`.

    ``features`` (B, U, h, w), ``thresholds`` (U,), ``labels`` long (B, H, W). Returns int64
    ``intersection`` (U, K), ``unit_area`` (U,) and ``concept_area`` (K,); pixels whose label
    is outside [0, K) count nowhere.

    Sparse and exact: the upsampled image splits into blocks of pixels that interpolate the
    same 2 x 2 cells; a block can hold a pixel above the threshold only if one of its four
    cells is above it (a bilinear value is a convex combination of them). Only those blocks
    (a few per cell in the top 0.5 %) are evaluated, in float64, instead of U x H x W values.
    """
    b, u, h, w = features.shape
    height, width = labels.shape[-2:]
    dev = features.device
    bins = concepts + 1  # the last bin collects ignored pixels
    lab = labels.to(dev).reshape(b, height * width).long()
    lab = torch.where((lab >= 0) & (lab < concepts), lab, concepts)
    concept_area = torch.bincount(lab.reshape(-1), minlength=bins)[:concepts]
    t = thresholds.to(device=dev, dtype=torch.float64)
    # >= rather than >: a mix of cells equal to t can round one ulp above it.
    hot = features.double() >= t.view(1, -1, 1, 1)
    # Block (ky, kx) mixes cells ky, ky+1 and kx, kx+1 (clamped at the far edge).
    hot = hot | torch.cat([hot[:, :, 1:], hot[:, :, -1:]], dim=2)
    hot = hot | torch.cat([hot[..., 1:], hot[..., -1:]], dim=3)
    blocks = hot.nonzero()  # (C, 4): sample, unit, ky, kx
    counts = torch.zeros(u * bins, dtype=torch.int64, device=dev)
    if blocks.shape[0]:
        rows, wy, y1 = _axis_blocks(h, height, dev)
        cols, wx, x1 = _axis_blocks(w, width, dev)
        step = max(1, chunk_values // (rows.shape[1] * cols.shape[1]))
        for start in range(0, blocks.shape[0], step):
            bi, ui, ky, kx = blocks[start : start + step].unbind(1)
            f = features[bi, ui].double()  # (C, h, w)
            c = torch.arange(bi.shape[0], device=dev)
            a00, a01 = f[c, ky, kx], f[c, ky, x1[kx]]
            a10, a11 = f[c, y1[ky], kx], f[c, y1[ky], x1[kx]]
            bx = wx[kx]  # (C, L)
            top = a00[:, None] * (1 - bx) + a01[:, None] * bx
            bottom = a10[:, None] * (1 - bx) + a11[:, None] * bx
            by = wy[ky][:, :, None]  # (C, L, 1)
            value = top[:, None, :] * (1 - by) + bottom[:, None, :] * by  # (C, Ly, Lx)
            py, px = rows[ky], cols[kx]
            on = value > t[ui].view(-1, 1, 1)
            on &= (py >= 0)[:, :, None] & (px >= 0)[:, None, :]
            ci, yy, xx = on.nonzero(as_tuple=True)
            pixel = py[ci, yy] * width + px[ci, xx]
            key = ui[ci] * bins + lab[bi[ci], pixel]
            counts += torch.bincount(key, minlength=u * bins)
    intersection = counts.view(u, bins)[:, :concepts].contiguous()
    return intersection, intersection.sum(dim=1), concept_area


def add_counts(
    counter: IoUCounter,
    features: torch.Tensor,
    thresholds: torch.Tensor,
    labels: torch.Tensor,
) -> None:
    """Add one batch to ``counter`` via :func:`unit_concept_counts` (sparse, exact)."""
    inter, unit_area, concept_area = unit_concept_counts(
        features, thresholds, labels, counter.concepts
    )
    dev = counter.intersection.device
    counter.intersection += inter.to(dev)
    counter.unit_area += unit_area.to(dev)
    counter.concept_area += concept_area.to(dev)
    counter.count += int(features.shape[0])
