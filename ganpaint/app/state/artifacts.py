"""View > Clean artifacts, without Qt: which units a model's dissection says to zero,
whether the app zeroes them when the model opens, what the compare badge says then, and
whether a unit the inspector shows is one of them.

``ganpaint artifacts --write`` stores a set only when it made the held-out images cleaner
(``dissection.json``'s ``artifacts.helps``), so a stored set is on by default; a set written
by hand without that record is offered but starts off.
"""

from __future__ import annotations

from typing import Any

Zeroed = tuple[tuple[str, tuple[int, ...]], ...]  # ((layer, units), ...), as FrameJob takes


def artifact_set(dissection: Any) -> Zeroed:
    """The units to zero, per layer, from a :class:`~ganpaint.models.Dissection` (or None)."""
    if dissection is None:
        return ()
    return tuple(sorted(dissection.artifact_units().items()))


def clean_by_default(dissection: Any) -> bool:
    """True when the set was measured to help on held-out seeds."""
    return dissection is not None and dissection.artifacts_help()


def switched_off(zeroed: Zeroed, layer: str, unit: int) -> bool:
    """Whether ``unit`` of ``layer`` is one of the units zeroed (0 in every frame)."""
    return any(name == layer and unit in units for name, units in zeroed)


def compare_label(picture: bool, zeroed: Zeroed) -> str:
    """The compare badge: what holding Space shows. The compare frame is the original
    network's unedited frame, so with a set zeroed it still has the artifacts (a picture's
    compare frame is the picture itself)."""
    if picture:
        return "Your picture"
    return "Unedited, artifacts not cleaned" if zeroed else "Unedited"


def describe(zeroed: Zeroed) -> str:
    """The action's tooltip: "zero the units found drawing artifacts: 3 at layer4, ..."."""
    if not zeroed:
        return "this model has no artifact units (run ganpaint artifacts --write)"
    parts = [f"{len(units)} at {layer}" for layer, units in zeroed]
    return "zero the units found drawing artifacts: " + ", ".join(parts)
