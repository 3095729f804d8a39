"""Mergeable running statistics for network dissection.

Each statistic has ``add`` (a batch), ``merge`` (another shard's statistic, in place),
``state_dict`` / ``load_state_dict`` (tensors and plain numbers only, so a state stores
with safetensors plus JSON, no pickle) and keeps its state on the device of the data it was
given; results come back on the CPU.

* ``RunningQuantile``: per-unit streaming quantile sketch (KLL-style compactor levels),
  used for each unit's activation threshold (top 0.5 %) and insert levels.
* ``IoUCounter``: exact int64 intersection / area counts of unit masks against segmentation
  labels, giving IoU per (unit, concept).
* ``RunningTopK``: per unit, the k largest scores and the sample indices they came from.
* ``iou_from_counts``: IoU = I / (A_unit + A_concept - I), 0 where the union is empty.

The design follows the running statistics of Bau et al.'s netdissect (``runningstats``),
rewritten with merge in mind: sharded runs combine by ``merge`` and agree with a single
pass (exactly for the counters, within the sketch's error for the quantiles). On the CPU the
sketch's sorts run in numpy (its SIMD sort is several times faster than ``torch.sort``),
split over ``torch.get_num_threads()`` threads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

__all__ = ["IoUCounter", "RunningQuantile", "RunningTopK", "iou_from_counts"]

_MASK64 = (1 << 64) - 1
_POOL: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked child makes its own


def _mix64(x: int) -> int:
    """splitmix64 finaliser: a cheap, well-mixed 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _rows_parallel(fn, arr: np.ndarray) -> list:
    """Run ``fn`` on slices of ``arr``'s rows, over threads when it is big (numpy's sorts
    release the GIL, and its SIMD sort is several times faster than torch's on CPU)."""
    global _POOL
    workers = min(torch.get_num_threads(), arr.shape[0])
    if workers < 2 or arr.size < (1 << 18):
        return [fn(arr)]
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(workers, "ganpaint-stats"))
    bounds = np.linspace(0, arr.shape[0], workers + 1).astype(int)
    return list(_POOL[1].map(lambda i: fn(arr[bounds[i] : bounds[i + 1]]), range(workers)))


def _sort_last_(t: torch.Tensor) -> torch.Tensor:
    """Sort a contiguous tensor along its last dimension (in place on CPU); returns it."""
    if t.device.type != "cpu":
        return t.sort(dim=-1).values
    _rows_parallel(lambda a: a.sort(axis=-1), t.numpy())
    return t


def _argsort_last(t: torch.Tensor) -> torch.Tensor:
    if t.device.type != "cpu":
        return t.argsort(dim=-1)
    parts = _rows_parallel(lambda a: np.argsort(a, axis=-1), t.numpy())
    return torch.from_numpy(np.concatenate(parts, axis=0))


