"""Per-concept brush defaults learned on the dissection samples, a hint on where each concept
draws, and the scene index (what each sample shows, and how well it is drawn).

For each concept and action the search measures, on samples ``seed_base + i`` of the
dissection (never the held-out ones ``ganpaint evaluate`` reports on):

* drawing: the fraction of an empty square (placed where the concept usually is, as in
  :mod:`ganpaint.dissect.evaluate`) that becomes the concept, less the fraction of the
  other pixels that changed class, for each ranking and unit count at level 0.99, then the
  best of those at the other levels;
* removing: the fraction of the concept's pixels gone when its units are zeroed.

The best settings win; a count within ``TIE`` of the best with fewer units is preferred
(fewer units disturb less). The hint comes from the segmentations of the same samples: how
high in the scene the concept is, what surrounds it and what lies just below and above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.evaluate import EditRunner, insertion_squares
from ganpaint.dissect.sampling import SegmentFn, batches, latents, prepare_generator
from ganpaint.engine.incremental import images_to_uint8
from ganpaint.engine.intervention import UnitEdit, apply_edit
from ganpaint.engine.levels import UnitLevels
from ganpaint.models.dissection import ConceptUnits, Dissection
from ganpaint.models.realism import nearest_distance
from ganpaint.models.segmenter import Segmenter, image_features

TIE = 0.01  # scores this close count as equal: the fewer units win
INDEX_SAMPLES = 1000  # a tenth of them, the best drawn, are the app's new scenes
REFERENCE_SEED = 20_000_000  # rendered scenes the distances are measured to (evaluate-gan's)
REFERENCE_SCENES = 2000
NEAREST_K = 3  # as k-NN precision (Kynkäänniemi et al. 2019); picked by eye on index seeds


@dataclass
class DefaultsOptions:
    samples: int = 32  # dissection samples the settings are measured on
    counts: tuple[int, ...] = (5, 10, 15, 20, 30, 40, 50)  # the app allows 1..50
    rankings: tuple[str, ...] = ("iou", "causal")
    quantiles: tuple[float, ...] = (0.99, 0.995, 0.999)  # the first is searched with counts
    index_samples: int = INDEX_SAMPLES  # dissection samples in the scene index
    reference_scenes: int = REFERENCE_SCENES  # rendered scenes the index's distances are to
    brush: bool = True  # False: the scene index alone
    mask_fraction: float = 0.25
    batch_size: int = 32


def _pick(results: list[tuple[float, int, dict]]) -> dict:
    """The best result; among those within TIE of it, the one with fewest units."""
    best = max(r[0] for r in results)
    return min((r for r in results if r[0] >= best - TIE), key=lambda r: (r[1], -r[0]))[2]


def _draw(runner, feats, base, c, info: ConceptUnits, levels, squares, opts) -> dict | None:
    usable, _, masks, grid = squares
    if usable.numel() == 0:
        return None

    def measure(ranking: str, k: int, q: float) -> tuple[float, int, dict]:
        units = [u for u, _ in info.brush_ranking(ranking, "draw")[:k]]
        chosen = torch.tensor(units, dtype=torch.long)
        h = feats[usable].clone()
        for row in range(usable.numel()):
            apply_edit(h[row : row + 1], UnitEdit(chosen, levels.at(q)[chosen], 1.0, grid[row]))
        after = runner.labels(h)
        inside = float(((after == c) & masks).sum()) / float(masks.sum())
        outside = float(((after != base[usable]) & ~masks).sum()) / float((~masks).sum())
        entry = {"units": len(units), "ranking": ranking, "quantile": q,
                 "score": round(inside, 4), "outside_change": round(outside, 4)}  # fmt: skip
        return inside - outside, len(units), entry

    first = [measure(r, k, opts.quantiles[0]) for r in opts.rankings for k in opts.counts]
    best = _pick(first)
    more = [measure(best["ranking"], best["units"], q) for q in opts.quantiles[1:]]
    return _pick(first + more)


def _remove(runner, feats, present, c, info: ConceptUnits, opts) -> dict | None:
    shown = torch.nonzero(present.flatten(1).any(dim=1)).flatten()
    if shown.numel() == 0:
        return None
    before = float(present[shown].sum())
    results = []
    for ranking in opts.rankings:
        for k in opts.counts:
            units = [u for u, _ in info.brush_ranking(ranking, "remove")[:k]]
            h = feats[shown].clone()
            h[:, units] = 0
            gone = (before - float((runner.labels(h) == c).sum())) / before
            entry = {"units": len(units), "ranking": ranking, "score": round(gone, 4)}
            results.append((gone, len(units), entry))
    return _pick(results)


def neighbours(labels: torch.Tensor, c: int, names: Sequence[str], ring: int = 2) -> dict:
    """Shares of the other concepts around concept ``c`` (a ``ring``-pixel band), just below
    and just above it, and its mean height (0 top, 1 bottom), over ``labels`` (N, H, W)."""
    mask = (labels == c).float()[:, None]
    if mask.sum() == 0:
        return {}
    grown = F.max_pool2d(mask, 2 * ring + 1, stride=1, padding=ring)[:, 0] > 0
    here = mask[:, 0] > 0
    below = torch.zeros_like(here)
    below[:, ring:] = here[:, :-ring]
    above = torch.zeros_like(here)
    above[:, :-ring] = here[:, ring:]
    rows = torch.arange(labels.shape[1], dtype=torch.float32)[None, :, None].expand_as(here)
    out: dict[str, Any] = {"height": round(float(rows[here].mean()) / labels.shape[1], 3)}
    for key, where in (("around", grown & ~here), ("below", below & ~here),
                       ("above", above & ~here)):  # fmt: skip
        found = labels[where]
        found = found[(found >= 0) & (found < len(names)) & (found != c)]
        counts = torch.bincount(found, minlength=len(names)).float()
        total = float(counts.sum()) or 1.0
        top = torch.argsort(counts, descending=True)[:3]
        out[key] = {names[i]: round(float(counts[i]) / total, 3) for i in top.tolist()
                    if counts[i] > 0}  # fmt: skip
    return out


def hint_text(name: str, near: dict) -> str:
    """One line on where ``name`` draws, from :func:`neighbours` (e.g. "door: low in the
    scene, in brick, above grass")."""
    if not near:
        return f"{name}: not seen in the dissection samples"
    height = near["height"]
    where = "high in the scene" if height < 0.35 else "low in the scene" if height > 0.6 else (
        "mid-height")  # fmt: skip
    parts = [where]

    def top(key: str) -> tuple[str | None, float]:
        items = list(near.get(key, {}).items())
        return items[0] if items else (None, 0.0)

    around, share = top("around")
    if around:
        parts.append(f"in {around}" if share >= 0.5 else f"next to {around}")
    below, b_share = top("below")
    if below and below != around and b_share >= 0.3:
        parts.append(f"on {below}")
    above, a_share = top("above")
    if above and above not in (around, below) and a_share >= 0.3:
        parts.append(f"under {above}")
    return f"{name}: " + ", ".join(parts)


@torch.inference_mode()
def learn_defaults(
    generator, segment_fn: SegmentFn, concepts: Sequence[str], dissection: Dissection,
    layer: str, options: DefaultsOptions | None = None, device: torch.device | str = "cpu",
    progress: ProgressFactory = no_progress, only: Sequence[str] | None = None,
) -> dict[str, dict]:  # fmt: skip
    """``{concept: defaults entry}`` (see :class:`ganpaint.models.dissection.ConceptDefaults`)
    for the concepts of ``layer`` (or ``only`` those), measured on dissection samples."""
    opts = options or DefaultsOptions()
    device = torch.device(device)
    generator = prepare_generator(generator, device)
    levels = UnitLevels.required(dissection, layer)
    runner = EditRunner(generator, segment_fn, layer, opts.batch_size, device)
    seed_base = dissection.seed_base or 0
    feats = []
    for block in batches(range(opts.samples), opts.batch_size):
        feats.append(generator.run(latents(seed_base, block, generator.z_dim, device), until=layer))
    feats_t = torch.cat(feats)
    base = runner.labels(feats_t)
    cells = generator.layer_resolution(layer)
    side = max(1, round(cells * opts.mask_fraction))
    names = [n for n in (only or concepts) if n in concepts]
    out: dict[str, dict] = {}
    bar = progress("brush defaults", len(names))
    try:
        for name in names:
            c = list(concepts).index(name)
            info = dissection.concept(layer, name)
            bar.update()
            if info is None or not (info.iou or info.causal):
                continue
            present = base == c
            squares = insertion_squares(present, cells, side)
            near = neighbours(base.cpu(), c, list(concepts))
            entry = {"draw": _draw(runner, feats_t, base, c, info, levels, squares, opts),
                     "remove": _remove(runner, feats_t, present, c, info, opts),
                     "hint": hint_text(name, near), "samples": opts.samples,
                     "neighbours": near}  # fmt: skip
            out[name] = {k: v for k, v in entry.items() if v is not None}
    finally:
        bar.close()
    return out


@torch.inference_mode()
def scene_index(
    generator, segment_fn: SegmentFn, concepts: Sequence[str], dissection: Dissection,
    samples: int, device: torch.device | str = "cpu", batch_size: int = 32,
    segmenter: Segmenter | None = None, reference: int = REFERENCE_SCENES,
) -> dict[str, Any]:  # fmt: skip
    """Per dissection sample ``seed_base + i`` (i < ``samples``, never past the dissection's
    own samples): each concept's share of the image, from the segmenter (see
    :class:`ganpaint.models.dissection.SceneIndex`). With the bundle's own ``segmenter`` also
    ``distance``: how far the image's segmenter features lie from the :data:`NEAREST_K`-th
    nearest of ``reference`` rendered world scenes, the images most like the world's scenes
    (the best drawn) having the smallest."""
    device = torch.device(device)
    generator = prepare_generator(generator, device)
    seed_base = dissection.seed_base or 0
    if dissection.samples:  # the samples after them are ``ganpaint evaluate``'s held-out ones
        samples = min(samples, dissection.samples)
    shares, feats = [], []
    for block in batches(range(samples), batch_size):
        image = generator(latents(seed_base, block, generator.z_dim, device))
        labels = segment_fn(image.float()).cpu()
        for row in labels:
            counts = torch.bincount(
                row.flatten().clamp(0, len(concepts)), minlength=len(concepts) + 1
            )
            shares.append([round(float(x) / row.numel(), 4) for x in counts[: len(concepts)]])
        if segmenter is not None and reference > 0:
            feats.append(image_features(segmenter, images_to_uint8(image).cpu()))
    out = {"seeds": [seed_base + i for i in range(samples)], "concepts": list(concepts),
           "shares": shares}  # fmt: skip
    if feats:
        from ganpaint.scenes import render_dataset

        real = render_dataset(reference, generator.resolution, start_seed=REFERENCE_SEED)[0]
        k = min(NEAREST_K, reference)
        ref = image_features(segmenter, real).numpy()
        distance = nearest_distance(torch.cat(feats).numpy(), ref, k)
        out["distance"] = [round(float(x), 4) for x in distance]
        out["distance_to"] = {"scenes": reference, "first_seed": REFERENCE_SEED, "k": k}
    return out
