"""The model card shown in the About box, from ``bundle.meta["training"]`` (plain Python).

:func:`card_rows` picks the readable facts: scalars as they are (times in minutes, counts
with thousands separators) and, for a nested record such as the evaluation, its first few
scalar entries on one line. :func:`card_details` is the whole record as indented JSON.
"""

from __future__ import annotations

import json
from typing import Any

MAX_NESTED = 5


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if key.endswith("wall_s") or key in ("wall_s", "seconds", "time_s"):
            return f"{value / 60:.1f} min" if value >= 120 else f"{value:.1f} s"
        return f"{value:.4g}"
    return str(value)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value != ""


def card_rows(card: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, text) pairs for the training card; nested records are summarised."""
    rows = []
    for key, value in (card or {}).items():
        if key == "config":
            continue
        if _scalar(value):
            rows.append((_label(key), _value(key, value)))
        elif isinstance(value, dict):
            parts = [
                f"{k.replace('_', ' ')} {_value(k, v)}" for k, v in value.items() if _scalar(v)
            ][:MAX_NESTED]
            if parts:
                rows.append((_label(key), ", ".join(parts)))
    return rows


def card_details(card: dict[str, Any] | None) -> str:
    return json.dumps(card or {}, indent=2, sort_keys=True, default=str)
