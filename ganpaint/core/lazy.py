"""Package exports that load on first use (PEP 562 module ``__getattr__``).

A package whose ``__init__`` imported every submodule would make importing its lightest
part (the edit document, the dissection schema) import torch too; the app shows its window
before torch has loaded, and torch then loads on the render thread.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module
    path) when ``name`` is first asked for."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
