"""How the window shows the image: display flags, compare with the original, presentation.

:class:`ViewModes` sets the canvas's display flags (remembered in the preferences), the
compare view (the unedited image while Space is held) and presentation mode (full screen,
only the canvas, the presentation bar and the Classifier panel if it is open), keeping the
checkable actions in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

VIEW_PREFS = {"smooth": True, "show_overlay": False, "show_heat": True}
VIEW_ACTIONS = {"smooth": "view.smooth", "show_overlay": "view.overlay", "show_heat": "view.heat"}


class ViewModes:
    def __init__(self, window: MainWindow):
        self.w = window
        self._presenting = False
        self._saved_state = None

    def restore_flags(self) -> None:
        """The display flags as last chosen (the preferences), actions checked to match."""
        w = self.w
        for name, default in VIEW_PREFS.items():
            on = w.prefs.get(f"view/{name}", default)
            w.canvas.set_flag(name, on)
            with QSignalBlocker(w.actions[VIEW_ACTIONS[name]]):
                w.actions[VIEW_ACTIONS[name]].setChecked(on)

    def set_view(self, name: str, on: bool) -> None:
        self.w.canvas.set_flag(name, on)
        self.w.prefs.set(f"view/{name}", bool(on))
        if name == "show_overlay":
            self.w.frames.update_overlay()  # made only while shown

    def set_split(self, on: bool) -> None:
        """Split compare, its divider starting in the middle of the image."""
        self.w.canvas.set_split(0.5 if on else None)
        with QSignalBlocker(self.w.actions["view.split"]):
            self.w.actions["view.split"].setChecked(on)

    def set_compare(self, on: bool) -> None:
        w = self.w
        if on and w.painter.active:
            w.painter.finish()
        w.canvas.set_flag("compare", on)
        with QSignalBlocker(w.actions["view.compare"]):
            w.actions["view.compare"].setChecked(on)
        w.classifier_view.request()  # the panel reads the picture on screen

    def model_opened(self, dissection) -> None:
        """A model opened: offer its artifact set, on where it was measured to help."""
        from ganpaint.app.state.artifacts import artifact_set, clean_by_default, describe

        action = self.w.actions["view.clean"]
        zeroed = artifact_set(dissection)
        action.setEnabled(bool(zeroed))
        action.setToolTip(f"Clean artifacts: {describe(zeroed)}")
        with QSignalBlocker(action):
            action.setChecked(clean_by_default(dissection))
        self.set_clean(action.isChecked())

    def set_clean(self, on: bool) -> None:
        """Zero the model's artifact units in every frame (compare shows the original)."""
        from ganpaint.app.state.artifacts import artifact_set

        bundle = self.w.models.bundle
        zeroed = artifact_set(bundle.dissection) if on and bundle is not None else ()
        self.w.frames.set_zeroed(zeroed)
        self.w.model_view.request_heat()  # a selected unit may have been switched on or off

    @property
    def presenting(self) -> bool:
        return self._presenting

    def set_presentation(self, on: bool) -> None:
        """Full screen, large canvas, only the presentation bar (F11 / Esc)."""
        on = bool(on)
        if on == self._presenting:
            return
        self._presenting = on
        w = self.w
        with QSignalBlocker(w.actions["view.presentation"]):
            w.actions["view.presentation"].setChecked(on)
        if on:
            self._saved_state = (w.saveState(), w.isMaximized())
            for name, dock in w.docks.items():
                # an open Classifier panel stays: the speaker paints, the room reads it
                if name != "classifier" or not dock.isVisible():
                    dock.hide()
            w.toolbar.hide()
            w.menuBar().hide()
            w.status.hide()
            w.presentation_bar.show()
            w.canvas.setProperty("presenting", True)
            w.showFullScreen()
        else:
            w.presentation_bar.hide()
            w.menuBar().show()
            w.status.show()
            w.toolbar.show()
            state, maximized = self._saved_state or (None, False)
            if state is not None:
                w.restoreState(state)
            w.canvas.setProperty("presenting", False)
            w.showMaximized() if maximized else w.showNormal()
