"""Scenes by content: which indexed seeds show a concept, and how much of it (no Qt).

The index comes from the dissection (``scene_index``, written by ``ganpaint learn-defaults``):
per dissection sample, each concept's share of the pixels as the segmenter labels them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganpaint.models.dissection import Dissection

MIN_SHARE = 0.01  # below this a concept is noise in the segmentation, not in the scene


@dataclass(frozen=True)
class SceneContent:
    seeds: tuple[int, ...]
    names: tuple[str, ...]
    shares: tuple[tuple[float, ...], ...]  # per seed, per concept

    @classmethod
    def from_dissection(cls, dissection: Dissection | None) -> SceneContent | None:
        index = dissection.scene_index if dissection is not None else None
        if index is None or not index.seeds:
            return None
        return cls(index.seeds, index.concepts, index.shares)

    def concepts(self) -> list[str]:
        """Concepts that some indexed scene shows (at least :data:`MIN_SHARE`)."""
        return [n for i, n in enumerate(self.names) if any(r[i] >= MIN_SHARE for r in self.shares)]

    def share(self, seed: int, concept: str) -> float:
        if seed not in self.seeds or concept not in self.names:
            return 0.0
        return self.shares[self.seeds.index(seed)][self.names.index(concept)]

    def matching(
        self, concept: str, min_share: float = MIN_SHARE, limit: int = 24
    ) -> list[tuple[int, float]]:
        """(seed, share) of the scenes showing ``concept``, the largest share first."""
        if concept not in self.names:
            return []
        c = self.names.index(concept)
        found = [(s, row[c]) for s, row in zip(self.seeds, self.shares, strict=True)
                 if row[c] >= max(min_share, MIN_SHARE)]  # fmt: skip
        return sorted(found, key=lambda x: -x[1])[:limit]

    def demo_seeds(self, concept: str, count: int = 4) -> list[tuple[int, float]]:
        """A few scenes where ``concept`` is large: good to show it, or to remove it."""
        return self.matching(concept, limit=count)

    def describe(self, seed: int, top: int = 4) -> str:
        """What the scene shows ("sky 41 %, grass 22 %, tree 9 %"), or ""."""
        if seed not in self.seeds:
            return ""
        row = self.shares[self.seeds.index(seed)]
        order = sorted(range(len(row)), key=lambda i: -row[i])[:top]
        return ", ".join(f"{self.names[i]} {row[i]:.0%}" for i in order if row[i] >= MIN_SHARE)
