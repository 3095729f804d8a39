"""The main window's file commands: projects, PNG export, the clipboard, recent files,
restoring an autosave and the About box.

Each command has a ``choose_*`` step that asks with a dialog and a plain method that does the
work given a path (what tests and scripts call). A mixin of
:class:`~ganpaint.app.main_window.MainWindow`.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication
from PySide6.QtWidgets import QMenu

from ganpaint import __version__
from ganpaint.app import files
from ganpaint.app.autosave import Recovery
from ganpaint.app.imaging import save_png
from ganpaint.app.model_card import card_details, card_rows
from ganpaint.core.errors import GanpaintError
from ganpaint.engine.document import EditDocument


class FilesMixin:
    # -- files -----------------------------------------------------------------------------------

    def choose_model(self) -> None:
        path = files.ask_open_model(self, self.prefs)
        if path and self._confirm_discard("opening another model"):
            self.open_model(path)

    def choose_project(self) -> None:
        path = files.ask_open_project(self, self.prefs)
        if path and self._confirm_discard("opening another project"):
            self.open_project(path)

    def _confirm_discard(self, what: str) -> bool:
        if not (self.document.modified and self.document.strokes):
            return True
        answer = self.prompts.save_changes(what)
        if answer == "save":
            return self.save_project()
        return answer == "discard"

    def open_project(self, path: str | Path) -> bool:
        """Load a .ganpaint project into the document; False (with a message) on failure."""
        try:
            loaded = EditDocument.load(path)
        except GanpaintError as exc:
            self.prompts.error("Cannot open project", "The project could not be opened.", str(exc))
            return False
        if self.bundle is None:
            self._pending_project = str(path)
            return True
        g = self.bundle.generator
        bad = [s.layer for s in loaded.strokes if s.layer not in g.layer_names]
        if loaded.layer not in g.layer_names or bad:
            self.prompts.error(
                "Cannot open project",
                f"The project was made for the model “{loaded.model_id}”, whose layers do not "
                f"match {self.bundle.name}.",
            )
            return False
        self.painter.cancel()
        self.document.assign(loaded)
        self.project_path = str(Path(path).resolve())
        self.prefs.add_recent("projects", self.project_path)
        self._layer_content()
        self._update_title()
        if loaded.model_id != self.bundle.name:
            self.status.showMessage(
                f"Project made with “{loaded.model_id}”, shown with {self.bundle.name}", 8000
            )
        return True

    def _apply_restore(self, rec: Recovery) -> None:
        try:
            loaded = EditDocument.load(rec.document)
        except GanpaintError as exc:
            self.prompts.error("Cannot restore", "The autosaved work could not be read.", str(exc))
            self.autosave.discard(rec)
            return
        self.document.assign(loaded)
        self.document.modified = True
        self.project_path = rec.project_path
        self.autosave.discard(rec)
        self._layer_content()
        self._autosave()
        self._update_title()
        self.status.showMessage(f"Restored {len(loaded.strokes)} strokes from the autosave", 8000)
        self.restored.emit(len(loaded.strokes))

    def save_project(self, ask: bool = False) -> bool:
        path = self.project_path
        if ask or not path:
            name = Path(path).stem if path else "untitled"
            path = files.ask_save_project(self, self.prefs, name)
            if not path:
                return False
        return self.save_project_to(path)

    def save_project_to(self, path: str | Path) -> bool:
        try:
            self.document.save(path)
        except OSError as exc:
            self.prompts.error(
                "Cannot save", f"The project could not be saved to {path}.", str(exc)
            )
            return False
        self.project_path = str(Path(path).resolve())
        self.prefs.add_recent("projects", self.project_path)
        self._update_title()
        self.status.showMessage(f"Saved {Path(path).name}", 4000)
        return True

    def choose_export(self) -> None:
        if self.frames.image is None:
            return
        name = (
            Path(self.project_path).stem if self.project_path else f"ganpaint-{self.document.seed}"
        )
        choice = files.ask_export(self, self.prefs, self.bundle.generator.resolution, name)
        if choice:
            self.export_png(*choice)

    def export_png(self, path: str | Path, scale: int = 1, smooth: bool = False) -> bool:
        """Write the edited image as PNG, enlarged ``scale`` times (nearest or smooth)."""
        if self.frames.image is None:
            return False
        try:
            save_png(self.frames.image, str(path), scale, smooth)
        except OSError as exc:
            self.prompts.error(
                "Cannot export", f"The image could not be written to {path}.", str(exc)
            )
            return False
        self.status.showMessage(f"Exported {Path(path).name}", 4000)
        return True

    def copy_image(self) -> None:
        if self.frames.qimage is not None:
            QGuiApplication.clipboard().setImage(self.frames.qimage)
            self.status.showMessage("Image copied to the clipboard", 3000)

    def _fill_recent(self) -> None:
        menu: QMenu = self.recent_menu
        menu.clear()
        for kind, label, opener in (
            (
                "projects",
                "Projects",
                lambda p: self._confirm_discard("opening a project") and self.open_project(p),
            ),
            (
                "models",
                "Models",
                lambda p: self._confirm_discard("opening a model") and self.open_model(p),
            ),
        ):
            items = self.prefs.recent(kind)
            if not items:
                continue
            menu.addSection(label)
            for p in items:
                act = menu.addAction(Path(p).name)
                act.setToolTip(p)
                act.triggered.connect(lambda _=False, p=p, o=opener: o(p))
        if menu.isEmpty():
            menu.addAction("No recent files").setEnabled(False)

    def _fill_devices(self) -> None:
        menu: QMenu = self.device_menu
        menu.clear()
        group = QActionGroup(menu)
        for label, value in [("Automatic", None)] + [(d.upper(), d) for d in self.devices]:
            act = QAction(label, menu, checkable=True)
            act.setChecked(self.device_pref == value)
            act.triggered.connect(lambda _=False, v=value: self.set_device(v))
            group.addAction(act)
            menu.addAction(act)

    def show_about(self) -> None:
        """Version, method and the model card (non-blocking)."""
        rows = [
            f"<h3>GANPaint desktop {html.escape(__version__)}</h3>",
            "<p>Paint with the units of a scene GAN that dissection found to draw each "
            "concept (Bau et al., <i>GAN Dissection</i>, ICLR 2019).</p>",
        ]
        card = None
        if self.bundle is not None:
            g, card = self.bundle.generator, self.bundle.meta.get("training")
            facts = [
                ("Architecture", f"ProGAN, {g.resolution} px, widths {list(g.widths)}"),
                ("Edit layers", ", ".join(self.bundle.edit_layers)),
                ("Dissection", "yes" if self.bundle.dissection else "none (units unlabelled)"),
                ("Device", self.device_text),
            ] + card_rows(card)
            rows.append(f"<h4>Model: {html.escape(self.bundle.name)}</h4><table>")
            for k, v in facts:
                cells = f"<td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td>"
                rows.append(f"<tr>{cells}</tr>")
            rows.append("</table>")
        box = self.prompts.info("About GANPaint", "".join(rows))
        box.setTextFormat(Qt.RichText)
        if card:
            box.setDetailedText(card_details(card))
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
