"""The attack window: a targeted adversarial attack on the picture on screen, read through
the classifier's units.

Non-modal: the person goes on painting while the attack worker runs. While it runs, a
progress bar (the attack's steps) and Cancel; then four pictures side by side (the original,
the attacked picture, the perturbation amplified, and where the last layer's units changed),
whether it worked with the class probabilities before and after, and the units that moved
most with their concept labels, marking those the dissection ranks most important to the
target or the source class. A line under the heading names the frame attacked (the edit it
showed and the frame's number); once the canvas shows another picture it says so in the
warning colour, with a button to attack the picture now on screen. The frame on the canvas
is not changed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ganpaint.app.state.concepts import concept_style
from ganpaint.app.views import theme
from ganpaint.app.views.classifier_jobs import AttackDone, AttackSource
from ganpaint.app.views.classifier_panel import percent
from ganpaint.app.views.imaging import heat_pixmap, heat_rgba, qimage_rgb, qimage_rgba

SIDE = 200  # each picture, logical pixels
MOVED = 8  # units listed
RANKED_TOP = 4  # as in the paper: a class's 4 most important units
ANCHOR_MARGIN, ANCHOR_TOP = 16, 80  # the first window's top right, inside the main window


def picture_pixmap(image: np.ndarray, heat: np.ndarray | None = None) -> QPixmap:
    """A uint8 picture enlarged to SIDE (crisp pixels), with a heatmap drawn over it."""
    overlay = qimage_rgba(heat_rgba(heat, float(heat.max()))) if heat is not None else None
    return heat_pixmap(qimage_rgb(image), overlay, SIDE, fill=theme.BASE, smooth_base=False)


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
        self.summary = QLabel()
        self.summary.setObjectName("attackSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.units = QLabel()
        self.units.setObjectName("attackUnits")
        self.units.setTextFormat(Qt.RichText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.buttons.rejected.connect(self.close)
        self.save_button = self.buttons.addButton("Save Pictures…", QDialogButtonBox.ActionRole)
        self.save_button.setToolTip("Save the four pictures side by side as one PNG")
        self.save_button.clicked.connect(self._choose_save)
        self.save_button.hide()  # until there are pictures to save
        self.heading.setMinimumWidth(480)  # (not the dialog's: the layout sets its minimum)
        self.result_box = QWidget()
        rl = QVBoxLayout(self.result_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.pictures_box)
        details = QHBoxLayout()
        details.addWidget(self.summary, 2, Qt.AlignTop)
        details.addWidget(self.units, 3, Qt.AlignTop)
        rl.addLayout(details)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        frame_row = QHBoxLayout()
        frame_row.addWidget(self.frame_line, 1)
        frame_row.addWidget(self.again_button, 0, Qt.AlignTop)
        layout.addLayout(frame_row)
        layout.addWidget(self.running)
        layout.addWidget(self.result_box)
        layout.addWidget(self.buttons)
        self.result_box.hide()
        self.done_result: AttackDone | None = None

    def start(self, anchor: tuple[int, int] | None = None) -> None:
        """Show the window with its top right corner at ``anchor`` (the previous attack
        window's), else at the main window's top right, over the docks: off the canvas."""
        self.adjustSize()
        if anchor is None and self.parent() is not None:
            frame = self.parent().frameGeometry()
            anchor = (frame.right() - ANCHOR_MARGIN, frame.top() + ANCHOR_TOP)
        if anchor is not None:
            self._anchor(*anchor)
        self.show()

    def anchor(self) -> tuple[int, int]:
        """Where the top right corner is (a following attack window opens there)."""
        frame = self.frameGeometry()
        return frame.right(), frame.top()

    def _anchor(self, right: int, top: int) -> None:
        """Top right corner at (right, top), kept on the screen."""
        width, height = self.frameGeometry().width(), self.frameGeometry().height()
        x, y = right - width + 1, top
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            x = max(screen.left(), min(x, screen.right() - width + 1))
            y = max(screen.top(), min(y, screen.bottom() - height + 1))
        self.move(x, y)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.heading.setText(self.heading.text() + "<br>Cancelling…")
        self.cancelled.emit()

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
        """Grow to fit the text or the result, never shrink; the top right corner stays
        where it was, so the window grows towards the canvas's side only as far as it must."""
        corner = self.anchor()
        self.layout().activate()
        self.resize(self.sizeHint().expandedTo(self.size()))
        self._anchor(*corner)

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
        tiles = (
            ("Original", picture_pixmap(done.image)),
            ("Attacked", picture_pixmap(r.adversarial)),
            (f"Perturbation × {r.gain:.0f}", picture_pixmap(r.amplified)),
            (f"Where {r.layer}'s units changed", picture_pixmap(r.adversarial, r.heatmap)),
        )
        for col, (caption, pm) in enumerate(tiles):
            image = QLabel()
            image.setFixedSize(SIDE, SIDE)
            image.setPixmap(pm)
            text = QLabel(caption)
            text.setAlignment(Qt.AlignHCenter)
            self.pictures.addWidget(image, 0, col)
            self.pictures.addWidget(text, 1, col)
        self.heading.setText(self._heading(done))
        self.summary.setText(self._probabilities(done))
        self.units.setText(self._units(done))
        self.result_box.show()
        self.save_button.show()

    def _choose_save(self) -> None:
        name = f"attack-{self._name(self.done_result.result.source)}-to-{self._name(self.target)}"
        path, _ = QFileDialog.getSaveFileName(self, "Save pictures", f"{name}.png", "PNG (*.png)")
        if path:
            self.save_pictures(path)

    def save_pictures(self, path: str) -> bool:
        """The four pictures with their captions as one PNG (at twice the screen size)."""
        ok = self.pictures_box.grab().save(path, "PNG")
        if not ok:
            self.parent().prompts.error("Could not save the pictures", f"Could not write {path}.")
        return ok

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
        tag = "<span style='color:{}'>top-4 for {}</span>"
        roles = {
            "target": tag.format(theme.ACCENT, self._name(r.target)),
            "source": tag.format(theme.REMOVE, self._name(r.source)),
            "": "",
        }
        rows = []
        for unit, change, concept, role in moved_units(done):
            color = concept_style(concept)[2] if concept else theme.TEXT_DIM
            label = concept or "unlabelled"
            rows.append(
                f"<tr><td>unit {unit}</td><td style='color:{color}'>{label}</td>"
                f"<td align='right'>{change:.2f}</td><td>{roles[role]}</td></tr>"
            )
        return (
            f"<b>Units that moved most</b> <span style='color:{theme.TEXT_DIM}'>· {r.layer}, "
            "change of the spatial max</span><table cellspacing='6'>" + "".join(rows) + "</table>"
        )