class RunningQuantile:
    """Per-unit streaming quantile sketch, mergeable across shards.

    Level ``h`` holds, for every unit, fewer than ``resolution`` samples of weight ``2**h``.
    When a level fills, each full block of ``resolution`` samples is sorted and every other
    sample (random offset 0 or 1) moves up a level with twice the weight. A query sorts all
    kept samples with their weights and interpolates the weighted CDF; the exact minimum and
    maximum are kept too. Rank error scales as ``1/resolution``: with the default 4096 it
    measured under 0.05 % on 10^6 samples (the tests ask < 0.1 %). All units see the same
    samples, so they share level sizes and coin flips. Give each shard its own ``seed`` (e.g.
    its rank) before merging.

    State lives on the device (and float dtype) of the first batch added; ``to`` moves it.
    Samples must not be NaN.
    """

    def __init__(self, units: int | None = None, resolution: int = 4096, seed: int = 0) -> None:
        if resolution < 2 or resolution % 2:
            raise ValueError(f"resolution must be an even number >= 2, got {resolution}")
        self.units = units
        self.resolution = resolution
        self.seed = seed
        self._levels: list[torch.Tensor] = []
        # Extremes of every sample that has been through a sorted block; those still in the
        # level-0 buffer are folded in by _extremes(). None until the first sample.
        self._min: torch.Tensor | None = None
        self._max: torch.Tensor | None = None
        self._count = 0
        self._compactions = 0

    @property
    def count(self) -> int:
        """Number of samples (rows) added, merges included."""
        return self._count

    @property
    def device(self) -> torch.device | None:
        return None if self._min is None else self._min.device

    def to(self, device: torch.device | str) -> RunningQuantile:
        """Move the state to ``device`` (in place); returns self."""
        self._levels = [lv.to(device) for lv in self._levels]
        if self._min is not None:
            self._min, self._max = self._min.to(device), self._max.to(device)
        return self

    def add(self, x: torch.Tensor) -> None:
        """Add samples ``x`` of shape (N, units); flatten (B, C, H, W) to (B*H*W, C) first."""
        if x.ndim != 2:
            raise ValueError(f"expected (N, units) samples, got shape {tuple(x.shape)}")
        if self.units is None:
            self.units = x.shape[1]
        if x.shape[1] != self.units:
            raise ValueError(f"expected {self.units} units, got {x.shape[1]}")
        if x.shape[0] == 0:
            return
        if self._min is None:
            dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
            x = x.detach().to(dtype)
        else:
            x = x.detach().to(device=self._min.device, dtype=self._min.dtype)
        # (units, N) rows; no copy when x is the transpose of a contiguous (units, N) tensor,
        # in which case _push must not sort it in place.
        xt = x.t()
        borrowed = xt.is_contiguous()
        xt = xt.contiguous()
        if self._min is None:
            info = torch.finfo(xt.dtype)
            self._min = torch.full((self.units,), info.max, dtype=xt.dtype, device=xt.device)
            self._max = torch.full((self.units,), info.min, dtype=xt.dtype, device=xt.device)
        self._count += x.shape[0]
        self._push(0, xt, borrowed)

    def _offsets(self, blocks: int) -> list[int]:
        """The next ``blocks`` coin flips, a pure function of (seed, compactions so far)."""
        start = self._compactions
        self._compactions += blocks
        seed = (self.seed & 0xFFFFFFFF) << 32
        return [_mix64(seed ^ (start + i)) >> 63 for i in range(blocks)]

    def _push(self, level: int, items: torch.Tensor, borrowed: bool = False) -> None:
        """Append ``items`` (units, m) of weight 2**level and compact full blocks upward.
        Blocks are sorted in place, so ``items`` must be ours unless ``borrowed``."""
        k = self.resolution
        units = items.shape[0]
        while items.shape[1]:
            while len(self._levels) <= level:
                self._levels.append(items.new_empty(units, 0))
            old = self._levels[level]
            buf = torch.cat([old, items], dim=1) if old.shape[1] else items
            shared = borrowed and buf is items
            borrowed = False
            blocks = buf.shape[1] // k
            if blocks == 0:
                self._levels[level] = buf.clone() if shared else buf.contiguous()
                return
            self._levels[level] = buf[:, blocks * k :].clone()
            full = buf[:, : blocks * k].reshape(units, blocks, k).contiguous()
            if shared and full.data_ptr() == buf.data_ptr():
                full = full.clone()
            full = _sort_last_(full)
            if level == 0:  # every sample passes here sorted: its ends give the extremes
                self._min = torch.minimum(self._min, full[:, :, 0].amin(dim=1))
                self._max = torch.maximum(self._max, full[:, :, -1].amax(dim=1))
            pairs = full.view(units, blocks, k // 2, 2)
            odd = self._offsets(blocks)
            if blocks == 1:  # the usual case: a strided view, copied by the next cat
                items = pairs[:, 0, :, odd[0]]
            else:
                odd = torch.tensor(odd, dtype=torch.bool, device=buf.device).view(1, blocks, 1)
                items = torch.where(odd, pairs[..., 1], pairs[..., 0]).reshape(units, -1)
            level += 1

    def merge(self, other: RunningQuantile) -> None:
        """Fold ``other`` (a sketch of other samples of the same units) into this one."""
        if other._min is None:
            return
        if self.units is not None and other.units != self.units:
            raise ValueError(f"cannot merge {other.units} units into {self.units}")
        self.units = other.units
        lo, hi = other._extremes()
        if self._min is None:
            self._min, self._max = lo.clone(), hi.clone()
        else:
            lo, hi = (
                lo.to(self._min.device, self._min.dtype),
                hi.to(self._min.device, self._min.dtype),
            )
            self._min, self._max = torch.minimum(self._min, lo), torch.maximum(self._max, hi)
        self._count += other._count
        for level, items in enumerate(other._levels):
            if items.shape[1]:
                self._push(level, items.to(self._min.device, self._min.dtype, copy=True))

    def quantiles(self, q: float | Sequence[float] | torch.Tensor) -> torch.Tensor:
        """Per-unit quantiles at ``q`` (each in [0, 1]): CPU tensor (units, len(q)) in the
        sample dtype. Matches numpy's default (linear) quantile while nothing was compacted;
        q = 0 and 1 give the exact minimum and maximum."""
        qs = torch.as_tensor(q, dtype=torch.float64).reshape(-1).cpu()
        if ((qs < 0) | (qs > 1)).any():
            raise ValueError("quantiles must lie in [0, 1]")
        if self._min is None:
            raise ValueError("RunningQuantile has no samples")
        kept = [(h, lv) for h, lv in enumerate(self._levels) if lv.shape[1]]
        values = torch.cat([lv for _, lv in kept], dim=1).cpu()
        weights = torch.cat([torch.full((lv.shape[1],), 2.0**h) for h, lv in kept]).double()
        lo, hi = (e.cpu().double() for e in self._extremes())
        step = max(1, (1 << 22) // values.shape[1])  # bound the float64 temporaries
        out = [
            self._interpolate(values[u : u + step], weights, lo[u : u + step], hi[u : u + step], qs)
            for u in range(0, values.shape[0], step)
        ]
        return torch.cat(out).to(self._min.dtype)

    def _interpolate(self, values, weights, lo, hi, qs) -> torch.Tensor:
        """Linear interpolation of the weighted empirical CDF of ``values`` (units, M)."""
        units = values.shape[0]
        order = _argsort_last(values.contiguous())
        values = values.gather(1, order).double()
        w = weights[order]
        # Sample i stands for ranks cum_i - w_i .. cum_i - 1; put it at their middle.
        centre = w.cumsum(dim=1) - (w + 1) / 2
        last = centre.new_full((units, 1), float(self._count - 1))
        xs = torch.cat([centre.new_zeros(units, 1), centre, last], dim=1)
        ys = torch.cat([lo.view(-1, 1), values, hi.view(-1, 1)], dim=1)
        rank = (qs * (self._count - 1)).expand(units, -1).contiguous()
        right = torch.searchsorted(xs, rank, right=True).clamp(1, xs.shape[1] - 1)
        x0, x1 = xs.gather(1, right - 1), xs.gather(1, right)
        y0, y1 = ys.gather(1, right - 1), ys.gather(1, right)
        span = x1 - x0
        t = torch.where(span > 0, (rank - x0) / span.clamp_min(1e-300), torch.zeros_like(span))
        out = y0 + t.clamp(0, 1) * (y1 - y0)
        # A kept sample may share rank 0 or n-1 with an extreme; the extreme is exact.
        return torch.where(qs == 0, lo.view(-1, 1), torch.where(qs == 1, hi.view(-1, 1), out))

    def minmax(self) -> torch.Tensor:
        """Exact per-unit (min, max): CPU tensor (units, 2)."""
        if self._min is None:
            raise ValueError("RunningQuantile has no samples")
        return torch.stack(self._extremes(), dim=1).cpu()

    def _extremes(self) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = self._min, self._max
        if self._levels and self._levels[0].shape[1]:
            lo = torch.minimum(lo, self._levels[0].amin(dim=1))
            hi = torch.maximum(hi, self._levels[0].amax(dim=1))
        return lo, hi

    def state_dict(self) -> dict[str, torch.Tensor | int | float]:
        """CPU tensors (``min``, ``max``, ``level.<h>``) and ints; no pickle needed."""
        state: dict[str, torch.Tensor | int | float] = {
            "units": -1 if self.units is None else self.units,
            "resolution": self.resolution,
            "seed": self.seed,
            "count": self._count,
            "compactions": self._compactions,
            "depth": len(self._levels),
        }
        if self._min is not None:
            lo, hi = self._extremes()
            state["min"], state["max"] = lo.cpu().contiguous(), hi.cpu().contiguous()
            for h, lv in enumerate(self._levels):
                state[f"level.{h}"] = lv.cpu().contiguous()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor | int | float]) -> None:
        """Restore a ``state_dict`` (numbers may also come back as 0-d tensors or strings)."""
        units = int(state["units"])
        self.units = None if units < 0 else units
        self.resolution = int(state["resolution"])
        self.seed = int(state["seed"])
        self._count = int(state["count"])
        self._compactions = int(state["compactions"])
        if "min" in state:
            self._min, self._max = state["min"].clone(), state["max"].clone()
            self._levels = [state[f"level.{h}"].clone() for h in range(int(state["depth"]))]
        else:
            self._min = self._max = None
            self._levels = []


