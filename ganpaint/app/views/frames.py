"""Document changes to render jobs, and render results to what the canvas shows.

:class:`FrameView` subscribes to the document; every change that affects the image makes a
snapshot (a value) and submits it to the worker, whose single slot keeps only the newest.
Results carry the revision they were rendered from: one older than the frame already on
screen is dropped, so the picture never steps back in time. The unedited frame of the
current scene (for compare and the inspector preview) is rendered at a lower priority; for
an inverted picture it is the picture itself (no job).
The committed strokes' masks become the canvas overlay here as well, and the stroke under
the mouse in the History panel its spotlight.
"""

from __future__ import annotations

import statistics
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ganpaint.app.state.artifacts import compare_label
from ganpaint.app.state.concepts import concept_style
from ganpaint.app.state.tool import CUSTOM
from ganpaint.app.views import theme
from ganpaint.app.views.canvas import PaintCanvas
from ganpaint.app.views.imaging import OverlayStack, qimage_rgb, qimage_rgba, spotlight_rgba
from ganpaint.app.views.worker import FrameJob, FrameResult, RenderWorker
from ganpaint.engine.document import DocumentSnapshot, EditDocument

RENDER_KINDS = ("strokes", "preview", "seed", "layer", "loaded")


def stroke_color(concept: str, action: str) -> str:
    if action == "remove":
        return theme.REMOVE
    return theme.ACCENT if concept == CUSTOM else concept_style(concept)[2]


class FrameView(QObject):
    frameShown = Signal(object)  # RenderResult
    plainShown = Signal()  # the unedited frame of the current scene arrived
    renderFailed = Signal(str)

    def __init__(self, document: EditDocument, worker: RenderWorker, canvas: PaintCanvas):
        super().__init__(canvas)
        self.document, self.worker, self.canvas = document, worker, canvas
        self.key: int | None = None
        self.shown_revision = -1
        self.image: np.ndarray | None = None  # the edited frame on screen
        self.qimage: QImage | None = None
        self.plain_seed: int | None = None
        self.plain_qimage: QImage | None = None
        self.plain_image: np.ndarray | None = None
        self.zeroed: tuple = ()  # units zeroed in every frame (View > Clean artifacts)
        self.ms: deque[float] = deque(maxlen=20)
        self.frames = 0
        self._last: DocumentSnapshot | None = None
        # the stroke-mask overlay composited so far, and the strokes it holds, in order
        self._overlay: tuple[OverlayStack, tuple] = (OverlayStack(), ())
        document.subscribe(self._changed)
        worker.frameRendered.connect(self._rendered)

    def set_model(self, key: int | None) -> None:
        """A model was (re)loaded: forget what was shown and render afresh."""
        self.key = key
        self.shown_revision = -1
        self.plain_seed = None
        self.plain_qimage = None
        self.plain_image = None
        self._last = None
        self.update_overlay()
        self.request()

    @property
    def typical_ms(self) -> float | None:
        """The median render time of the last frames: one slow frame (the first of a
        model, a full frame among incremental ones) does not stand for the rest."""
        return statistics.median(self.ms) if self.ms else None

    def request(self) -> None:
        if self.key is None:
            return
        snap = self.document.snapshot()
        if snap == self._last:
            return
        self._last = snap
        self.canvas.plain_label = compare_label(snap.picture is not None, self.zeroed)
        settled = snap.picture is not None and self.document.preview is None
        live = self.document.preview is not None
        self.worker.submit(FrameJob(self.key, snap, zeroed=self.zeroed, full=settled, live=live))
        if snap.picture is not None:  # a picture's unedited frame is the picture itself
            if self.plain_seed is not None or self.plain_qimage is None:
                self.plain_seed = None
                self.plain_qimage = qimage_rgb(np.asarray(snap.picture.pixels))
                self.canvas.set_plain(self.plain_qimage)
        elif self.plain_seed != snap.seed:
            self.worker.submit(FrameJob(self.key, snap, "plain"))

    def set_zeroed(self, zeroed: tuple) -> None:
        """Zero these units ((layer, units), ...) in every frame from now on."""
        if zeroed != self.zeroed:
            self.zeroed = zeroed
            self._last = None
            self.request()

    def _changed(self, kind: str) -> None:
        if kind == "loaded" or (kind == "seed" and self.plain_seed != self.document.seed):
            self.plain_seed = None  # another document (maybe a picture): render it again
            self.plain_qimage = None
            self.plain_image = None
            self.canvas.set_plain(None)
        if kind in RENDER_KINDS:
            self.request()
        if kind in ("strokes", "loaded"):
            self.update_overlay()

    def update_overlay(self) -> None:
        """The committed strokes' masks for View > Show Stroke Masks, made only while they
        are shown (the canvas is told when they go stale), and a stroke added on top of
        those composited already costs one mask (it was every mask at every stroke: 0.1 s
        a release with 150 strokes)."""
        if not self.canvas.show_overlay:
            self._overlay = (OverlayStack(), ())
            self.canvas.set_overlay(None)
            return
        strokes = tuple(s for s in self.document.strokes if s.visible)
        stack, held = self._overlay
        if strokes[: len(held)] != held:  # strokes compare by identity: not on top of held
            stack, held = OverlayStack(), ()
        for stroke in strokes[len(held) :]:
            stack.add(stroke.mask, stroke_color(stroke.concept, stroke.action))
        self._overlay = (stack, strokes)
        self.canvas.set_overlay(qimage_rgba(stack.rgba()) if strokes else None)

    def spotlight_stroke(self, index: int) -> None:
        """Darken the image outside stroke ``index``'s mask (-1: no spotlight), hidden or
        not: where a row of the History panel painted, while the mouse is over the row."""
        strokes = self.document.strokes
        if not 0 <= index < len(strokes):
            self.canvas.set_spotlight(None)
            return
        self.canvas.set_spotlight(qimage_rgba(spotlight_rgba(strokes[index].mask)))

    def _rendered(self, fr: FrameResult) -> None:
        if fr.key != self.key:
            return
        r = fr.result
        if fr.kind == "plain":
            if r.ok and r.seed == self.document.seed and self.document.picture is None:
                self.plain_seed = r.seed
                self.plain_qimage = qimage_rgb(r.image)
                self.plain_image = r.image
                self.canvas.set_plain(self.plain_qimage)
                self.plainShown.emit()
            return
        if r.revision < self.shown_revision:
            return  # stale: a newer frame is already on screen
        if not r.ok:
            self.renderFailed.emit(r.error)
            return
        # Only the changed rectangle needs repainting when the frame builds on the one shown.
        dirty = r.dirty if r.since is not None and r.since == self.shown_revision else None
        self.shown_revision = r.revision
        self.image = r.image
        self.qimage = qimage_rgb(r.image)
        self.canvas.set_image(self.qimage, dirty)
        self.ms.append(r.ms)
        self.frames += 1
        self.frameShown.emit(r)
