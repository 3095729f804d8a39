"""Images as uint8 arrays: contact sheets (many equally sized images laid out row by row in
one, as the training sample grids, ``ganpaint samples`` and ``ganpaint scenes --grid`` write
them) and enlargement for export (:func:`enlarge`: nearest for crisp pixels, Lanczos for
smooth)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


def image_grid(images: Sequence[np.ndarray] | np.ndarray, cols: int, fill: int = 0) -> np.ndarray:
    """uint8 (H, W, 3) images -> one (rows*H, cols*W, 3) image, row by row; cells past the
    last image are ``fill``."""
    n = len(images)
    h, w, c = images[0].shape
    rows = -(-n // cols)
    grid = np.full((rows * h, cols * w, c), fill, np.uint8)
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        grid[r * h : (r + 1) * h, k * w : (k + 1) * w] = image
    return grid


def enlarge(image: np.ndarray, factor: int, smooth: bool = False) -> np.ndarray:
    """uint8 (H, W, C) enlarged ``factor`` times (nearest, or Lanczos when ``smooth``)."""
    if factor <= 1:
        return np.asarray(image)
    h, w = image.shape[:2]
    method = Image.Resampling.LANCZOS if smooth else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(image).resize((w * factor, h * factor), method))
