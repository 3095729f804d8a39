"""The raster a scene is painted on: an RGB buffer and a label map, composited together.

Every shape is given as a signed distance field (negative inside, in image-relative units)
over a pixel bounding box. Its coverage of a pixel is ``alpha = clip(0.5 - sdf_px, 0, 1)``,
which anti-aliases the RGB edge, and the label map takes the shape's label exactly where
``alpha >= 0.5``. Painting in back-to-front order therefore leaves at every pixel the label
of the front-most shape that covers at least half of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

F32 = np.float32


def clamp(x, lo, hi):
    """np.clip without its Python-level overhead (lo or hi may be None)."""
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


@dataclass(frozen=True)
class Region:
    """A pixel bounding box and the relative coordinates of its pixel centres.

    ``xs`` has shape (1, w) and ``ys`` shape (h, 1), so expressions in them broadcast to
    the box's (h, w) grid.
    """

    i0: int
    i1: int
    j0: int
    j1: int
    xs: np.ndarray
    ys: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.i1 - self.i0, self.j1 - self.j0)


@dataclass(frozen=True)
class Record:
    """One paint operation, kept when a canvas records (for tests and debugging): the
    label it set where coverage >= 0.5 (None for unlabelled shading), the box origin, the
    per-pixel coverage and the colour composited with it."""

    label: int | None
    i0: int
    j0: int
    coverage: np.ndarray
    color: np.ndarray


class Canvas:
    """An RGB float buffer (values 0..255) plus a uint8 label map of side ``size``.

    Colours are channel-first: the buffer is (3, size, size) and per-pixel colours passed
    to :meth:`paint` are (3, h, w) (or broadcastable, e.g. (3, 1, 1)); numpy broadcasts
    far faster over a leading channel axis than over a trailing one of length 3."""

    def __init__(self, size: int, record: bool = False) -> None:
        self.size = int(size)
        self.rgb = np.zeros((3, size, size), np.float32)
        self.labels = np.zeros((size, size), np.uint8)
        self.records: list[Record] | None = [] if record else None
        self._axis = (np.arange(size, dtype=np.float32) + 0.5) / size

    def region(self, x0: float, y0: float, x1: float, y1: float) -> Region | None:
        """The pixels whose centres may be touched by a shape inside the relative box
        [x0, x1] x [y0, y1], padded by one pixel for anti-aliasing; None when empty."""
        n = self.size
        j0 = max(math.floor(x0 * n) - 1, 0)
        j1 = min(math.ceil(x1 * n) + 1, n)
        i0 = max(math.floor(y0 * n) - 1, 0)
        i1 = min(math.ceil(y1 * n) + 1, n)
        if j0 >= j1 or i0 >= i1:
            return None
        return Region(i0, i1, j0, j1, self._axis[None, j0:j1], self._axis[i0:i1, None])

    def full(self) -> Region:
        """The whole canvas as a region."""
        n = self.size
        return Region(0, n, 0, n, self._axis[None, :], self._axis[:, None])

    def coverage(self, reg: Region, sdf: np.ndarray) -> np.ndarray:
        """Per-pixel coverage in [0, 1] of a shape with signed distance ``sdf`` (relative)."""
        if sdf.shape == reg.shape:
            alpha = sdf * np.float32(-self.size)
        else:
            alpha = np.broadcast_to(sdf, reg.shape) * np.float32(-self.size)
        alpha += np.float32(0.5)
        np.maximum(alpha, 0.0, out=alpha)
        np.minimum(alpha, 1.0, out=alpha)
        return alpha

    def paint(
        self,
        reg: Region | None,
        sdf: np.ndarray,
        color,
        label: int | None,
    ) -> np.ndarray | None:
        """Composite ``color`` (an RGB triple or a (3, h, w) array) over the region with the
        shape's coverage; set ``label`` where coverage >= 0.5 (None paints without
        labelling, for shading effects). Returns the coverage."""
        if reg is None:
            return None
        alpha = self.coverage(reg, sdf)
        self.blend(reg, alpha, color, label)
        if label is not None:
            inside = alpha >= 0.5
            np.copyto(self.labels[reg.i0 : reg.i1, reg.j0 : reg.j1], label, where=inside)
        return alpha

    def blend(self, reg: Region, alpha: np.ndarray, color, label: int | None = None) -> None:
        """rgb <- rgb + (color - rgb) * alpha inside the region (labels are set by
        :meth:`paint`; ``label`` is only recorded)."""
        sub = self.rgb[:, reg.i0 : reg.i1, reg.j0 : reg.j1]
        if not (isinstance(color, np.ndarray) and color.ndim == 3):
            color = np.asarray(color, F32).reshape(3, 1, 1)
        if self.records is not None:
            rec = Record(label, reg.i0, reg.j0, alpha.copy(), color.astype(F32, copy=True))
            self.records.append(rec)
        if color.shape == sub.shape and color.dtype == F32:
            diff = np.subtract(color, sub, out=color)
        else:
            diff = color - sub
        diff *= alpha[None]
        sub += diff

    def fill_outer(self, rows: np.ndarray, cols: np.ndarray, label: int) -> None:
        """Cover the whole canvas with colour rows[i] * cols[j] (an (n, 3) and an (n,)
        array), labelled ``label``."""
        np.multiply(rows.T[:, :, None], cols[None, None, :], out=self.rgb)
        self.labels[...] = label
        color = self.rgb
        if self.records is not None:
            n = self.size
            full = np.ones((n, n), F32)
            self.records.append(Record(label, 0, 0, full, color.copy()))

    def to_uint8(self) -> np.ndarray:
        """The RGB buffer rounded to uint8, as an (size, size, 3) image."""
        out = self.rgb + F32(0.5)
        np.minimum(out, F32(255), out=out)
        np.maximum(out, F32(0), out=out)
        return out.transpose(1, 2, 0).astype(np.uint8, order="C")
