"""How well each concept's units remove and insert it, on held-out samples.

Samples come from seeds right after the dissection's range (``seed_base + samples + i``), so
they never overlap the samples the units were chosen on. Edits go through the engine's own
rule (:class:`UnitEdit`, :func:`apply_edit`, :class:`UnitLevels`), so this measures what the
app paints; images are clamped and rounded to 8 bits before segmenting, as the app shows them.

* removal(k): ablate (zero everywhere) the concept's top k units (``causal_set`` order when
  the dissection has it, then IoU order) on the held-out images that show the concept;
  the fraction of the concept's pixels that disappear (net, summed over those images).
* insertion: on each image, a square (a quarter of the image side, aligned to the layer's
  grid) is placed where the concept is absent and most likely a priori (the concept's mean
  frequency at each position over the held-out images); the concept's top units for drawing
  (its ``insert_set`` when the dissection has ACE sets, else the removal order) are drawn
  there at their ``insert_quantile`` level with strength 1. insertion = fraction of the
  square's pixels labelled as the concept afterwards; outside_change = fraction of pixels
  outside the square whose label changed. With ``mask="concept"`` the square is sized like the
  concept instead (see :class:`EvalOptions`): a door-sized region for a door, as a person
  would paint one; a quarter-side square is larger than any door or dome of a 128 px scene.
  With ``placement="context"`` the squares of doors, domes, trees and windows go where the
  concept fits in each image instead (:mod:`ganpaint.dissect.placement`), concept-sized.
* insertion by covered class: per concept, the squares grouped by the class they mostly
  covered before the edit, with the mean insertion of each group (``insertion_by_covered``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.placement import (
    CONTEXT_RULES,
    by_covered,
    context_positions,
    covered_classes,
)
from ganpaint.dissect.sampling import (
    SegmentFn,
    batches,
    latents,
    prepare_generator,
)
from ganpaint.engine.intervention import UnitEdit, apply_edit
from ganpaint.engine.levels import UnitLevels
from ganpaint.models.dissection import ConceptUnits, Dissection
from ganpaint.models.progan import ProGANGenerator


@dataclass
class EvalOptions:
    samples: int = 500
    seed_base: int | None = None  # default: just after the dissection's samples
    ks: tuple[int, ...] = (5, 10, 20)
    insert_units: int = 20
    insert_quantile: float = 0.99
    mask_fraction: float = 0.25
    # "quarter": the square's side is mask_fraction of the image side for every concept;
    # "concept": sized like the concept (side = sqrt of its median area in the held-out
    # images that show it, in whole cells, at least one cell, at most the quarter square)
    mask: str = "quarter"
    # "prior": where the concept is most frequent over the held-out images; "context": where
    # it fits in each image (doors, domes, trees, windows; the rest as "prior"), concept-sized
    placement: str = "prior"
    examples: int = 0  # insertion examples kept per concept (details[concept]["examples"])
    batch_size: int = 32


def ranked_units(dissection: Dissection, layer: str, concept: str) -> list[int]:
    """A concept's units best first: its ``causal_set``, then the rest in IoU order."""
    info = dissection.concept(layer, concept) or ConceptUnits()
    order: list[int] = []
    for u in info.causal_set.units if info.causal_set is not None else ():
        if u not in order:
            order.append(int(u))
    for u, _ in info.iou:
        if u not in order:
            order.append(int(u))
    return order


def insertion_units(dissection: Dissection, layer: str, concept: str) -> list[int]:
    """A concept's units for drawing, best first: its ACE ``insert_set`` (when the dissection
    has one), then :func:`ranked_units`."""
    info = dissection.concept(layer, concept) or ConceptUnits()
    order = list(info.insert_set.units) if info.insert_set is not None else []
    seen = set(order)
    return order + [u for u in ranked_units(dissection, layer, concept) if u not in seen]


def concept_side(present: torch.Tensor, cell_px: int, max_side: int) -> int:
    """Square side in cells for a concept-sized mask: sqrt of the concept's median area over
    the images of ``present`` (N, H, W) that show it, rounded to whole cells, in
    [1, ``max_side``]."""
    area = present.flatten(1).sum(dim=1)
    area = area[area > 0]
    if area.numel() == 0:
        return max_side
    side_px = float(area.float().median()) ** 0.5
    return int(min(max_side, max(1, round(side_px / cell_px))))


def held_out_seed_base(dissection: Dissection) -> int:
    return (dissection.seed_base or 0) + (dissection.samples or 0)


