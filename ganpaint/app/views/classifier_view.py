"""The window's classifier side: keeps the Classifier panel's reading in step with the picture
on screen, and runs attacks.

:class:`ClassifierView` asks the render worker for a reading of every frame shown while the
panel is open (none while it is closed, so painting pays nothing then): the edited frame,
or the unedited one while compare is held, so Space shows what the classifier made of the
scene before the edit. Readings are kept per picture, so toggling compare or going back
with undo shows a known reading at once.

The Attack action sends the picture on screen to the attack worker
(:class:`~ganpaint.app.views.attack_worker.AttackWorker`, a thread of its own, made on the
first attack) and shows progress, Cancel and then the result in a non-modal
:class:`~ganpaint.app.views.attack_dialog.AttackDialog`, so the canvas keeps rendering and
the person keeps painting meanwhile. A new attack supersedes the one running (cancelled,
its result ignored by token); opening another model cancels it. The result names the frame
it attacked and, whenever the picture on screen is no longer that frame (a stroke, undo,
compare, another scene), says so, with a button to attack the picture now on screen. The
frame itself is never changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSignalBlocker

from ganpaint.app.views.attack_dialog import AttackDialog
from ganpaint.app.views.attack_worker import AttackWorker
from ganpaint.app.views.classifier_jobs import (
    CANNOT_USE,
    NO_CLASSIFIER,
    AttackDone,
    AttackJob,
    AttackProgress,
    AttackSource,
    ClassifyJob,
    ClassifyResult,
)
from ganpaint.app.views.imaging import heat_rgba, qimage_rgb, qimage_rgba

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

TRAIN_HINT = " Train one with “ganpaint classifier train BUNDLE”."
SOURCES = {"frame": "Edited picture", "plain": "Original picture (compare)"}
PLACE_KEY = "attack/corner"  # where the person moved the attack window, from the main window


class ClassifierView:
    def __init__(self, window: MainWindow):
        self.w = window
        self.live = False  # the panel is open: read every frame
        self.available = False  # the open model has a classifier
        self.classes: tuple[str, ...] = ()
        self.readings: dict[str, ClassifyResult | None] = {"frame": None, "plain": None}
        self.shown: ClassifyResult | None = None
        self.heat_unit: int | None = None  # the classifier unit drawn over the canvas
        self.dialog: AttackDialog | None = None
        self.attacks: AttackWorker | None = None  # made on the first attack
        self.device = "cpu"  # where the open model runs (the attack runs there too)
        self._attack_token = 0
        self._attacked: tuple[int, np.ndarray] | None = None  # (model key, picture attacked)

    def connect(self) -> None:
        w = self.w
        w.worker.classified.connect(self.classified)
        w.worker.modelLoaded.connect(self._model_loaded)
        w.frames.frameShown.connect(lambda _r: self.request())
        w.frames.plainShown.connect(self.request)
        w.classifier_panel.unitClicked.connect(self.toggle_unit_heat)

    def stop(self) -> None:
        """Stop the attack thread (the window closes)."""
        if self.attacks is not None:
            self.attacks.stop()

    def _model_loaded(self, res) -> None:
        if res.error is None:
            self.device = res.torch_device

    # -- model and panel ------------------------------------------------------------------

    def model_opened(self, bundle) -> None:
        """A model (re)opened: forget old readings, say whether it has a classifier; an
        attack of the model before stops."""
        if self.attacks is not None:
            self.attacks.cancel_all()
        self.readings = {"frame": None, "plain": None}
        self.shown = None
        self.heat_unit = None
        # a damaged classifier file: found when the bundle opened (models.bundle.problems)
        problem = (getattr(bundle, "problems", None) or {}).get("classifier.safetensors")
        self.available = getattr(bundle, "classifier_path", None) is not None and not problem
        meta = getattr(bundle, "meta", {}) or {}
        self.classes = tuple(str(c) for c in (meta.get("classifier") or {}).get("classes", ()))
        panel = self.w.classifier_panel
        panel.clear()
        note = "" if self.available else NO_CLASSIFIER + TRAIN_HINT
        if problem:  # the attack menu keeps the classes of the card, greyed out
            note = CANNOT_USE + problem
        panel.set_available(self.available, note)
        panel.set_attack_targets(self.classes, self.attack)
        self.update_actions()
        self.request()

    def set_live(self, on: bool) -> None:
        """The panel opened or closed (the dock's visibility, the View menu's toggle)."""
        self.live = bool(on)
        action = self.w.actions["view.classifier"]
        with QSignalBlocker(action):
            action.setChecked(self.live)
        self.request()

    def show_panel(self, on: bool) -> None:
        dock = self.w.docks["classifier"]
        dock.setVisible(on)
        if on:
            dock.raise_()

    def update_actions(self) -> None:
        ready = self.available and self.w.frames.image is not None
        self.w.actions["classifier.attack"].setEnabled(ready and bool(self.classes))
        self.w.classifier_panel.attack_button.setEnabled(ready and bool(self.classes))

    # -- readings ---------------------------------------------------------------------------

    def _source(self) -> tuple[str, object, int, int] | None:
        """(kind, image, revision, token) of the picture on screen, or None."""
        f = self.w.frames
        if self.w.canvas.compare and f.plain_image is not None:
            return "plain", f.plain_image, f.shown_revision, int(f.plain_seed)
        if f.image is None:
            return None
        return "frame", f.image, f.shown_revision, f.frames

    def request(self) -> None:
        """Show the reading of the picture on screen, asking the worker if it is new."""
        self.update_actions()
        self._mark_stale()
        key = self.w.models.model_key
        if not (self.live and self.available) or key is None:
            return
        source = self._source()
        if source is None:
            return
        kind, image, revision, token = source
        have = self.readings[kind]
        if have is not None and have.token == token:
            self._show(have)
            return
        self.w.worker.submit(ClassifyJob(key, image, revision, kind, token))

    def classified(self, res: ClassifyResult) -> None:
        if res.key != self.w.models.model_key:
            return
        if res.reading is None:
            self.w.classifier_panel.set_note(
                f"The classifier could not read this picture: {res.error}"
            )
            if res.error == NO_CLASSIFIER or res.error.startswith(CANNOT_USE):
                self.available = False
                hint = TRAIN_HINT if res.error == NO_CLASSIFIER else ""
                self.w.classifier_panel.set_available(False, res.error + hint)
                self.update_actions()
            return
        old = self.readings[res.kind]
        if res.kind == "frame" and old is not None and res.token < old.token:
            return  # a newer frame's reading is already here
        self.readings[res.kind] = res
        source = self._source()
        if source is not None and source[0] == res.kind and source[3] == res.token:
            self._show(res)

    def _show(self, res: ClassifyResult) -> None:
        if self.shown is res:
            return
        self.shown = res
        panel = self.w.classifier_panel
        panel.show_reading(res.reading, qimage_rgb(res.image), SOURCES[res.kind])
        panel.set_note(res.note or "")
        if not self.classes:
            self.classes = tuple(res.reading.classes)
            panel.set_attack_targets(self.classes, self.attack)
        if self.heat_unit is not None:
            self._draw_heat()

    def toggle_unit_heat(self, unit: int) -> None:
        """Show a driving unit's activation over the canvas (again: hide it)."""
        self.heat_unit = None if self.heat_unit == unit else unit
        if self.heat_unit is None:
            self.w.canvas.set_heat(None)
            return
        self.w.model_view.selected_unit = None  # the canvas heat now belongs to this unit
        self.w.inspector.show_unit(None)
        self._draw_heat()

    def _draw_heat(self) -> None:
        reading = self.shown.reading if self.shown is not None else None
        match = [u for u in reading.units if u.unit == self.heat_unit] if reading else []
        if not match:
            self.w.canvas.set_heat(None)
            return
        u = match[0]
        self.w.canvas.set_heat(qimage_rgba(heat_rgba(u.heatmap, u.peak)))
        if not self.w.actions["view.heat"].isChecked():
            self.w.actions["view.heat"].setChecked(True)

    # -- attacks ------------------------------------------------------------------------------

    def fill_attack_menu(self, menu) -> None:
        menu.clear()
        enabled = self.w.actions["classifier.attack"].isEnabled()
        for i, name in enumerate(self.classes):
            menu.addAction(name, lambda i=i: self.attack(i)).setEnabled(enabled)
        if not self.classes:
            menu.addAction("No scene classifier in this model").setEnabled(False)

    def choose_attack(self) -> None:
        """Ask for the target class (the runner-up of the current reading first)."""
        if not self.classes:
            return
        order = list(range(len(self.classes)))
        reading = self.shown.reading if self.shown is not None else None
        if reading is not None:
            order = [int(i) for i in reading.probs.argsort()[::-1][1:]] + [reading.top]
        names = [self.classes[i] for i in order]
        name = self.w.prompts.choose("Attack picture", "Make the classifier read:", names)
        if name is not None:
            self.attack(self.classes.index(name))

    def attack(self, target: int) -> None:
        """Attack the picture on screen towards class ``target`` on the attack thread (the
        frame stays as it is); an attack still running is superseded."""
        source = self._source()
        key = self.w.models.model_key
        if source is None or key is None or not self.available:
            return
        kind, image, revision, frame = source
        self._attack_token += 1
        token = self._attack_token
        old = self.dialog
        self.dialog = AttackDialog(
            self.w, self.classes, target, image, AttackSource(revision, frame, kind)
        )
        self.dialog.cancelled.connect(lambda: self.attacks.cancel(token))
        self.dialog.againRequested.connect(self.attack)
        dialog = self.dialog
        self.dialog.finished.connect(lambda _code: self._remember_place(dialog))
        if old is not None:
            self._remember_place(old)
            old.close()
        self._attacked = (key, image)
        self._mark_stale()
        self.dialog.start(self._remembered_place())
        if self.attacks is None:
            self.attacks = AttackWorker(self.w, turns=self.w.worker.turns)
            self.attacks.attackProgress.connect(self.attack_progress)
            self.attacks.attackDone.connect(self.attack_done)
        bundle = self.w.models.bundle
        self.attacks.submit(AttackJob(key, token, image, target, self.dialog.source, bundle,
                                      self.device))  # fmt: skip

    def _remember_place(self, dialog: AttackDialog) -> None:
        """Where the person moved an attack window to, as the offset of its top left corner
        from the main window's top right one (kept in the preferences): the next one opens
        there, also after the main window was moved."""
        if dialog.moved_by_user():
            left, top = dialog.anchor()
            frame = self.w.frameGeometry()
            self.w.prefs.set(PLACE_KEY, f"{left - frame.right()},{top - frame.top()}")

    def _remembered_place(self) -> tuple[int, int] | None:
        """The top left corner the person chose for attack windows (None: not moved)."""
        try:
            dx, dy = (int(v) for v in self.w.prefs.get(PLACE_KEY, "").split(","))
        except ValueError:
            return None  # none yet, or a damaged value
        frame = self.w.frameGeometry()
        return frame.right() + dx, frame.top() + dy

    def attack_running(self) -> bool:
        """An attack is under way (its window waits for the result)."""
        return self.dialog is not None and self.dialog.done_result is None

    def attack_progress(self, p: AttackProgress) -> None:
        if self.dialog is not None and p.token == self._attack_token:
            self.dialog.set_progress(p.done, p.total)

    def attack_done(self, done: AttackDone) -> None:
        """Show the result of the newest attack; one superseded or cancelled before is
        ignored (its token is old)."""
        if self.dialog is not None and done.token == self._attack_token:
            self.dialog.show_done(done)
            self._mark_stale()

    def _mark_stale(self) -> None:
        """Tell the attack window whether the picture on screen is still the one attacked."""
        if self.dialog is None or self._attacked is None:
            return
        key, image = self._attacked
        source = self._source()
        same = (
            key == self.w.models.model_key
            and source is not None
            and source[1].shape == image.shape
            and np.array_equal(source[1], image)
        )
        self.dialog.set_stale(not same)
