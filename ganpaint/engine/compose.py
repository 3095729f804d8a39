"""Folding a layer's strokes into one affine map per unit and position.

Each stroke replaces ``h`` by ``h * (1 - alpha) + v * alpha`` on its units; composing them in
order is again affine, ``h' = A * h + B`` with A, B of shape (C, h, w). Rendering then costs
one multiply-add however many strokes there are, and a captured CUDA graph can take A and B
as fixed-shape inputs. :func:`compose_edits` is exact algebra on the rule in
``intervention.py`` (equal up to float rounding; tests check it against the sequential form).
"""

from __future__ import annotations

from collections.abc import Sequence

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
