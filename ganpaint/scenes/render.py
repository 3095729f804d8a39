"""Rendering a planned scene to an RGB image and its exact label map."""

from __future__ import annotations

import numpy as np

from ganpaint.scenes.canvas import Canvas, Record
from ganpaint.scenes.layout import Scene, plan_scene

MIN_SIZE = 8


def _draw(scene: Scene, size: int, record: bool) -> Canvas:
    if size < MIN_SIZE:
        raise ValueError(f"scene size must be at least {MIN_SIZE} pixels, got {size}")
    cv = Canvas(size, record=record)
    for item in scene.items:
        item.draw(cv, scene.env)
    return cv


def render_scene(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render scene ``seed`` at ``size`` x ``size`` pixels.

    Returns ``(rgb, labels)``: uint8 arrays of shape (size, size, 3) and (size, size); label
    value i means ``CONCEPTS[i]``. The layout depends only on the seed, so the same seed at
    another size shows the same scene at another resolution."""
    cv = _draw(plan_scene(int(seed)), int(size), record=False)
    return cv.to_uint8(), cv.labels


def render_scene_debug(seed: int, size: int) -> tuple[np.ndarray, np.ndarray, Scene, list[Record]]:
    """Like :func:`render_scene`, also returning the planned scene and every labelled paint
    operation (label, box origin, per-pixel coverage) in paint order."""
    scene = plan_scene(int(seed))
    cv = _draw(scene, int(size), record=True)
    return cv.to_uint8(), cv.labels, scene, list(cv.records or [])
