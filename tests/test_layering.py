"""The layer contracts of docs/ARCHITECTURE.md: the import-linter contracts in pyproject.toml
hold, and they catch an import that breaks them; and, at run time, every module outside the
Qt program imports with Qt blocked."""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import ganpaint

ROOT = Path(__file__).resolve().parent.parent
# The modules that may reach Qt through ganpaint.app (the program, its entry point and the
# developer scripts that drive its window).
QT_PROGRAM = ("ganpaint.app", "ganpaint.main", "ganpaint.__main__", "ganpaint.devtools")

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
        if any(info.name == p or info.name.startswith(p + ".") for p in QT_PROGRAM):
            continue
        names.append(info.name)
    return names


@pytest.mark.slow
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


# -- import-linter contracts ----------------------------------------------------------------

LINT = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Check the contracts of ``root/pyproject.toml`` on the ``ganpaint`` package in ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _contract_names() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return {c["id"]: c["name"] for c in contracts}


def test_layer_contracts_hold():
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("module", "line", "contracts", "evidence"),
    [
        (
            "engine/hooks.py",
            "import ganpaint.dissect",
            ["layers"],
            "ganpaint.engine.hooks -> ganpaint.dissect",
        ),
        (
            "engine/hooks.py",
            "import PySide6",
            ["qt-only-in-app", "headless"],
            "ganpaint.engine.hooks -> PySide6",
        ),
        ("core/errors.py", "import ganpaint.cli", ["layers", "acyclic"], ".core -> .cli"),
    ],
)
def test_contracts_catch_a_forbidden_import(tmp_path, module, line, contracts, evidence):
    """A copy of the package with one forbidden import added breaks the named contracts,
    and the report points at that import."""
    shutil.copytree(
        ROOT / "ganpaint", tmp_path / "ganpaint", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "ganpaint" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    proc = _lint_imports(tmp_path)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 1, report
    names = _contract_names()
    flat = " ".join(report.split())  # the report wraps long contract names
    for contract in contracts:
        assert f"{names[contract]} BROKEN" in flat, report
    assert evidence in report, report