class EditRunner:
    """Runs the generator from ``layer`` and segments, in batches."""

    def __init__(self, generator, segment_fn, layer, batch_size, device):
        self.g, self.seg, self.layer, self.bs, self.dev = (
            generator,
            segment_fn,
            layer,
            batch_size,
            device,
        )

    def images_u8(self, h: torch.Tensor) -> torch.Tensor:
        """Images (N, H, W, 3) uint8 as the app shows them."""
        with torch.inference_mode():
            image = self.g.run(h, after=self.layer).float().clamp(-1, 1)
        return ((image + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()

    def labels(self, h: torch.Tensor) -> torch.Tensor:
        out = []
        with torch.inference_mode():
            for i in range(0, h.shape[0], self.bs):
                image = self.g.run(h[i : i + self.bs], after=self.layer)
                out.append(self.seg(image.float()).to(self.dev))
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=self.dev)


def _square_positions(
    present: torch.Tensor, prior: torch.Tensor, cells: int, side: int
) -> torch.Tensor:
    """Per image, the (row, col) cell of the best square without the concept, or -1."""
    n, height, width = present.shape
    cell = height // cells
    k = side * cell
    counts = F.avg_pool2d(present[:, None].float(), k, stride=cell)[:, 0]
    score = F.avg_pool2d(prior[None, None].float(), k, stride=cell)[0, 0]
    score = score.expand_as(counts).clone()
    score[counts > 0] = -1.0
    flat = score.flatten(1)
    best = flat.argmax(dim=1)
    ok = flat.gather(1, best[:, None])[:, 0] >= 0
    pos = torch.stack([best // counts.shape[2], best % counts.shape[2]], dim=1)
    pos[~ok] = -1
    return pos


def insertion_squares(
    present: torch.Tensor, cells: int, side: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The insertion squares for a concept: (rows, positions (n, 2) in cells, pixel masks
    (n, H, W) bool, cell masks (n, cells, cells) float) for the images of ``present``
    (N, H, W) where a ``side``-cell square without the concept fits, placed where the concept
    is most frequent over all of ``present`` (see the module docs)."""
    pos = _square_positions(present, present.float().mean(0), cells, side)
    return squares_at(pos, present.shape[1:], cells, side)


def squares_at(
    pos: torch.Tensor, size: tuple[int, int], cells: int, side: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`insertion_squares`' tuple for given per-image positions ((-1, -1): none)."""
    height, width = size
    cell_px = height // cells
    rows = torch.nonzero(pos[:, 0] >= 0).flatten()
    pos = pos[rows]
    pix = torch.zeros(rows.numel(), height, width, dtype=torch.bool, device=pos.device)
    grid = torch.zeros(rows.numel(), cells, cells, device=pos.device)
    for k, (r, c) in enumerate(pos.tolist()):
        pix[k, r * cell_px : (r + side) * cell_px, c * cell_px : (c + side) * cell_px] = True
        grid[k, r : r + side, c : c + side] = 1.0
    return rows, pos, pix, grid


def _held_out(
    runner: EditRunner,
    generator: ProGANGenerator,
    layer: str,
    seed_base: int,
    options: EvalOptions,
    device: torch.device,
    progress: ProgressFactory,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features at ``layer`` and segmentation labels of the held-out samples."""
    feats, labels = [], []
    bar = progress("held-out samples", options.samples)
    try:
        with torch.inference_mode():
            for block in batches(range(options.samples), options.batch_size):
                h = generator.run(latents(seed_base, block, generator.z_dim, device), until=layer)
                feats.append(h)
                labels.append(runner.labels(h))
                bar.update(len(block))
    finally:
        bar.close()
    return torch.cat(feats), torch.cat(labels)


def _removal(
    runner: EditRunner, feats: torch.Tensor, present: torch.Tensor, c: int, units: list[int], ks
) -> tuple[dict[str, float | None], int]:
    """Fraction of concept ``c``'s pixels removed by ablating its top k units, per k, over
    the images that show it; and how many images those are."""
    out: dict[str, float | None] = {str(k): None for k in ks}
    shown = torch.nonzero(present.flatten(1).any(dim=1)).flatten()
    if shown.numel():
        before = float(present[shown].sum())
        for k in ks:
            h = feats[shown].clone()
            h[:, units[:k]] = 0
            after = float((runner.labels(h) == c).sum())
            out[str(k)] = round((before - after) / before, 4)
    return out, int(shown.numel())


def _insertion(
    runner: EditRunner,
    feats: torch.Tensor,
    base: torch.Tensor,
    c: int,
    drawn: torch.Tensor,
    values: torch.Tensor,
    squares: tuple,
    cell_px: int,
    side: int,
    examples: int,
) -> tuple[float, float, dict | None, torch.Tensor]:
    """(fraction of the squares that became concept ``c``, change outside them, example
    images or None, the fraction per square) when ``drawn`` units are set to ``values`` in
    one square per image."""
    usable, pos, masks, grid = squares
    h = feats[usable].clone()
    for row in range(usable.numel()):
        apply_edit(h[row : row + 1], UnitEdit(drawn, values, 1.0, grid[row]))
    after = runner.labels(h)
    hits = ((after == c) & masks).flatten(1).sum(1).float()
    per_square = (hits / masks.flatten(1).sum(1).float()).cpu()
    inside = float(hits.sum()) / float(masks.sum())
    changed = (after != base[usable]) & ~masks
    outside = round(float(changed.sum()) / float((~masks).sum()), 4)
    shown = None
    if examples > 0:
        e = min(examples, usable.numel())
        boxes = [(r * cell_px, x * cell_px, side * cell_px) for r, x in pos[:e].tolist()]
        shown = {
            "before": runner.images_u8(feats[usable[:e]]),
            "after": runner.images_u8(h[:e]),
            "boxes": boxes,
        }
    return round(inside, 4), outside, shown, per_square


def _place(
    options: EvalOptions,
    base: torch.Tensor,
    concepts: Sequence[str],
    name: str,
    cells: int,
    max_side: int,
    info: dict[str, Any],
) -> tuple[tuple, int]:
    """The insertion squares for concept ``name`` and their side in cells, as the options
    ask (placement and size are noted in ``info``)."""
    present = base == list(concepts).index(name)
    in_context = options.placement == "context" and name in CONTEXT_RULES
    side = max_side
    if options.mask == "concept" or in_context:
        side = concept_side(present, base.shape[1] // cells, max_side)
        info["mask_cells"] = side
    info["placement"] = "context" if in_context else "prior"
    if not in_context:
        return insertion_squares(present, cells, side), side
    pos = context_positions(base, concepts, name, cells, side)
    return squares_at(pos, tuple(base.shape[1:]), cells, side), side


@torch.inference_mode()
def evaluate(
    generator: ProGANGenerator,
    segment_fn: SegmentFn,
    concepts: Sequence[str],
    dissection: Dissection,
    layer: str,
    options: EvalOptions | None = None,
    device: torch.device | str = "cpu",
    progress: ProgressFactory = no_progress,
    details: dict | None = None,
) -> dict[str, dict[str, Any]]:
    """``{concept: {"removal": {"5": x, ...}, "insertion": x, "outside_change": x}}``;
    a value is None when no held-out image allows measuring it (or the concept has no
    ranked units). ``details``, if given, receives sample counts per concept."""
    options = options or EvalOptions()
    device = torch.device(device)
    generator = prepare_generator(generator, device)
    levels = UnitLevels.required(dissection, layer)
    seed_base = (
        options.seed_base if options.seed_base is not None else held_out_seed_base(dissection)
    )
    runner = EditRunner(generator, segment_fn, layer, options.batch_size, device)
    feats_t, base = _held_out(runner, generator, layer, seed_base, options, device, progress)
    height = base.shape[1]
    cells = generator.layer_resolution(layer)
    max_side = max(1, round(cells * options.mask_fraction))
    cell_px = height // cells
    if options.mask not in ("quarter", "concept"):
        raise ValueError(f"mask must be 'quarter' or 'concept', got {options.mask!r}")
    if options.placement not in ("prior", "context"):
        raise ValueError(f"placement must be 'prior' or 'context', got {options.placement!r}")
    table: dict[str, dict[str, Any]] = {}
    bar = progress("removal + insertion", len(concepts))
    try:
        for c, name in enumerate(concepts):
            units = ranked_units(dissection, layer, name)
            entry: dict[str, Any] = {
                "removal": {str(k): None for k in options.ks},
                "insertion": None,
                "outside_change": None,
            }
            info: dict[str, Any] = {"units": len(units)}
            table[name] = entry
            bar.update()
            if not units:
                continue
            present = base == c
            entry["removal"], info["removal_images"] = _removal(
                runner, feats_t, present, c, units, options.ks
            )
            squares, side = _place(options, base, concepts, name, cells, max_side, info)
            info["insertion_images"] = int(squares[0].numel())
            if squares[0].numel():
                drawn = insertion_units(dissection, layer, name)
                chosen = torch.tensor(drawn[: options.insert_units], dtype=torch.long)
                values = levels.at(options.insert_quantile)[chosen]
                inside, outside, shown, per_square = _insertion(
                    runner, feats_t, base, c, chosen, values, squares, cell_px, side,
                    options.examples,
                )  # fmt: skip
                entry["insertion"], entry["outside_change"] = inside, outside
                covered = covered_classes(base[squares[0]], squares[2], len(concepts))
                entry["insertion_by_covered"] = by_covered(covered, per_square, concepts)
                if shown is not None:
                    info["examples"] = shown
            if details is not None:
                details[name] = info
    finally:
        bar.close()
    return table
