"""Preferences kept with QSettings: brush and view choices, device, recent files, layout.

:class:`Preferences` wraps one ``QSettings`` (tests pass one backed by a file in a temp
folder) with typed reads, so a damaged or foreign value falls back to the default instead
of breaking the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "GANPaint"
APPLICATION = "GANPaint desktop"
MAX_RECENT = 8


class Preferences:
    def __init__(self, settings: QSettings | None = None):
        self.qsettings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)

    def get(self, key: str, default: Any) -> Any:
        """The stored value converted to the type of ``default`` (or ``default``)."""
        value = self.qsettings.value(key, default)
        if value is None:
            return default
        try:
            if isinstance(default, bool):
                if isinstance(value, str):
                    return value.lower() in ("1", "true", "yes")
                return bool(value)
            if isinstance(default, int):
                return int(value)
            if isinstance(default, float):
                return float(value)
            if isinstance(default, str):
                return str(value)
            if isinstance(default, list):
                if isinstance(value, str):
                    return [value]
                return [str(v) for v in value] if isinstance(value, list | tuple) else default
        except (TypeError, ValueError):
            return default
        return value

    def set(self, key: str, value: Any) -> None:
        self.qsettings.setValue(key, value)

    def get_bytes(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) else None

    # -- recent files ------------------------------------------------------------------

    def recent(self, kind: str) -> list[str]:
        """Recent files of ``kind`` ("projects" or "models") that still exist, newest first."""
        return [p for p in self.get(f"recent/{kind}", []) if p and Path(p).exists()]

    def add_recent(self, kind: str, path: str | Path) -> None:
        path = str(Path(path).resolve())
        items = [path] + [p for p in self.get(f"recent/{kind}", []) if p != path]
        self.set(f"recent/{kind}", items[:MAX_RECENT])

    def sync(self) -> None:
        self.qsettings.sync()
