"""Unit sets chosen by optimising their average causal effect (ACE), as in GAN Dissection §3.2.

Ranking units one at a time misses sets whose members only work together. Here each unit gets
a weight ``alpha`` in [0, 1], the weights are kept to a budget (``sum(alpha) <= set_size``, a
soft set of ``set_size`` units) and optimised by gradient descent through the generator and
the segmenter's class probabilities:

* removal: ``h' = h * (1 - alpha)`` everywhere; minimise ``-log(1 - p_c)`` over the pixels
  labelled ``c`` before the edit (the concept should go).
* insertion: ``h' = h + alpha * m * (level - h)`` inside a square ``m`` (a quarter of the image
  side, aligned to the layer's grid, placed where the concept is absent and most likely a
  priori, exactly as :mod:`ganpaint.dissect.evaluate` places it); minimise the cross-entropy
  of ``c`` inside the square plus ``outside_weight`` times the cross-entropy of the unedited
  labels outside it (the concept should appear there and nothing else should change).
  ``level`` is each unit's ``insert_quantile`` activation, the level the app draws with.

From ``hard_from`` of the steps on, the forward pass applies the hard top-``set_size`` set
(straight-through: the gradient still reaches every weight), so the optimum is one for the
set the app will apply, not for a soft blend. Units are then ranked by weight, and with
``window > 0`` the set is refined greedily on the measured effect of hard sets (weight 1, as
the app applies a stroke): each step tries the next ``window`` candidates of the weight order
interleaved with known rankings (the greedy causal set, the IoU order). The chosen set's
measured removal, or insertion and outside change, is stored with it. Samples are the first
of the causal pool (the dissection's own samples), never the held-out ones ``evaluate`` uses.

The segmenter must expose class scores: the segmentation callable needs a ``logits``
attribute (``images -> (N, classes, H, W)``), which the bundle segmenter has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import torch
import torch.nn.functional as F

from ganpaint.core.distributed import Dist
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.causal import AblationPool
from ganpaint.dissect.evaluate import insertion_squares
from ganpaint.models.dissection import ConceptUnits, Dissection


class SegmentFnWithLogits(Protocol):
    """A segmentation callable (images -> labels) with class scores as ``.logits``."""

    logits: Callable[[torch.Tensor], torch.Tensor]

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


@dataclass
class AceOptions:
    """ACE optimisation settings (all but ``measure_batch`` in the cache key)."""

    steps: int = 150
    samples: int = 64  # images per concept (removal: showing it; insertion: a square fits)
    pool: int = 512  # dissection samples searched for them
    min_fraction: float = 0.01  # removal: an image shows the concept if it covers this much
    set_size: int = 20
    lr: float = 0.05
    outside_weight: float = 1.0
    hard_from: float = 0.5  # from this fraction of the steps on, optimise the top set itself
    window: int = 8  # > 0: refine the set greedily, trying this many units per step
    refine_samples: int = 64  # samples the greedy refinement measures on (at most)
    outside_budget: float = 0.03  # insertion refinement: outside change tolerated
    mask_fraction: float = 0.25
    insert_quantile: float = 0.99
    seed: int = 0
    batch_size: int = 16  # optimisation minibatch
    measure_batch: int = 64  # forward passes per batch when measuring hard sets

    def key(self) -> dict:
        d = asdict(self)
        d.pop("measure_batch")
        return d


def project_budget(alpha: torch.Tensor, budget: float) -> torch.Tensor:
    """Euclidean projection of ``alpha`` onto ``{0 <= a <= 1, sum(a) <= budget}``."""
    clipped = alpha.clamp(0.0, 1.0)
    if float(clipped.sum()) <= budget:
        return clipped
    lo, hi = 0.0, float(alpha.max())
    for _ in range(60):  # sum(clamp(alpha - t, 0, 1)) decreases in t: bisect for the budget
        mid = 0.5 * (lo + hi)
        if float((alpha - mid).clamp(0.0, 1.0).sum()) > budget:
            lo = mid
        else:
            hi = mid
    return (alpha - hi).clamp(0.0, 1.0)


class _Problem:
    """One (layer, concept) optimisation: its samples, edit and loss."""

    def __init__(
        self,
        pool: AblationPool,
        logits_fn: Callable[[torch.Tensor], torch.Tensor],
        layer: str,
        concept: int,
        mode: str,
        levels: torch.Tensor | None,
        options: AceOptions,
    ):
        self.pool, self.logits_fn, self.layer, self.c, self.mode = (
            pool,
            logits_fn,
            layer,
            concept,
            mode,
        )
        self.options = options
        labels = pool.labels
        feats = pool.features[layer]
        self.units = feats.shape[1]
        cells = feats.shape[-1]
        if mode == "removal":
            rows = pool.samples_showing(concept, options.samples, options.min_fraction)
            self.rows = rows
            self.region = labels[rows] == concept
            self.grid = None
        else:
            side = max(1, round(cells * options.mask_fraction))
            rows, _, pix, grid = insertion_squares(labels == concept, cells, side)
            self.rows, self.region, self.grid = (
                rows[: options.samples],
                pix[: options.samples],
                (grid[: options.samples]),
            )
        self.base = labels[self.rows]
        self.levels = levels

    @property
    def count(self) -> int:
        return int(self.rows.numel())

    def edit(self, idx: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """Edited features of samples ``idx``; ``alpha`` is (units,) or one row per sample."""
        h = self.pool.features[self.layer][self.rows[idx]].float().clone()
        a = alpha.view(-1, self.units, 1, 1)
        if self.mode == "removal":
            return h * (1.0 - a)
        assert self.grid is not None and self.levels is not None
        m = self.grid[idx][:, None]
        return h + a * m * (self.levels.view(1, -1, 1, 1) - h)

    def image(self, h: torch.Tensor) -> torch.Tensor:
        return self.pool.generator.run(h.to(self.pool.features[self.layer].dtype), after=self.layer)

    def loss(self, idx: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        logits = self.logits_fn(self.image(self.edit(idx, alpha)).float().clamp(-1, 1))
        logp = F.log_softmax(logits.float(), dim=1)
        region = self.region[idx]
        if self.mode == "removal":
            p = logp[:, self.c].exp()
            return -torch.log1p(-p.clamp(max=1 - 1e-6))[region].mean()
        inside = -logp[:, self.c][region].mean()
        outside = F.nll_loss(logp, self.base[idx], reduction="none")[~region].mean()
        return inside + self.options.outside_weight * outside

    @torch.no_grad()
    def measure_sets(
        self, unit_sets: list[list[int]], count: int | None = None
    ) -> list[tuple[float, float]]:
        """Each hard set at weight 1 on the first ``count`` samples (default all):
        (removal, 0) or (insertion, outside change) per set, batched over sets.

        Removal here is the share of the concept's original pixels that stop being the
        concept; concept pixels that appear elsewhere are not subtracted, unlike the net
        removal of :mod:`ganpaint.dissect.causal` and ``evaluate``. Both sets compared in
        ``compare_removal`` are measured this way.
        """
        dev = self.pool.device
        n = self.count if count is None else min(count, self.count)
        if not unit_sets or n == 0:
            return [(0.0, 0.0)] * len(unit_sets)
        alphas = torch.zeros(len(unit_sets), self.units, device=dev)
        for i, units in enumerate(unit_sets):
            alphas[i, list(units)] = 1.0
        hits = torch.zeros(len(unit_sets), dtype=torch.float64, device=dev)
        changed = torch.zeros_like(hits)
        total = float(self.region[:n].sum())
        outside_total = float((~self.region[:n]).sum())
        jobs = torch.arange(len(unit_sets) * n, device=dev)
        step = max(1, self.options.measure_batch)
        for start in range(0, jobs.numel(), step):
            j = jobs[start : start + step]
            set_ix, idx = j // n, j % n
            lab = self.pool.segment_fn(self.image(self.edit(idx, alphas[set_ix]))).to(dev)
            region = self.region[idx]
            hits.index_add_(0, set_ix, ((lab == self.c) & region).flatten(1).sum(1).double())
            if self.mode == "insertion":
                out = ((lab != self.base[idx]) & ~region).flatten(1).sum(1).double()
                changed.index_add_(0, set_ix, out)
        if self.mode == "removal":
            return [((total - float(h)) / max(total, 1.0), 0.0) for h in hits.tolist()]
        return [
            (float(h) / max(total, 1.0), float(c) / max(outside_total, 1.0))
            for h, c in zip(hits.tolist(), changed.tolist(), strict=True)
        ]

    def measure(self, units: list[int]) -> tuple[float, float]:
        """One hard set at weight 1 on all samples."""
        return self.measure_sets([list(units)])[0]

    def score(self, result: tuple[float, float]) -> float:
        """What the greedy refinement maximises: removal, or insertion minus the excess of
        outside change over ``outside_budget``."""
        metric, outside = result
        if self.mode == "removal":
            return metric
        return metric - 4.0 * max(0.0, outside - self.options.outside_budget)


def interleave(*orders: Sequence[int]) -> list[int]:
    """The rankings merged round-robin (first of each, then second of each, ...), without
    repeats."""
    out: list[int] = []
    seen: set[int] = set()
    for i in range(max((len(o) for o in orders), default=0)):
        for o in orders:
            if i < len(o) and int(o[i]) not in seen:
                seen.add(int(o[i]))
                out.append(int(o[i]))
    return out


def refine_greedy(problem: _Problem, order: list[int], options: AceOptions) -> list[int]:
    """Forward selection of ``set_size`` units by the hard, measured score; each step tries
    the ``window`` best remaining units of ``order`` (the optimised weights' ranking)."""
    chosen: list[int] = []
    remaining = list(order)
    while remaining and len(chosen) < options.set_size:
        trial = remaining[: max(1, options.window)]
        results = problem.measure_sets([chosen + [u] for u in trial], options.refine_samples)
        scores = [problem.score(r) for r in results]
        best = max(range(len(trial)), key=lambda i: (scores[i], -i))
        chosen.append(trial[best])
        remaining.remove(trial[best])
    return chosen


def optimise_alpha(problem: _Problem, options: AceOptions) -> torch.Tensor:
    """The weights after ``options.steps`` projected Adam steps (minibatches of samples)."""
    device = problem.pool.device
    gen = torch.Generator().manual_seed(options.seed)
    alpha = torch.full((problem.units,), options.set_size / problem.units, device=device)
    alpha.requires_grad_(True)
    opt = torch.optim.Adam([alpha], lr=options.lr)
    n = problem.count
    k = min(options.set_size, problem.units)
    for step in range(options.steps):
        idx = torch.randperm(n, generator=gen)[: options.batch_size].to(device)
        opt.zero_grad(set_to_none=True)
        used = alpha
        if step >= options.hard_from * options.steps:
            # straight through: the forward pass applies the hard top-k set (as the app and
            # the measurement do), the gradient still reaches every unit's weight
            hard = torch.zeros_like(alpha)
            hard[torch.topk(alpha.detach(), k).indices] = 1.0
            used = alpha + (hard - alpha).detach()
        problem.loss(idx, used).backward()
        opt.step()
        with torch.no_grad():
            alpha.copy_(project_budget(alpha, float(options.set_size)))
    return alpha.detach()


def ace_rankings(
    pool: AblationPool,
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    concepts: Sequence[str],
    layers: Sequence[str],
    levels: dict[str, torch.Tensor],
    options: AceOptions,
    compare: dict[str, dict[str, list[int]]] | None = None,
    dist: Dist | None = None,
    progress: ProgressFactory = no_progress,
    shortlist: dict[str, dict[str, list[int]]] | None = None,
) -> dict[str, dict[str, dict]]:
    """``{layer: {concept: {"ace_removal": {...}, "insert_set": {...}}}}``.

    Each entry holds ``units`` (the chosen set first, then the other units with weight > 0 by
    weight), their optimised ``weights``, the set's measured ``removal`` or ``insertion`` and
    ``outside_change`` (hard set of ``set_size`` units at weight 1), and ``samples``.
    ``compare`` (per layer and concept, e.g. the greedy causal set) is measured on the same
    removal samples as ``compare_removal``, so the two sets can be compared like for like.
    ``shortlist`` (per layer and concept, e.g. the IoU ranking) is interleaved with the
    optimised ranking and ``compare`` when the greedy refinement picks its candidates, so a
    weak optimum cannot hide units that are known to matter.
    Work is split over ranks by job and summed, as in the causal ranking.
    """
    dist = dist or Dist()
    jobs = [
        (layer, c, mode)
        for layer in layers
        for c in range(len(concepts))
        for mode in ("removal", "insertion")
    ]
    n_units = max(pool.features[layer].shape[1] for layer in layers)
    k = options.set_size
    table = torch.zeros(len(jobs), n_units + k + 4, dtype=torch.float64)
    mine = [j for j in range(len(jobs)) if j % dist.world == dist.rank]
    bar = progress("ACE sets", len(mine))
    try:
        for j in mine:
            layer, c, mode = jobs[j]
            problem = _Problem(pool, logits_fn, layer, c, mode, levels.get(layer), options)
            bar.update()
            table[j, n_units : n_units + k] = -1
            if problem.count == 0:
                continue
            with torch.enable_grad():
                alpha = optimise_alpha(problem, options)
            order = sorted(range(problem.units), key=lambda u: (-float(alpha[u]), u))
            other = ((compare or {}).get(layer) or {}).get(concepts[c])
            known = ((shortlist or {}).get(layer) or {}).get(concepts[c]) or []
            if options.window > 0:
                candidates = interleave(order, other or [], known)
                chosen = refine_greedy(problem, candidates, options)
            else:
                chosen = order[:k]
            metric, outside = problem.measure(chosen)
            table[j, : problem.units] = alpha.double().cpu()
            table[j, n_units : n_units + len(chosen)] = torch.tensor(chosen, dtype=torch.float64)
            table[j, -4] = problem.measure(other)[0] if other and mode == "removal" else -1.0
            table[j, -3], table[j, -2], table[j, -1] = metric, outside, problem.count
    finally:
        bar.close()
    dist.all_reduce_sum_(table)
    out: dict[str, dict[str, dict]] = {layer: {} for layer in layers}
    for j, (layer, c, mode) in enumerate(jobs):
        row = table[j]
        if row[-1] <= 0:
            continue
        units_n = pool.features[layer].shape[1]
        weights = row[:units_n]
        chosen = [int(u) for u in row[n_units : n_units + k].tolist() if u >= 0]
        rest = sorted(
            (u for u in range(units_n) if weights[u] > 0 and u not in chosen),
            key=lambda u: (-float(weights[u]), u),
        )
        order = chosen + rest
        entry: dict = {
            "units": order,
            "weights": [round(float(weights[u]), 4) for u in order],
            "set_size": len(chosen),
            "refined": options.window > 0,
            "samples": int(row[-1]),
        }
        if mode == "removal":
            entry["removal"] = round(float(row[-3]), 5)
            if row[-4] >= 0:
                entry["compare_removal"] = round(float(row[-4]), 5)
            key = "ace_removal"
        else:
            entry["insertion"] = round(float(row[-3]), 5)
            entry["outside_change"] = round(float(row[-2]), 5)
            key = "insert_set"
        out[layer].setdefault(concepts[c], {})[key] = entry
    return out


def refine_sets(
    generator: torch.nn.Module,
    segment_fn: SegmentFnWithLogits,
    concepts: Sequence[str],
    dissection: Dissection,
    layer: str,
    names: Sequence[str],
    mode: str,
    options: AceOptions,
    device: torch.device | str = "cpu",
    progress: ProgressFactory = no_progress,
) -> dict[str, dict]:
    """A further ACE run for some concepts of an existing dissection.

    For each of ``names``, weights are optimised afresh and the greedy refinement draws its
    candidates from them, the concept's current set (``insert_set`` for ``mode="insertion"``,
    ``ace_removal`` for removal) and its top ``2 * set_size`` units by IoU. Returns
    ``{name: entry}`` only for the concepts whose new set scores higher than the current one
    on the same dissection samples (the held-out samples are never looked at); each entry
    records its options and the set it replaces.
    """
    from ganpaint.dissect.sampling import prepare_generator
    from ganpaint.engine.levels import UnitLevels

    if mode not in ("insertion", "removal"):
        raise ValueError(f"mode must be 'insertion' or 'removal', got {mode!r}")
    device = torch.device(device)
    info = dissection.layer(layer)
    if info is None:
        raise ValueError(f"the dissection has no layer {layer!r}")
    levels = UnitLevels.required(dissection, layer)
    level = levels.at(options.insert_quantile).float().to(device)
    gen = prepare_generator(generator, device)
    pool = AblationPool(
        gen,
        segment_fn,
        [layer],
        options.pool,
        dissection.seed_base or 0,
        options.measure_batch,
        device,
        progress,
    )
    key = "insert_set" if mode == "insertion" else "ace_removal"
    out: dict[str, dict] = {}
    bar = progress(f"ACE {mode}", len(names))
    try:
        for name in names:
            bar.update()
            entry = info.concept(name) or ConceptUnits()
            c = list(concepts).index(name)
            problem = _Problem(pool, segment_fn.logits, layer, c, mode, level, options)
            if problem.count == 0:
                continue
            with torch.enable_grad():
                alpha = optimise_alpha(problem, options)
            order = sorted(range(problem.units), key=lambda u: (-float(alpha[u]), u))
            current_set = entry.insert_set if mode == "insertion" else entry.ace_removal
            current = list(current_set.units)[: options.set_size] if current_set else []
            by_iou = [int(u) for u, _ in entry.iou[: 2 * options.set_size]]
            window = max(1, options.window)
            chosen = refine_greedy(
                problem, interleave(order, current, by_iou), replace(options, window=window)
            )
            new, old = problem.measure(chosen), problem.measure(current) if current else None
            if old is not None and problem.score(new) <= problem.score(old):
                continue
            metric = "insertion" if mode == "insertion" else "removal"
            record: dict = {
                "units": chosen,
                "set_size": len(chosen),
                "refined": True,
                "samples": problem.count,
                metric: round(new[0], 5),
                "options": options.key(),
                "candidates": f"optimised weights, the previous {key} and the top "
                f"{2 * options.set_size} by IoU, interleaved",
            }
            if mode == "insertion":
                record["outside_change"] = round(new[1], 5)
            if old is not None:
                record["previous"] = {"units": current, metric: round(old[0], 5)}
                if mode == "insertion":
                    record["previous"]["outside_change"] = round(old[1], 5)
            out[name] = record
    finally:
        bar.close()
    return out
