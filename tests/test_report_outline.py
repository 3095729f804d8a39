"""The report's unit pictures outline the unit's thresholded region, as their captions say
(``ganpaint.dissect.report.unit_strip``)."""

from __future__ import annotations

import numpy as np

from ganpaint.dissect.report import TILE, unit_strip


def test_the_heatmap_row_outlines_the_region_over_the_threshold():
    image = np.full((64, 64, 3), 40, np.uint8)
    yy, xx = np.mgrid[0:64, 0:64]
    dist = np.hypot(yy - 32, xx - 32)
    act = np.clip(1.0 - dist / 16.0, 0, None).astype(np.float32)  # peak at the centre
    strip = np.asarray(unit_strip([image], [act], threshold=0.5))  # over it: radius < 8 px
    over = strip[TILE + 2 : 2 * TILE + 2, :TILE]
    white = (over == 255).all(-1)
    # the tile is the 32 px crop around the peak scaled 3x: the region is a disc of radius
    # 24 tile pixels around the tile's centre, and the white pixels are on its border only
    rows, cols = np.nonzero(white)
    radius = np.hypot(rows + 0.5 - TILE / 2, cols + 0.5 - TILE / 2)
    assert len(rows) > 100
    assert radius.min() > 20 and radius.max() < 27
    plain = strip[:TILE, :TILE]
    assert not (plain == 255).all(-1).any()  # the plain row stays as the picture was
