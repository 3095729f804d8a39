"""Which bundled models the app opens when none is named, and so which ones ship.

This module imports nothing, so that ``build_app.py`` and ``setup.py`` can read it without
the package's dependencies (they run it with :func:`runpy.run_path`) and ship exactly the
bundles named here: a folder of ``models/`` named nowhere here, such as a 256 px model kept
from a GPU window while it is still in training, stays in the checkout (later windows
warm-start from it) but out of the wheel and the packaged app.
"""

from __future__ import annotations

DEFAULT_MODEL_NAME = "scenes128"
"""The bundle opened when the device's own choice is not installed: ``models/<name>/``
beside the package in a checkout, or inside it once installed as package data."""

DEFAULT_MODELS: dict[str, str] = {"gpu": DEFAULT_MODEL_NAME, "cpu": DEFAULT_MODEL_NAME}
"""The bundled model opened when none is named, by the kind of device it will run on: a
256 px model is meant for GPUs, and a CPU keeps the one that paints live best there (by
``ganpaint bench``). Both are ``scenes128`` until a 256 px bundle ships."""


def shipped_models() -> tuple[str, ...]:
    """The folders of ``models/`` that the wheel and the packaged app carry, sorted."""
    return tuple(sorted({DEFAULT_MODEL_NAME, *DEFAULT_MODELS.values()}))
