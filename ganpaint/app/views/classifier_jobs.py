"""The scene classifier's jobs: reading a frame (on the render worker) and attacking it (on
the attack worker, :mod:`~ganpaint.app.views.attack_worker`).

:class:`ClassifyJob` asks for a :class:`~ganpaint.classify.explain.FrameReading` of a
rendered frame (the edited one, or the unedited one for compare); the render worker keeps one
slot for it (latest wins) and skips a reading of an edited frame older than the newest frame
rendered, since a newer reading is about to be asked for. :class:`AttackJob` runs
:func:`~ganpaint.classify.attack.attack_image` towards a class the user chose, on a frame it
names (:class:`AttackSource`), and stops at the next forward pass once its ``cancel`` event
is set. :class:`ClassifierRunner` lives on the thread that runs the jobs: it loads the
bundle's classifier (and its dissection, for the unit labels) the first time a job needs it,
so a model whose panel stays hidden never pays for it, and turns every failure into a result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NO_CLASSIFIER = "This model has no scene classifier (classifier.safetensors in its bundle)."
CANNOT_USE = "The scene classifier cannot be used: "  # then why (its file named)


@dataclass(frozen=True, eq=False)
class ClassifyJob:
    key: int
    image: np.ndarray  # uint8 (H, W, 3): the frame as shown
    revision: int  # of the document the frame was rendered from
    kind: str = "frame"  # "frame" (edited) or "plain" (unedited, for compare)
    token: int = -1  # the asker's name for the picture (the GUI: frame counter or seed)


@dataclass(frozen=True)
class ClassifyResult:
    key: int
    kind: str
    revision: int
    token: int
    image: np.ndarray  # the picture read
    reading: Any  # FrameReading, or None on failure
    error: str | None = None
    note: str | None = None  # e.g. the dissection could not be read: no labels


@dataclass(frozen=True)
class AttackSource:
    """Which picture an attack took: the document's revision and the window's frame number
    when it was on screen (a result says so, and whether the screen has moved on since)."""

    revision: int = -1
    frame: int = -1  # the window's count of frames shown (a seed for the compare picture)
    kind: str = "frame"  # "frame" (edited) or "plain" (unedited, while compare was held)


@dataclass(frozen=True, eq=False)
class AttackJob:
    key: int
    token: int  # the request it answers; a cancelled or replaced request is ignored
    image: np.ndarray  # uint8 (H, W, 3)
    target: int
    source: AttackSource = field(default_factory=AttackSource)
    bundle: Any = None  # the model bundle whose classifier attacks (the open one)
    device: str = "cpu"  # where the render worker put the model
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class AttackProgress:
    key: int
    token: int
    done: int
    total: int


@dataclass(frozen=True)
class AttackDone:
    key: int
    token: int
    source: AttackSource
    image: np.ndarray
    result: Any  # ganpaint.classify.attack.AttackResult, or None
    labels: dict  # unit -> UnitLabel of the attacked layer's labelled units
    ranked: dict  # class index -> its most important units (from the dissection), best first
    ms: float
    error: str | None = None
    cancelled: bool = False


class AttackCancelled(Exception):
    """Raised inside the classifier's forward pass to stop an attack the user cancelled."""


class ClassifierRunner:
    """The loaded bundle's classifier on one thread (loaded on first use). With ``own_copy``
    it works on a copy of the module the bundle gives: the attack's hooks then never touch
    a classifier another thread reads with."""

    def __init__(self, own_copy: bool = False) -> None:
        self._bundle: Any = None
        self._device: Any = None
        self._classifier: Any = None
        self._dissection: Any = None
        self._error: str | None = None
        self.note: str | None = None
        self.own_copy = own_copy
        self.attack_settings: Any = None  # an AttackSettings; None: the attack's defaults

    def _load(self, bundle: Any, device: Any) -> tuple[Any, Any]:
        if bundle is not self._bundle or str(device) != str(self._device):
            # another model, or the same one moved to another device (Device menu)
            self._bundle, self._device = bundle, device
            self._classifier, self._dissection = None, None
            self._error = self.note = None
            try:
                self._classifier, self._dissection = _open(bundle, device, self.own_copy)
            except Exception as exc:  # noqa: BLE001 - shown in the panel, the app goes on
                message = str(exc).strip() or type(exc).__name__
                self._error = message if message == NO_CLASSIFIER else CANNOT_USE + message
            else:
                self.note = _dissection_note(bundle, self._dissection)
        if self._classifier is None:
            raise RuntimeError(self._error or NO_CLASSIFIER)
        return self._classifier, self._dissection

    def classify(self, job: ClassifyJob, bundle: Any, device: Any) -> ClassifyResult:
        from ganpaint.classify.explain import read_frame

        try:
            classifier, dissection = self._load(bundle, device)
            reading = read_frame(classifier, job.image, dissection)
        except Exception as exc:  # noqa: BLE001 - a result, never a dead worker
            message = str(exc).strip() or type(exc).__name__
            return _result(job, None, error=message)
        return _result(job, reading, note=self.note)

    def attack(
        self,
        job: AttackJob,
        bundle: Any,
        device: Any,
        progress: Callable[[AttackProgress], None],
        between: Callable[[], None] | None = None,
    ) -> AttackDone:
        """Run ``job``; ``between()`` is called before each of the classifier's forward
        passes (the attack worker lets waiting renders use the device there)."""
        from ganpaint.classify.attack import AttackSettings, attack_image
        from ganpaint.classify.explain import unit_labels

        start = time.perf_counter()
        labels: dict = {}
        ranked: dict = {}
        try:
            classifier, dissection = self._load(bundle, device)
            layer = classifier.unit_layers[-1]
            labels = dict(unit_labels(dissection, layer))
            ranked = class_rankings(dissection)
            settings = self.attack_settings or AttackSettings()
            total = settings.steps + 2  # at most the attack's steps, then two passes to read
            with _forward_counter(classifier, job, total, progress, between):
                result = attack_image(classifier, job.image, job.target, settings=settings)
            # the attack stops early once its refine steps are done: the bar ends full
            progress(AttackProgress(job.key, job.token, total, total))
        except AttackCancelled:
            return _done(job, None, labels, ranked, start, cancelled=True)
        except Exception as exc:  # noqa: BLE001 - shown in the attack window
            return _done(job, None, labels, ranked, start, str(exc).strip() or type(exc).__name__)
        return _done(job, result, labels, ranked, start)


