"""The attack window: a targeted adversarial attack on the picture on screen, read through
the classifier's units.

Non-modal: the person goes on painting while the attack worker runs. While it runs, a
progress bar (the attack's steps) and Cancel; then four pictures in a 2 x 2 grid (the
original, the attacked picture, the perturbation amplified, and where the last layer's units
changed), whether it worked with the class probabilities before and after, and the units that
moved most with their concept labels, marking those the dissection ranks most important to
the target or the source class. The window is as wide as the widest free column beside the
canvas allows (pictures 128 to 200 px a side) and opens there
(:mod:`~ganpaint.app.views.window_placement`), or where the person last moved one to.
A line under the heading names the frame attacked (the edit it showed and the frame's
number); once the canvas shows another picture it says so in the warning colour, with a
button to attack the picture now on screen. The frame on the canvas is not changed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.state.concepts import concept_style
from ganpaint.app.views import theme
from ganpaint.app.views.classifier_jobs import AttackDone, AttackSource
from ganpaint.app.views.classifier_panel import percent
from ganpaint.app.views.imaging import heat_pixmap, heat_rgba, qimage_rgb, qimage_rgba
from ganpaint.app.views.window_placement import keep_on_screen, place_beside, room_width

MIN_SIDE, MAX_SIDE = 128, 200  # each picture, logical pixels: as wide as the room allows
SAVED_SIDE = 256  # each picture in the saved PNG, pixels
SPACING = 8  # between the pictures
MOVED = 8  # units listed
RANKED_TOP = 4  # as in the paper: a class's 4 most important units
SETTLE_MS = 300  # after showing, the window manager's last nudge (not a move by the person)
SCROLL_LEAST = 120  # the least height of the tables' scroll area on a low screen
MARKS = {"target": "▲", "source": "▼"}  # a unit among the target's / the source's top 4


def picture_pixmap(image: np.ndarray, heat: np.ndarray | None = None, side: int = MAX_SIDE
                   ) -> QPixmap:  # fmt: skip
    """A uint8 picture enlarged to ``side`` (crisp pixels), with a heatmap drawn over it."""
    overlay = qimage_rgba(heat_rgba(heat, float(heat.max()))) if heat is not None else None
    return heat_pixmap(qimage_rgb(image), overlay, side, fill=theme.BASE, smooth_base=False)


def picture_side(room: int | None, chrome: int) -> int:
    """The pictures' side for a window ``chrome`` px wider than its two columns of pictures,
    in a room ``room`` px wide (None: no main window to measure, the largest)."""
    if room is None:
        return MAX_SIDE
    return max(MIN_SIDE, min(MAX_SIDE, (room - chrome) // 2))


def moved_units(done: AttackDone, count: int = MOVED) -> list[tuple[int, float, str, str]]:
    """The units that changed most: (unit, change, concept or "", role) where role says
    whether the dissection ranks it among the target's or the source's top units."""
    r = done.result
    target_top = set(done.ranked.get(r.target, ())[:RANKED_TOP])
    source_top = set(done.ranked.get(r.source, ())[:RANKED_TOP])
    order = np.argsort(-r.unit_change, kind="stable")[:count]
    rows = []
    for u in (int(i) for i in order):
        label = done.labels.get(u)
        role = "target" if u in target_top else "source" if u in source_top else ""
        rows.append((u, float(r.unit_change[u]), label.concept if label else "", role))
    return rows


def describe_source(source: AttackSource) -> str:
    """Which picture an attack took, in words: "the edited picture at revision 12 (frame
    30)": the document's revision and the window's count of frames shown."""
    if source.kind == "plain":
        return f"the original picture (compare), seed {source.frame}"
    return f"the edited picture at revision {source.revision} (frame {source.frame})"


