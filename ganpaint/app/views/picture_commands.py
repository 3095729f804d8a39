"""File > Open Image…: a person's own picture becomes a document to paint on.

The flow: the file is read and fitted to the model (``core.pictures.load_picture``; a file
it cannot use gets a message and changes nothing), the user confirms leaving unsaved work,
then the render worker inverts it (:class:`~ganpaint.app.views.picture_jobs.InvertJob`) while a
window-modal :class:`InversionDialog` shows what was done to the file, the steps, the time
and a Cancel button. The window stays responsive (the work is on the worker thread); the
current document is replaced only when the inversion succeeds. Cancel or a failure leaves it as it
was. File > Close Picture goes back to the model's generated scenes. A picture pasted from
the clipboard (:mod:`~ganpaint.app.views.incoming`) takes the same path from
:meth:`PictureCommands.open_pasted`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.views.picture_jobs import InvertJob, InvertProgress, InvertResult
from ganpaint.core.errors import PictureError
from ganpaint.core.pictures import LoadedPicture, fit_image, load_picture
from ganpaint.engine.document import EditDocument

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
KEPT = "Pixels you do not paint stay exactly as in your picture."
PASTED = "The pasted picture"  # its name in the messages (which begin with it)
PASTED_STEM = "pasted-picture"  # the project's name until it is saved


def inline(name: str) -> str:
    """A picture's name inside a sentence ("the pasted picture"; a file's name as it is)."""
    return PASTED.lower() if name == PASTED else name


def is_image_path(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def ask_open_image(parent: QWidget, folder: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open Image", folder, IMAGE_FILTER)
    return path or None


def describe_fit(loaded: LoadedPicture, resolution: int) -> str:
    """One paragraph for the user: the file's size and what was done to fit the model."""
    w, h = loaded.source_size
    if not loaded.notes:
        return f"{w}x{h} pixels, used as it is."
    return f"{w}x{h} pixels, fitted to the model's {resolution}x{resolution}. " + " ".join(
        loaded.notes
    )


def eta_text(progress: InvertProgress) -> str:
    """'Step 120 of 300 · 14 s, about 21 s left'."""
    done, total, seconds = progress.done, progress.total, progress.seconds
    text = f"Step {done} of {total} · {seconds:.0f} s"
    if 0 < done < total:
        text += f", about {seconds / done * (total - done):.0f} s left"
    return text


class InversionDialog(QDialog):
    """The progress of one inversion: what was done to the file, a bar, the time, Cancel."""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget, name: str, fit: str):
        super().__init__(parent)
        self.setObjectName("inversionDialog")
        self.setWindowTitle("Open Image")
        self.setWindowModality(Qt.WindowModal)
        self.setMinimumWidth(440)
        title = QLabel(f"<b>Fitting the model to {inline(name)}</b>")
        title.setTextFormat(Qt.RichText)
        self.fit = QLabel(fit)
        self.kept = QLabel(KEPT)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the first step reports
        self.step = QLabel("Starting…")
        for label in (title, self.fit, self.kept, self.step):
            label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (title, self.fit, self.kept, self.bar, self.step, self.buttons):
            layout.addWidget(widget)

    def show_progress(self, progress: InvertProgress) -> None:
        self.bar.setRange(0, progress.total)
        self.bar.setValue(progress.done)
        self.step.setText(eta_text(progress))

    def reject(self) -> None:
        """Cancel (the button, Esc or the close box): ask to stop and wait for the worker."""
        if self.buttons.isEnabled():
            self.buttons.setEnabled(False)
            self.step.setText("Cancelling…")
            self.cancelRequested.emit()

    def finish(self) -> None:
        super().reject()