def _done(job: AttackJob, result: Any, labels: dict, ranked: dict, start: float, error=None,
          cancelled: bool = False) -> AttackDone:  # fmt: skip
    return AttackDone(job.key, job.token, job.source, job.image, result, labels, ranked,
                      _ms(start), error, cancelled)  # fmt: skip


def _result(job: ClassifyJob, reading: Any, **kw) -> ClassifyResult:
    return ClassifyResult(job.key, job.kind, job.revision, job.token, job.image, reading, **kw)


def _open(bundle: Any, device: Any, own_copy: bool = False) -> tuple[Any, Any]:
    load = getattr(bundle, "load_classifier", None)
    classifier = load() if load is not None else None
    if classifier is None:
        raise RuntimeError(NO_CLASSIFIER)
    if own_copy:
        import copy

        classifier = copy.deepcopy(classifier)
    classifier = classifier.to(device).eval()
    try:
        dissection = bundle.classifier_dissection()
        stale = getattr(bundle, "classifier_stale", lambda: ())()
    except Exception:  # noqa: BLE001 - the panel says the labels are missing and why
        dissection, stale = _Unreadable(), ()
    if dissection is not None and {"dissection", "ablation"} & set(stale):
        dissection = _Stale()
    return classifier, dissection


class _Unreadable:
    """Stands for a classifier dissection that exists but could not be read."""


class _Stale:
    """Stands for a classifier dissection measured on an earlier classifier: its labels and
    rankings are not this classifier's."""


def _dissection_note(bundle: Any, dissection: Any) -> str | None:
    if isinstance(dissection, _Unreadable):
        return "The classifier's dissection could not be read: units are shown unlabelled."
    if isinstance(dissection, _Stale):
        return (
            "The classifier's dissection was measured on an earlier classifier: units are "
            "shown unlabelled (run `ganpaint classifier dissect` and `ablate` again)."
        )
    if dissection is None:
        return "No classifier dissection in this bundle: units are shown unlabelled."
    return None


def class_rankings(dissection: Any) -> dict[int, tuple[int, ...]]:
    """class index -> its most important last-layer units, best first, from the ablation
    in the classifier dissection (empty without one)."""
    rankings = getattr(dissection, "class_rankings", None)
    if rankings is None:
        return {}
    names = list(dissection.classes)
    return {names.index(c): tuple(u) for c, u in rankings().items() if c in names}


class _forward_counter:
    """Counts the classifier's forward passes during an attack as progress; raises
    :class:`AttackCancelled` inside the next pass once the job's ``cancel`` is set."""

    def __init__(self, classifier, job: AttackJob, total: int, progress, between=None) -> None:
        self.classifier, self.job, self.total = classifier, job, total
        self.cancel, self.progress, self.done = job.cancel, progress, 0
        self.between = between
        self._handle = None

    def _hook(self, module, inputs) -> None:
        if self.cancel.is_set():
            raise AttackCancelled
        if self.between is not None:
            self.between()
        self.done += 1
        # every fourth pass is enough for a smooth bar, and keeps the signal traffic low
        if self.done % 4 == 0 or self.done >= self.total:
            done = min(self.done, self.total)
            self.progress(AttackProgress(self.job.key, self.job.token, done, self.total))

    def __enter__(self) -> _forward_counter:
        self._handle = self.classifier.register_forward_pre_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
