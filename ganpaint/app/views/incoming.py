"""What arrives by drag-and-drop or from the clipboard: projects, pictures and models.

:func:`open_incoming` reads a ``QMimeData`` (a drop on the window, or File > Paste Image) and
opens the first thing it can use: a local ``.ganpaint`` project, an image file, a picture
itself (copied from a browser or an image editor), a model bundle or checkpoint, or, from
the clipboard only, the path of one of those typed or copied as text. Everything it opens
goes through the window's own commands, so unsaved work is asked about first and a file
that cannot be used gets the same message as from the Open dialogs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication, QImage

from ganpaint.app.views.imaging import rgba_from_qimage
from ganpaint.app.views.picture_commands import is_image_path

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

NOTHING = "The clipboard holds no picture to paste: copy an image, an image file or a project first"


def local_paths(mime: QMimeData, text_too: bool) -> list[str]:
    """The local files ``mime`` names: its URLs, then (``text_too``) each line of its text
    that names an existing file or folder it could open (:func:`openable`)."""
    paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
    if text_too and mime.hasText():
        for line in mime.text().splitlines():
            line = line.strip().strip('"')
            if line.startswith("file://"):
                line = QUrl(line).toLocalFile()  # percent-escapes too ("%20")
            path = Path(line).expanduser() if line else None
            if path is not None and path.exists() and openable(path):
                paths.append(str(path))
    return [p for p in paths if p]


def openable(path: Path) -> bool:
    """A project, an image file or a model (a bundle folder or a checkpoint): what a pasted
    line of text may name (a drop may bring any file, and a wrong one gets a message)."""
    if path.is_dir():
        return (path / "bundle.json").is_file()
    return path.suffix.lower() in (".ganpaint", ".pth", ".safetensors") or is_image_path(str(path))


def can_open(mime: QMimeData) -> bool:
    """Whether a drag carries something :func:`open_incoming` may open."""
    return mime.hasUrls() or mime.hasImage()


def open_incoming(window: MainWindow, mime: QMimeData, how: str) -> bool:
    """Open what ``mime`` carries (``how``: "dropped" or "pasted"); False when it held
    nothing to open or the person kept their work."""
    w = window
    paths = local_paths(mime, text_too=how == "pasted")
    if paths:
        path = paths[0]
        if path.lower().endswith(".ganpaint"):
            if not w.file_commands.confirm_discard(f"opening the {how} project"):
                return False
            return bool(w.file_commands.open_project(path))
        if is_image_path(path):
            return w.picture_commands.open_image(path)  # it asks before replacing work
        if not w.file_commands.confirm_discard(f"opening the {how} model"):
            return False
        w.model_view.open_model(path)
        return True
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            return w.picture_commands.open_pasted(Image.fromarray(rgba_from_qimage(image), "RGBA"))
    return False


def paste(window: MainWindow) -> bool:
    """File > Paste Image: open the clipboard's picture, image file, project or model."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None or not (local_paths(mime, text_too=True) or mime.hasImage()):
        window.status.showMessage(NOTHING, 6000)
        return False
    return open_incoming(window, mime, "pasted")
