"""The presentation bar: what stays on screen in presentation mode (F11).

Large concept buttons (icon and name) for picking what to paint, the draw/remove switch,
undo, reset, a new scene, compare and the way out. It writes the chosen concept to the
:class:`~ganpaint.app.state.tool.BrushSettings` and follows it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QLabel,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QWidget,
)

from ganpaint.app.state.concepts import ConceptInfo
from ganpaint.app.state.tool import BrushSettings
from ganpaint.app.views import theme

ACTIONS = ("tool.draw", "tool.remove", "-", "edit.undo", "edit.reset", "scene.new",
           "view.compare", "-", "view.exit_presentation")  # fmt: skip


class PresentationBar(QToolBar):
    def __init__(self, brush: BrushSettings, actions: dict[str, QAction], parent=None):
        super().__init__("Presentation", parent)
        self.setObjectName("presentationBar")
        self.setMovable(False)
        self.setFloatable(False)
        self.setIconSize(QSize(30, 30))
        self.setToolButtonStyle(Qt.ToolButtonTextUnderIcon)
        self.brush = brush
        self.actions_map = actions
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        brush.subscribe(lambda changed: "concept" in changed and self._sync())
        self.set_concepts([])

    def set_concepts(self, concepts: list[ConceptInfo]) -> None:
        self.clear()
        for b in self.group.buttons():
            self.group.removeButton(b)
        self.buttons.clear()
        for c in concepts:
            if not c.available:
                continue
            b = QToolButton()
            b.setObjectName("presentationConcept")
            b.setCheckable(True)
            b.setFocusPolicy(Qt.NoFocus)
            b.setIcon(theme.concept_icon(c.icon, c.color))
            b.setText(c.name)
            b.setToolTip(f"Paint {c.name}")
            b.setToolButtonStyle(Qt.ToolButtonTextUnderIcon)
            b.clicked.connect(lambda _=False, name=c.name: self.brush.update(concept=name))
            self.group.addButton(b)
            self.addWidget(b)
            self.buttons[c.name] = b
        if not self.buttons:
            hint = QLabel("  Painting with the units checked in the Units panel")
            hint.setObjectName("hint")
            self.addWidget(hint)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.addWidget(spacer)
        for key in ACTIONS:
            if key == "-":
                self.addSeparator()
            else:
                self.addAction(self.actions_map[key])
        self._sync()

    def _sync(self) -> None:
        b = self.buttons.get(self.brush.concept or "")
        if b is not None:
            b.setChecked(True)
        else:
            checked = self.group.checkedButton()
            if checked is not None:
                self.group.setExclusive(False)
                checked.setChecked(False)
                self.group.setExclusive(True)
