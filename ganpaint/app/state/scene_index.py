"""Scenes by content: which indexed seeds show a concept, and how much of it (no Qt).

The index comes from the dissection (``scene_index``, written by ``ganpaint learn-defaults``):
per dissection sample, each concept's share of the pixels as the segmenter labels them, and
(for a model with its own segmenter) how far its segmenter features lie from the nearest
rendered world scenes: the well drawn scenes the app starts on, gives as new scenes, and
the strip can list.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ganpaint.models.dissection import Dissection

MIN_SHARE = 0.01  # below this a concept is noise in the segmentation, not in the scene
WELL_DRAWN = 0.1  # the app starts on, and its new scenes are, the best drawn tenth (by eye)


@dataclass(frozen=True)
class SceneContent:
    seeds: tuple[int, ...]
    names: tuple[str, ...]
    shares: tuple[tuple[float, ...], ...]  # per seed, per concept
    distance: tuple[float, ...] = ()  # per seed, or none: small is well drawn

    @classmethod
    def from_dissection(cls, dissection: Dissection | None) -> SceneContent | None:
        index = dissection.scene_index if dissection is not None else None
        if index is None or not index.seeds:
            return None
        return cls(index.seeds, index.concepts, index.shares, index.distance)

    def well_drawn(self, limit: int = 24) -> list[int]:
        """The indexed seeds most like the world's scenes, the best first ([] when the
        index has no distances)."""
        order = sorted(range(len(self.distance)), key=lambda i: self.distance[i])
        return [self.seeds[i] for i in order[:limit]]

    def pick_well_drawn(
        self, rng: random.Random, exclude: int | None = None, fraction: float = WELL_DRAWN
    ) -> int | None:
        """A random one of the best drawn ``fraction`` of the index other than ``exclude``
        (None without distances)."""
        best = self.well_drawn(max(2, round(len(self.distance) * fraction)))
        best = [s for s in best if s != exclude] or best
        return rng.choice(best) if best else None

    def drawn_rank(self, seed: int) -> int | None:
        """1 for the best drawn indexed scene, and so on (None: not indexed or not measured)."""
        if not self.distance or seed not in self.seeds:
            return None
        mine = self.distance[self.seeds.index(seed)]
        return 1 + sum(d < mine for d in self.distance)

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
        """A few scenes where ``concept`` is large: good to show it, or to remove it. With
        distances, those drawn better than the median come first (the largest shares are
        often the model's failures: melted forests, close-up walls), then the others."""
        found = self.matching(concept, limit=len(self.seeds))
        if self.distance:
            median = sorted(self.distance)[(len(self.distance) - 1) // 2]
            well = {s for s, d in zip(self.seeds, self.distance, strict=True) if d <= median}
            found.sort(key=lambda x: x[0] not in well)  # stable: largest share first in each
        return found[:count]

    def describe(self, seed: int, top: int = 4) -> str:
        """What the scene shows ("sky 41 %, grass 22 %, tree 9 %"), or ""."""
        if seed not in self.seeds:
            return ""
        row = self.shares[self.seeds.index(seed)]
        order = sorted(range(len(row)), key=lambda i: -row[i])[:top]
        return ", ".join(f"{self.names[i]} {row[i]:.0%}" for i in order if row[i] >= MIN_SHARE)
