"""The procedural scene world: outdoor scenes and their exact per-pixel label maps.

A scene is planned from a seed alone (:mod:`~ganpaint.scenes.layout`): a time-of-day sky
with clouds, layered mountain ridges, grass, a dirt path, brick houses and churches (roofs,
towers, domes, doors, windows) and trees, placed with one perspective camera. It is then
painted back to front at any resolution (:mod:`~ganpaint.scenes.render`) with anti-aliased
edges, while the label map records at each pixel the front-most object covering at least
half of it. These scenes train the default GAN and segmenter and give dissection its
ground truth.

Public names: ``CONCEPTS`` (label value i is ``CONCEPTS[i]``), ``CONCEPT_COLORS``,
``render_scene(seed, size)`` and ``render_dataset(n, size, start_seed, workers)``; also
``colorize_labels`` and ``render_scene_debug`` for reports and tests. Scene classes
(:mod:`~ganpaint.scenes.classes`): ``SCENE_CLASSES``, ``scene_class(labels)``,
``scene_classes`` and ``render_scene_with_class(seed, size) -> (image, labels, class)``.
"""

from ganpaint.scenes.classes import (
    SCENE_CLASSES,
    render_scene_with_class,
    scene_class,
    scene_classes,
)
from ganpaint.scenes.concepts import CONCEPT_COLORS, CONCEPTS, colorize_labels
from ganpaint.scenes.dataset import render_dataset
from ganpaint.scenes.render import render_scene, render_scene_debug

__all__ = [
    "CONCEPTS",
    "CONCEPT_COLORS",
    "SCENE_CLASSES",
    "colorize_labels",
    "render_dataset",
    "render_scene",
    "render_scene_debug",
    "render_scene_with_class",
    "scene_class",
    "scene_classes",
]
