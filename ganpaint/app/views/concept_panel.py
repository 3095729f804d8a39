"""The concept panel: pick what the brush paints, and how.

"Concepts" lists the layer's concepts by group, each with its icon and colour; expanding one
shows its units ranked (by causal effect or IoU) with both scores, the ones a stroke will
use in full colour. "Units" lists every unit of the layer (labelled when the dissection
knows it) with check boxes: checked units make a custom brush, which is how a model with
no dissection is painted. Concepts the user taught ("New Concept…") sit in a "Custom" group
and paint like the others; their context menu exports or deletes them. Below: units per
stroke, ranking, strength and insert level. The panel writes to a
:class:`~ganpaint.app.state.tool.BrushSettings` and listens to it.

The picked concept's hint (where it draws, what was learned for it) shows under the brush
summary while the list keeps :data:`HINT_LIST_ROWS` rows; in a shorter panel (a laptop at
150 %: three concepts were left in view) it becomes the summary's tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSlider,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.state.concept_library import brush_units
from ganpaint.app.state.concepts import ConceptInfo, UnitInfo, concept_style
from ganpaint.app.state.tool import CUSTOM, BrushSettings, describe_learned
from ganpaint.app.views import theme

HINT_LIST_ROWS = 8  # rows of the concept list that the hint never takes
ROLE = Qt.UserRole + 1  # ("concept", name) or ("unit", unit, concept)


NEW_ACTIONS = ("concept.new", "concept.import")  # offered by the button and the context menu


class ConceptPanel(QWidget):
    layerChosen = Signal(str)
    unitSelected = Signal(int)  # -1 clears the selection
    exportRequested = Signal(str)  # a custom concept's name
    deleteRequested = Signal(str)

    def __init__(
        self, brush: BrushSettings, actions: dict[str, QAction] | None = None, parent=None
    ):
        super().__init__(parent)
        self.setObjectName("conceptPanel")
        self.brush = brush
        self.actions_map = actions or {}
        self.concepts: list[ConceptInfo] = []
        self.units: list[UnitInfo] = []
        self._concept_items: dict[str, QTreeWidgetItem] = {}

        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("The generator layer whose units the brush edits")
        self.layer_combo.currentTextChanged.connect(self._layer_changed)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter concepts or units…")
        self.filter.setClearButtonEnabled(True)
        self.filter.addAction(theme.icon("mdi.magnify", theme.TEXT_DIM), QLineEdit.LeadingPosition)
        self.filter.textChanged.connect(self._apply_filter)

        self.tree = QTreeWidget()
        self.tree.setObjectName("conceptTree")
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIconSize(theme.concept_pixmap("mdi.shape", "#888").size() / 1.6)
        theme.number_columns(self.tree, "Concept", [
            ("IoU", "Intersection over union with the concept's pixels"),
            ("ACE", "Causal effect: share of the concept's pixels removed when the unit is "
                    "ablated"),
        ], 54)  # fmt: skip
        self.tree.currentItemChanged.connect(self._tree_current)
        self.tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self._bold = QFont(self.tree.font())
        self._bold.setBold(True)

        self.unit_list = QListWidget()
        self.unit_list.setObjectName("unitList")
        self.unit_list.setUniformItemSizes(True)
        self.unit_list.itemChanged.connect(self._unit_checked)
        self.unit_list.currentItemChanged.connect(self._unit_current)
        self.units_hint = QLabel()
        self.units_hint.setWordWrap(True)
        self.units_hint.setObjectName("hint")
        units_page = QWidget()
        ul = QVBoxLayout(units_page)
        ul.setContentsMargins(0, 6, 0, 0)
        ul.addWidget(self.units_hint)
        ul.addWidget(self.unit_list)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.tree, theme.icon("mdi.shape"), "Concepts")
        self.tabs.addTab(units_page, theme.icon("mdi.grid"), "Units")

        self.count = QSpinBox()
        self.count.setRange(1, 50)
        self.count.setToolTip("How many of the concept's top-ranked units a stroke sets")
        self.count.valueChanged.connect(lambda v: self.brush.update(unit_count=v))
        self.ranking = QComboBox()
        self.ranking.addItem("Causal effect (ACE)", "causal")
        self.ranking.addItem("IoU with concept", "iou")
        self.ranking.setToolTip("How units are ranked when picking the top ones")
        self._causal_measured = True
        self.ranking.currentIndexChanged.connect(
            lambda i: self.brush.update(ranking=self.ranking.itemData(i))
        )
        self.strength = QSlider(Qt.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setToolTip("How strongly the units are pushed to their level (0–100 %)")
        self.strength.valueChanged.connect(lambda v: self.brush.update(strength=v / 100.0))
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(36)
        self.quantile = QDoubleSpinBox()
        self.quantile.setDecimals(3)
        self.quantile.setRange(0.5, 0.999)
        self.quantile.setSingleStep(0.005)
        self.quantile.setToolTip(
            "Draw sets each unit to this quantile of its activations (GANPaint used 0.99)"
        )
        self.quantile.valueChanged.connect(lambda v: self.brush.update(quantile=v))
        self.summary = QLabel()
        self.summary.setObjectName("brushSummary")
        self.summary.setWordWrap(True)
        self.concept_hint = QLabel()  # where the concept draws and its learned settings
        self.concept_hint.setObjectName("hint")
        self.concept_hint.setWordWrap(True)

        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_label)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.addRow("Units per stroke", self.count)
        form.addRow("Rank by", self.ranking)
        form.addRow("Strength", strength_row)
        form.addRow("Insert level", self.quantile)

        top = QFormLayout()
        top.addRow("Layer", self.layer_combo)
        search = QHBoxLayout()
        search.setSpacing(4)
        search.addWidget(self.filter, 1)
        self.new_button: QToolButton | None = None
        if "concept.new" in self.actions_map:
            self.new_button = QToolButton()
            self.new_button.setObjectName("newConceptButton")
            self.new_button.setDefaultAction(self.actions_map["concept.new"])
            self.new_button.setToolButtonStyle(Qt.ToolButtonIconOnly)
            search.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addLayout(search)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.concept_hint)
        layout.addLayout(form)
        brush.subscribe(self._brush_changed)
        self._brush_changed({"unit_count", "ranking", "strength", "quantile", "concept"})

    # -- data from the window -------------------------------------------------------------

    def set_layers(self, layers: list[str], current: str, describe) -> None:
        with QSignalBlocker(self.layer_combo):
            self.layer_combo.clear()
            for name in layers:
                self.layer_combo.addItem(describe(name), name)
            self.layer_combo.setCurrentIndex(
                max(0, layers.index(current)) if current in layers else 0
            )

    def set_content(self, concepts: list[ConceptInfo], units: list[UnitInfo]) -> None:
        """Show a layer's concepts and units (after a model load or a layer change)."""
        self.concepts, self.units = concepts, units
        self._show_causal_measured(any(c.causal_measured for c in concepts if not c.custom))
        self._fill_tree()
        self._fill_units()
        usable = [c for c in concepts if c.available]
        if not usable:
            self.tabs.setCurrentIndex(1)
            self.units_hint.setText(
                "This model has no dissection, so its units have no labels. Check the units "
                "to paint with; select one to see where it fires. Or teach a concept: "
                "New Concept… finds its units from a few samples you mark."
            )
        else:
            self.units_hint.setText("Check units to paint with your own selection.")
        if self.brush.concept not in {c.name for c in usable} | {CUSTOM}:
            self.brush.update(concept=usable[0].name if usable else None)
        self._brush_changed({"concept", "custom_units"})
        self._apply_filter(self.filter.text())

    def _show_causal_measured(self, measured: bool) -> None:
        """Without causal rankings or ACE sets on this layer (a dissection run with
        --no-causal) units are ranked by IoU whatever "Rank by" says (``brush_ranking``'s
        fallback): say so."""
        self._causal_measured = measured
        item = self.ranking.model().item(0)
        item.setEnabled(measured)
        item.setToolTip("" if measured else "Not measured on this layer (dissected without "
                        "causal ranking or ACE sets): units are ranked by IoU")  # fmt: skip

    def concept(self, name: str | None) -> ConceptInfo | None:
        return next((c for c in self.concepts if c.name == name), None)

    def brush_units(self) -> tuple[int, ...]:
        """The units the next stroke will set."""
        return brush_units(self.brush, self.concept(self.brush.concept))

    def brush_color(self) -> str:
        if self.brush.concept in (None, CUSTOM):
            return theme.ACCENT
        return concept_style(self.brush.concept)[2]

    # -- building the views ---------------------------------------------------------------

    def _fill_tree(self) -> None:
        self.tree.clear()
        self._concept_items.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        bold = self._bold
        for c in self.concepts:
            group = groups.get(c.group)
            if group is None:
                group = QTreeWidgetItem(self.tree, [c.group.upper()])
                group.setFlags(Qt.ItemIsEnabled)
                group.setFirstColumnSpanned(True)
                group.setForeground(0, QBrush(QColor(theme.TEXT_DIM)))
                groups[c.group] = group
            item = QTreeWidgetItem(group, [c.name])
            item.setIcon(0, theme.concept_icon(c.icon, c.color))
            item.setData(0, ROLE, ("concept", c.name))
            item.setFont(0, bold)
            n = max(len(c.iou), len(c.causal))
            if c.custom:
                tip = (
                    f"{c.name}: your concept, {n} units ranked by IoU with what you marked on "
                    f"{c.samples} sample{'s' * (c.samples != 1)}. Right-click to export or delete."
                )
            else:
                tip = f"{c.name}: {n} ranked units" if n else f"{c.name}: no units found"
            if c.other_layer:
                item.setText(0, f"{c.name} · {c.other_layer}")
                tip = (f"{c.name}: your concept, taught at {c.other_layer}. Double-click to "
                       f"switch to {c.other_layer} and paint with it.")  # fmt: skip
            elif c.defaults is not None and c.defaults.hint:
                tip += f"<br>{c.defaults.hint}"
            item.setToolTip(0, tip)
            if not c.available:
                item.setFlags(Qt.ItemIsEnabled)
                item.setForeground(0, QBrush(QColor("#5c616b")))
            self._concept_items[c.name] = item
            self._fill_units_of(item, c)
        self.tree.expandToDepth(0)
        self._select_concept_item()

    def _fill_units_of(self, item: QTreeWidgetItem, c: ConceptInfo) -> None:
        item.takeChildren()
        b = self.brush
        chosen = set(c.units(b.ranking, b.unit_count, b.action))
        for unit, _ in c.ranked(b.ranking, b.action):
            iou, ace = c.score("iou", unit), c.score("causal", unit)
            child = QTreeWidgetItem(
                item,
                [
                    f"unit {unit}",
                    "" if iou is None else f"{iou:.3f}",
                    "" if ace is None else f"{ace:.3f}",
                ],
            )
            child.setData(0, ROLE, ("unit", unit, c.name))
            child.setTextAlignment(1, Qt.AlignRight | Qt.AlignVCenter)
            child.setTextAlignment(2, Qt.AlignRight | Qt.AlignVCenter)
            if unit in chosen:
                child.setForeground(0, QBrush(QColor(c.color)))
                child.setFont(0, self._bold)
            else:
                for col in range(3):
                    child.setForeground(col, QBrush(QColor(theme.TEXT_DIM)))
            tip = f"Unit {unit}: {'used' if unit in chosen else 'not used'} by the next stroke"
            contrast = c.score("contrast", unit) if c.custom else None
            if contrast is not None:
                tip += f"<br>contrast inside vs outside your marks: {contrast:+.2f} σ"
            child.setToolTip(0, tip)

    def _fill_units(self) -> None:
        with QSignalBlocker(self.unit_list):
            self.unit_list.clear()
            checked = set(self.brush.custom_units)
            for info in self.units:
                text = f"unit {info.unit}"
                if info.label:
                    text += f"  ·  {info.label}  {info.iou:.2f}"
                item = QListWidgetItem(text)
                item.setData(ROLE, ("unit", info.unit, info.label))
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked if info.unit in checked else Qt.Unchecked)
                if info.label:
                    item.setIcon(QIcon(theme.swatch_pixmap(concept_style(info.label)[2])))
                    item.setToolTip(
                        f"Unit {info.unit} fires most on {info.label}: IoU {info.iou:.2f} "
                        "(overlap of its strongest activations with the concept's pixels). "
                        "Check it to paint with it; select it to see where it fires."
                    )
                else:
                    item.setToolTip(f"Unit {info.unit}: no concept above the IoU cut-off. "
                                    "Check it to paint with it.")  # fmt: skip
                self.unit_list.addItem(item)

    def _apply_filter(self, text: str) -> None:
        text = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            visible_children = 0
            for j in range(group.childCount()):
                item = group.child(j)
                hit = not text or text in item.text(0).lower()
                item.setHidden(not hit)
                visible_children += hit
            group.setHidden(visible_children == 0)
        for i in range(self.unit_list.count()):
            item = self.unit_list.item(i)
            item.setHidden(bool(text) and text not in item.text().lower())

    def _select_concept_item(self) -> None:
        item = self._concept_items.get(self.brush.concept or "")
        with QSignalBlocker(self.tree):
            self.tree.setCurrentItem(item) if item is not None else self.tree.clearSelection()

    # -- reacting --------------------------------------------------------------------------

    def _layer_changed(self, _text: str) -> None:
        name = self.layer_combo.currentData()
        if name:
            self.layerChosen.emit(name)

    def _tree_current(self, item: QTreeWidgetItem | None, _previous) -> None:
        data = item.data(0, ROLE) if item is not None else None
        if not data:
            return
        if data[0] == "concept":
            self.brush.update(concept=data[1])
            self.unitSelected.emit(-1)
        else:
            self.brush.update(concept=data[2])
            self.unitSelected.emit(int(data[1]))

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        """A custom concept of another layer: switch to that layer (where it is usable)."""
        data = item.data(0, ROLE)
        c = self.concept(data[1] if data and data[0] == "concept" else None)
        if c is not None and c.other_layer:
            self.layerChosen.emit(c.other_layer)
            self.brush.update(concept=c.name)

    def _context_menu(self, pos: QPoint) -> None:
        menu = self.context_menu(self.tree.itemAt(pos))
        if not menu.isEmpty():
            menu.exec(self.tree.viewport().mapToGlobal(pos))

    def context_menu(self, item: QTreeWidgetItem | None) -> QMenu:
        """The tree's context menu for ``item`` (export and delete for a custom concept)."""
        menu = QMenu(self)
        data = item.data(0, ROLE) if item is not None else None
        c = self.concept(data[1] if data and data[0] == "concept" else None)
        if c is not None and c.custom:
            export = menu.addAction(theme.icon("mdi.export"), f"Export “{c.name}”…")
            export.triggered.connect(lambda _=False, n=c.name: self.exportRequested.emit(n))
            delete = menu.addAction(theme.icon("mdi.delete-outline"), f"Delete “{c.name}”")
            delete.triggered.connect(lambda _=False, n=c.name: self.deleteRequested.emit(n))
            menu.addSeparator()
        for key in NEW_ACTIONS:
            if key in self.actions_map:
                menu.addAction(self.actions_map[key])
        return menu

    def _unit_current(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.unitSelected.emit(int(item.data(ROLE)[1]))

    def _unit_checked(self, _item: QListWidgetItem) -> None:
        units = [
            self.unit_list.item(i).data(ROLE)[1]
            for i in range(self.unit_list.count())
            if self.unit_list.item(i).checkState() == Qt.Checked
        ]
        self.brush.update(custom_units=units, concept=CUSTOM if units else self.brush.concept)

    def _brush_changed(self, changed: set[str]) -> None:
        b = self.brush
        with QSignalBlocker(self.count), QSignalBlocker(self.ranking):
            self.count.setValue(b.unit_count)
            shown = b.ranking if self._causal_measured else "iou"
            self.ranking.setCurrentIndex(max(0, self.ranking.findData(shown)))
        with QSignalBlocker(self.strength), QSignalBlocker(self.quantile):
            self.strength.setValue(round(b.strength * 100))
            self.quantile.setValue(b.quantile)
        self.strength_label.setText(f"{round(b.strength * 100)} %")
        self.count.setEnabled(b.concept != CUSTOM)
        self.ranking.setEnabled(b.concept != CUSTOM)
        if changed & {"unit_count", "ranking", "action"}:
            for c in self.concepts:
                if c.name in self._concept_items:
                    self._fill_units_of(self._concept_items[c.name], c)
        if "concept" in changed:
            self._select_concept_item()
        if "custom_units" in changed:
            self._sync_checks()
        self._update_summary()

    def _sync_checks(self) -> None:
        wanted = set(self.brush.custom_units)
        with QSignalBlocker(self.unit_list):
            for i in range(self.unit_list.count()):
                item = self.unit_list.item(i)
                on = item.data(ROLE)[1] in wanted
                item.setCheckState(Qt.Checked if on else Qt.Unchecked)

    def _update_summary(self) -> None:
        b = self.brush
        units = self.brush_units()
        verb = "Draw" if b.action == "draw" else "Remove"
        if b.concept is None or not units:
            text = "Pick a concept, or check units in “Units”, to paint."
        elif b.concept == CUSTOM:
            text = f"<b>{verb}</b> with {len(units)} chosen unit{'s' * (len(units) != 1)}"
        else:
            text = f"<b>{verb} {b.concept}</b> · {len(units)} units"
        self.summary.setText(text)
        self._update_hint()

    def _update_hint(self) -> None:
        """The picked concept's hint on where it draws and what was learned for it."""
        c = self.concept(self.brush.concept)
        defaults = c.defaults if c is not None else None
        lines = [defaults.hint] if defaults is not None and defaults.hint else []
        learned = describe_learned(defaults, self.brush.action)
        if learned:
            lines.append(learned)
        self.concept_hint.setText("\n".join(lines))
        self._place_hint()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)  # the layout has placed the children for the new size
        self._place_hint()

    def _place_hint(self) -> None:
        """The hint under the summary if the list keeps :data:`HINT_LIST_ROWS` rows with it,
        else in the summary's tooltip."""
        text, spacing = self.concept_hint.text(), self.layout().spacing()
        room = self.tabs.height()  # the list's room without the hint, less the hint's
        if self.concept_hint.isVisibleTo(self):
            room += self.concept_hint.height() + spacing
        if text:
            width = self.summary.width() or self.width()
            room -= self.concept_hint.heightForWidth(width) + spacing
        rows = self.tree.sizeHintForRow(0) if self.tree.topLevelItemCount() else 0
        need = (self.tabs.tabBar().sizeHint().height() + self.tree.header().sizeHint().height()
                + HINT_LIST_ROWS * max(rows, self.fontMetrics().height()) + 4)  # fmt: skip
        fits = bool(text) and room >= need
        self.concept_hint.setVisible(fits)
        self.summary.setToolTip(text if text and not fits else "")
