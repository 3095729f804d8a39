"""The picture ``ganpaint evaluate --examples`` writes: per concept, held-out images before
and after its units are drawn in a square, the square outlined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ganpaint.core.errors import GanpaintError


def write_examples(details: dict, path: str | Path) -> str | Path:
    """One row per concept with insertion examples: before above after, squares outlined in
    magenta, the concept's name on the left. Returns the path written."""
    rows = []
    for name, info in details.items():
        ex = info.get("examples")
        if not ex:
            continue
        pairs = []
        for before, after, (y, x, side) in zip(ex["before"], ex["after"], ex["boxes"], strict=True):
            pair = np.concatenate([before.numpy(), after.numpy()], axis=0).copy()
            for top in (0, before.shape[0]):
                y0, y1, x1 = top + y, top + min(y + side, before.shape[0]) - 1, x + side - 1
                x1 = min(x1, before.shape[1] - 1)
                pair[y0, x : x1 + 1] = pair[y1, x : x1 + 1] = (255, 0, 255)
                pair[y0 : y1 + 1, x] = pair[y0 : y1 + 1, x1] = (255, 0, 255)
            pairs.append(pair)
        label = Image.new("RGB", (96, pairs[0].shape[0]), (24, 26, 30))
        ImageDraw.Draw(label).text((6, pairs[0].shape[0] // 2 - 6), name, fill=(230, 230, 230))
        rows.append(np.concatenate([np.asarray(label), *pairs], axis=1))
    if not rows:
        raise GanpaintError("no concept had an image to draw insertion examples on")
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    try:
        Image.fromarray(np.concatenate(rows, axis=0)).save(path)
    except (OSError, ValueError) as exc:
        raise GanpaintError(f"cannot write {path}: {exc}") from None
    return path
