"""The classifier report's pictures (``ganpaint.classify.plots``): each function gives an image
that saves and reopens as a PNG, of a size that follows its input, and not blank."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ganpaint.classify import plots


def _png_roundtrip(img: Image.Image) -> np.ndarray:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    again = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    assert again.std() > 5  # something is drawn on the white page
    return again


def test_units_by_layer_draws_one_bar_per_layer_in_concept_colours():
    layers = [("a", {"sky": 3}, 10), ("b", {"sky": 2, "dome": 5}, 10), ("c", {"weird": 1}, 4)]
    pix = _png_roundtrip(plots.units_by_layer(layers))
    two = _png_roundtrip(plots.units_by_layer(layers[:2]))
    assert pix.shape[0] > two.shape[0]
    dome = np.array(plots.CONCEPT_COLORS["dome"])
    assert (np.abs(pix.astype(int) - dome).sum(-1) == 0).sum() > 100


def test_ablation_curves_one_panel_per_class():
    curve = ([(1, 0.9), (5, 0.7), (20, 0.5)], [(1, 0.6), (5, 0.8), (20, 0.9)])
    three = _png_roundtrip(plots.ablation_curves({"a": curve, "b": curve, "c": curve}))
    four = _png_roundtrip(plots.ablation_curves({k: curve for k in "abcd"}, baseline={"a": 0.95}))
    assert four.shape[0] > three.shape[0]
    assert (np.abs(three.astype(int) - plots.REMOVE).sum(-1) == 0).any()


def test_group_bars_and_tile_strip():
    bars = [("target's top 4", 0.8, 0.7, 0.9), ("other", 0.2, 0.19, 0.21)]
    pix = _png_roundtrip(plots.group_bars(bars))
    assert (np.abs(pix.astype(int) - plots.GROUP_COLORS["target"]).sum(-1) == 0).sum() > 500
    tiles = [np.full((16, 16, 3), 40, np.uint8)] * 3
    strip = _png_roundtrip(plots.tile_strip(tiles, ["a", "b\nc", "d"], size=32))
    assert strip.shape[1] == 3 * 38 + 6


def test_heatmap_overlay_is_opaque_where_the_heat_is_largest():
    image = np.full((8, 8, 3), 200, np.uint8)
    heat = np.zeros((8, 8))
    heat[2, 3] = 5.0
    out = plots.heatmap_overlay(image, heat)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert tuple(out[2, 3]) == (255, 255, 0)
    assert tuple(out[0, 0]) == (120, 120, 120)  # grey 200 darkened to 0.6
