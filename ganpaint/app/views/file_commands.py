"""The window's file commands: projects, PNG export (the edited image, before and after, or
the edit stroke by stroke), the clipboard, recent files, restoring an autosave and the About
box.

Each command has a ``choose_*`` step that asks with a dialog and a plain method that does the
work given a path (what tests and scripts call). :class:`FileCommands` works on the parts a
:class:`~ganpaint.app.views.main_window.MainWindow` holds (session, model controller,
frames, prompts, preferences, status bar).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication
from PySide6.QtWidgets import QMenu

from ganpaint import __version__
from ganpaint.app.state.model_card import card_details, card_rows
from ganpaint.app.views import files
from ganpaint.app.views.autosave import Recovery
from ganpaint.app.views.imaging import save_png
from ganpaint.app.views.steps_jobs import StepsJob, StepsResult
from ganpaint.core.comparison import save_before_after, save_steps_gif
from ganpaint.core.errors import GanpaintError
from ganpaint.engine.document import EditDocument
from ganpaint.engine.steps import step_counts

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow


@dataclass
class StepsExport:
    """A stroke-by-stroke export under way: its first job, where it goes, the stroke counts
    of its frames and the frames rendered so far."""

    job: StepsJob
    path: str
    scale: int
    smooth: bool
    counts: tuple[int, ...]
    frames: list = field(default_factory=list)


class FileCommands:
    def __init__(self, window: MainWindow):
        self.w = window
        self.session = window.session
        self.models = window.models
        self._steps_token = 0
        self._steps_export: StepsExport | None = None  # the stroke-by-stroke export under way

    # -- files -----------------------------------------------------------------------------------

    def choose_model(self) -> None:
        path = files.ask_open_model(self.w, self.w.prefs)
        if path and self.confirm_discard("opening another model"):
            self.w.model_view.open_model(path)

    def choose_project(self) -> None:
        path = files.ask_open_project(self.w, self.w.prefs)
        if path and self.confirm_discard("opening another project"):
            self.open_project(path)

    def confirm_discard(self, what: str) -> bool:
        """Ask whether to save unsaved strokes before ``what``; False cancels it."""
        if not self.session.needs_confirm:
            return True
        answer = self.w.prompts.save_changes(what)
        if answer == "save":
            return self.save_project()
        return answer == "discard"

    def open_project(self, path: str | Path) -> bool:
        """Load a .ganpaint project into the document; False (with a message) on failure."""
        w, bundle = self.w, self.models.bundle
        try:
            loaded = EditDocument.load(path)
        except GanpaintError as exc:
            w.prompts.error("Cannot open project", "The project could not be opened.", str(exc))
            return False
        if bundle is None:
            self.models.pending_project = str(path)
            return True
        if self.session.layer_problem(loaded, bundle.generator.layer_names):
            w.prompts.error(
                "Cannot open project",
                f"The project was made for the model “{loaded.model_id}”, whose layers do not "
                f"match {bundle.name}.",
            )
            return False
        problem = self.session.picture_problem(loaded, bundle.name, bundle.generator.resolution)
        if problem:
            w.prompts.error(
                "Cannot open project", "The project's picture cannot be shown.", problem
            )
            return False
        w.painter.cancel()
        self.session.adopt(loaded, path)
        w.prefs.add_recent("projects", self.session.project_path)
        w.model_view.layer_content()
        w.update_title()
        if loaded.model_id != bundle.name:
            w.status.showMessage(
                f"Project made with “{loaded.model_id}”, shown with {bundle.name}", 8000
            )
        return True

    def apply_restore(self, rec: Recovery) -> None:
        w = self.w
        try:
            loaded = EditDocument.load(rec.document)
        except GanpaintError as exc:
            w.prompts.error("Cannot restore", "The autosaved work could not be read.", str(exc))
            w.autosave.discard(rec)
            return
        bundle = self.models.bundle
        problem = self.session.picture_problem(loaded, bundle.name, bundle.generator.resolution)
        if problem:
            w.prompts.error("Cannot restore", "The autosaved picture cannot be shown.", problem)
            w.autosave.discard(rec)
            return
        self.session.restore(loaded, rec.project_path)
        w.autosave.discard(rec)
        w.model_view.layer_content()
        w.autosave_now()
        w.update_title()
        lost = " (its undo history was damaged and is gone)" if loaded.history_problem else ""
        w.status.showMessage(
            f"Restored {len(loaded.strokes)} strokes from the autosave{lost}", 8000
        )
        w.restored.emit(len(loaded.strokes))

    def save_project(self, ask: bool = False) -> bool:
        path = self.session.project_path
        if ask or not path:
            path = files.ask_save_project(self.w, self.w.prefs, self.session.project_name)
            if not path:
                return False
        return self.save_project_to(path)

    def save_project_to(self, path: str | Path) -> bool:
        w = self.w
        try:
            self.session.save(path)
        except OSError as exc:
            w.prompts.error("Cannot save", f"The project could not be saved to {path}.", str(exc))
            return False
        w.prefs.add_recent("projects", self.session.project_path)
        w.update_title()
        w.status.showMessage(f"Saved {Path(path).name}", 4000)
        return True

    def choose_export(self) -> None:
        if self.w.frames.image is None:
            return
        resolution, name = self.models.resolution, self.session.export_name
        choice = files.ask_export(self.w, self.w.prefs, resolution, name)
        if choice:
            path, scale, smooth, content = choice
            if content == "edited":
                self.export_png(path, scale, smooth)
            elif content == "steps":
                self.export_steps(path, scale, smooth)
            else:
                self.export_before_after(path, content, scale, smooth)

    def export_png(self, path: str | Path, scale: int = 1, smooth: bool = False) -> bool:
        """Write the edited image as PNG, enlarged ``scale`` times (nearest or smooth)."""
        w = self.w
        if w.frames.image is None:
            return False
        try:
            save_png(w.frames.image, str(path), scale, smooth)
        except OSError as exc:
            w.prompts.error("Cannot export", f"The image could not be written to {path}.", str(exc))
            return False
        w.status.showMessage(f"Exported {Path(path).name}", 4000)
        return True

    def export_before_after(
        self, path: str | Path, form: str = "side", scale: int = 1, smooth: bool = False
    ) -> bool:
        """Write the unedited image (what holding Space shows) and the edited one side by
        side in a PNG (``form`` "side") or alternating in an animated GIF ("gif")."""
        w = self.w
        after = w.frames.image
        picture = w.document.picture
        before = np.asarray(picture.pixels) if picture is not None else w.frames.plain_image
        if after is None or before is None:
            w.status.showMessage("The unedited image is not ready yet; try again in a moment", 5000)
            return False
        try:
            save_before_after(path, before, after, form, scale, smooth)
        except OSError as exc:
            w.prompts.error("Cannot export", f"The image could not be written to {path}.", str(exc))
            return False
        w.status.showMessage(f"Exported {Path(path).name} (before and after)", 4000)
        return True

    def export_steps(self, path: str | Path, scale: int = 1, smooth: bool = False) -> bool:
        """Write the edit stroke by stroke as an animated GIF. Its frames are rendered on the
        render worker one at a time, below the brush's frames, and the file is written when
        the last comes back (:meth:`steps_rendered`). False, with a message, when no stroke
        is visible."""
        w = self.w
        snapshot = w.document.snapshot()
        if not snapshot.strokes or w.frames.key is None:
            w.status.showMessage("Nothing to show stroke by stroke: no stroke is visible", 5000)
            return False
        self._steps_token += 1
        job = StepsJob(w.frames.key, self._steps_token, snapshot, 0, w.frames.zeroed)
        self._steps_export = StepsExport(job, str(path), scale, smooth,
                                         step_counts(len(snapshot.strokes)))  # fmt: skip
        self._next_step()
        return True

    def _next_step(self) -> None:
        export = self._steps_export
        done, total = len(export.frames), len(export.counts)
        self.w.status.showMessage(f"Rendering the edit stroke by stroke: frame {done + 1} of "
                                  f"{total}…")  # fmt: skip
        self.w.worker.submit(replace(export.job, count=export.counts[done]))

    def steps_rendered(self, r: StepsResult) -> None:
        """A frame of the stroke-by-stroke export: ask for the next, or write the GIF."""
        w, export = self.w, self._steps_export
        if export is None or r.token != export.job.token:
            return  # an export replaced by a newer one
        if r.error is not None:
            self._steps_export = None
            w.prompts.error("Cannot export", "The frames could not be rendered.", r.error)
            return
        export.frames.append(r.image)
        if len(export.frames) < len(export.counts):
            self._next_step()
            return
        self._steps_export = None
        try:
            save_steps_gif(export.path, export.frames, export.scale, export.smooth)
        except OSError as exc:
            w.prompts.error("Cannot export", f"The image could not be written to {export.path}.",
                            str(exc))  # fmt: skip
            return
        w.status.showMessage(f"Exported {Path(export.path).name} (stroke by stroke, "
                             f"{len(export.frames)} frames)", 5000)  # fmt: skip

    def copy_image(self) -> None:
        if self.w.frames.qimage is not None:
            QGuiApplication.clipboard().setImage(self.w.frames.qimage)
            self.w.status.showMessage("Image copied to the clipboard", 3000)

    def fill_recent(self, menu: QMenu) -> None:
        menu.clear()
        for kind, label, opener in (
            (
                "projects",
                "Projects",
                lambda p: self.confirm_discard("opening a project") and self.open_project(p),
            ),
            (
                "pictures",
                "Pictures",
                lambda p: self.w.picture_commands.open_image(p),
            ),
            (
                "models",
                "Models",
                lambda p: (
                    self.confirm_discard("opening a model") and self.w.model_view.open_model(p)
                ),
            ),
        ):
            items = self.w.prefs.recent(kind)
            if not items:
                continue
            menu.addSection(label)
            for p in items:
                act = menu.addAction(Path(p).name)
                act.setToolTip(p)
                act.triggered.connect(lambda _=False, p=p, o=opener: o(p))
        if menu.isEmpty():
            menu.addAction("No recent files").setEnabled(False)

    def fill_devices(self, menu: QMenu) -> None:
        menu.clear()
        group = QActionGroup(menu)
        for label, value in [("Automatic", None)] + [(d.upper(), d) for d in self.models.devices]:
            act = QAction(label, menu, checkable=True)
            act.setChecked(self.models.device_pref == value)
            act.triggered.connect(lambda _=False, v=value: self.w.model_view.set_device(v))
            group.addAction(act)
            menu.addAction(act)

    def show_shortcuts(self) -> None:
        """Help → Keyboard Shortcuts (non-modal, one sheet at a time)."""
        from ganpaint.app.views.shortcut_sheet import ShortcutSheet

        sheet = getattr(self, "sheet", None)
        if sheet is None:
            sheet = self.sheet = ShortcutSheet(self.w)
        sheet.show()
        sheet.raise_()

    def show_about(self) -> None:
        """Version, method and the model card (non-blocking)."""
        rows = [
            f"<h3>GANPaint desktop {html.escape(__version__)}</h3>",
            "<p>Paint with the units of a scene GAN that dissection found to draw each "
            "concept (Bau et al., <i>GAN Dissection</i>, ICLR 2019).</p>",
        ]
        card, bundle = None, self.models.bundle
        if bundle is not None:
            g, card = bundle.generator, bundle.meta.get("training")
            facts = [
                ("Architecture", f"ProGAN, {g.resolution} px, widths {list(g.widths)}"),
                ("Edit layers", ", ".join(bundle.edit_layers)),
                ("Dissection", "yes" if bundle.dissection else "none (units unlabelled)"),
                ("Device", self.models.device_text),
            ] + card_rows(card)
            rows.append(f"<h4>Model: {html.escape(bundle.name)}</h4><table>")
            for k, v in facts:
                cells = f"<td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td>"
                rows.append(f"<tr>{cells}</tr>")
            rows.append("</table>")
        box = self.w.prompts.info("About GANPaint", "".join(rows))
        box.setTextFormat(Qt.RichText)
        if card:
            box.setDetailedText(card_details(card))
        box.setIconPixmap(self.w.windowIcon().pixmap(64, 64))
