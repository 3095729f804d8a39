"""Helpers for the History panel's painted rows: click a row's button as a person does, and
read whether its eye is drawn switched on."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

CHECKED_FILL = (0x24, 0x36, 0x4F)  # the eye button's background while the stroke shows


def click_part(panel, row: int, part: str) -> None:
    """A left click (press and release) in the middle of row ``row``'s ``part``."""
    panel.list.scrollTo(panel.model.index(row))
    QTest.mouseClick(panel.list.viewport(), Qt.LeftButton, pos=panel.part_rect(row, part).center())


def eye_drawn_on(panel, row: int) -> bool:
    """Whether the row's eye button is painted checked (its filled background), read from
    the pixels of the list as it is drawn."""
    panel.list.scrollTo(panel.model.index(row))
    image = panel.list.viewport().grab(panel.part_rect(row, "eye")).toImage()
    rgb = np.array(
        [
            [image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())]
            for y in range(image.height())
        ]
    )
    return int((np.abs(rgb - CHECKED_FILL).sum(axis=-1) <= 6).sum()) > rgb.shape[0] * 4
