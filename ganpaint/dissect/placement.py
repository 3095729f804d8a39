"""Insertion squares placed where a concept fits (``ganpaint evaluate --placement context``),
as GAN Dissection measured doors: a door at the foot of a wall that has no door, a dome on
a tower or roof top, a tree on lawn reaching the horizon, a window on a wall.

Every rule reads the held-out image's segmentation. For each square position (aligned to the
edit layer's grid, ``side`` cells wide) it measures the share of given classes in bands of
the square (its top or bottom half, the strip just below it); positions that break a rule or
already show the concept are out, and the best-scoring position is taken. Concepts without a
rule are placed as before (where they are most frequent a priori). :func:`covered_classes`
names the class each square mostly covered, for the table of insertion by covered class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

# Classes that count as ground at the foot of a wall, as open sky above a building, as what
# lies beyond the lawn at the horizon, and as building below a dome.
_GROUND = ("grass", "path")
_SKY = ("sky", "cloud")
_HORIZON = ("sky", "cloud", "mountain", "tree")
_BUILDING = ("brick", "roof")


class Bands:
    """Class shares in bands of every square position of one square size."""

    def __init__(self, labels: torch.Tensor, names: Sequence[str], cells: int, side: int):
        self.labels, self.names = labels, list(names)
        self.height = labels.shape[1]
        self.cell = self.height // cells
        self.k = side * self.cell
        self.positions = cells - side + 1

    def share(self, classes: Sequence[str], top: int, rows: int) -> torch.Tensor:
        """(N, P, P): the share of ``classes`` in rows ``top .. top + rows`` (pixels, from
        each square's top; outside the image counts as none) of each square position."""
        ids = [self.names.index(c) for c in classes if c in self.names]
        mask = torch.zeros_like(self.labels, dtype=torch.float32)
        for i in ids:
            mask += (self.labels == i).float()
        h = self.height
        padded = F.pad(mask, (0, 0, h, h))
        start = h + top
        span = padded[:, start : start + (self.positions - 1) * self.cell + rows]
        pooled = F.avg_pool2d(span[:, None], (rows, self.k), stride=self.cell)[:, 0]
        return pooled[:, : self.positions, : self.positions]

    def square(self, classes: Sequence[str]) -> torch.Tensor:
        return self.share(classes, 0, self.k)

    def top_half(self, classes: Sequence[str]) -> torch.Tensor:
        return self.share(classes, 0, max(self.k // 2, 1))

    def bottom_half(self, classes: Sequence[str]) -> torch.Tensor:
        return self.share(classes, self.k // 2, max(self.k - self.k // 2, 1))

    def below(self, classes: Sequence[str]) -> torch.Tensor:
        """The strip of half a cell just under the square."""
        return self.share(classes, self.k, max(self.cell // 2, 1))

    def column_free(self, name: str) -> torch.Tensor:
        """(N, P, P) bool: no ``name`` pixel anywhere in the square's columns widened by one
        cell on each side (for the whole image height)."""
        if name not in self.names:
            return torch.ones(self.labels.shape[0], self.positions, self.positions, dtype=bool)
        cols = (self.labels == self.names.index(name)).any(dim=1).float()  # (N, W)
        padded = F.pad(cols[:, None], (self.cell, self.cell))
        near = F.max_pool1d(padded, self.k + 2 * self.cell, stride=self.cell)[:, 0]
        free = near[:, : self.positions] == 0
        return free[:, None, :].expand(-1, self.positions, -1)


def _door(b: Bands) -> torch.Tensor:
    wall, ground = b.bottom_half(("brick",)), b.below(_GROUND)
    ok = (wall >= 0.5) & (ground >= 0.5) & b.column_free("door")
    return torch.where(ok, wall + ground, torch.full_like(wall, -1.0))


def _dome(b: Bands) -> torch.Tensor:
    sky, building = b.top_half(_SKY), b.bottom_half(_BUILDING)
    ok = (sky >= 0.5) & (building >= 0.4)
    return torch.where(ok, sky + building, torch.full_like(sky, -1.0))


def _tree(b: Bands) -> torch.Tensor:
    lawn, beyond = b.bottom_half(("grass",)), b.share(_HORIZON, 0, max(b.k // 4, 1))
    ok = (lawn >= 0.5) & (beyond >= 0.5)
    return torch.where(ok, lawn + beyond, torch.full_like(lawn, -1.0))


def _window(b: Bands) -> torch.Tensor:
    wall = b.square(("brick",))
    ok = wall >= 0.8
    return torch.where(ok, wall, torch.full_like(wall, -1.0))


CONTEXT_RULES: dict[str, Callable[[Bands], torch.Tensor]] = {
    "door": _door,
    "dome": _dome,
    "tree": _tree,
    "window": _window,
}


def context_positions(
    labels: torch.Tensor, names: Sequence[str], concept: str, cells: int, side: int
) -> torch.Tensor:
    """Per image, the (row, col) cell of the best square for ``concept`` under its rule,
    or (-1, -1) where none fits (or the concept has no rule)."""
    n = labels.shape[0]
    rule = CONTEXT_RULES.get(concept)
    if rule is None or concept not in names:
        return torch.full((n, 2), -1, dtype=torch.long, device=labels.device)
    bands = Bands(labels, names, cells, side)
    score = rule(bands)
    shows = bands.square((concept,)) > 0
    score = torch.where(shows, torch.full_like(score, -1.0), score)
    flat = score.flatten(1)
    best = flat.argmax(dim=1)
    ok = flat.gather(1, best[:, None])[:, 0] >= 0
    pos = torch.stack([best // bands.positions, best % bands.positions], dim=1)
    pos[~ok] = -1
    return pos


def covered_classes(labels: torch.Tensor, masks: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(n,) the label that covered most of each square (``masks`` (n, H, W) bool) before the
    edit."""
    out = torch.zeros(labels.shape[0], dtype=torch.long)
    for i in range(labels.shape[0]):
        inside = labels[i][masks[i]].long().cpu()
        out[i] = (
            int(torch.bincount(inside, minlength=num_classes).argmax()) if inside.numel() else 0
        )
    return out


def by_covered(
    covered: torch.Tensor, per_square: torch.Tensor, names: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """``{class: {"squares": n, "insertion": mean fraction}}`` over the squares that class
    covered most, most frequent class first."""
    table: dict[str, dict[str, float | int]] = {}
    counts = torch.bincount(covered, minlength=len(names))
    for i in torch.argsort(counts, descending=True).tolist():
        n = int(counts[i])
        if n == 0:
            break
        mean = float(per_square[covered == i].mean())
        name = names[i] if i < len(names) else str(i)
        table[name] = {"squares": n, "insertion": round(mean, 4)}
    return table
