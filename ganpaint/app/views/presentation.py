"""The presentation bar: what stays on screen in presentation mode (F11).

Large concept buttons (icon and name) for picking what to paint, the draw/remove switch,
undo, reset, a new scene, compare and the way out. It writes the chosen concept to the
:class:`~ganpaint.app.state.tool.BrushSettings` and follows it.

On a narrow screen the bar drops names before buttons (:data:`COMPACT_LEVELS`): first the
commands' (Draw, Undo, Exit…), then the concepts', each keeping its tooltip. With every name
the bar needs about 1400 px, so on a 1280 px projector Compare and Exit fell off the end.
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
           "view.compare", "view.split", "-", "view.exit_presentation")  # fmt: skip
# which names the bar shows, widest first: (the commands', the concepts')
COMPACT_LEVELS = ((True, True), (False, True), (False, False))
NAMED_MIN_PX = 68  # a button with its name under the icon is no narrower (even "sky")


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
        self.compact = 0  # index into COMPACT_LEVELS
        self._fitting = False
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
        self._fit(self.width())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit(event.size().width())

    def _fit(self, width: int) -> None:
        """Show the most names that let every button fit ``width``."""
        if self._fitting or width <= 0:
            return
        self._fitting = True
        try:
            for level in range(len(COMPACT_LEVELS)):
                self._set_compact(level)
                if self.sizeHint().width() <= width:
                    break
        finally:
            self._fitting = False

    def _set_compact(self, level: int) -> None:
        commands, concepts = COMPACT_LEVELS[level]
        self.compact = level
        self.setToolButtonStyle(Qt.ToolButtonTextUnderIcon if commands else Qt.ToolButtonIconOnly)
        style = Qt.ToolButtonTextUnderIcon if concepts else Qt.ToolButtonIconOnly
        for b in self.buttons.values():
            b.setToolButtonStyle(style)
            b.setMinimumWidth(NAMED_MIN_PX if concepts else 0)
        for key in ACTIONS:
            b = self.widgetForAction(self.actions_map[key]) if key != "-" else None
            if b is not None:
                b.setMinimumWidth(NAMED_MIN_PX if commands else 0)
        self.layout().invalidate()

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
