"""The classifier report's pictures, drawn with Pillow (no plotting library): labelled units
by layer (stacked bars, like the paper's units-per-concept-by-layer figure), the ablation
curves per class, the attack's three-group bars with their confidence intervals, heatmap
overlays and a captioned strip of tiles.

Every function takes plain numbers (not the JSON schemas), so each is testable alone, and
returns an RGB ``PIL.Image`` (or a uint8 array for the overlay).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ganpaint.scenes.concepts import CONCEPT_COLORS

INK = (30, 30, 30)
GRID = (225, 225, 225)
OTHER = (170, 170, 170)
REMOVE = (200, 60, 50)
KEEP = (50, 100, 190)
GROUP_COLORS = {"target": (200, 60, 50), "source": (50, 100, 190), "other": (150, 150, 150)}


def _font(size: int = 13) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _legend(
    draw: ImageDraw.ImageDraw, x: int, y: int, items: Sequence[tuple[str, tuple]], width: int
) -> int:
    """Colour swatches with names, wrapped at ``width``; returns the y below the legend."""
    font = _font(12)
    x0 = x
    for name, color in items:
        w = 16 + int(draw.textlength(name, font=font)) + 14
        if x + w > x0 + width:
            x, y = x0, y + 18
        draw.rectangle([x, y + 2, x + 11, y + 13], fill=color, outline=INK)
        draw.text((x + 16, y), name, fill=INK, font=font)
        x += w
    return y + 20


def units_by_layer(
    layers: Sequence[tuple[str, Mapping[str, int], int]],
    title: str = "Labelled units by layer",
) -> Image.Image:
    """One stacked bar per layer: its units labelled with each concept, as a share of the
    layer's units. ``layers``: (name, {concept: units}, total units), shallow first."""
    row, left, width = 26, 90, 420
    concepts = [c for c in CONCEPT_COLORS if any(c in counts for _, counts, _ in layers)]
    concepts += sorted({c for _, counts, _ in layers for c in counts} - set(concepts))
    height = 40 + row * max(1, len(layers)) + 24 + 18 * (1 + len(concepts))
    img = Image.new("RGB", (left + width + 150, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 6), title, fill=INK, font=_font(14))
    for i, (name, counts, total) in enumerate(layers):
        y = 32 + i * row
        draw.text((8, y + 4), name[:12], fill=INK, font=_font())
        draw.rectangle([left, y + 2, left + width, y + row - 4], outline=GRID)
        x = float(left)
        for c in concepts:
            share = counts.get(c, 0) / max(total, 1)
            if share > 0:
                color = CONCEPT_COLORS.get(c, OTHER)
                draw.rectangle([round(x), y + 2, round(x + share * width), y + row - 4], color)
                x += share * width
        labelled = sum(counts.values())
        note = f"{labelled}/{total} · {len(counts)} concepts"
        draw.text((left + width + 8, y + 4), note, fill=INK, font=_font(12))
    y = 32 + len(layers) * row + 6
    legend = [(c, CONCEPT_COLORS.get(c, OTHER)) for c in concepts]
    bottom = _legend(draw, left, y, legend, width + 140)
    return img.crop((0, 0, img.width, min(img.height, bottom + 4)))


def _axes(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], ylim: tuple[float, float]
) -> None:
    """A frame with horizontal grid lines at every 0.1 of ``ylim``, labelled in percent."""
    x0, y0, x1, y1 = box
    lo, hi = ylim
    for v in np.arange(np.ceil(lo * 10) / 10, hi + 1e-9, 0.1):
        y = y1 - (v - lo) / (hi - lo) * (y1 - y0)
        draw.line([x0, y, x1, y], fill=GRID)
        draw.text((x0 - 30, y - 7), f"{v * 100:.0f}", fill=INK, font=_font(11))
    draw.rectangle(box, outline=INK)


def _polyline(
    draw: ImageDraw.ImageDraw,
    points: Sequence[tuple[int, float]],
    xs: Sequence[int],
    box: tuple[int, int, int, int],
    ylim: tuple[float, float],
    color: tuple[int, int, int],
) -> None:
    x0, y0, x1, y1 = box
    lo, hi = ylim
    step = (x1 - x0) / max(len(xs), 1)
    pos = {k: x0 + step * (i + 0.5) for i, k in enumerate(xs)}
    pts = [(pos[k], y1 - (min(max(v, lo), hi) - lo) / (hi - lo) * (y1 - y0)) for k, v in points]
    if len(pts) > 1:
        draw.line(pts, fill=color, width=2)
    for x, y in pts:
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=color)


