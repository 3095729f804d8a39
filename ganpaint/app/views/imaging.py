"""NumPy images to QImages on the GUI thread: frames, stroke-mask overlays, the stroke
spotlight and heatmaps.

Everything here takes plain arrays (what the worker hands back) and returns QImages that
own their memory. :func:`save_png` writes the PNG export, enlarged by
:func:`ganpaint.core.images.enlarge`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from ganpaint.app.views.theme import HEAT_COLORS
from ganpaint.core.images import enlarge


def qimage_rgb(array: np.ndarray) -> QImage:
    """uint8 (H, W, 3) -> QImage (RGB888) with its own copy of the pixels."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format_RGB888).copy()


def qimage_rgba(array: np.ndarray) -> QImage:
    """uint8 (H, W, 4) straight alpha -> QImage (RGBA8888) with its own copy."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()


def rgb_from_qimage(image: QImage) -> np.ndarray:
    """QImage -> uint8 (H, W, 3)."""
    return _array_from_qimage(image, QImage.Format_RGB888, 3)


def rgba_from_qimage(image: QImage) -> np.ndarray:
    """QImage -> uint8 (H, W, 4), straight (not premultiplied) alpha."""
    return _array_from_qimage(image, QImage.Format_RGBA8888, 4)


def _array_from_qimage(image: QImage, fmt: QImage.Format, channels: int) -> np.ndarray:
    img = image.convertToFormat(fmt)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return raw[:, : channels * w].reshape(h, w, channels).copy()


class OverlayStack:
    """Stroke masks tinted with their colours and composited in order, one at a time, so
    a stroke added on top costs one mask, not all of them again."""

    def __init__(self, opacity: float = 0.45):
        self.opacity = opacity
        self.color: np.ndarray | None = None  # premultiplied float32 (H, W, 3)
        self.alpha: np.ndarray | None = None  # float32 (H, W, 1)

    def add(self, mask: np.ndarray, name: str) -> None:
        if self.color is None:
            self.color = np.zeros(mask.shape + (3,), dtype=np.float32)
            self.alpha = np.zeros(mask.shape + (1,), dtype=np.float32)
        c = QColor(name)
        rgb = np.array([c.red(), c.green(), c.blue()], dtype=np.float32)
        a = (mask.astype(np.float32) * (self.opacity / 255.0))[..., None]
        self.color = rgb * a + self.color * (1.0 - a)
        self.alpha = a + self.alpha * (1.0 - a)

    def rgba(self) -> np.ndarray:
        """The composite as straight-alpha uint8 (H, W, 4) (1 x 1 clear when empty)."""
        if self.color is None:
            return np.zeros((1, 1, 4), dtype=np.uint8)
        alpha = self.alpha
        straight = np.where(alpha > 0, self.color / np.maximum(alpha, 1e-6), 0.0)
        out = np.concatenate([straight, alpha * 255.0], axis=-1)
        return np.round(np.clip(out, 0, 255)).astype(np.uint8)


def mask_overlay(masks: Iterable[tuple[np.ndarray, str]], opacity: float = 0.45) -> np.ndarray:
    """Stroke masks tinted with their colours, composited in order -> uint8 (H, W, 4)."""
    stack = OverlayStack(opacity)
    for mask, name in masks:
        stack.add(mask, name)
    return stack.rgba()


SPOTLIGHT_SHADE = 0.6  # how dark the image goes outside the spotlit mask


def spotlight_rgba(mask: np.ndarray, shade: float = SPOTLIGHT_SHADE) -> np.ndarray:
    """Black over the image except where ``mask`` (uint8, 255 = inside) is: the soft edge
    of a stroke stays soft -> uint8 (H, W, 4)."""
    rgba = np.zeros(mask.shape + (4,), dtype=np.uint8)
    rgba[..., 3] = np.round((255 - mask.astype(np.float32)) * shade).astype(np.uint8)
    return rgba


def heat_rgba(heat: np.ndarray, level: float) -> np.ndarray:
    """A unit's activation map -> uint8 (h, w, 4) through a transparent-to-hot colour map.

    Values are scaled so the unit's insert level (its 0.99 quantile) is the hottest colour.
    """
    top = max(float(level), float(np.max(heat)) * 0.5, 1e-6)
    t = np.clip(heat.astype(np.float32) / top, 0.0, 1.0)
    stops = np.array(HEAT_COLORS, dtype=np.float32)
    pos = t * (len(stops) - 1)
    i = np.minimum(pos.astype(np.int64), len(stops) - 2)
    f = (pos - i)[..., None]
    rgba = stops[i] * (1 - f) + stops[i + 1] * f
    return np.round(rgba).astype(np.uint8)


def heat_pixmap(
    base: QImage | None,
    heat: QImage | None,
    side: int,
    opacity: float = 0.55,
    fill: str = "#000000",
    smooth_base: bool = True,
) -> QPixmap:
    """A ``side`` px square (drawn at twice that for sharp screens): ``base`` dimmed to
    ``opacity`` (crisp pixels unless ``smooth_base``), a heatmap image drawn smoothly over it."""
    pm = QPixmap(side * 2, side * 2)
    pm.fill(QColor(fill))
    p = QPainter(pm)
    if base is not None:
        p.setRenderHint(QPainter.SmoothPixmapTransform, smooth_base)
        p.setOpacity(opacity if heat is not None else 1.0)
        p.drawImage(pm.rect(), base)
        p.setOpacity(1.0)
    if heat is not None:
        p.setRenderHint(QPainter.SmoothPixmapTransform, True)
        p.drawImage(pm.rect(), heat)
    p.end()
    pm.setDevicePixelRatio(2.0)
    return pm


def save_png(image: np.ndarray, path: str, factor: int = 1, smooth: bool = False) -> None:
    Image.fromarray(enlarge(image, factor, smooth)).save(path, format="PNG")