def iou_from_counts(
    intersection: torch.Tensor, unit_area: torch.Tensor, concept_area: torch.Tensor
) -> torch.Tensor:
    """IoU (units, concepts) as float64 from intersection (units, concepts), unit_area
    (units,) and concept_area (concepts,); 0 where the union is empty."""
    inter = intersection.double()
    union = unit_area.double().unsqueeze(-1) + concept_area.double().unsqueeze(-2) - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))


class IoUCounter:
    """Exact int64 counts of unit masks against segmentation labels.

    Per (unit, concept): ``intersection`` = pixels where the unit's mask is on and the label
    is the concept; ``unit_area`` = pixels where the mask is on; ``concept_area`` = pixels
    with the label. Labels outside [0, concepts) (e.g. 255 or -1) mean "ignore": those pixels
    count nowhere, unit area included. Counters live on ``device`` (default: the device of
    the first batch added).

    The intersection is a float32 matmul of masks and one-hot labels over at most 2**24
    pixels at a time: its inputs are 0/1 and every partial sum is an integer <= 2**24, so
    each is exactly representable and the result is exact; it is then added in int64.
    """

    _CHUNK = 1 << 24  # pixels per matmul (exactness bound) and mask elements per chunk

    def __init__(self, units: int, concepts: int, device: torch.device | str | None = None):
        self.units, self.concepts = units, concepts
        self._follow = device is None
        dev = torch.device("cpu") if device is None else torch.device(device)
        self.intersection = torch.zeros(units, concepts, dtype=torch.int64, device=dev)
        self.unit_area = torch.zeros(units, dtype=torch.int64, device=dev)
        self.concept_area = torch.zeros(concepts, dtype=torch.int64, device=dev)
        self.count = 0  # images added

    def add(self, unit_masks: torch.Tensor, labels: torch.Tensor) -> None:
        """Count a batch: ``unit_masks`` bool (B, units, H, W), ``labels`` long (B, H, W)."""
        b, u = unit_masks.shape[:2]
        if u != self.units or unit_masks.shape[0] != labels.shape[0]:
            raise ValueError(f"bad shapes {tuple(unit_masks.shape)} / {tuple(labels.shape)}")
        if unit_masks.shape[2:] != labels.shape[1:]:
            raise ValueError("unit masks and labels must have the same spatial size")
        if self._follow and self.count == 0:
            self.to(unit_masks.device)
        dev = unit_masks.device
        masks = unit_masks.reshape(b, u, -1)
        labels = labels.to(dev).reshape(b, -1).long()
        pixels = labels.shape[1]
        valid = (labels >= 0) & (labels < self.concepts)
        onehot_ix = torch.where(valid, labels, self.concepts)  # ignored -> spare column
        self.concept_area += torch.bincount(onehot_ix.flatten(), minlength=self.concepts + 1)[
            : self.concepts
        ].to(self.concept_area.device)
        inter = torch.zeros(u, self.concepts, dtype=torch.int64, device=dev)
        # Chunk pixels so each matmul sums <= 2**24 ones, and units so chunks stay small.
        px_step = min(pixels, self._CHUNK)
        unit_step = max(1, min(u, self._CHUNK // px_step))
        for i in range(b):
            for p0 in range(0, pixels, px_step):
                idx = onehot_ix[i, p0 : p0 + px_step]
                onehot = torch.zeros(idx.shape[0], self.concepts + 1, device=dev)
                onehot.scatter_(1, idx.unsqueeze(1), 1.0)
                onehot = onehot[:, : self.concepts]
                for u0 in range(0, u, unit_step):
                    m = masks[i, u0 : u0 + unit_step, p0 : p0 + px_step].float()
                    inter[u0 : u0 + unit_step] += (m @ onehot).round().long()
        inter = inter.to(self.intersection.device)
        self.intersection += inter
        # Every valid pixel has exactly one label, so a unit's area is its row sum.
        self.unit_area += inter.sum(dim=1)
        self.count += b

    def to(self, device: torch.device | str) -> IoUCounter:
        """Move the counters to ``device`` (in place); returns self."""
        self.intersection = self.intersection.to(device)
        self.unit_area = self.unit_area.to(device)
        self.concept_area = self.concept_area.to(device)
        return self

    def iou(self) -> torch.Tensor:
        """IoU per (unit, concept): CPU float64 (units, concepts)."""
        return iou_from_counts(self.intersection, self.unit_area, self.concept_area).cpu()

    def merge(self, other: IoUCounter) -> None:
        """Add ``other``'s counts (same units and concepts) into this counter."""
        if (other.units, other.concepts) != (self.units, self.concepts):
            raise ValueError("cannot merge counters of different shapes")
        dev = self.intersection.device
        self.intersection += other.intersection.to(dev)
        self.unit_area += other.unit_area.to(dev)
        self.concept_area += other.concept_area.to(dev)
        self.count += other.count

    def state_dict(self) -> dict[str, torch.Tensor | int | float]:
        return {
            "units": self.units,
            "concepts": self.concepts,
            "count": self.count,
            "intersection": self.intersection.cpu().contiguous(),
            "unit_area": self.unit_area.cpu().contiguous(),
            "concept_area": self.concept_area.cpu().contiguous(),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor | int | float]) -> None:
        dev = self.intersection.device
        self.units, self.concepts = int(state["units"]), int(state["concepts"])
        self.count = int(state["count"])
        self.intersection = state["intersection"].to(dev, torch.int64).clone()
        self.unit_area = state["unit_area"].to(dev, torch.int64).clone()
        self.concept_area = state["concept_area"].to(dev, torch.int64).clone()


class RunningTopK:
    """Per unit, the ``k`` largest scores seen and the sample indices they came from.

    State lives on the device of the first batch added; results come back on the CPU.
    """

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self._values: torch.Tensor | None = None  # (units, <= k)
        self._indices: torch.Tensor | None = None
        self.count = 0  # samples added, merges included

    def add(self, scores: torch.Tensor, indices: torch.Tensor) -> None:
        """Add ``scores`` (B, units) for the samples numbered ``indices`` (B,)."""
        if scores.ndim != 2 or indices.shape != scores.shape[:1]:
            raise ValueError(f"bad shapes {tuple(scores.shape)} / {tuple(indices.shape)}")
        scores = scores.detach()
        if self._values is not None:
            scores = scores.to(self._values.device, self._values.dtype)
        idx = indices.to(scores.device, torch.int64).unsqueeze(0).expand(scores.shape[1], -1)
        self._combine(scores.t(), idx)
        self.count += scores.shape[0]

    def _combine(self, values: torch.Tensor, indices: torch.Tensor) -> None:
        if self._values is not None:
            if values.shape[0] != self._values.shape[0]:
                raise ValueError(f"expected {self._values.shape[0]} units, got {values.shape[0]}")
            values = torch.cat([self._values, values], dim=1)
            indices = torch.cat([self._indices, indices], dim=1)
        top = values.topk(min(self.k, values.shape[1]), dim=1, sorted=True)
        self._values, self._indices = top.values, indices.gather(1, top.indices)

    def merge(self, other: RunningTopK) -> None:
        """Fold in ``other``'s kept scores (from other samples of the same units)."""
        if other._values is None:
            return
        dev = other._values.device if self._values is None else self._values.device
        self._combine(other._values.to(dev), other._indices.to(dev))
        self.count += other.count

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(values, indices), each CPU (units, min(k, seen)), sorted by value descending."""
        if self._values is None:
            raise ValueError("RunningTopK has no samples")
        return self._values.cpu(), self._indices.cpu()

    def state_dict(self) -> dict[str, torch.Tensor | int | float]:
        state: dict[str, torch.Tensor | int | float] = {"k": self.k, "count": self.count}
        if self._values is not None:
            state["values"] = self._values.cpu().contiguous()
            state["indices"] = self._indices.cpu().contiguous()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor | int | float]) -> None:
        self.k, self.count = int(state["k"]), int(state["count"])
        if "values" in state:
            self._values = state["values"].clone()
            self._indices = state["indices"].to(torch.int64).clone()
        else:
            self._values = self._indices = None
