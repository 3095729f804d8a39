"""The paint tool's settings as a plain model with change notifications (no Qt).

Widgets (the concept panel, the toolbar sliders, the canvas cursor) write to one
:class:`BrushSettings` and listen to it; none of them owns the values. ``concept`` is the
chosen concept name, or :data:`CUSTOM` when the user picked units by hand (the only way to
paint with a model that has no dissection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

CUSTOM = "units"
LIMITS = {
    "size": (0.005, 0.5),  # brush radius as a fraction of the image side
    "hardness": (0.0, 1.0),
    "strength": (0.0, 1.0),
    "quantile": (0.5, 0.999),
    "unit_count": (1, 50),
}


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
    _listeners: list[Callable[[set[str]], None]] = field(default_factory=list, repr=False)

    def subscribe(self, listener: Callable[[set[str]], None]) -> Callable[[], None]:
        """Call ``listener(changed_names)`` after each change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def update(self, **changes) -> None:
        """Set several values (clamped to :data:`LIMITS`) and notify once if any changed."""
        names = {f.name for f in fields(self)} - {"_listeners"}
        changed = set()
        for key, value in changes.items():
            if key not in names:
                raise AttributeError(f"BrushSettings has no setting {key!r}")
            if key in LIMITS:
                lo, hi = LIMITS[key]
                value = type(lo)(min(max(value, lo), hi))
            if key == "custom_units":
                value = tuple(sorted({int(u) for u in value}))
            if key == "action" and value not in ("draw", "remove"):
                raise ValueError(f"brush action must be 'draw' or 'remove', got {value!r}")
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed.add(key)
        if changed:
            for listener in list(self._listeners):
                listener(changed)

    def values(self) -> dict:
        """The persistent values (for QSettings)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_listeners"}