class PictureCommands(QObject):
    finished = Signal(str)  # "opened", "cancelled", "failed" or "refused"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.w = window
        self.steps: int | None = None  # the inversion's steps (None: its default)
        self.dialog: InversionDialog | None = None
        self.last_progress: InvertProgress | None = None
        self._job: InvertJob | None = None
        self._path: Path | None = None  # None for a pasted picture
        self._name = ""
        self._fit = ""  # what was done to the file, for the message once it is ready
        self._token = 0
        window.worker.inversionProgress.connect(self._progress)
        window.worker.inversionDone.connect(self._done)

    @property
    def busy(self) -> bool:
        return self._job is not None

    def choose_image(self) -> None:
        if self._refused_without_encoder():  # say so before a file is chosen in vain
            return
        prefs = self.w.prefs
        path = ask_open_image(self.w, prefs.get("dialogs/image", str(Path.home())))
        if path:
            prefs.set("dialogs/image", str(Path(path).parent))
            self.open_image(path)

    def open_image(self, path: str | Path) -> bool:
        """Read ``path`` and start its inversion; False (with a message) when it cannot
        start. The document changes only when the inversion succeeds."""
        path = Path(path)
        return self._open(lambda size: load_picture(path, size), path.name, path)

    def open_pasted(self, image: Image.Image) -> bool:
        """Start the inversion of a picture pasted from the clipboard (or dropped from a web
        page), as :meth:`open_image` does for a file."""
        return self._open(lambda size: fit_image(image, size, PASTED), PASTED, None)

    def _open(self, load: Callable[[int], LoadedPicture], name: str, path: Path | None) -> bool:
        w = self.w
        if self.busy or not w.models.ready:
            w.status.showMessage("Wait for the model (or the picture being opened)", 4000)
            return False
        if self._refused_without_encoder():
            return False
        try:
            loaded = load(w.models.resolution)
        except PictureError as exc:
            w.prompts.error("Cannot open image", "The picture could not be used.", str(exc))
            self.finished.emit("refused")
            return False
        if not w.file_commands.confirm_discard("opening the picture"):
            return False
        w.painter.cancel()
        self._token += 1
        self._path, self._name = path, name
        self._job = InvertJob(w.frames.key, self._token, loaded.pixels, self.steps)
        self.last_progress = None
        fit = describe_fit(loaded, w.models.resolution)
        self.dialog = InversionDialog(w, name, fit)
        self.dialog.cancelRequested.connect(self.cancel)
        self.dialog.open()
        self._fit = fit
        w.worker.submit(self._job)
        return True

    def _refused_without_encoder(self) -> bool:
        """Say why no picture can be opened when the model's encoder file is damaged (found
        when the bundle opened: ``models.bundle`` ``problems``); True then."""
        w = self.w
        problem = (getattr(w.models.bundle, "problems", None) or {}).get("encoder.safetensors")
        if not problem:
            return False
        text = "The model's picture encoder cannot be used, so no picture can be fitted to it"
        w.prompts.error("Cannot open image", text + "; nothing changed.", problem)
        self.finished.emit("refused")
        return True

    def cancel(self) -> None:
        """Stop the inversion running (the worker answers with a cancelled result)."""
        if self._job is not None:
            self._job.cancel.set()

    def _progress(self, progress: InvertProgress) -> None:
        if self._job is None or progress.token != self._job.token:
            return
        self.last_progress = progress
        if self.dialog is not None:
            self.dialog.show_progress(progress)

    def _done(self, result: InvertResult) -> None:
        if self._job is None or result.token != self._job.token:
            return
        w, path, name = self.w, self._path, self._name
        self._job = None
        if self.dialog is not None:
            self.dialog.finish()
            self.dialog.deleteLater()
            self.dialog = None
        if result.cancelled:
            w.status.showMessage(f"Opening {inline(name)} cancelled; nothing changed", 6000)
            self.finished.emit("cancelled")
        elif result.picture is None:
            w.prompts.error(
                "Cannot open image",
                f"{name} could not be fitted to the model; nothing changed.",
                result.error or "",
            )
            self.finished.emit("failed")
        else:
            self._adopt(result, name, path)
            self.finished.emit("opened")

    def _adopt(self, result: InvertResult, name: str, path: Path | None) -> None:
        w, bundle = self.w, self.w.models.bundle
        doc = EditDocument(bundle.name, bundle.default_layer, w.document.seed,
                           picture=result.picture)  # fmt: skip
        w.painter.cancel()
        w.worker.clear_thumbnails()  # any still waiting would be drawn from the picture
        w.session.open_picture(doc, path.stem if path is not None else PASTED_STEM)
        if path is not None:
            w.prefs.add_recent("pictures", path)
        w.model_view.layer_content()
        w.autosave_now()
        w.update_title()
        w.update_enabled()
        w.status.showMessage(
            f"{name} is ready to paint (fitted in {result.seconds:.1f} s). {self._fit} {KEPT}",
            20000,
        )

    def close_picture(self) -> None:
        """Back to the model's generated scenes (asks first when the picture is unsaved)."""
        w, bundle = self.w, self.w.models.bundle
        if w.document.picture is None or bundle is None:
            return
        if w.file_commands.confirm_discard("closing the picture"):
            w.painter.cancel()
            w.session.reset(bundle.name, bundle.default_layer)
            w.model_view.layer_content()
            w.update_title()
            w.update_enabled()
