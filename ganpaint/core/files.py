"""Files written so that a crash or a concurrent reader never sees half of them.

:func:`atomic_write` writes a temporary file beside the target, syncs it and renames it over
the target; :func:`atomic_write_text` and :func:`atomic_write_bytes` are its common cases.
:func:`swap_in_folder` does the same for a folder written whole beside its target.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Create or replace ``path`` with what ``write`` puts into a binary file object.

    The content goes to a temporary file in the same folder, is synced, and renamed over
    ``path``: a reader (or a crash at any moment) sees the old file or the new one, never a
    part. The new file keeps the old one's permissions; a new file gets the usual ``0o666``
    less the umask (``tempfile.mkstemp`` would leave every saved file private, ``0o600``).
    """
    path = Path(path)
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = None
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Create or replace ``path`` with ``data``, atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    """Create or replace ``path`` with ``text`` as UTF-8, atomically (see :func:`atomic_write`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new ``.<name>.<random>.tmp`` beside ``path``, opened for writing (umask applies)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); best effort, the file itself is synced."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def swap_in_folder(staging: Path, target: Path) -> None:
    """Put the finished folder ``staging`` in the place of ``target`` (which may not exist):
    the old one is renamed aside first and removed last, so a crash leaves either folder
    whole, the new one or (as ``TARGET.old``) the old one."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
