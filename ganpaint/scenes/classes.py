"""Scene classes: one class per scene, computed from its label map by a fixed rule.

The rule reads only the label map, so the same rule gives the class of a rendered scene
(its exact labels), of a GAN sample (its segmentation) and of a painted frame: painting a
large enough dome onto a house turns it into a church. Classes, first match wins:

1. ``church``: dome covers at least ``DOME_SHARE`` (2 %) of the picture. (At 128 px that is
   about 330 pixels, an 18 px disc: a dome a viewer sees at once. Smaller domes are common,
   far away on small chapels; a rule that counted them would hinge on a few pixels.)
2. ``landscape``: buildings (brick, roof, dome, door, window) cover under
   ``LANDSCAPE_SHARE`` (6 %): open country, perhaps a far cottage.
3. ``village``: at least two separate buildings. A building is a run of picture columns that
   hold building pixels (at least ``1/64`` of the height), runs apart by at least ``1/64`` of
   the width, holding at least ``BUILDING_SHARE`` (1 %) of the picture's pixels. Columns,
   not connected components: a tree in front of a wall cuts a component in two but leaves
   its columns.
4. ``close-up``: one building covering at least ``CLOSE_SHARE`` (35 %): a facade filling
   the frame.
5. ``house``: the rest: one building in a landscape, no large dome.

Frequencies on seeds 0..3999 at 128 px: church 14.5 %, landscape 11.6 %, village 18.2 %,
close-up 19.2 %, house 36.6 % (each 10-40 %; README, "Scene classifier"). Few scenes have a
building share of 1-4 %; the landscape threshold sits above that gap (at 6 %) so landscapes
are over 10 % of scenes, which leaves scenes near it the hardest to classify.
"""

from __future__ import annotations

import numpy as np

from ganpaint.scenes.concepts import BRICK, DOME, DOOR, ROOF, WINDOW

SCENE_CLASSES: tuple[str, ...] = ("church", "landscape", "village", "close-up", "house")
"""Class index ``i`` means ``SCENE_CLASSES[i]``."""

CHURCH, LANDSCAPE, VILLAGE, CLOSE_UP, HOUSE = range(len(SCENE_CLASSES))

DOME_SHARE = 0.02
LANDSCAPE_SHARE = 0.06
BUILDING_SHARE = 0.01
CLOSE_SHARE = 0.35
BUILDING_LABELS = (BRICK, ROOF, DOME, DOOR, WINDOW)


def building_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """The separate buildings of a label map as column ranges ``(first, last)`` (inclusive),
    left to right, each holding at least ``BUILDING_SHARE`` of the pixels."""
    lab = np.asarray(labels)
    h, w = lab.shape
    mask = np.isin(lab, BUILDING_LABELS)
    per_col = mask.sum(0)
    filled = per_col >= max(1, h // 64)
    gap = max(1, w // 64)
    min_pixels = BUILDING_SHARE * h * w
    runs: list[tuple[int, int]] = []
    start = last = -1
    for x in np.flatnonzero(filled):
        if start >= 0 and x - last > gap:
            runs.append((start, last))
            start = -1
        if start < 0:
            start = int(x)
        last = int(x)
    if start >= 0:
        runs.append((start, last))
    return [(a, b) for a, b in runs if per_col[a : b + 1].sum() >= min_pixels]


def scene_class(labels: np.ndarray) -> int:
    """The class index (into ``SCENE_CLASSES``) of a scene from its label map (H x W ints,
    label values as in ``CONCEPTS``)."""
    lab = np.asarray(labels)
    if lab.ndim != 2 or lab.size == 0:
        raise ValueError(f"a label map is H x W, not {lab.shape}")
    n = lab.size
    if np.count_nonzero(lab == DOME) >= DOME_SHARE * n:
        return CHURCH
    building = np.count_nonzero(np.isin(lab, BUILDING_LABELS)) / n
    if building < LANDSCAPE_SHARE:
        return LANDSCAPE
    if len(building_runs(lab)) >= 2:
        return VILLAGE
    if building >= CLOSE_SHARE:
        return CLOSE_UP
    return HOUSE


def scene_classes(labels: np.ndarray) -> np.ndarray:
    """``scene_class`` of each label map in an N x H x W stack, as an int64 array."""
    return np.asarray([scene_class(lab) for lab in np.asarray(labels)], np.int64)


def render_scene_with_class(seed: int, size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``render_scene(seed, size)`` and the scene's class: (image, labels, class index)."""
    from ganpaint.scenes.render import render_scene

    image, labels = render_scene(seed, size)
    return image, labels, scene_class(labels)
