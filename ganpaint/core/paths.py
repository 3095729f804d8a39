"""Where the app's data lives: ``resources/`` and the bundled ``models/``.

In a source checkout they sit beside the package; an installed wheel (and the standalone
build) carries them inside it as ``ganpaint/data/resources`` and ``ganpaint/data/models``
(``setup.py`` copies them there at build time).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The ``ganpaint`` package folder (this module lives in ``ganpaint/core/``).
_PACKAGE = Path(__file__).resolve().parent.parent


def _data_dir(name: str) -> Path:
    candidates = [_PACKAGE / "data" / name, _PACKAGE.parent / name]
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller's unpack folder
    if frozen:
        candidates.insert(0, Path(frozen) / "ganpaint" / "data" / name)
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[-1]


def resources_dir() -> Path:
    """The folder with the style sheet, icons and the app icon."""
    return _data_dir("resources")


def models_dir() -> Path:
    """The folder holding the bundled model bundles."""
    return _data_dir("models")


def user_data_dir() -> Path:
    """The user's GANPaint data folder (autosave, custom concepts): ``$GANPAINT_DATA_DIR``,
    else the platform's usual place (XDG data home on Linux)."""
    import os

    env = os.environ.get("GANPAINT_DATA_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "GANPaint"
