"""A deterministic stand-in segmenter for tests and demos: no weights, same labels on every
machine and in every process, so sharded and single runs can be compared exactly.

:func:`sign_segment` labels a pixel by the signs of its red and green values (four concepts,
``SYNTHETIC_CONCEPTS``). Select it on the command line with
``--segment-fn ganpaint.dissect.synthetic:sign_segment``.
"""

from __future__ import annotations

import torch

SYNTHETIC_CONCEPTS = ("dark", "red", "green", "yellow")


def sign_segment(images: torch.Tensor) -> torch.Tensor:
    """Images (N, 3, H, W) -> labels long (N, H, W): (red > 0) + 2 * (green > 0)."""
    return ((images[:, 0] > 0).long() + 2 * (images[:, 1] > 0).long()).contiguous()


sign_segment.concepts = SYNTHETIC_CONCEPTS  # type: ignore[attr-defined]
