"""The "New Concept" dialog: mark a concept on a few samples, see its units, save a brush.

The dialog shows the samples of a :class:`~ganpaint.app.state.concept_draft.ConceptDraft` as
:class:`~ganpaint.app.views.mark_tile.SampleCard` tiles to paint on, and beside them the name,
icon and layer of the new concept and the layer's units ranked against the marks. The
images and the ranking come from the render worker (``ThumbJob``, ``ConceptJob``): after
every change to the marks the dialog submits a fresh ranking job, which replaces any not yet
started, so the list follows the marks without the GUI thread touching torch. Saving hands
the named concept to ``on_save`` (the window writes the user's concept file).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence

from PySide6.QtCore import QRegularExpression, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.state.concept_draft import MAX_SAMPLES, MIN_SAMPLES, ConceptDraft
from ganpaint.app.state.concept_library import name_problem
from ganpaint.app.state.concepts import CATALOGUE, concept_style
from ganpaint.app.views import theme
from ganpaint.app.views.concept_dialog_style import ICONS, STYLE
from ganpaint.app.views.imaging import qimage_rgb
from ganpaint.app.views.mark_tile import SampleCard
from ganpaint.app.views.window_placement import fit_screen
from ganpaint.app.views.worker import ConceptJob, ConceptResult, RenderWorker, ThumbJob, ThumbResult
from ganpaint.models.concept_files import NAME_PATTERN

COLUMNS = 3
SHOWN_UNITS = 12


class ConceptDialog(QDialog):
    """Teach a concept on the worker's current model (``key``); see the module docstring."""

    def __init__(
        self,
        parent: QWidget | None,
        worker: RenderWorker,
        key: int,
        draft: ConceptDraft,
        layers: Sequence[tuple[str, str]],
        new_seed: Callable[[], int],
        on_save: Callable[[object], bool],
        reserved: Callable[[str], set[str]] = lambda layer: set(),
        existing: set[str] = frozenset(),
        unit_count: int = 15,
    ):
        super().__init__(parent)
        self.setObjectName("conceptDialog")
        self.setWindowTitle("New Concept")
        self.setStyleSheet(STYLE)
        self.worker, self.key, self.draft = worker, key, draft
        self.new_seed, self.on_save = new_seed, on_save
        self.reserved_on, self.existing = reserved, set(existing)
        self.unit_count = int(unit_count)
        self.images: dict[int, QImage] = {}
        self.cards: list[SampleCard] = []
        self.jobs = 0  # ranking jobs submitted (tests and diagnostics)
        self._icon_touched = False

        header = self._header()
        self.grid = QGridLayout()
        self.grid.setSpacing(10)
        self.grid.setContentsMargins(0, 0, 6, 0)
        grid_host = QWidget()
        grid_host.setLayout(self.grid)
        self.add_button = QPushButton(theme.icon("mdi.image-plus"), "Add a sample")
        self.add_button.setToolTip(f"Up to {MAX_SAMPLES} samples; more marks, surer units")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.add_sample)
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        below = QHBoxLayout()
        below.addWidget(self.count_label, 1)
        below.addWidget(self.add_button)
        samples_page = QWidget()
        sl = QVBoxLayout(samples_page)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(grid_host)
        sl.addLayout(below)
        sl.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("samplesArea")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(samples_page)

        body = QHBoxLayout()
        body.setSpacing(14)
        body.addWidget(scroll, 1)
        body.addWidget(self._side_panel(layers))

        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.Save)
        self.save_button.setText("Save Concept")
        self.save_button.setIcon(theme.icon("mdi.check-circle"))
        self.save_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.Cancel).setAutoDefault(False)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        worker.thumbnailReady.connect(self._thumbnail)
        worker.conceptRanked.connect(self._ranked)
        draft.subscribe(self._draft_changed)
        self.finished.connect(self._disconnect)
        self._rebuild_cards()
        self._update_name()
        self._update_ranking()
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(fit_screen(QSize(1100, 780), screen))  # whole on a laptop at 150 %

    # -- construction ----------------------------------------------------------------------

    def _header(self) -> QHBoxLayout:
        badge = QLabel()
        badge.setPixmap(theme.icon("mdi.creation", theme.ACCENT).pixmap(QSize(34, 34)))
        title = QLabel("Teach a new concept")
        title.setObjectName("dialogTitle")
        hint = QLabel(
            "Paint over the concept on every sample where it appears: the left button marks, "
            "the right button erases, Ctrl+wheel sizes the marker. Leave a sample blank when "
            "the concept is not in it. The units of the layer that fire where you marked are "
            "ranked on the right as you go."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(title)
        text.addWidget(hint)
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(badge, 0, Qt.AlignTop)
        row.addLayout(text, 1)
        return row

    def _side_panel(self, layers: Sequence[tuple[str, str]]) -> QWidget:
        panel = QFrame()
        panel.setObjectName("sidePanel")
        panel.setFixedWidth(330)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("conceptName")
        self.name_edit.setPlaceholderText("e.g. lamp post")
        self.name_edit.setValidator(QRegularExpressionValidator(QRegularExpression(NAME_PATTERN)))
        self.name_edit.textChanged.connect(self._update_name)
        self.icon_combo = QComboBox()
        self.icon_combo.setObjectName("conceptIcon")
        self.icon_combo.setIconSize(QSize(20, 20))
        self.icon_combo.setMaxVisibleItems(12)
        for icon, label in ICONS:
            self.icon_combo.addItem(label, icon)
        self.icon_combo.activated.connect(self._icon_chosen)
        self.icon_combo.currentIndexChanged.connect(lambda _i: self._update_badge())
        self.badge = QLabel()
        self.badge.setFixedSize(44, 44)
        self.badge.setAlignment(Qt.AlignCenter)
        self.name_note = QLabel()
        self.name_note.setObjectName("nameNote")
        self.name_note.setWordWrap(True)
        self.name_note.hide()
        self.layer_combo = QComboBox()
        for name, label in layers:
            self.layer_combo.addItem(label, name)
        self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(self.draft.layer)))
        self.layer_combo.setToolTip("The layer whose units the concept will set")
        self.layer_combo.currentIndexChanged.connect(
            lambda i: self.draft.set_layer(self.layer_combo.itemData(i))
        )
        self.marker = QSlider(Qt.Horizontal)
        self.marker.setObjectName("markerSize")
        self.marker.setRange(2, 25)
        self.marker.setValue(7)
        self.marker.setToolTip("Marker radius, as a share of the image side")
        self.marker.valueChanged.connect(self._marker_changed)

        self.preview_name = QLabel()
        self.preview_name.setObjectName("previewName")
        self.preview_note = QLabel()
        self.preview_note.setObjectName("hint")
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addStretch(1)
        names.addWidget(self.preview_name)
        names.addWidget(self.preview_note)
        names.addStretch(1)
        preview = QHBoxLayout()
        preview.setSpacing(12)
        preview.addWidget(self.badge)
        preview.addLayout(names, 1)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setHorizontalSpacing(10)
        form.addRow("Name", self.name_edit)
        form.addRow("Icon", self.icon_combo)
        form.addRow("Layer", self.layer_combo)
        form.addRow("Marker", self.marker)

        units_title = QLabel("UNITS FOUND")
        units_title.setObjectName("sectionTitle")
        self.rank_status = QLabel()
        self.rank_status.setObjectName("rankStatus")
        self.rank_status.setWordWrap(True)
        self.unit_table = QTreeWidget()
        self.unit_table.setObjectName("unitTable")
        self.unit_table.setRootIsDecorated(False)
        self.unit_table.setUniformRowHeights(True)
        self.unit_table.setSelectionMode(QTreeWidget.NoSelection)
        self.unit_table.setFocusPolicy(Qt.NoFocus)
        theme.number_columns(self.unit_table, "Unit", [
            ("IoU", "Intersection over union of the unit's thresholded map with your marks"),
            ("Contrast", "Mean activation inside minus outside your marks, in standard "
                         "deviations"),
        ], 76)  # fmt: skip
        self.uses_label = QLabel()
        self.uses_label.setObjectName("hint")
        self.uses_label.setWordWrap(True)

        layout = QVBoxLayout(panel)
        layout.setContentsMargins(14, 14, 14, 14)
        layout.setSpacing(8)
        layout.addLayout(preview)
        layout.addSpacing(4)
        layout.addLayout(form)
        layout.addWidget(self.name_note)
        layout.addSpacing(6)
        layout.addWidget(units_title)
        layout.addWidget(self.rank_status)
        layout.addWidget(self.unit_table, 1)
        layout.addWidget(self.uses_label)
        return panel

    # -- samples -----------------------------------------------------------------------------

    def _rebuild_cards(self) -> None:
        for card in self.cards:
            self.grid.removeWidget(card)
            card.deleteLater()
        self.cards = []
        color = self._color()
        removable = len(self.draft.samples) > MIN_SAMPLES
        for i, sample in enumerate(self.draft.samples):
            card = SampleCard(i, sample.seed, self.draft.resolution, color)
            card.set_mask(sample.mask)
            card.set_brush(self._radius())
            card.set_removable(removable)
            card.set_image(self.images.get(sample.seed))
            card.strokeDone.connect(self.draft.apply_stroke)
            card.clearRequested.connect(self.draft.clear)
            card.replaceRequested.connect(lambda i: self.draft.replace_sample(i, self.new_seed()))
            card.removeRequested.connect(self.draft.remove_sample)
            card.brushResize.connect(
                lambda steps: self.marker.setValue(self.marker.value() + steps)
            )
            self.grid.addWidget(card, i // COLUMNS, i % COLUMNS)
            self.cards.append(card)
            if sample.seed not in self.images:
                self.worker.submit(ThumbJob(self.key, sample.seed))
        n = len(self.draft.samples)
        self.add_button.setEnabled(n < MAX_SAMPLES)
        self.count_label.setText(f"{n} samples · {self.draft.marked} marked")

    def add_sample(self) -> None:
        self.draft.add_sample(self.new_seed())

    def _thumbnail(self, res: ThumbResult) -> None:
        if res.key != self.key or res.image is None:
            return
        if res.seed in self.draft.seeds:
            self.images[res.seed] = qimage_rgb(res.image)
            for card in self.cards:
                if card.seed == res.seed:
                    card.set_image(self.images[res.seed])

    def _radius(self) -> float:
        return self.marker.value() / 100.0 * self.draft.resolution

    def _marker_changed(self, _value: int) -> None:
        for card in self.cards:
            card.set_brush(self._radius())

    # -- the draft and its ranking -----------------------------------------------------------

    def _draft_changed(self, kind: str) -> None:
        if kind == "samples":
            self._rebuild_cards()
        elif kind == "marks":
            for card, sample in zip(self.cards, self.draft.samples, strict=True):
                if card.mask is not sample.mask:
                    card.set_mask(sample.mask)
            self.count_label.setText(
                f"{len(self.draft.samples)} samples · {self.draft.marked} marked"
            )
        if kind in ("samples", "marks", "layer"):
            self.request_ranking()
        if kind == "layer":
            self._update_name()
        self._update_ranking()

    def request_ranking(self) -> None:
        """Submit the marks as they are now (replacing a ranking job not yet started)."""
        d = self.draft
        if not d.can_rank:
            return
        seeds, masks = d.inputs()
        self.worker.submit(ConceptJob(self.key, d.revision, d.layer, seeds, masks))
        self.jobs += 1

    def _ranked(self, res: ConceptResult) -> None:
        if res.key == self.key:
            self.draft.set_ranking(res.token, res.concept, res.error)

    def _update_ranking(self) -> None:
        d = self.draft
        error = False
        if not d.can_rank:
            text = "Mark the concept on a sample to see which units draw it."
        elif d.error and d.ranking_revision == d.revision:
            text, error = f"Could not rank the units: {d.error}", True
        elif not d.current:
            text = "Ranking the units…"
        else:
            n = d.marked
            text = f"Ranked against your marks on {n} of {len(d.samples)} samples."
            if n < MIN_SAMPLES:
                text += f" Mark {MIN_SAMPLES - n} more for a surer ranking."
        self.rank_status.setText(text)
        self.rank_status.setProperty("error", error)
        self.rank_status.style().unpolish(self.rank_status)
        self.rank_status.style().polish(self.rank_status)
        self._fill_units(d.ranking if d.can_rank else None, stale=not d.current)
        self._update_save()

    def _fill_units(self, ranking, stale: bool) -> None:
        self.unit_table.clear()
        if ranking is None:
            self.uses_label.setText("")
            return
        color = QColor(self._color())
        dim = QColor(theme.TEXT_DIM)
        bold = QFont(self.unit_table.font())
        bold.setBold(True)
        rows = list(zip(ranking.units, ranking.iou, ranking.contrast, strict=True))
        for rank, (unit, iou, contrast) in enumerate(rows[:SHOWN_UNITS]):
            item = QTreeWidgetItem([f"unit {unit}", f"{iou:.3f}", f"{contrast:+.2f}"])
            item.setTextAlignment(1, Qt.AlignRight | Qt.AlignVCenter)
            item.setTextAlignment(2, Qt.AlignRight | Qt.AlignVCenter)
            used = rank < self.unit_count
            for col in range(3):
                item.setForeground(col, QBrush(color if used and col == 0 else dim))
            if used:
                item.setFont(0, bold)
            if stale:
                for col in range(3):
                    item.setForeground(col, QBrush(QColor("#5c616b")))
            self.unit_table.addTopLevelItem(item)
        self.uses_label.setText(
            f"A stroke uses the top {self.unit_count} units (highlighted); change it with "
            "“Units per stroke” in the Concepts panel."
        )

    # -- name, icon, saving -----------------------------------------------------------------

    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def reserved(self) -> set[str]:
        """Names the concept cannot take (the layer's usable built-in concepts)."""
        return self.reserved_on(self.draft.layer)

    def icon_name(self) -> str:
        return self.icon_combo.currentData()

    def _color(self) -> str:
        return concept_style(self.name() or "concept")[2]

    def _icon_chosen(self, _index: int) -> None:
        self._icon_touched = True

    def _update_name(self) -> None:
        name = self.name()
        if not self._icon_touched and name in CATALOGUE:
            index = self.icon_combo.findData(CATALOGUE[name][1])
            if index < 0:
                self.icon_combo.addItem(name.capitalize(), CATALOGUE[name][1])
                index = self.icon_combo.count() - 1
            self.icon_combo.setCurrentIndex(index)
        color = self._color()
        for i in range(self.icon_combo.count()):
            self.icon_combo.setItemIcon(i, theme.concept_icon(self.icon_combo.itemData(i), color))
        for card in self.cards:
            card.color = color
            card.set_brush(self._radius())
            card.set_mask(card.mask)
        note = ""
        if name in self.reserved:
            note = f"“{name}” is already a concept of this model: choose another name."
        elif name in self.existing:
            note = f"Saving replaces your concept “{name}”."
        self.name_note.setText(note)
        self.name_note.setVisible(bool(note))
        self._update_badge()
        self._fill_units(
            self.draft.ranking if self.draft.can_rank else None, not self.draft.current
        )
        self._update_save()

    def _update_badge(self) -> None:
        self.badge.setPixmap(theme.concept_pixmap(self.icon_name(), self._color(), 44))
        name = self.name()
        self.preview_name.setText(name or "Unnamed concept")
        self.preview_name.setProperty("empty", not name)
        self.preview_name.style().unpolish(self.preview_name)
        self.preview_name.style().polish(self.preview_name)
        self.preview_note.setText(f"Custom concept · {self.draft.layer}")

    def problem(self) -> str | None:
        """Why the concept cannot be saved yet (None when it can)."""
        problem = name_problem(self.name(), self.reserved)
        if problem is not None:
            return problem
        if not self.draft.can_rank:
            return "Mark the concept on at least one sample."
        if not self.draft.current:
            return "Wait for the ranking of your latest marks."
        return None

    def _update_save(self) -> None:
        problem = self.problem()
        self.save_button.setEnabled(problem is None)
        self.save_button.setToolTip(problem or "Add the concept to the Concepts panel")

    def concept(self):
        """The concept to save: the current ranking, named, with its icon."""
        return dataclasses.replace(self.draft.ranking, name=self.name(), icon=self.icon_name())

    def save(self) -> bool:
        if self.problem() is not None:
            return False
        if not self.on_save(self.concept()):
            return False
        self.accept()
        return True

    def _disconnect(self, _result: int = 0) -> None:
        for signal, slot in (
            (self.worker.thumbnailReady, self._thumbnail),
            (self.worker.conceptRanked, self._ranked),
        ):
            with contextlib.suppress(RuntimeError, TypeError):  # already disconnected
                signal.disconnect(slot)
