"""Which model is open and which is asked for, on which device: the decisions, not the thread.

:class:`ModelController` numbers load requests (a result whose key is stale is not the
latest), remembers the device preference, the devices this machine offers and the project
or autosave to show once the model is ready, and decides what a result means: install a new
model, move the open one, or report a failure (and whether to offer the CPU). The render
worker (a QThread in the views) does the loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

GPU_WORDS = ("memory", "cuda", "mps")  # failures a move to the CPU may cure


@dataclass(frozen=True)
class LoadJob:
    """One load for the render worker: open ``path`` (None: the bundled model), or move the
    open ``bundle`` to ``device``, and make its renderer."""

    key: int
    path: str | None
    device: str | None
    bundle: Any = None


@dataclass(frozen=True)
class LoadFailure:
    """What to tell the user when a load failed."""

    missing_default: bool  # the bundled model is not installed and nothing else is open
    keep_note: str  # " Still using <name>." when an earlier model stays open
    offer_cpu: bool  # the error looks like the GPU's, and the CPU was not the choice


class ModelController:
    def __init__(self, device_pref: str | None = None):
        self.bundle: Any = None  # the open ModelBundle
        self.model_key: int | None = None  # the worker's key of the open model
        self.model_path: str | None = None
        self.device_pref: str | None = device_pref or None
        self.device_text = ""
        self.devices: tuple[str, ...] = ("cpu",)
        self.requested: str | None = None  # the last model asked for
        self.pending_project: str | None = None  # shown once the model is ready
        self.pending_restore: Any = None  # an autosave Recovery, likewise
        self._load_key = 0

    @property
    def ready(self) -> bool:
        return self.bundle is not None

    def request_open(self, path: str | Path | None, device: str | None = None) -> LoadJob:
        """A load of ``path``; the open model stays until it succeeds."""
        self._load_key += 1
        self.requested = str(path) if path is not None else None
        return LoadJob(self._load_key, self.requested, device or self.device_pref)

    def request_device(self, device: str | None) -> LoadJob | None:
        """Prefer ``device`` (None: automatic); the request moving the open model there, or
        None when no model is open (then the caller retries ``requested`` on ``device``)."""
        self.device_pref = device
        if self.bundle is None:
            return None
        self._load_key += 1
        return LoadJob(self._load_key, None, device, bundle=self.bundle)

    def loaded(self, key: int, bundle: Any, device: str, devices: tuple[str, ...],
               path: str | None, reused: bool) -> bool:  # fmt: skip
        """Take a successful load; True when it is a new model (to install), False when the
        open one only moved to another device."""
        self.device_text = device
        self.devices = devices
        moved = reused and self.bundle is bundle
        self.bundle, self.model_key = bundle, key
        if not moved:
            self.model_path = str(Path(path if path else bundle.path).resolve())
        return not moved

    def take_pending(self) -> tuple[Any, str | None]:
        """The autosave and project waiting for the model (each handed out once)."""
        restore, self.pending_restore = self.pending_restore, None
        project, self.pending_project = self.pending_project, None
        return restore, project

    def failure(self, error: str, path: str | None) -> LoadFailure:
        on_gpu = any(word in error.lower() for word in GPU_WORDS)
        return LoadFailure(
            missing_default=self.bundle is None and path is None,
            keep_note=f" Still using {self.bundle.name}." if self.bundle is not None else "",
            offer_cpu=on_gpu and self.device_pref != "cpu",
        )

    @property
    def offer_cpu_on_render_error(self) -> bool:
        return not self.device_text.startswith("cpu")

    def describe_layer(self, layer: str) -> str:
        g = self.bundle.generator
        side = g.layer_resolution(layer)
        return f"{layer} · {side}×{side} · {g.layer_channels(layer)} units"

    @property
    def resolution(self) -> int:
        """The open model's image side in pixels (0 when none is open)."""
        return self.bundle.generator.resolution if self.bundle is not None else 0
