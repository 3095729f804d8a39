"""Causal ranking: which units, when ablated (zeroed everywhere), remove a concept.

For each (layer, concept) job: the concept's top ``candidates`` units by IoU are ablated one
at a time on ``samples`` images that show the concept (chosen, in index order, from the first
``pool`` dissection samples), giving ``causal`` = [[unit, removal], ...] best first, where

    removal = (concept pixels before - concept pixels after) / concept pixels before

summed over those images (the net drop of the segmented area, as in GAN Dissection's
ablation figures). Then ``causal_set`` grows a set greedily: the first step takes the best
single unit; each later step tries adding each of the ``window`` best remaining candidates
(by single-unit removal) and keeps the one whose set removes most. ``window`` >=
``candidates`` is classic forward selection; a small window costs ``window`` evaluations
per step instead of up to ``candidates``, using single-unit removal as the shortlist.
Selection stops early once a set removes (almost) everything; the rest of the order is then
filled by single removal (their removal is the last measured one).

Work is split over ranks by job; each job's result is written into its own row of a tensor
that is summed over ranks, so the outcome does not depend on the number of processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from ganpaint.core.distributed import Dist
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.sampling import (
    SegmentFn,
    batches,
    forward_layers,
    latents,
    ordered_layers,
    prepare_generator,
)
from ganpaint.models.progan import ProGANGenerator

EvalSets = Callable[[list[list[int]]], list[float]]


@dataclass
class CausalOptions:
    """Causal-ranking settings (all in the cache key)."""

    candidates: int = 24
    samples: int = 16
    pool: int = 256
    set_size: int = 20
    window: int = 2
    min_fraction: float = 0.01  # an image "shows" a concept if it covers this much of it
    stop_removal: float = 0.99
    batch_size: int = 32

    def key(self) -> dict:
        d = asdict(self)
        d.pop("batch_size")
        return d


def greedy_set(
    singles: Sequence[tuple[int, float]],
    evaluate: EvalSets,
    size: int,
    window: int,
    stop_removal: float = 0.99,
) -> tuple[list[int], list[float]]:
    """Forward selection over ``singles`` ([(unit, single removal)], best first).

    ``evaluate(sets)`` gives the removal of each unit set. Returns the chosen units in order
    and the removal after each step.
    """
    remaining = [u for u, _ in singles]
    chosen: list[int] = []
    removals: list[float] = []
    while remaining and len(chosen) < size:
        trial = remaining[: max(1, window)]
        if chosen:
            scores = evaluate([chosen + [u] for u in trial])
        else:  # the first step is the best single unit, already measured
            scores = [singles[0][1]] + [float("-inf")] * (len(trial) - 1)
        best = max(range(len(trial)), key=lambda i: (scores[i], -i))
        chosen.append(trial[best])
        removals.append(float(scores[best]))
        remaining.remove(trial[best])
        if removals[-1] >= stop_removal:
            fill = remaining[: size - len(chosen)]
            chosen += fill
            removals += [removals[-1]] * len(fill)
            break
    return chosen, removals


class AblationPool:
    """Features at the causal layers and labels of the first ``pool`` dissection samples."""

    def __init__(
        self,
        generator: ProGANGenerator,
        segment_fn: SegmentFn,
        layers: Sequence[str],
        pool: int,
        seed_base: int,
        batch_size: int,
        device: torch.device,
        progress: ProgressFactory = no_progress,
    ):
        self.generator = generator
        self.segment_fn = segment_fn
        self.device = device
        self.batch_size = batch_size
        layers = ordered_layers(generator, layers)
        feats: dict[str, list[torch.Tensor]] = {layer: [] for layer in layers}
        labels = []
        bar = progress("causal samples", pool)
        try:
            with torch.inference_mode():
                for block in batches(range(pool), batch_size):
                    z = latents(seed_base, block, generator.z_dim, device)
                    f, image = forward_layers(generator, z, layers, to_image=True)
                    for layer in layers:
                        feats[layer].append(f[layer])
                    labels.append(segment_fn(image.float().clamp(-1, 1)).to(device))
                    bar.update(len(block))
        finally:
            bar.close()
        self.features = {layer: torch.cat(v) for layer, v in feats.items()}
        self.labels = torch.cat(labels)

    def samples_showing(self, concept: int, count: int, min_fraction: float) -> torch.Tensor:
        """Indices (into the pool) of the first ``count`` images showing ``concept``."""
        area = (self.labels == concept).flatten(1).sum(dim=1)
        pixels = self.labels[0].numel()
        shown = torch.nonzero(area >= max(1.0, min_fraction * pixels)).flatten()
        return shown[:count]

    def removal(
        self, layer: str, concept: int, samples: torch.Tensor, unit_sets: list[list[int]]
    ) -> list[float]:
        """Removal of ``concept`` on ``samples`` when each set of units is zeroed."""
        base = float((self.labels[samples] == concept).sum())
        if base == 0 or not unit_sets:
            return [0.0] * len(unit_sets)
        feats = self.features[layer]
        units = feats.shape[1]
        keep = torch.ones(len(unit_sets), units, device=self.device)
        for i, s in enumerate(unit_sets):
            keep[i, list(s)] = 0.0
        n = samples.numel()
        jobs = torch.arange(len(unit_sets) * n, device=self.device)
        after = torch.zeros(len(unit_sets), dtype=torch.float64, device=self.device)
        with torch.inference_mode():
            for start in range(0, jobs.numel(), self.batch_size):
                j = jobs[start : start + self.batch_size]
                set_ix, sample_ix = j // n, samples.to(self.device)[j % n]
                h = feats[sample_ix] * keep[set_ix].view(-1, units, 1, 1).to(feats.dtype)
                image = self.generator.run(h, after=layer)
                lab = self.segment_fn(image.float().clamp(-1, 1)).to(self.device)
                hits = (lab == concept).flatten(1).sum(dim=1).double()
                after.index_add_(0, set_ix, hits)
        return [(base - float(a)) / base for a in after.tolist()]


def causal_rankings(
    generator: ProGANGenerator,
    segment_fn: SegmentFn,
    concepts: Sequence[str],
    candidates: dict[str, dict[str, list[int]]],
    options: CausalOptions,
    seed_base: int,
    device: torch.device | str = "cpu",
    dist: Dist | None = None,
    progress: ProgressFactory = no_progress,
) -> dict[str, dict[str, dict]]:
    """``{layer: {concept: {"causal": [[u, r], ...], "causal_set": {...}}}}`` for the
    candidate units given per layer and concept (best-IoU first); concepts that no pool
    image shows are left out. Every rank returns the full result."""
    dist = dist or Dist()
    device = torch.device(device)
    generator = prepare_generator(generator, device)
    layers = ordered_layers(generator, list(candidates))
    names = list(concepts)
    jobs = [(layer, c) for layer in layers for c in names if candidates[layer].get(c)]
    n_cand, k = options.candidates, options.set_size
    width = 2 * n_cand + 2 * k + 2
    table = torch.zeros(len(jobs), width, dtype=torch.float64)
    mine = [j for j in range(len(jobs)) if j % dist.world == dist.rank]
    if mine:
        pool = AblationPool(
            generator,
            segment_fn,
            layers,
            options.pool,
            seed_base,
            options.batch_size,
            device,
            progress,
        )
        bar = progress("causal ranking", len(mine))
        try:
            for j in mine:
                layer, name = jobs[j]
                table[j] = _job_row(
                    pool, layer, names.index(name), candidates[layer][name], options
                )
                bar.update()
        finally:
            bar.close()
    dist.all_reduce_sum_(table)
    out: dict[str, dict[str, dict]] = {layer: {} for layer in layers}
    for j, (layer, name) in enumerate(jobs):
        row = table[j]
        if row[-1] <= 0:  # no pool image shows the concept
            continue
        units = row[:n_cand].long().tolist()
        single = row[n_cand : 2 * n_cand].tolist()
        set_units = row[2 * n_cand : 2 * n_cand + k].long().tolist()
        steps = row[2 * n_cand + k : 2 * n_cand + 2 * k].tolist()
        ranked = [[u, round(r, 5)] for u, r in zip(units, single, strict=True) if u >= 0]
        chosen = [u for u in set_units if u >= 0]
        steps = [round(s, 5) for s in steps[: len(chosen)]]
        out[layer][name] = {
            "causal": ranked,
            "causal_set": {
                "units": chosen,
                "removal": steps[-1] if steps else 0.0,
                "steps": steps,
                "samples": int(row[-1]),
            },
        }
    return out


def _job_row(
    pool: AblationPool, layer: str, concept: int, units: list[int], options: CausalOptions
) -> torch.Tensor:
    """One job encoded as [units, single removals, set units, step removals, -, samples]."""
    n_cand, k = options.candidates, options.set_size
    row = torch.zeros(2 * n_cand + 2 * k + 2, dtype=torch.float64)
    row[:n_cand] = -1
    row[2 * n_cand : 2 * n_cand + k] = -1
    samples = pool.samples_showing(concept, options.samples, options.min_fraction)
    if samples.numel() == 0:
        return row
    units = list(units)[:n_cand]
    single = pool.removal(layer, concept, samples, [[u] for u in units])
    singles = sorted(zip(units, single, strict=True), key=lambda p: -p[1])

    def evaluate(sets: list[list[int]]) -> list[float]:
        return pool.removal(layer, concept, samples, sets)

    chosen, steps = greedy_set(singles, evaluate, k, options.window, options.stop_removal)
    for i, (u, r) in enumerate(singles):
        row[i], row[n_cand + i] = u, r
    for i, (u, r) in enumerate(zip(chosen, steps, strict=True)):
        row[2 * n_cand + i], row[2 * n_cand + k + i] = u, r
    row[-1] = samples.numel()
    return row