class AttackDialog(QDialog):
    cancelled = Signal()
    againRequested = Signal(int)  # attack the picture now on screen towards this class

    def __init__(self, parent, classes: tuple[str, ...], target: int, image: np.ndarray,
                 source: AttackSource | None = None):  # fmt: skip
        super().__init__(parent)
        self.setObjectName("attackDialog")
        self.classes, self.target, self.image = classes, target, image
        self.source = source or AttackSource()
        name = classes[target] if 0 <= target < len(classes) else str(target)
        self.setWindowTitle(f"Attack towards {name}")
        self.setModal(False)  # the canvas keeps rendering and taking strokes meanwhile
        # and the main window keeps the keyboard: Ctrl+Z and the brush keys go on working
        self.setAttribute(Qt.WA_ShowWithoutActivating)
        self.heading = QLabel(
            f"<h3>Attack towards “{name}”</h3>Looking for the smallest change to this picture "
            f"that makes the classifier read {name}… You can go on painting meanwhile."
        )
        self.heading.setWordWrap(True)
        self.frame_line = QLabel(f"Attacking {describe_source(self.source)}.")
        self.frame_line.setObjectName("attackFrame")
        self.frame_line.setWordWrap(True)
        self.frame_line.setTextFormat(Qt.RichText)
        self.again_button = QPushButton("Attack Picture on Screen")
        self.again_button.setToolTip(f"Attack the picture now on the canvas towards {name}")
        self.again_button.clicked.connect(lambda: self.againRequested.emit(self.target))
        self.again_button.hide()
        self.stale = False
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.running = QWidget()
        self.running.setLayout(row)
        self.pictures_box = QWidget()
        self.pictures = QGridLayout(self.pictures_box)
        self.pictures.setContentsMargins(0, 0, 0, 0)
        self.pictures.setSpacing(SPACING)
        self.side = MAX_SIDE
        self.tiles: list[tuple[str, QPixmap]] = []  # (caption, picture) once there is a result
        self.summary = QLabel()
        self.summary.setObjectName("attackSummary")
        self.summary.setTextFormat(Qt.RichText)
        self.units = QLabel()
        self.units.setObjectName("attackUnits")
        self.units.setTextFormat(Qt.RichText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.buttons.rejected.connect(self.close)
        self.save_button = self.buttons.addButton("Save Pictures…", QDialogButtonBox.ActionRole)
        self.save_button.setToolTip("Save the four pictures side by side as one PNG")
        self.legend = QLabel()
        self.legend.setObjectName("attackLegend")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.RichText)
        self.save_button.clicked.connect(self._choose_save)
        self.save_button.hide()  # until there are pictures to save
        self.result_box = QWidget()
        rl = QVBoxLayout(self.result_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.pictures_box)
        details_box = QWidget()
        self.details = QGridLayout(details_box)  # the tables: side by side, or stacked
        self.details.setContentsMargins(0, 0, 0, 0)
        self.details.setRowStretch(3, 1)
        self.details.addWidget(self.legend, 2, 0, 1, 2)
        # on a low screen the tables scroll; the pictures and the verdict stay in view
        self.details_scroll = _WholeScroll()
        self.details_scroll.setWidget(details_box)
        self.details_scroll.setWidgetResizable(True)
        self.details_scroll.setFrameShape(QFrame.NoFrame)
        self.details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        rl.addWidget(self.details_scroll, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.frame_line)
        layout.addWidget(self.again_button, 0, Qt.AlignRight)  # under it: the window is narrow
        layout.addWidget(self.running)
        layout.addWidget(self.result_box)
        layout.addWidget(self.buttons)
        self.result_box.hide()
        self.done_result: AttackDone | None = None
        self.placed: QPoint | None = None  # where this window last put itself
        self._user_moved = False
        self.settled = False  # shown, and the window manager's placement taken as its own

    def start(self, anchor: tuple[int, int] | None = None) -> None:
        """Show the window as wide as the first room beside the canvas allows, with its
        top left corner at ``anchor`` (where the person last moved an attack window), else
        in that room (:func:`~ganpaint.app.views.window_placement.place_beside`)."""
        rects, picture = self._rects()
        margins = self.layout().contentsMargins()
        chrome = margins.left() + margins.right() + SPACING
        least = 2 * MIN_SIDE + chrome
        room = room_width(least, *rects) if rects is not None else None
        if room is not None and room < least:  # no docks beside the canvas: beside the image
            room = max(room, room_width(least, picture, *rects[1:]))
        self.side = picture_side(room, chrome)
        self.setFixedWidth(2 * self.side + SPACING + margins.left() + margins.right())
        self.layout().activate()
        self.adjustSize()
        if anchor is not None:
            self._move(QPoint(*anchor))
            self._user_moved = True  # the person's place: the next window opens there too
        elif rects is not None:
            self._move(place_beside(self.frameGeometry().size(), *rects, picture))
        self.show()

    def _rects(self) -> tuple[tuple[QRect, QRect, QRect] | None, QRect | None]:
        """(the canvas, the main window, its screen), and the image inside the canvas, in
        global coordinates (None without a main window with a canvas)."""
        window = self.parent()
        canvas = getattr(window, "canvas", None)
        screen = window.screen() if window is not None else None
        if canvas is None or screen is None:
            return None, None
        origin = canvas.mapToGlobal(QPoint(0, 0))
        area = QRect(origin, canvas.size())
        picture = canvas.image_rect().toAlignedRect().translated(origin) & area
        return (area, window.frameGeometry(), screen.availableGeometry()), picture

    def anchor(self) -> tuple[int, int]:
        """Where the top left corner is (a following attack window may open there)."""
        corner = self.frameGeometry().topLeft()
        return corner.x(), corner.y()

    def moved_by_user(self) -> bool:
        """Whether the person moved the window from where it put itself (once moved, it
        stays the person's place)."""
        if self.placed is not None and (self.pos() - self.placed).manhattanLength() > 8:
            self._user_moved = True
        return self._user_moved

    def _move(self, top_left: QPoint) -> None:
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            top_left = keep_on_screen(top_left, self.frameGeometry().size(), screen)
        self.moved_by_user()  # latched before the window moves itself
        self.move(top_left)
        self.placed = top_left

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.heading.setText(self.heading.text() + "<br>Cancelling…")
        self.cancelled.emit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # a window manager may still nudge a new window (decorations, panels): where it
        # stands shortly after showing is where it put itself, not where the person moved it
        QTimer.singleShot(SETTLE_MS, self._settled)

    def _settled(self) -> None:
        if self.placed is not None and not self._user_moved:
            self.placed = self.pos()
        self.settled = True

    def closeEvent(self, event) -> None:
        if self.done_result is None:  # closing while it runs stops the attack
            self.cancelled.emit()
        super().closeEvent(event)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"step {done} of {total}")

    def set_stale(self, stale: bool) -> None:
        """Whether the canvas has moved on from the picture attacked (a result stays the
        attack of that picture, and says so). Called for every frame shown: it changes the
        window only when the line's text changes."""
        self.stale = bool(stale)
        text = self._frame_text()
        if text == self.frame_line.text():
            return
        self.frame_line.setText(text)
        self._update_again()
        self._fit()

    def _frame_text(self) -> str:
        what = describe_source(self.source)
        running = self.done_result is None
        if not self.stale:
            return f"{'Attacking' if running else 'Attacked'} {what}, the picture on the canvas."
        warn = f"<span style='color:{theme.REMOVE}'><b>The canvas has changed since.</b></span>"
        if running:
            return f"{warn} Attacking {what}, as it was when the attack began."
        return f"{warn} Attacked {what}, shown here as the original."

    def _fit(self) -> None:
        """Grow down to fit the text or the result, never shrink, no lower than the screen
        (the tables scroll then); the width was set at the start and the top left corner
        stays where it was (moved up only where even the least height does not fit)."""
        left, top = self.anchor()
        self.layout().activate()
        size = self.sizeHint().expandedTo(self.size())
        if self.layout().hasHeightForWidth():  # wrapped text is taller at this fixed width
            size.setHeight(max(size.height(), self.layout().totalHeightForWidth(self.width())))
        if self.screen() is not None:
            frame = self.frameGeometry().height() - self.height()  # the title bar, if any
            below = self.screen().availableGeometry().bottom() - top + 1 - frame
            # only the tables give way (to SCROLL_LEAST px); past that the window moves up
            scroll = self.details_scroll
            squeeze = scroll.sizeHint().height() - SCROLL_LEAST if scroll.isVisibleTo(self) else 0
            least = size.height() - max(0, squeeze)
            size.setHeight(max(min(size.height(), below), least))
        self.resize(size)
        self._move(QPoint(left, top))

    def _update_again(self) -> None:
        cancelled = self.done_result is not None and self.done_result.cancelled
        self.again_button.setText("Attack Again" if not self.stale else "Attack Picture on Screen")
        self.again_button.setVisible(self.stale or cancelled)

    def show_done(self, done: AttackDone) -> None:
        self.done_result = done
        self.running.hide()
        self.set_stale(self.stale)
        self._update_again()  # "Attack Again" after a cancel
        if done.cancelled:
            self.heading.setText("<h3>Attack cancelled</h3>")
            return
        if done.result is None:
            self.heading.setText(f"<h3>The attack failed</h3>{done.error}")
            return
        self._show_result(done)
        self._fit()  # lay the pictures out now, so the dialog fits them

    def _show_result(self, done: AttackDone) -> None:
        r = done.result
        self.tiles = [
            ("Original", (done.image, None)),
            ("Attacked", (r.adversarial, None)),
            (f"Perturbation × {r.gain:.0f}", (r.amplified, None)),
            (f"Where {r.layer}'s units changed", (r.adversarial, r.heatmap)),
        ]
        for i, (caption, (image, heat)) in enumerate(self.tiles):
            picture = QLabel()
            picture.setFixedSize(self.side, self.side)
            picture.setPixmap(picture_pixmap(image, heat, self.side))
            text = QLabel(caption)
            text.setAlignment(Qt.AlignHCenter)
            text.setWordWrap(True)
            row, col = 2 * (i // 2), i % 2
            self.pictures.addWidget(picture, row, col)
            self.pictures.addWidget(text, row + 1, col)
        self.heading.setText(self._heading(done))
        self.summary.setText(self._probabilities(done))
        self.units.setText(self._units(done))
        self.legend.setText(self._legend(done))
        self._lay_out_details()
        self.result_box.show()
        self.save_button.show()

    def _lay_out_details(self) -> None:
        """The probabilities beside the units where the window is wide enough, else above."""
        margins = self.layout().contentsMargins()
        inner = self.width() - margins.left() - margins.right()
        wide = self.summary.sizeHint().width() + self.units.sizeHint().width() + 16 <= inner
        self.details.addWidget(self.summary, 0, 0, Qt.AlignTop)
        self.details.addWidget(self.units, 0 if wide else 1, 1 if wide else 0, Qt.AlignTop)

    def _choose_save(self) -> None:
        name = f"attack-{self._name(self.done_result.result.source)}-to-{self._name(self.target)}"
        path, _ = QFileDialog.getSaveFileName(self, "Save pictures", f"{name}.png", "PNG (*.png)")
        if path:
            self.save_pictures(path)

    def save_pictures(self, path: str) -> bool:
        """The four pictures side by side with their captions as one PNG, each
        :data:`SAVED_SIDE` px a side (crisp pixels), whatever the window's layout."""
        ok = self.pictures_image().save(path, "PNG")
        if not ok:
            self.parent().prompts.error("Could not save the pictures", f"Could not write {path}.")
        return ok

    def pictures_image(self) -> QImage:
        """The four pictures in a row, captions under them, on the window's background."""
        gap, caption = 12, 28
        width = len(self.tiles) * (SAVED_SIDE + gap) - gap
        image = QImage(width, SAVED_SIDE + caption, QImage.Format_RGB32)
        image.fill(QColor(theme.BASE))
        p = QPainter(image)
        p.setPen(QColor(theme.TEXT))
        for i, (text, (picture, heat)) in enumerate(self.tiles):
            x = i * (SAVED_SIDE + gap)
            p.drawPixmap(
                QRect(x, 0, SAVED_SIDE, SAVED_SIDE), picture_pixmap(picture, heat, SAVED_SIDE)
            )
            p.drawText(QRect(x, SAVED_SIDE, SAVED_SIDE, caption), Qt.AlignCenter, text)
        p.end()
        return image

    def _name(self, i: int) -> str:
        return self.classes[i] if 0 <= i < len(self.classes) else str(i)

    def _heading(self, done: AttackDone) -> str:
        r = done.result
        after = int(np.argmax(r.probs_after))
        verdict = (
            f"<span style='color:{theme.ACCENT}'>Success</span>"
            if r.success
            else f"<span style='color:{theme.REMOVE}'>Not reached</span>"
        )
        diff = np.abs(r.adversarial.astype(int) - done.image.astype(int)).max()
        return (
            f"<h3>{verdict}: the classifier now reads “{self._name(after)}”</h3>"
            f"It read “{self._name(r.source)}” before. The change: L2 {r.l2:.2f} (all pixel "
            f"values in [0, 1]), no value moved by more than {diff}/255. "
            f"<span style='color:{theme.TEXT_DIM}'>({done.ms / 1000:.1f} s)</span>"
        )

    def _probabilities(self, done: AttackDone) -> str:
        r = done.result
        rows = "".join(
            f"<tr><td>{self._name(i)}</td><td align='right'>{percent(float(b))}</td>"
            f"<td align='right'><b>{percent(float(a))}</b></td></tr>"
            for i, (b, a) in enumerate(zip(r.probs_before, r.probs_after, strict=True))
        )
        return (
            "<b>Class probabilities</b><table cellspacing='6'>"
            "<tr><th></th><th>before</th><th>after</th></tr>" + rows + "</table>"
        )

    def _units(self, done: AttackDone) -> str:
        r = done.result
        marks = {role: self._mark(role) for role in MARKS} | {"": ""}
        rows = []
        for unit, change, concept, role in moved_units(done):
            color = concept_style(concept)[2] if concept else theme.TEXT_DIM
            label = concept or "unlabelled"
            rows.append(
                f"<tr><td>unit {unit}</td><td style='color:{color}'>{label}</td>"
                f"<td align='right'>{change:.2f}</td><td>{marks[role]}</td></tr>"
            )
        return (
            f"<b>Units that moved most</b><br><span style='color:{theme.TEXT_DIM}'>{r.layer}, "
            "change of the spatial max</span><table cellspacing='4'>" + "".join(rows) + "</table>"
        )

    def _mark(self, role: str) -> str:
        color = theme.ACCENT if role == "target" else theme.REMOVE
        return f"<span style='color:{color}'>{MARKS[role]}</span>"

    def _legend(self, done: AttackDone) -> str:
        """What the marks in the units table mean (only those the table uses)."""
        r = done.result
        roles = {role for *_, role in moved_units(done) if role}
        parts = [
            f"{self._mark(role)} one of the {RANKED_TOP} units most important to "
            f"“{self._name(r.target if role == 'target' else r.source)}” ({role})"
            for role in MARKS
            if role in roles
        ]
        return f"<span style='color:{theme.TEXT_DIM}'>{'<br>'.join(parts)}</span>" if parts else ""


class _WholeScroll(QScrollArea):
    """A scroll area that asks for its whole content's height (a plain one asks for at most
    24 lines): the window shows the tables whole where the screen is high enough."""

    def sizeHint(self) -> QSize:
        inner = self.widget()
        return inner.sizeHint() if inner is not None else super().sizeHint()
