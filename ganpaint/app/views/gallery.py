"""The scene gallery: a strip of seed thumbnails, a seed box, "new random scene" and a
filter by content.

Choosing a scene calls ``document.set_seed``, which keeps the strokes: that is how the same
edit is applied to another scene. Thumbnails are rendered by the worker at its lowest
priority, with the current strokes on them; the panel asks for them through
``thumbnailsWanted`` (again after each committed change) and shows them as they come. With
a scene index (:class:`~ganpaint.app.state.scene_index.SceneContent`) the "Show" box lists
only the scenes where a chosen concept covers at least a chosen share of the image, or the
best drawn ones (those whose segmenter features lie nearest the world's rendered scenes),
and "new random scene" picks one of the best drawn tenth.
"""

from __future__ import annotations

import random

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.state.scene_index import SceneContent
from ganpaint.app.views import theme
from ganpaint.app.views.seed_input import SeedValidator
from ganpaint.core.seeds import MAX_SEED
from ganpaint.engine.document import EditDocument

THUMB = 88
WELL_DRAWN = "\x00well drawn"  # the Show box's entry for the best drawn scenes (no concept)
BATCH = 12


def random_seed(rng: random.Random | None = None) -> int:
    return (rng or random).randrange(0, 2**31)


class GalleryPanel(QWidget):
    thumbnailsWanted = Signal(list)  # seeds

    def __init__(self, document: EditDocument, parent=None):
        super().__init__(parent)
        self.setObjectName("galleryPanel")
        self.document = document
        self.rng = random.Random()
        self._items: dict[int, QListWidgetItem] = {}
        self.rendered: set[int] = set()  # seeds whose thumbnail has arrived
        self.scene_index = None  # what each indexed seed shows (set when a model opens)

        self.seed_edit = QLineEdit()
        self.seed_edit.setObjectName("seedEdit")
        self.seed_edit.setPlaceholderText("Seed")
        self.seed_edit.setValidator(SeedValidator(self.seed_edit))
        self.seed_edit.setToolTip("Type a seed and press Enter to show that scene")
        # the largest seed fits: style.qss pads a line edit 6 px and Qt adds 2 a side, and
        # the border is 1; no more, since the strip must not widen the window (tested)
        self.seed_edit.ensurePolished()
        self.seed_edit.setMinimumWidth(
            self.seed_edit.fontMetrics().horizontalAdvance(str(MAX_SEED)) + 2 * (6 + 2 + 1)
        )
        self.seed_edit.setMaximumWidth(130)
        self.seed_edit.returnPressed.connect(self._seed_entered)
        self.new_button = self._button("mdi.dice-5", "New random scene", self.new_random)
        self.more_button = self._button("mdi.image-multiple", "More scenes", self.add_random)
        self.content = QComboBox()
        self.content.setObjectName("sceneContent")
        # narrow: the strip must not widen the window (its minimum size is tested)
        self.content.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.content.setMinimumContentsLength(9)
        self.content.setToolTip(
            "Show scenes by what they contain (from the segmenter's labels of the model's "
            "dissection samples)"
        )
        self.min_share = QSpinBox()
        self.min_share.setRange(1, 90)
        self.min_share.setValue(1)  # doors and domes rarely cover more than a few per cent
        self.min_share.setSuffix(" %")
        self.min_share.setToolTip("The least share of the image the concept must cover (≥)")
        self.content.currentIndexChanged.connect(lambda _: self._filter_changed())
        self.min_share.valueChanged.connect(lambda _: self._filter_changed())
        controls = QHBoxLayout()
        controls.setSpacing(4)
        controls.addWidget(self.seed_edit)
        controls.addWidget(self.new_button)
        controls.addWidget(self.more_button)
        controls.addSpacing(4)
        controls.addWidget(self.content)
        controls.addWidget(self.min_share)
        controls.addStretch(1)

        self.list = QListWidget()
        self.list.setObjectName("seedList")
        self.list.setViewMode(QListView.IconMode)
        self.list.setFlow(QListView.LeftToRight)
        self.list.setWrapping(False)
        self.list.setMovement(QListView.Static)
        self.list.setIconSize(QSize(THUMB, THUMB))
        # wide enough that the largest seed's label is not elided, even framed as the current
        # one: #seedList::item in style.qss (margin 2, padding 4, the current one's 1 px
        # border) and Qt's own text margin (3) on each side
        self.list.ensurePolished()
        label = self.list.fontMetrics().horizontalAdvance(str(MAX_SEED)) + 2 * (2 + 4 + 1 + 3) + 4
        self.list.setGridSize(QSize(max(THUMB + 14, label), THUMB + 26))
        self.list.setFixedHeight(THUMB + 44)
        self.list.setHorizontalScrollMode(QListView.ScrollPerPixel)
        self.list.itemClicked.connect(self._clicked)
        self.list.setToolTip("Click a scene to show it; your strokes are applied to it")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(controls)
        layout.addWidget(self.list)
        document.subscribe(self._changed)

    def _button(self, icon: str, text: str, slot) -> QToolButton:
        b = QToolButton()
        b.setIcon(theme.icon(icon))
        b.setText(text)
        b.setToolTip(text)
        # icon only: the row also holds the content filter and must not widen the window
        b.setToolButtonStyle(Qt.ToolButtonIconOnly)
        b.clicked.connect(slot)
        return b

    # -- seeds -----------------------------------------------------------------------------

    @property
    def seeds(self) -> list[int]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [int(item.data(Qt.UserRole)) for item in items if item.data(Qt.UserRole) is not None]

    def set_scene_index(self, index: SceneContent | None) -> None:
        """The model's scene index (None: no filter by content)."""
        self.scene_index = index
        with QSignalBlocker(self.content):
            self.content.clear()
            self.content.addItem("All scenes", "")
            if index is not None and index.distance:
                self.content.addItem("Best drawn", WELL_DRAWN)
                self.content.setItemData(
                    1, "The indexed scenes most like the world the model learnt, the best "
                    "first (by the segmenter's view of each)", Qt.ToolTipRole,
                )  # fmt: skip
            for name in index.concepts() if index is not None else ():
                self.content.addItem(f"With {name}", name)
        self.content.setEnabled(index is not None)
        self.min_share.setEnabled(index is not None)
        if index is None:
            self.content.setToolTip("This model has no scene index (ganpaint learn-defaults)")

    def show_well_drawn(self) -> list[int]:
        """Fill the strip with the best drawn indexed scenes, the best first."""
        found = self.scene_index.well_drawn() if self.scene_index else []
        self._clear()
        self.add_seeds(found)
        return found

    def show_content(self, concept: str, min_share: float | None = None) -> list[int]:
        """Fill the strip with the indexed scenes showing ``concept`` (largest share first);
        returns their seeds."""
        if min_share is None:
            min_share = self.min_share.value() / 100.0
        found = self.scene_index.matching(concept, min_share) if self.scene_index else []
        self._clear()
        self.add_seeds([seed for seed, _ in found])
        if not found:  # say so rather than show an empty strip
            item = QListWidgetItem(self._placeholder(), f"no {concept} ≥ {min_share:.0%}")
            item.setFlags(Qt.NoItemFlags)
            item.setToolTip(f"No indexed scene shows {concept} on {min_share:.0%} of the image "
                            "or more: lower the share")  # fmt: skip
            self.list.addItem(item)
        return [seed for seed, _ in found]

    def _filter_changed(self) -> None:
        concept = self.content.currentData()
        self.min_share.setEnabled(self.scene_index is not None and concept != WELL_DRAWN)
        if concept == WELL_DRAWN:
            self.show_well_drawn()
        elif concept:
            self.show_content(concept)
        elif self.scene_index is not None:
            self.reset(self.document.seed)

    def _clear(self) -> None:
        self.list.clear()
        self._items.clear()
        self.rendered.clear()

    def reset(self, first: int | None = None) -> None:
        """A fresh strip (after a model load): the current scene, then random ones."""
        self._clear()
        seeds = ([first] if first is not None else []) + [
            random_seed(self.rng) for _ in range(BATCH - 1)
        ]
        self.add_seeds(seeds)

    def add_seeds(self, seeds: list[int]) -> None:
        new = [s for s in dict.fromkeys(seeds) if s not in self._items]
        for seed in new:
            item = QListWidgetItem(self._placeholder(), str(seed))
            item.setData(Qt.UserRole, seed)
            item.setToolTip(self._describe(seed))
            item.setTextAlignment(Qt.AlignHCenter)
            self.list.addItem(item)
            self._items[seed] = item
        if new:
            self.thumbnailsWanted.emit(new)
        self._mark_current()

    def _describe(self, seed: int) -> str:
        """The thumbnail's tooltip: the seed, what it shows, how well it is drawn."""
        index = self.scene_index
        if index is None:
            return f"Seed {seed}"
        shows = index.describe(seed)
        rank = index.drawn_rank(seed)
        drawn = f"\nBest drawn: rank {rank} of {len(index.distance)}" if rank else ""
        return f"Seed {seed}" + (f": {shows}" if shows else "") + drawn

    def add_random(self) -> None:
        self.add_seeds([random_seed(self.rng) for _ in range(BATCH)])

    def new_random(self) -> None:
        """Another scene: where the model's index says how well its scenes are drawn, a
        random one of the best drawn tenth (not the one shown), else any seed."""
        index = self.scene_index
        seed = index.pick_well_drawn(self.rng, self.document.seed) if index else None
        seed = random_seed(self.rng) if seed is None else seed
        self.add_seeds([seed])
        self.choose(seed)

    def choose(self, seed: int) -> None:
        self.document.set_seed(seed)

    def set_thumbnail(self, seed: int, image: QImage) -> None:
        item = self._items.get(seed)
        if item is not None:
            pm = QPixmap.fromImage(
                image.scaled(THUMB * 2, THUMB * 2, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            )
            pm.setDevicePixelRatio(2.0)
            item.setIcon(QIcon(pm))
            self.rendered.add(seed)

    def _placeholder(self) -> QIcon:
        pm = QPixmap(THUMB, THUMB)
        pm.fill(QColor("#2a2d33"))
        return QIcon(pm)

    def _clicked(self, item: QListWidgetItem) -> None:
        if item.data(Qt.UserRole) is not None:  # not the "none found" note
            self.choose(int(item.data(Qt.UserRole)))

    def _seed_entered(self) -> None:
        text = self.seed_edit.text().strip()
        if self.seed_edit.hasAcceptableInput():
            seed = int(text)
            self.add_seeds([seed])
            self.choose(seed)

    def _changed(self, kind: str) -> None:
        if kind in ("strokes", "loaded", "layer") and self.list.count():
            self.rendered.clear()  # "rendered" means: with the edits as they are now
            self.thumbnailsWanted.emit(self.seeds)
        if kind in ("seed", "loaded"):
            if self.document.seed not in self._items and self.list.count():
                self.add_seeds([self.document.seed])
            self._mark_current()

    def _mark_current(self) -> None:
        seed = self.document.seed
        if not self.seed_edit.hasFocus():
            self.seed_edit.setText(str(seed))
        item = self._items.get(seed)
        if item is not None:
            self.list.setCurrentItem(item)
            self.list.scrollToItem(item)
        else:
            self.list.clearSelection()
