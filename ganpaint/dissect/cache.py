"""On-disk cache of dissection results, keyed by a hash of the arguments that made them.

Tensors are stored as safetensors (the key's JSON in the file's metadata, checked on load),
other results as JSON; nothing is pickled. The default folder is the user's cache
(``$GANPAINT_CACHE``, else ``$XDG_CACHE_HOME/ganpaint``, else ``~/.cache/ganpaint``), so a
bundle inside a source checkout stays clean.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.files import atomic_write_text


def default_cache_dir() -> Path:
    """The user's cache folder for ganpaint (not created here)."""
    env = os.environ.get("GANPAINT_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "ganpaint"


def cache_key(parts: dict[str, Any]) -> str:
    """A short stable hash of ``parts`` (JSON-serialisable, key order irrelevant)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class ResultCache:
    """A folder of cached results; ``None`` folder means caching is off."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder) / "dissect" if folder is not None else None

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _path(self, name: str, key: str, suffix: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / f"{name}-{key}{suffix}"

    def load_tensors(self, name: str, parts: dict[str, Any]) -> dict[str, torch.Tensor] | None:
        """Cached tensors for ``parts``, or None (also when the file is unreadable)."""
        from safetensors import safe_open

        path = self._path(name, cache_key(parts), ".safetensors")
        if path is None or not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                meta = f.metadata() or {}
                if json.loads(meta.get("key", "null")) != json.loads(json.dumps(parts)):
                    return None
                return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        except (OSError, ValueError, RuntimeError, json.JSONDecodeError):
            return None

    def save_tensors(
        self, name: str, parts: dict[str, Any], tensors: dict[str, torch.Tensor]
    ) -> None:
        from safetensors.torch import save_file

        path = self._path(name, cache_key(parts), ".safetensors")
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            data = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
            save_file(data, tmp, metadata={"key": json.dumps(parts, sort_keys=True)})
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_json(self, name: str, parts: dict[str, Any]) -> Any | None:
        path = self._path(name, cache_key(parts), ".json")
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(data, dict) or data.get("key") != json.loads(json.dumps(parts)):
            return None
        return data.get("value")

    def save_json(self, name: str, parts: dict[str, Any], value: Any) -> None:
        path = self._path(name, cache_key(parts), ".json")
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"key": parts, "value": value}))
