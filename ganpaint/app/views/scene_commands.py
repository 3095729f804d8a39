"""The Scene menu's commands: another random scene, go to a seed, the previous or next scene
of the strip, and demo scenes per concept (seeds where the concept is large, from the
dissection's scene index; see :mod:`ganpaint.app.state.scene_index`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMenu

from ganpaint.app.views import theme
from ganpaint.app.views.seed_input import ask_seed

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

DEMOS_PER_CONCEPT = 4


class SceneCommands:
    def __init__(self, window: MainWindow):
        self.w = window

    def go_to_seed(self) -> None:
        """Ask for a seed (``prompts.answers["seed"]`` answers in tests) and show its scene."""
        answers = self.w.prompts.answers
        if "seed" in answers:
            seed, ok = answers["seed"], True
        else:
            seed = ask_seed(self.w, self.w.document.seed)
            ok = seed is not None
        if ok:
            self.show(int(seed))

    def show(self, seed: int) -> None:
        self.w.gallery.add_seeds([seed])
        self.w.gallery.choose(seed)

    def step(self, delta: int) -> None:
        """The scene ``delta`` places along the strip from the current one."""
        seeds = self.w.gallery.seeds
        if not seeds:
            return
        here = seeds.index(self.w.document.seed) if self.w.document.seed in seeds else 0
        self.w.gallery.choose(seeds[(here + delta) % len(seeds)])

    def fill_demo_menu(self, menu: QMenu) -> None:
        """Per concept, the seeds where it covers most of the scene."""
        menu.clear()
        if self.w.document.picture is not None:
            menu.addAction("Close the picture to see demo scenes").setEnabled(False)
            return
        index = self.w.gallery.scene_index
        if index is None or not index.concepts():
            act = menu.addAction("No scene index for this model")
            act.setEnabled(False)
            return
        for concept in index.concepts():
            _, icon, color = self.w.library.style_of(concept)
            sub = menu.addMenu(theme.icon(icon, color), concept)
            for seed, share in index.demo_seeds(concept, DEMOS_PER_CONCEPT):
                act = sub.addAction(f"Seed {seed}  ({share:.0%} {concept})")
                act.triggered.connect(lambda _=False, s=seed: self.show(s))


def demo_menu(window: MainWindow, parent: QMenu) -> QMenu:
    menu = parent.addMenu(theme.icon("mdi.star-outline"), "&Demo Scenes")
    menu.aboutToShow.connect(lambda: window.scene_commands.fill_demo_menu(menu))
    return menu
