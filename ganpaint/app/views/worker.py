"""The render worker: one QThread that owns the torch side of the app.

The GUI thread hands it immutable jobs and gets results back by signal (queued across
threads); it never touches torch itself. Each kind of job has one slot, so a newer job
replaces an older one not yet started (latest wins), except thumbnails, which wait in a
short queue at the lowest priority. Priority: model loads, frames, the unedited frame for
compare, a picture's inversion (long: it reports progress and stops when its cancel event is
set), unit heatmaps, custom-concept rankings, classifier readings
(:mod:`~ganpaint.app.views.classifier_jobs`), a stroke-by-stroke export
(:mod:`~ganpaint.app.views.steps_jobs`), thumbnails; while a stroke is being drawn
(its frames come as ``FrameJob(live=True)``) thumbnails wait for its end. A reading of an
edited frame older than the newest frame rendered is skipped (the reading of that newer
frame is on its way), except that while frames keep coming one reading every
``READ_EVERY_S`` goes ahead of them, so the Classifier panel follows a long drag at a small
cost to the brush. Classifier attacks
run on a thread of their own (:mod:`~ganpaint.app.views.attack_worker`): frames never wait
for one (off a CPU, at most one of its passes: :mod:`~ganpaint.app.views.device_turns`).
Every job carries the key of the model it was made for; a job for a model that is no
longer loaded is dropped, and the GUI drops results whose key is stale. Failures come back
as results, never as exceptions.
:attr:`RenderWorker.counts` tallies edit frames submitted, superseded in the slot before
they started, and rendered (the drag bench reports them).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QThread, Signal

from ganpaint.app.state.model_controller import LoadJob
from ganpaint.app.views.classifier_jobs import ClassifierRunner, ClassifyJob
from ganpaint.app.views.device_turns import DeviceTurns
from ganpaint.app.views.picture_jobs import InvertJob, InvertResult, run_inversion
from ganpaint.app.views.steps_jobs import StepsJob, StepsResult, run_steps
from ganpaint.engine.document import DocumentSnapshot

if TYPE_CHECKING:
    from ganpaint.engine.renderer import RenderResult


def _devices() -> tuple[str, ...]:
    """The usable device types; torch loads on this (the render) thread, not the GUI's."""
    from ganpaint.core.devices import available_devices

    return available_devices()


@dataclass(frozen=True)
class FrameJob:
    key: int
    snapshot: DocumentSnapshot
    kind: str = "frame"  # "frame" (the edit) or "plain" (no strokes, for compare)
    # units zeroed in the frame (View > Clean artifacts): ((layer, units), ...); the plain
    # frame always shows the original network, so compare shows what cleaning changed too
    zeroed: tuple = ()
    # render in full, not incrementally: a picture's frame once no stroke is in progress, so
    # what is shown is bit for bit what the saved project shows when reopened
    full: bool = False
    # a frame of a stroke being drawn: gallery thumbnails wait until the stroke ends, so the
    # brush has the worker to itself (a thumbnail takes several frames' time)
    live: bool = False


@dataclass(frozen=True)
class HeatJob:
    key: int
    seed: int
    layer: str
    unit: int
    original: bool = False  # of the network with no unit zeroed (the unit is switched off)


@dataclass(frozen=True)
class ThumbJob:
    key: int
    seed: int
    # a DocumentSnapshot for ``seed``: the thumbnail shows the edits (compared by revision)
    snapshot: Any = field(default=None, compare=False)
    revision: int = -1


@dataclass(frozen=True, eq=False)
class ConceptJob:
    """Rank ``layer``'s units against masks marked on the samples of ``seeds``."""

    key: int
    token: int  # the draft revision it was made from
    layer: str
    seeds: tuple[int, ...]
    masks: tuple[np.ndarray, ...]  # uint8 (H, W) per seed, at the image resolution


@dataclass(frozen=True)
class ModelResult:
    key: int
    bundle: Any  # ModelBundle, or None on failure
    device: str
    error: str | None = None
    reused: bool = False  # the same bundle moved to another device
    devices: tuple[str, ...] = ("cpu",)  # devices this machine offers
    path: str | None = None  # what was asked for (None: the bundled default)
    torch_device: str = "cpu"  # where the renderer put the model (the attack worker's too)


@dataclass(frozen=True)
class FrameResult:
    key: int
    kind: str
    result: RenderResult


