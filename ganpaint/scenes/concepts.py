"""The concepts of the scene world: their names, label values and display colours."""

from __future__ import annotations

import numpy as np

CONCEPTS: tuple[str, ...] = (
    "sky",
    "cloud",
    "mountain",
    "grass",
    "tree",
    "path",
    "brick",
    "roof",
    "dome",
    "door",
    "window",
)
"""Label value ``i`` in a label map means ``CONCEPTS[i]``."""

CONCEPT_COLORS: dict[str, tuple[int, int, int]] = {
    "sky": (110, 170, 240),
    "cloud": (232, 232, 242),
    "mountain": (125, 95, 165),
    "grass": (120, 205, 80),
    "tree": (20, 95, 40),
    "path": (225, 195, 125),
    "brick": (190, 60, 40),
    "roof": (245, 135, 25),
    "dome": (0, 200, 205),
    "door": (95, 45, 15),
    "window": (255, 235, 60),
}
"""A distinct colour per concept for legends, overlays and colour-coded label maps."""

SKY, CLOUD, MOUNTAIN, GRASS, TREE, PATH, BRICK, ROOF, DOME, DOOR, WINDOW = range(len(CONCEPTS))


def label_palette() -> list[tuple[int, int, int]]:
    """The display colours indexed by label value."""
    return [CONCEPT_COLORS[name] for name in CONCEPTS]


def colorize_labels(labels: np.ndarray) -> np.ndarray:
    """An RGB uint8 image (..., 3) showing each label in its ``CONCEPT_COLORS`` colour."""
    lut = np.asarray(label_palette(), np.uint8)
    return lut[np.asarray(labels)]
