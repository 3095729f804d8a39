"""Only ganpaint/app/ may import Qt: import every other module with Qt imports blocked."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import ganpaint

SCRIPT = r"""
import importlib, importlib.abc, sys

class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qtawesome", "qtpy"):
            raise ImportError(f"Qt import blocked: {name}")
        return None

sys.meta_path.insert(0, BlockQt())
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc}")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _modules() -> list[str]:
    root = Path(ganpaint.__file__).parent
    names = []
    for info in pkgutil.walk_packages([str(root)], prefix="ganpaint."):
        if info.name == "ganpaint.app" or info.name.startswith("ganpaint.app."):
            continue
        if info.name == "ganpaint.__main__":
            continue
        names.append(info.name)
    return names


def test_no_qt_outside_app():
    names = _modules()
    assert "ganpaint.engine.renderer" in names and "ganpaint.cli" in names
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *names], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_blocker_detects_qt_imports():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, "PySide6.QtCore"], capture_output=True, text=True
    )
    assert proc.returncode == 1 and "blocked" in proc.stdout