def ablation_curves(
    curves: Mapping[str, tuple[Sequence[tuple[int, float]], Sequence[tuple[int, float]]]],
    title: str = "Balanced accuracy (%) when each class's top-k units are removed or kept",
    baseline: Mapping[str, float] | None = None,
) -> Image.Image:
    """One panel per class: balanced accuracy against k for removing the class's top k units
    (red) and keeping only them (blue); the x axis lists the k values in order, evenly spaced;
    a grey dashed line marks ``baseline[class]`` (no ablation) where given."""
    panel_w, panel_h, cols = 260, 190, 3
    names = list(curves)
    rows = -(-max(len(names), 1) // cols)
    img = Image.new("RGB", (cols * panel_w + 20, 56 + rows * panel_h), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 6), title, fill=INK, font=_font(14))
    _legend(draw, 10, 26, [("remove top k", REMOVE), ("keep only top k", KEEP)], 400)
    ylim = (0.4, 1.0)
    for i, name in enumerate(names):
        removing, keeping = curves[name]
        r, c = divmod(i, cols)
        box = (c * panel_w + 48, 76 + r * panel_h, c * panel_w + panel_w - 8, r * panel_h + 220)
        draw.text((box[0], box[1] - 18), name, fill=INK, font=_font())
        draw.text((box[0] - 40, box[3] + 3), "k =", fill=INK, font=_font(10))
        _axes(draw, box, ylim)
        xs = sorted({k for k, _ in removing} | {k for k, _ in keeping})
        step = (box[2] - box[0]) / max(len(xs), 1)
        for j, k in enumerate(xs):
            draw.text((box[0] + step * (j + 0.5) - 6, box[3] + 3), str(k), fill=INK, font=_font(10))
        if baseline and name in baseline:
            y = box[3] - (baseline[name] - ylim[0]) / (ylim[1] - ylim[0]) * (box[3] - box[1])
            for x in range(box[0], box[2], 8):
                draw.line([x, y, x + 4, y], fill=OTHER)
        _polyline(draw, removing, xs, box, ylim, REMOVE)
        _polyline(draw, keeping, xs, box, ylim, KEEP)
    return img


def group_bars(
    groups: Sequence[tuple[str, float, float, float]],
    title: str = "Mean |change of spatial-max activation| per unit",
    note: str = "bars: mean over attacks; whiskers: 99 % confidence interval",
) -> Image.Image:
    """Vertical bars (mean) with whiskers (low, high): ``groups`` = (name, mean, low, high);
    a name starting with a key of ``GROUP_COLORS`` takes its colour."""
    w, left, bottom, top = 460, 60, 250, 60
    img = Image.new("RGB", (w, bottom + 30), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 6), title, fill=INK, font=_font(14))
    draw.text((10, 26), note, fill=INK, font=_font(11))
    tick = _nice_step(max([hi for _, _, _, hi in groups] + [1e-9]) / 4)
    vmax = max([hi for _, _, _, hi in groups] + [1e-9]) * 1.15
    for v in np.arange(0, vmax, tick):
        y = bottom - v / vmax * (bottom - top)
        draw.line([left, y, w - 10, y], fill=GRID)
        draw.text((6, y - 7), f"{v:.3g}", fill=INK, font=_font(11))
    slot = (w - 10 - left) / max(len(groups), 1)
    for i, (name, mean, lo, hi) in enumerate(groups):
        x0 = left + slot * i + slot * 0.2
        x1 = left + slot * (i + 1) - slot * 0.2
        color = next((c for k, c in GROUP_COLORS.items() if name.startswith(k)), OTHER)
        draw.rectangle([x0, bottom - mean / vmax * (bottom - top), x1, bottom], fill=color)
        xm = (x0 + x1) / 2
        ylo, yhi = (bottom - v / vmax * (bottom - top) for v in (lo, hi))
        draw.line([xm, ylo, xm, yhi], fill=INK, width=2)
        for y in (ylo, yhi):
            draw.line([xm - 8, y, xm + 8, y], fill=INK, width=2)
        draw.text((xm - 20, yhi - 16), f"{mean:.3g}", fill=INK, font=_font(12))
        draw.text((x0, bottom + 6), name, fill=INK, font=_font(12))
    draw.line([left, bottom, w - 10, bottom], fill=INK)
    return img


def _nice_step(x: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``x``."""
    power = 10 ** np.floor(np.log10(x))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= x))


def heatmap_overlay(image: np.ndarray, heat: np.ndarray, scale: float | None = None) -> np.ndarray:
    """The picture greyed and darkened, with ``heat`` (H x W, >= 0) laid over it in red to
    yellow, opaque where it reaches ``scale`` (default its maximum)."""
    base = np.asarray(image, np.float32) / 255.0
    grey = base.mean(-1, keepdims=True) * 0.6
    top = max(float(scale if scale is not None else heat.max()), 1e-12)
    a = np.clip(np.asarray(heat, np.float32) / top, 0, 1)[..., None]
    color = np.concatenate([np.ones_like(a), a, np.zeros_like(a)], -1)
    out = grey * (1 - a) + color * a
    return (out * 255).round().astype(np.uint8)


def tile_strip(
    tiles: Sequence[np.ndarray], captions: Sequence[str], size: int = 128
) -> Image.Image:
    """uint8 pictures side by side at ``size`` px, each with a caption line under it."""
    font = _font(11)
    lines = max([c.count("\n") + 1 for c in captions] + [1])
    img = Image.new("RGB", (len(tiles) * (size + 6) + 6, size + 10 + 14 * lines), "white")
    draw = ImageDraw.Draw(img)
    for i, (tile, caption) in enumerate(zip(tiles, captions, strict=True)):
        x = 6 + i * (size + 6)
        pic = Image.fromarray(np.asarray(tile, np.uint8)).resize((size, size), Image.NEAREST)
        img.paste(pic, (x, 4))
        draw.multiline_text((x, size + 7), caption, fill=INK, font=font, spacing=2)
    return img
