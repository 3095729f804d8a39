"""The concept being taught, as a plain model (no Qt): samples, the user's marks, the ranking.

:class:`ConceptDraft` holds 3–10 samples (a seed and a uint8 mask at the image resolution
each; an unmarked sample says "the concept is not here"), the edit layer, and the latest
ranking of the layer's units that came back for it. Every change to the marks, samples or
layer bumps :attr:`ConceptDraft.revision` and notifies listeners; a ranking is *current*
when it was made from the current revision. Marks are painted with the app's brush
(:class:`~ganpaint.app.state.brush.StrokeMask`): drawing takes the maximum, erasing cuts out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganpaint.app.state.brush import StrokeMask

MIN_SAMPLES = 3
MAX_SAMPLES = 10
DEFAULT_SAMPLES = 6
MARK_LEVEL = 128  # find_concept counts a pixel as marked above half coverage


@dataclass
class Sample:
    seed: int
    mask: np.ndarray  # uint8 (H, W), 255 = the concept

    @property
    def marked(self) -> bool:
        return bool((self.mask >= MARK_LEVEL).any())


def merge_stroke(base: np.ndarray, stroke: np.ndarray, erase: bool = False) -> np.ndarray:
    """``base`` with a stroke's coverage added (max) or, erasing, taken away."""
    if erase:
        return np.minimum(base, 255 - stroke)
    return np.maximum(base, stroke)


class ConceptDraft:
    def __init__(self, resolution: int, layer: str, seeds: Sequence[int]):
        if not MIN_SAMPLES <= len(seeds) <= MAX_SAMPLES:
            raise ValueError(f"give {MIN_SAMPLES}–{MAX_SAMPLES} samples, got {len(seeds)}")
        self.resolution = int(resolution)
        self.layer = layer
        self.samples = [Sample(int(s), self._blank()) for s in seeds]
        self.revision = 0
        self.ranking: Any = None  # CustomConcept from find_concept, or None
        self.ranking_revision = -1
        self.error: str | None = None
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """``listener(kind)`` after each change: "samples", "marks", "layer" or "ranking"."""
        self._listeners.append(listener)

    # -- reading ---------------------------------------------------------------------------

    @property
    def seeds(self) -> list[int]:
        return [s.seed for s in self.samples]

    @property
    def marked(self) -> int:
        """How many samples carry marks."""
        return sum(s.marked for s in self.samples)

    @property
    def can_rank(self) -> bool:
        return self.marked > 0

    @property
    def current(self) -> bool:
        """The ranking was made from the marks as they are now."""
        return self.ranking is not None and self.ranking_revision == self.revision

    def inputs(self) -> tuple[tuple[int, ...], tuple[np.ndarray, ...]]:
        """Seeds and (copies of) masks of every sample, for a ranking job."""
        return tuple(self.seeds), tuple(s.mask.copy() for s in self.samples)

    # -- marks -----------------------------------------------------------------------------

    def set_mask(self, index: int, mask: np.ndarray) -> None:
        mask = np.asarray(mask)
        if mask.shape != (self.resolution, self.resolution):
            raise ValueError(f"mask is {mask.shape}, expected {self.resolution}² pixels")
        if mask.dtype == bool:
            mask = mask.astype(np.uint8) * 255
        self.samples[index].mask = np.clip(mask, 0, 255).astype(np.uint8)
        self._changed("marks")

    def apply_stroke(self, index: int, stroke: np.ndarray, erase: bool = False) -> None:
        self.set_mask(index, merge_stroke(self.samples[index].mask, stroke, erase))

    def paint(
        self,
        index: int,
        points: Sequence[tuple[float, float]],
        radius: float,
        erase: bool = False,
        hardness: float = 0.9,
    ) -> None:
        """Mark (or erase) along ``points`` (image pixels) with a brush of ``radius`` pixels."""
        stroke = StrokeMask(self.resolution, radius, hardness)
        stroke.move_to(*points[0])
        for x, y in points[1:]:
            stroke.line_to(x, y)
        self.apply_stroke(index, stroke.mask, erase)

    def clear(self, index: int) -> None:
        self.set_mask(index, self._blank())

    # -- samples and layer -----------------------------------------------------------------

    def add_sample(self, seed: int) -> bool:
        if len(self.samples) >= MAX_SAMPLES:
            return False
        self.samples.append(Sample(int(seed), self._blank()))
        self._changed("samples")
        return True

    def remove_sample(self, index: int) -> bool:
        if len(self.samples) <= MIN_SAMPLES:
            return False
        del self.samples[index]
        self._changed("samples")
        return True

    def replace_sample(self, index: int, seed: int) -> None:
        """Show another scene in this place (its marks go)."""
        self.samples[index] = Sample(int(seed), self._blank())
        self._changed("samples")

    def set_layer(self, layer: str) -> None:
        if layer != self.layer:
            self.layer = layer
            self._changed("layer")

    # -- the ranking -----------------------------------------------------------------------

    def set_ranking(self, revision: int, ranking: Any, error: str | None = None) -> bool:
        """A ranking made from ``revision``; an older one than the last is ignored."""
        if revision < self.ranking_revision or revision > self.revision:
            return False
        self.ranking_revision = revision
        self.ranking, self.error = ranking, error
        self._notify("ranking")
        return True

    # -- internals -------------------------------------------------------------------------

    def _blank(self) -> np.ndarray:
        return np.zeros((self.resolution, self.resolution), np.uint8)

    def _changed(self, kind: str) -> None:
        self.revision += 1
        self._notify(kind)

    def _notify(self, kind: str) -> None:
        for listener in list(self._listeners):
            listener(kind)
