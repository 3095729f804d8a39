"""Folding a layer's strokes into one affine map per unit and position.

Each stroke replaces ``h`` by ``h * (1 - alpha) + v * alpha`` on its units; composing them in
order is again affine, ``h' = A * h + B`` with A, B of shape (C, h, w). Rendering then costs
one multiply-add however many strokes there are, and a captured CUDA graph can take A and B
as fixed-shape inputs. :func:`compose_edits` is exact algebra on the rule in
``intervention.py`` (equal up to float rounding; tests check it against the sequential form).
"""

from __future__ import annotations

import weakref
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

    Keeps the prefix maps at about every ``every``-th stroke and at the last two lengths. A
    new list is folded on from the last kept prefix it shares with the previous one, so a
    preview stroke, a commit, an undo, a redo, or hiding or deleting a recent stroke costs a
    few folds. When the list changes further back (a stroke hidden or deleted among
    thousands), only the region the changed strokes touch (their units, the bounding box of
    their masks) is refolded, through the strokes that reach it; the rest of the map and of
    the later prefix maps is unchanged. Every fold is the same element-wise arithmetic in the
    same order as :func:`compose_edits` (a stroke that does not reach an element leaves it
    exactly as it was), so the map is bit for bit the one a refold from scratch gives.
    """

    def __init__(
        self,
        lower: Callable[[Any], UnitEdit],
        channels: int,
        size: int,
        device: torch.device | str = "cpu",
        every: int = 128,
    ):
        self.lower, self.every, self.channels = lower, int(every), int(channels)
        self._strokes: tuple = ()
        self._marks: dict[int, tuple[torch.Tensor, torch.Tensor]] = {
            0: identity_affine(channels, size, device)
        }
        self._reach: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.folds = 0  # folds made so far (tests and diagnostics read it)

    def get(self, strokes: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B) of ``strokes`` in order; the tensors are shared: do not modify them."""
        old, n = self._strokes, len(strokes)
        shared = _common_prefix(old, strokes)
        start = max(k for k in self._marks if k <= shared)
        tail = _common_suffix(old, strokes, shared)
        if tail and n - start > self.every and len(old) in self._marks:
            self._refold_region(old, strokes, shared, tail, start)
        elif start < n:
            self._refold(strokes, start)
        self._prune(n)
        self._strokes = strokes
        return self._marks[n]

    def _refold(self, strokes: tuple, start: int) -> None:
        """Fold ``strokes[start:]`` onto the mark at ``start``, marking on the way."""
        a, b = (t.clone() for t in self._marks[start])
        n = len(strokes)
        self._marks = {k: v for k, v in self._marks.items() if k <= start}
        for i in range(start, n):
            fold_edit(a, b, self._lowered(strokes[i]))
            self.folds += 1
            if i + 1 < n and ((i + 1) % self.every == 0 or i + 1 >= n - 1):
                self._marks[i + 1] = (a.clone(), b.clone())
        self._marks[n] = (a, b)

    def _refold_region(self, old: tuple, new: tuple, shared: int, tail: int, start: int) -> None:
        """``old[shared:-tail]`` became ``new[shared:-tail]``: refold only where those
        strokes reach, and carry the old marks of the common tail over with that region."""
        shift = len(old) - len(new)
        carried = {
            k - shift: v
            for k, v in self._marks.items()
            if k - shift > shared and k >= len(old) - tail
        }
        region = self._region(old[shared : len(old) - tail] + new[shared : len(new) - tail])
        self._marks = {k: v for k, v in self._marks.items() if k <= shared}
        if region is None:  # the changed strokes edit nothing: the old maps hold as they are
            self._marks.update(carried)
            return
        units, unit_set, (y0, y1, x0, x1) = region
        local = torch.full((self.channels,), -1, dtype=torch.long, device=units.device)
        local[units] = torch.arange(len(units), device=units.device)
        a, b = (t[units, y0:y1, x0:x1].clone() for t in self._marks[start])
        for i in range(start, len(new)):
            if self._reaches(new[i], unit_set, region[2]):
                edit = self._lowered(new[i])
                pos = local[edit.units.to(local.device)]
                keep = pos >= 0
                sub = UnitEdit(pos[keep], edit.values[keep], edit.strength, edit.mask[y0:y1, x0:x1])
                fold_edit(a, b, sub)
                self.folds += 1
            if i + 1 in carried:
                ma, mb = (t.clone() for t in carried[i + 1])
                ma[:, y0:y1, x0:x1].index_copy_(0, units, a)
                mb[:, y0:y1, x0:x1].index_copy_(0, units, b)
                self._marks[i + 1] = (ma, mb)

    def _lowered(self, stroke: Any) -> UnitEdit:
        """``lower(stroke)``, noting which units and cells the stroke reaches."""
        edit = self.lower(stroke)
        if stroke not in self._reach:
            cells = edit.mask > 0
            rows, cols = cells.any(dim=1).nonzero(), cells.any(dim=0).nonzero()
            if edit.units.numel() == 0 or edit.strength == 0.0 or rows.numel() == 0:
                box = None
            else:
                box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
            self._reach[stroke] = (frozenset(int(u) for u in edit.units.tolist()), box)
        return edit

    def _reaches(self, stroke: Any, units: frozenset, box: tuple) -> bool:
        if stroke not in self._reach:
            self._lowered(stroke)
        stroke_units, b = self._reach[stroke]
        if b is None or stroke_units.isdisjoint(units):
            return False
        return b[0] < box[1] and box[0] < b[1] and b[2] < box[3] and box[2] < b[3]

    def _region(self, strokes: tuple):
        """(unit indices, unit set, cell box) that ``strokes`` reach, or None."""
        units: set[int] = set()
        box = None
        for s in strokes:
            if s not in self._reach:
                self._lowered(s)
            su, b = self._reach[s]
            if b is None or not su:
                continue
            units |= su
            box = b if box is None else (min(box[0], b[0]), max(box[1], b[1]),
                                         min(box[2], b[2]), max(box[3], b[3]))  # fmt: skip
        if box is None:
            return None
        device = self._marks[0][0].device
        return torch.tensor(sorted(units), device=device), frozenset(units), box

    def _prune(self, n: int) -> None:
        """Keep the marks up to ``n``: the first in each run of ``every`` and the last two."""
        kept, bucket = {}, -1
        for k in sorted(self._marks):
            if k > n:
                break
            if k >= n - 1 or k // self.every != bucket:
                kept[k] = self._marks[k]
                bucket = k // self.every
        self._marks = kept


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


def _common_suffix(a: tuple, b: tuple, prefix: int) -> int:
    """How many trailing items ``a`` and ``b`` share after their first ``prefix`` items."""
    n = min(len(a), len(b)) - prefix
    k = 0
    while k < n and a[len(a) - 1 - k] is b[len(b) - 1 - k]:
        k += 1
    return k
