"""Contact sheets: many equally sized uint8 images laid out row by row in one image, as the
training sample grids, ``ganpaint samples`` and ``ganpaint scenes --grid`` write them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
