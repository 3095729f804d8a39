"""File dialogs and the export options dialog.

The window's file commands split in two: a ``choose_*`` step that asks (these functions,
with native dialogs) and a plain step that does the work given a path (on the window), which
is what tests call. Dialogs remember their last folder in the preferences.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.views.settings import Preferences

PROJECT_FILTER = "GANPaint projects (*.ganpaint);;All files (*)"
MODEL_FILTER = "Generators (*.pth *.pt *.safetensors bundle.json);;All files (*)"
PNG_FILTER = "PNG images (*.png)"
GIF_FILTER = "GIF images (*.gif)"


def _folder(prefs: Preferences, kind: str) -> str:
    return prefs.get(f"dialogs/{kind}", str(Path.home()))


def _remember(prefs: Preferences, kind: str, path: str) -> None:
    prefs.set(f"dialogs/{kind}", str(Path(path).parent))


def ask_open_project(parent: QWidget, prefs: Preferences) -> str | None:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Open Project", _folder(prefs, "project"), PROJECT_FILTER
    )
    if path:
        _remember(prefs, "project", path)
    return path or None


def ask_save_project(parent: QWidget, prefs: Preferences, name: str) -> str | None:
    start = str(Path(_folder(prefs, "project")) / f"{name}.ganpaint")
    path, _ = QFileDialog.getSaveFileName(parent, "Save Project", start, PROJECT_FILTER)
    if not path:
        return None
    if not path.endswith(".ganpaint"):
        path += ".ganpaint"
    _remember(prefs, "project", path)
    return path


def ask_open_model(parent: QWidget, prefs: Preferences) -> str | None:
    """A generator file, or a bundle folder chosen through its bundle.json."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Open Model", _folder(prefs, "model"), MODEL_FILTER
    )
    if not path:
        return None
    _remember(prefs, "model", path)
    return str(Path(path).parent) if Path(path).name == "bundle.json" else path


# What an export shows: (key, menu text, file suffix, file dialog filter)
EXPORT_CONTENTS = (
    ("edited", "The edited image (PNG)", ".png", PNG_FILTER),
    ("side", "Before and after, side by side (PNG)", ".png", PNG_FILTER),
    ("gif", "Before and after, alternating (animated GIF)", ".gif", GIF_FILTER),
    ("steps", "The edit stroke by stroke (animated GIF)", ".gif", GIF_FILTER),
)
FILE_NAME_PART = {"edited": "", "side": "-before-after", "gif": "-before-after", "steps": "-steps"}
BEFORE_TIP = (
    "Before is the unedited image, as holding Space shows it (your own picture, for a "
    "picture; with Clean Artifacts on, the network with its artifacts). For slides: the PNG's "
    "gap is transparent, and the GIF shows each image for a second, for ever. Stroke by "
    "stroke: the scene, then each visible stroke added in turn (at most 60 frames), the "
    "finished edit held two seconds."
)


class ExportDialog(QDialog):
    """What to export (the edited image, or before and after), its size (1x..8x) and
    filter (crisp nearest or smooth)."""

    def __init__(
        self, parent: QWidget, resolution: int, scale: int, smooth: bool, content: str = "edited"
    ):
        super().__init__(parent)
        self.setWindowTitle("Export Image")
        self.content = QComboBox()
        for key, text, _suffix, _filter in EXPORT_CONTENTS:
            self.content.addItem(text, key)
        self.content.setCurrentIndex(max(0, self.content.findData(content)))
        self.content.setToolTip(BEFORE_TIP)
        self.scale = QComboBox()
        for f in (1, 2, 4, 8):
            self.scale.addItem(f"{f}×  ({resolution * f} × {resolution * f} px)", f)
        self.scale.setCurrentIndex(max(0, self.scale.findData(scale)))
        self.crisp = QRadioButton("Crisp (nearest neighbour)")
        self.smooth = QRadioButton("Smooth (Lanczos)")
        (self.smooth if smooth else self.crisp).setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.crisp)
        group.addButton(self.smooth)
        self.scale.currentIndexChanged.connect(self._native)
        form = QFormLayout()
        form.addRow("Show", self.content)
        form.addRow("Size", self.scale)
        form.addRow("Enlarge", self.crisp)
        form.addRow("", self.smooth)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Export…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._native()

    def _native(self) -> None:
        native = self.scale.currentData() == 1
        self.crisp.setEnabled(not native)
        self.smooth.setEnabled(not native)


# A 128 px frame is a thumbnail on today's screens: export 4x smooth unless told otherwise.
EXPORT_DEFAULTS = {"export/scale": 4, "export/smooth": True, "export/content": "edited"}


def export_choice(prefs: Preferences) -> tuple[int, bool, str]:
    """The remembered export size, filter and content (4x smooth, the edited image, the
    first time)."""
    scale = prefs.get("export/scale", EXPORT_DEFAULTS["export/scale"])
    smooth = prefs.get("export/smooth", EXPORT_DEFAULTS["export/smooth"])
    return scale, smooth, prefs.get("export/content", EXPORT_DEFAULTS["export/content"])


def export_file_name(name: str, scale: int, content: str) -> str:
    """The file name an export suggests: ``ganpaint-7-4x.png``, ``ganpaint-7-before-after.gif``,
    ``ganpaint-7-steps-4x.gif``."""
    _key, _text, suffix, _filter = next(c for c in EXPORT_CONTENTS if c[0] == content)
    return f"{name}{FILE_NAME_PART[content]}{'' if scale == 1 else f'-{scale}x'}{suffix}"


def ask_export(parent: QWidget, prefs: Preferences, resolution: int, name: str):
    """(path, scale, smooth, content) or None."""
    dialog = ExportDialog(parent, resolution, *export_choice(prefs))
    if dialog.exec() != QDialog.Accepted:
        return None
    scale, smooth = int(dialog.scale.currentData()), dialog.smooth.isChecked()
    content = dialog.content.currentData()
    prefs.set("export/scale", scale)
    prefs.set("export/smooth", smooth)
    prefs.set("export/content", content)
    _key, _text, suffix, file_filter = next(c for c in EXPORT_CONTENTS if c[0] == content)
    start = str(Path(_folder(prefs, "export")) / export_file_name(name, scale, content))
    path, _ = QFileDialog.getSaveFileName(parent, "Export Image", start, file_filter)
    if not path:
        return None
    if not path.lower().endswith(suffix):
        path += suffix
    _remember(prefs, "export", path)
    return path, scale, smooth, content
