"""The paint tool's settings as a plain model with change notifications (no Qt).

Widgets (the concept panel, the toolbar sliders, the canvas cursor) write to one
:class:`BrushSettings` and listen to it; none of them owns the values. ``concept`` is the
chosen concept name, or :data:`CUSTOM` when the user picked units by hand (the only way to
paint with a model that has no dissection).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ganpaint.app.state.brush import PRESSURE_MODES
from ganpaint.engine.document import ACTIONS

CUSTOM = "units"
LIMITS = {
    "size": (0.005, 0.5),  # brush radius as a fraction of the image side
    "hardness": (0.0, 1.0),
    "strength": (0.0, 1.0),
    "quantile": (0.5, 0.999),
    "unit_count": (1, 50),
}
RANKINGS = ("causal", "iou")  # by causal effect (ACE) or by IoU with the concept


@dataclass
class BrushSettings:
    concept: str | None = None
    custom_units: tuple[int, ...] = ()
    action: str = "draw"
    size: float = 0.08
    hardness: float = 0.6
    strength: float = 1.0
    quantile: float = 0.99
    unit_count: int = 15
    ranking: str = "causal"
    pressure: str = "size"  # what a tablet pen's pressure changes: "size" or "off"
    _listeners: list[Callable[[set[str]], None]] = field(default_factory=list, repr=False)

    def subscribe(self, listener: Callable[[set[str]], None]) -> Callable[[], None]:
        """Call ``listener(changed_names)`` after each change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def update(self, **changes) -> None:
        """Set several values (clamped to :data:`LIMITS`) and notify once if any changed;
        an unknown name raises AttributeError, a value out of its kind ValueError or
        TypeError, and then nothing is set."""
        checked = {key: self._checked(key, value) for key, value in changes.items()}
        changed = set()
        for key, value in checked.items():
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed.add(key)
        if changed:
            for listener in list(self._listeners):
                listener(changed)

    def restore(self, values: Mapping[str, Any]) -> list[str]:
        """Set each of ``values`` that is valid (saved preferences, which a person or another
        version may have edited); returns the names of those refused, which keep their
        value. One notification for all."""
        valid: dict[str, Any] = {}
        refused = []
        for key, value in values.items():
            try:
                valid[key] = self._checked(key, value)
            except (AttributeError, TypeError, ValueError):
                refused.append(key)
        self.update(**valid)
        return refused

    def _checked(self, key: str, value: Any) -> Any:
        """``value`` as ``key`` stores it (clamped, normalised), or an error."""
        if key == "_listeners" or key not in {f.name for f in fields(self)}:
            raise AttributeError(f"BrushSettings has no setting {key!r}")
        if key in LIMITS:
            if not math.isfinite(value):  # NaN would pass the clamp below unchanged
                raise ValueError(f"brush {key} must be a finite number, got {value!r}")
            lo, hi = LIMITS[key]
            return type(lo)(min(max(value, lo), hi))
        if key == "custom_units":
            return tuple(sorted({int(u) for u in value}))
        if key == "action" and value not in ACTIONS:
            raise ValueError(f"brush action must be 'draw' or 'remove', got {value!r}")
        if key == "ranking" and value not in RANKINGS:
            raise ValueError(f"brush ranking must be 'causal' or 'iou', got {value!r}")
        if key == "pressure" and value not in PRESSURE_MODES:
            raise ValueError(f"brush pressure must be one of {PRESSURE_MODES}, got {value!r}")
        return value

    def values(self) -> dict:
        """The persistent values (for QSettings)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_listeners"}


def learned_settings(defaults: Any, action: str) -> dict[str, Any]:
    """The brush values a concept's learned defaults (a
    :class:`~ganpaint.models.dissection.ConceptDefaults`, or None) give for ``action``:
    ``unit_count``, ``ranking`` and, for drawing, ``quantile``; empty when it has none."""
    best = getattr(defaults, action, None) if defaults is not None else None
    if best is None:
        return {}
    out: dict[str, Any] = {}
    if best.units:
        out["unit_count"] = int(best.units)
    if best.ranking in ("iou", "causal"):
        out["ranking"] = best.ranking
    if action == "draw" and best.quantile is not None:
        out["quantile"] = float(best.quantile)
    return out


def describe_learned(defaults: Any, action: str) -> str:
    """A short line on the learned setting for ``action`` ("learned: 40 units by causal
    effect at level 0.995, drew 42 % of a square on dissection samples"), or ""."""
    best = getattr(defaults, action, None) if defaults is not None else None
    if best is None or not best.units:
        return ""
    ranking = {"causal": "causal effect", "iou": "IoU"}.get(best.ranking or "", "IoU")
    level = f" at level {best.quantile:g}" if action == "draw" and best.quantile else ""
    effect = ""
    if best.score is not None:
        what = "drew" if action == "draw" else "removed"
        where = "of a square" if action == "draw" else "of it"
        effect = f", {what} {best.score:.0%} {where} on dissection samples"
    return f"learned: {best.units} units by {ranking}{level}{effect}"
