"""Folding a layer's strokes into one affine map per unit and position.

Each stroke replaces ``h`` by ``h * (1 - alpha) + v * alpha`` on its units; composing them in
order is again affine, ``h' = A * h + B`` with A, B of shape (C, h, w). Rendering then costs
one multiply-add however many strokes there are, and a captured CUDA graph can take A and B
as fixed-shape inputs. :func:`compose_edits` is exact algebra on the rule in
``intervention.py`` (equal up to float rounding; tests check it against the sequential form).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ganpaint.engine.intervention import UnitEdit


def identity_affine(
    channels: int, size: int, device: torch.device | str = "cpu", dtype=torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.ones(channels, size, size, device=device, dtype=dtype),
        torch.zeros(channels, size, size, device=device, dtype=dtype),
    )


def fold_edit(a: torch.Tensor, b: torch.Tensor, edit: UnitEdit) -> None:
    """Compose one edit onto (A, B) in place: A <- A (1 - alpha), B <- B (1 - alpha) + v alpha."""
    if edit.units.numel() == 0 or edit.strength == 0.0:
        return
    units = edit.units.to(a.device)
    alpha = (edit.mask.to(device=a.device, dtype=a.dtype) * float(edit.strength))[None]
    keep = 1.0 - alpha
    values = edit.values.to(device=a.device, dtype=a.dtype).view(-1, 1, 1)
    a.index_copy_(0, units, a.index_select(0, units) * keep)
    b.index_copy_(0, units, b.index_select(0, units) * keep + values * alpha)


def compose_edits(
    edits: Sequence[UnitEdit],
    channels: int,
    size: int,
    device: torch.device | str = "cpu",
    base: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B) for ``edits`` in order, starting from ``base`` (copied) or the identity."""
    if base is None:
        a, b = identity_affine(channels, size, device)
    else:
        a, b = base[0].clone(), base[1].clone()
    for edit in edits:
        fold_edit(a, b, edit)
    return a, b


class FoldChain:
    """The folded (A, B) of one layer's stroke list, kept up to date as the list changes.

    Keeps the prefix maps at every ``every``-th stroke and at the last two lengths. A new
    list is folded on from the last kept prefix it shares with the previous one, so a preview
    stroke, a commit, an undo, a redo, or hiding or deleting a recent stroke costs a few folds,
    not one per stroke. The folds are the same calls in the same order as
    :func:`compose_edits`, so the map is bit for bit the one a refold from scratch gives.
    """

    def __init__(
        self,
        lower: Callable[[Any], UnitEdit],
        channels: int,
        size: int,
        device: torch.device | str = "cpu",
        every: int = 128,
    ):
        self.lower, self.every = lower, int(every)
        self._strokes: tuple = ()
        self._marks: dict[int, tuple[torch.Tensor, torch.Tensor]] = {
            0: identity_affine(channels, size, device)
        }
        self.folds = 0  # folds made so far (tests and diagnostics read it)

    def get(self, strokes: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B) of ``strokes`` in order; the tensors are shared: do not modify them."""
        shared = _common_prefix(self._strokes, strokes)
        start = max(k for k in self._marks if k <= shared)
        if start == len(strokes):
            result = self._marks[start]
        else:
            a, b = (t.clone() for t in self._marks[start])
            n = len(strokes)
            for i in range(start, n):
                fold_edit(a, b, self.lower(strokes[i]))
                self.folds += 1
                if i + 1 < n and ((i + 1) % self.every == 0 or i + 1 >= n - 1):
                    self._marks[i + 1] = (a.clone(), b.clone())
            result = self._marks[n] = (a, b)
        n = len(strokes)
        self._marks = {
            k: v for k, v in self._marks.items() if k <= n and (k % self.every == 0 or k >= n - 1)
        }
        self._strokes = strokes
        return result


def _common_prefix(a: tuple, b: tuple) -> int:
    """How many leading items ``a`` and ``b`` share (strokes compare by identity)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search on the equal-prefix property (a[:k] == b[:k] is monotone)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