@dataclass(frozen=True)
class HeatResult:
    key: int
    seed: int
    layer: str
    unit: int
    heat: np.ndarray | None  # float32 (h, w)
    level: float  # the unit's insert level at 0.99, for scaling the colour map
    error: str | None = None
    original: bool = False  # measured in the network with no unit zeroed


@dataclass(frozen=True)
class ThumbResult:
    key: int
    seed: int
    image: np.ndarray | None


@dataclass(frozen=True)
class ConceptResult:
    key: int
    token: int
    concept: Any  # ganpaint.models.concept_files.CustomConcept, or None on failure
    ms: float
    error: str | None = None


@dataclass
class FrameCounts:
    """Edit frames (not the unedited compare frame): submitted, replaced in the pending slot
    before they started (superseded), and rendered."""

    submitted: int = 0
    superseded: int = 0
    rendered: int = 0

    def copy(self) -> FrameCounts:
        return FrameCounts(self.submitted, self.superseded, self.rendered)


@dataclass
class _Slots:
    load: LoadJob | None = None
    frame: FrameJob | None = None
    plain: FrameJob | None = None
    invert: InvertJob | None = None
    heat: HeatJob | None = None
    concept: ConceptJob | None = None
    classify: ClassifyJob | None = None
    steps: StepsJob | None = None
    thumbs: deque = field(default_factory=lambda: deque(maxlen=64))


def open_model(job: LoadJob):
    """Load the bundle and build its renderer (runs on the worker thread)."""
    from ganpaint.core.devices import describe_device
    from ganpaint.engine.renderer import Renderer
    from ganpaint.models import load_bundle

    if job.bundle is not None:
        bundle = job.bundle
    elif job.path is not None:
        bundle = load_bundle(job.path)
    else:  # none named: the default for the device it will run on
        from ganpaint.core.devices import pick_device
        from ganpaint.models.bundle import default_model_for

        choice = default_model_for(pick_device(job.device).type)
        bundle = load_bundle(choice.path)
        bundle.chosen_because = choice.reason
    renderer = Renderer(bundle.generator, job.device, bundle.dissection)
    return bundle, renderer, describe_device(renderer.device)


