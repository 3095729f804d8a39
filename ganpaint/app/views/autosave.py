"""Autosave and crash recovery.

Each running window is a *session* with an id. After every committed change the document
is written atomically to ``<data>/autosave/<id>.ganpaint`` with a small ``<id>.json`` beside
it (model path, project path, time). A ``QLockFile`` ``<id>.lock`` is held while the session
lives; a clean exit deletes all three (but for a stop signal with unsaved strokes: then
the files stay, marked ``stopped_by``). At start, a session file whose lock can be taken
belonged to a process that died without cleaning up: that is what the app offers to restore.

The data folder is ``QStandardPaths.AppDataLocation``, or ``$GANPAINT_DATA_DIR`` if set.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLockFile, QStandardPaths

from ganpaint.core.files import atomic_write_text


def data_folder() -> Path:
    env = os.environ.get("GANPAINT_DATA_DIR")
    if env:
        return Path(env)
    location = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return Path(location or Path.home() / ".ganpaint")


@dataclass
class Recovery:
    """An autosave left by a session that did not exit cleanly."""

    session: str
    document: Path
    meta: dict[str, Any]
    lock: QLockFile

    @property
    def model_path(self) -> str | None:
        return self.meta.get("model_path")

    @property
    def project_path(self) -> str | None:
        return self.meta.get("project_path")

    @property
    def saved_at(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.meta.get("saved_at", 0)))


class Autosave:
    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else data_folder() / "autosave"
        self.session = uuid.uuid4().hex[:12]
        self._lock: QLockFile | None = None
        self.saves = 0

    def _path(self, session: str, suffix: str) -> Path:
        return self.folder / f"{session}{suffix}"

    @property
    def document_path(self) -> Path:
        return self._path(self.session, ".ganpaint")

    def start(self) -> bool:
        """Take this session's lock; False (and autosave off) if the folder is unusable."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        lock = QLockFile(str(self._path(self.session, ".lock")))
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            return False
        self._lock = lock
        return True

    @property
    def active(self) -> bool:
        return self._lock is not None

    def save(self, document: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write the document, then its meta, each atomically."""
        if self._lock is None:
            return
        atomic_write_text(self.document_path, json.dumps(document, separators=(",", ":")))
        info = dict(meta, saved_at=time.time(), pid=os.getpid())
        atomic_write_text(self._path(self.session, ".json"), json.dumps(info))
        self.saves += 1

    def finish(self, keep_for: str | None = None) -> None:
        """Clean exit: remove this session's files and release the lock. With ``keep_for``
        (what stopped the app, such as "SIGTERM") the files stay, marked with it, so that
        the next start offers them like a crash's."""
        if self._lock is None:
            return
        meta_path = self._path(self.session, ".json")
        if keep_for is not None and self.document_path.is_file():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                meta = meta if isinstance(meta, dict) else {}
            except (OSError, ValueError):
                meta = {}
            with contextlib.suppress(OSError):  # else the files stay unmarked, as a crash's
                atomic_write_text(meta_path, json.dumps(dict(meta, stopped_by=keep_for)))
        else:
            for suffix in (".ganpaint", ".json"):
                self._path(self.session, suffix).unlink(missing_ok=True)
        self._lock.unlock()
        self._lock = None

    def recoverable(self) -> list[Recovery]:
        """Sessions that died with an autosave, newest first (their locks are now ours)."""
        found = []
        if not self.folder.is_dir():
            return found
        self._sweep_locks()
        for meta_path in self.folder.glob("*.json"):
            session = meta_path.stem
            doc = self._path(session, ".ganpaint")
            if session == self.session or not doc.is_file():
                continue
            lock = QLockFile(str(self._path(session, ".lock")))
            lock.setStaleLockTime(0)
            if not lock.tryLock(0):
                continue  # another running window owns it
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            found.append(Recovery(session, doc, meta if isinstance(meta, dict) else {}, lock))
        found.sort(key=lambda r: -float(r.meta.get("saved_at", 0) or 0))
        return found

    def _sweep_locks(self) -> None:
        """Delete the lock files that dead sessions with nothing saved left behind (each
        crash or kill before the first stroke left one, never read again)."""
        for lock_path in self.folder.glob("*.lock"):
            session = lock_path.stem
            if session == self.session or self._path(session, ".json").exists():
                continue
            lock = QLockFile(str(lock_path))
            lock.setStaleLockTime(0)
            if lock.tryLock(0):  # its process is gone
                lock.unlock()  # removes the file

    def discard(self, recovery: Recovery) -> None:
        """Delete a recovered (or declined) session's files."""
        for suffix in (".ganpaint", ".json"):
            self._path(recovery.session, suffix).unlink(missing_ok=True)
        recovery.lock.unlock()
