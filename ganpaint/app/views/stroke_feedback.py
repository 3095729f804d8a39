"""Says so when a stroke changed nothing visible: the frame before the stroke and the frame
of the committed stroke are compared, and the status bar explains what to try (painting with
checked units that are already at their level there used to change nothing, silently)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ganpaint.app.state.tool import CUSTOM

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

VISIBLE = 8  # a channel must move this many levels (of 255) to count as a visible change
MIN_CHANGED = 0.001  # of the pixels


def visible_change(before: np.ndarray, after: np.ndarray) -> float:
    """The fraction of pixels whose colour moved visibly between two uint8 frames."""
    if before.shape != after.shape:
        return 1.0
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).max(axis=-1)
    return float((diff >= VISIBLE).mean())


class StrokeFeedback:
    def __init__(self, window: MainWindow):
        self.w = window
        self._before: np.ndarray | None = None  # the frame when the stroke began
        self._strokes = 0
        self._waiting: int | None = None  # the revision whose frame decides
        window.canvas.strokeStarted.connect(lambda *_: self.started())
        window.document.subscribe(self._changed)
        window.frameShown.connect(self.frame)

    def started(self) -> None:
        image = self.w.frames.image
        self._before = image.copy() if image is not None else None
        self._strokes = len(self.w.document.strokes)

    def _changed(self, kind: str) -> None:
        doc = self.w.document
        if kind == "strokes" and self._before is not None and len(doc.strokes) > self._strokes:
            self._waiting = doc.revision
        elif kind != "preview":
            self._waiting = None if kind != "strokes" else self._waiting

    def frame(self, result) -> None:
        if self._waiting is None or result.revision != self._waiting or result.image is None:
            return
        self._waiting = None
        before, self._before = self._before, None
        if before is not None and visible_change(before, result.image) < MIN_CHANGED:
            self.w.status.showMessage(self.message(), 12_000)

    def message(self) -> str:
        stroke = self.w.document.strokes[-1]
        who = "The checked units" if stroke.concept == CUSTOM else f"The {stroke.concept} units"
        if stroke.action == "remove":
            return (f"{who} changed nothing visible here: they may be off in this region "
                    "already. Try Draw, other units, or another place.")  # fmt: skip
        return (f"{who} changed nothing visible here: they may already be at that level in "
                "this region, or draw something the scene hides. Try more units, a higher "
                "insert level, or another place.")  # fmt: skip