class RenderWorker(QThread):
    """Renders in its own thread; see the module docstring for the slot rules."""

    modelLoaded = Signal(object)  # ModelResult
    frameRendered = Signal(object)  # FrameResult
    heatReady = Signal(object)  # HeatResult
    thumbnailReady = Signal(object)  # ThumbResult
    conceptRanked = Signal(object)  # ConceptResult
    inversionProgress = Signal(object)  # InvertProgress
    inversionDone = Signal(object)  # InvertResult
    classified = Signal(object)  # ClassifyResult
    stepsRendered = Signal(object)  # StepsResult: one frame of a stroke-by-stroke export
    busyChanged = Signal(bool)

    def __init__(self, parent=None, threads: int | None = None):
        super().__init__(parent)
        self.setObjectName("RenderWorker")
        self._cond = threading.Condition()
        self._slots = _Slots()
        self._stopping = False
        self._threads = threads
        self._key = -1
        self._renderer = None
        self._bundle = None
        self._thresholds: dict[str, Any] = {}  # layer -> unit thresholds of the loaded model
        self._running = False
        self.torch_threads: int | None = None  # torch's CPU threads on this thread, once loaded
        self.counts = FrameCounts()  # guarded by the lock; read with frame_counts()
        # Revisions of the frames rendered, in order (tests and diagnostics read it).
        self.rendered_revisions: deque[int] = deque(maxlen=10_000)
        self.loader: Callable[[LoadJob], tuple] = open_model
        self.classifier = ClassifierRunner()
        self.turns = DeviceTurns()  # shared with the attack worker (off a CPU: turns)
        self.skipped_readings = 0  # readings of frames already superseded (guarded by the lock)
        self._live = False  # the last frame submitted was of a stroke being drawn
        self.read_every_s = READ_EVERY_S
        self._last_reading = time.monotonic()

    # -- GUI side: each call only swaps a slot under the lock ------------------------------

    def submit(self, job) -> None:
        """Put a job in its slot (a LoadJob, FrameJob, InvertJob, HeatJob, ConceptJob,
        ThumbJob, ClassifyJob or StepsJob)."""
        with self._cond:
            s = self._slots
            slot = SLOT_OF.get(type(job))
            if slot is not None:
                setattr(s, slot, job)
            elif isinstance(job, FrameJob):
                if job.kind == "plain":
                    s.plain = job
                else:
                    self.counts.submitted += 1
                    if s.frame is not None:
                        self.counts.superseded += 1
                    s.frame = job
                    self._live = job.live
            elif isinstance(job, ThumbJob):
                if job not in s.thumbs:
                    s.thumbs.append(job)
            else:
                raise TypeError(f"unknown job {job!r}")
            self._cond.notify()

    def clear_thumbnails(self) -> None:
        with self._cond:
            self._slots.thumbs.clear()

    def frame_counts(self) -> FrameCounts:
        with self._cond:
            return self.counts.copy()

    def is_idle(self) -> bool:
        """No job running and none it would start now (thumbnails held during a stroke
        do not count)."""
        with self._cond:
            return not self._running and not self._has_work()

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Ask the thread to finish after its current job and wait for it."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        return self.wait(timeout_ms) if self.isRunning() else True

    # -- worker side -------------------------------------------------------------------

    def _next_job(self):
        with self._cond:
            while True:
                while not self._stopping and not self._has_work():
                    self._cond.wait()
                if self._stopping:
                    return None
                job = self._take()
                if job is not None:
                    self._running = True
                    return job

    def _take(self):
        """The next job by priority, out of its slot (None: it was a stale reading)."""
        s = self._slots
        if s.classify is not None and s.load is None and self._reading_overdue():
            return self._take_reading()  # once a while even mid-drag, before the next frame
        for name in SLOT_ORDER:
            job = getattr(s, name)
            if job is not None:
                if name == "classify":
                    if self._superseded(job):
                        s.classify = None
                        self.skipped_readings += 1
                        return None
                    return self._take_reading()
                setattr(s, name, None)
                return job
        return s.thumbs.popleft()

    def _take_reading(self) -> ClassifyJob:
        job, self._slots.classify = self._slots.classify, None
        self._last_reading = time.monotonic()
        return job

    def _reading_overdue(self) -> bool:
        """While frames keep coming (a drag) readings would wait for a pause; one is let
        through before the next frame when the last began ``read_every_s`` ago."""
        return time.monotonic() - self._last_reading >= self.read_every_s

    def _superseded(self, job: ClassifyJob) -> bool:
        revs = self.rendered_revisions
        return job.kind == "frame" and bool(revs) and job.revision < revs[-1]

    def _has_work(self) -> bool:
        s = self._slots
        pending = (s.load, s.frame, s.plain, s.invert, s.heat, s.concept, s.classify, s.steps)
        return any(x is not None for x in pending) or (bool(s.thumbs) and not self._live)

    def run(self) -> None:
        if self._threads:
            import torch

            torch.set_num_threads(int(self._threads))
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                if not isinstance(job, LoadJob) and (
                    job.key != self._key or self._renderer is None
                ):
                    if isinstance(job, InvertJob):  # the window waits for an answer
                        gone = "the model changed before the inversion started"
                        self.inversionDone.emit(InvertResult(job.token, None, 0.0, gone))
                    elif isinstance(job, StepsJob):  # so does an export
                        gone = "the model changed before the frames were rendered"
                        self.stepsRendered.emit(StepsResult(job.key, job.token, 0, None, gone))
                    continue  # made for a model that is gone
                self.busyChanged.emit(True)
                try:
                    with self.turns.render(self._device()):
                        self._run_job(job)
                finally:
                    self.busyChanged.emit(False)
            finally:
                with self._cond:
                    self._running = False

    def _run_job(self, job) -> None:
        if isinstance(job, LoadJob):
            self._load(job)
        elif isinstance(job, FrameJob):
            self._frame(job)
        elif isinstance(job, InvertJob):
            self.inversionDone.emit(self._invert(job))
        elif isinstance(job, HeatJob):
            self.heatReady.emit(self._heat(job))
        elif isinstance(job, ConceptJob):
            self.conceptRanked.emit(self._rank(job))
        elif isinstance(job, ClassifyJob):
            self.classified.emit(self.classifier.classify(job, self._bundle, self._device()))
        elif isinstance(job, StepsJob):
            self.stepsRendered.emit(run_steps(job, self._renderer))
        elif isinstance(job, ThumbJob):
            self._thumb(job)

    def _thumb(self, job: ThumbJob) -> None:
        if job.snapshot is None and self._renderer.picture is not None:
            # asked for before a picture came in (a restore, a project): drawn now it would be
            # the picture's latent, not the seed's scene; the strip asks again once it closes
            return
        try:
            if job.snapshot is not None:
                # another seed: render in full and keep the canvas's incremental frame
                image = self._renderer.render(job.snapshot, incremental=False).image
            else:
                image = self._renderer.render_full(job.seed)
        except Exception:  # noqa: BLE001 - a missing thumbnail is not worth a message
            image = None
        self.thumbnailReady.emit(ThumbResult(job.key, job.seed, image))

    def _frame(self, job: FrameJob) -> None:
        if job.kind == "plain":  # a one-off frame: the incremental one stays as it is
            snap = job.snapshot.plain()
            result = self._plain(snap)
        else:
            snap = job.snapshot
            self._renderer.set_zeroed(dict(job.zeroed))
            render = self._renderer.render
            result = render(snap, incremental=False) if job.full else render(snap)
        if job.kind == "frame":
            self.rendered_revisions.append(snap.revision)
            with self._cond:
                self.counts.rendered += 1
        self.frameRendered.emit(FrameResult(job.key, job.kind, result))

    def _load(self, job: LoadJob) -> None:
        try:
            bundle, renderer, device = self.loader(job)
        except Exception as exc:  # noqa: BLE001 - reported to the user; the old model stays
            message = str(exc).strip() or type(exc).__name__
            self.modelLoaded.emit(ModelResult(job.key, None, "", message, path=job.path))
            return
        import torch

        self.torch_threads = torch.get_num_threads()
        old = self._renderer
        if bundle is not self._bundle:
            self._thresholds.clear()
        self._renderer, self._bundle, self._key = renderer, bundle, job.key
        if old is not None and old is not renderer:
            old.clear_cache()
        reused, where = job.bundle is not None, str(self._device())
        self.modelLoaded.emit(
            ModelResult(job.key, bundle, device, None, reused, _devices(), job.path, where)
        )

    def _device(self):
        return getattr(self._renderer, "device", "cpu")

    def _plain(self, snap):
        """The unedited frame; with units zeroed, of the original network."""
        if not self._renderer.zeroed:
            return self._renderer.render(snap, incremental=False)
        from ganpaint.engine.renderer import RenderResult

        start = time.perf_counter()
        try:
            image = self._renderer.render_full(snap.seed, original=True)
            return RenderResult(snap.revision, snap.seed, image, _ms(start))
        except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
            return RenderResult(snap.revision, snap.seed, None, _ms(start), str(exc))

    def _invert(self, job: InvertJob) -> InvertResult:
        return run_inversion(job, self._bundle, self._renderer.device, self.inversionProgress.emit)

    def _heat(self, job: HeatJob) -> HeatResult:
        try:
            h = self._renderer.features(job.seed, job.layer, job.original)[0, job.unit]
            heat = h.float().cpu().numpy().copy()
            level = float(self._renderer.levels(job.layer).at(0.99)[job.unit])
            return HeatResult(job.key, job.seed, job.layer, job.unit, heat, level,
                              original=job.original)  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            return HeatResult(job.key, job.seed, job.layer, job.unit, None, 0.0, str(exc))

    def _rank(self, job: ConceptJob) -> ConceptResult:
        """``find_concept`` on the loaded bundle; each layer's unit thresholds are worked out
        once (estimating them takes a hundred samples on a model with no dissection)."""
        start = time.perf_counter()
        try:
            from ganpaint.dissect.custom import find_concept, unit_thresholds

            b = self._bundle
            if job.layer not in self._thresholds:
                self._thresholds[job.layer] = unit_thresholds(b, job.layer)
            ranked = find_concept(
                b,
                DRAFT_NAME,
                job.seeds,
                job.masks,
                job.layer,
                thresholds=self._thresholds[job.layer],
            )
            return ConceptResult(job.key, job.token, ranked, _ms(start))
        except Exception as exc:  # noqa: BLE001 - shown in the dialog
            message = str(exc).strip() or type(exc).__name__
            return ConceptResult(job.key, job.token, None, _ms(start), message)


# the jobs with a slot of their own (frames and thumbnails have their own rules in submit)
SLOT_OF = {
    LoadJob: "load",
    InvertJob: "invert",
    HeatJob: "heat",
    ConceptJob: "concept",
    ClassifyJob: "classify",
    StepsJob: "steps",
}
READ_EVERY_S = 0.5  # at most one classifier reading this often goes ahead of frames
SLOT_ORDER = ("load", "frame", "plain", "invert", "heat", "concept", "classify", "steps")
DRAFT_NAME = "draft"  # the dialog names the concept when it saves it


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
