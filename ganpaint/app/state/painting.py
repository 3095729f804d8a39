"""What a stroke paints, besides its mask: the template the brush controller stamps strokes
from, and the rule for when there is nothing to paint with."""

from __future__ import annotations

from dataclasses import dataclass

from ganpaint.app.state.tool import CUSTOM


@dataclass(frozen=True)
class StrokeTemplate:
    """Everything a stroke needs besides its mask."""

    concept: str
    units: tuple[int, ...]
    layer: str
    resolution: int
    color: str


def stroke_template(
    resolution: int, concept: str | None, units: tuple[int, ...], layer: str, color: str
) -> StrokeTemplate | str:
    """The template for the next stroke, or why none can start (``resolution`` 0: no model)."""
    if not resolution:
        return "Open a model first"
    if not units:
        return "Pick a concept (or check units in “Units”) to paint with"
    return StrokeTemplate(concept or CUSTOM, tuple(units), layer, resolution, color)
