"""The render worker on its own: one pending slot (latest wins), errors as results,
stale model keys dropped, and a clean stop while a job runs."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ganpaint.app.views.worker import FrameJob, LoadJob, RenderWorker, ThumbJob
from ganpaint.engine.document import DocumentSnapshot
from ganpaint.engine.renderer import RenderResult


class FakeRenderer:
    def __init__(self):
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls: list[int] = []
        self.zeroed: tuple = ()
        self.picture = None  # the scenes, not a picture (``Renderer.picture``)

    def set_zeroed(self, units) -> None:
        self.zeroed = tuple(sorted((k, tuple(v)) for k, v in (units or {}).items()))

    def render(self, snap: DocumentSnapshot, incremental=None, raw=False) -> RenderResult:
        self.started.set()
        self.gate.wait(10)
        self.calls.append(snap.revision)
        return RenderResult(snap.revision, snap.seed, np.zeros((4, 4, 3), np.uint8), 1.0)

    def render_full(self, seed: int) -> np.ndarray:
        return np.zeros((4, 4, 3), np.uint8)

    def clear_cache(self) -> None:
        pass


def snap(revision: int) -> DocumentSnapshot:
    return DocumentSnapshot(revision, "m", "layer4", 0, ())


@pytest.fixture
def worker(qtbot):
    w = RenderWorker()
    renderer = FakeRenderer()
    w.loader = lambda job: (object(), renderer, "fake")
    w.start()
    with qtbot.waitSignal(w.modelLoaded):
        w.submit(LoadJob(1, "x", None))
    yield w, renderer
    renderer.gate.set()
    w.stop()


def test_latest_request_wins(worker, qtbot):
    w, r = worker
    w.submit(FrameJob(1, snap(1)))
    assert r.started.wait(5)
    for rev in (2, 3, 4, 5):  # the worker is busy with 1; each replaces the last
        w.submit(FrameJob(1, snap(rev)))
    with qtbot.waitSignals([w.frameRendered, w.frameRendered], timeout=5000):
        r.gate.set()
    assert r.calls == [1, 5] and list(w.rendered_revisions) == [1, 5]


def test_jobs_for_an_old_model_are_dropped(worker, qtbot):
    w, r = worker
    r.gate.set()
    w.submit(FrameJob(0, snap(1)))  # key 0 is not the loaded model
    with qtbot.waitSignal(w.thumbnailReady, timeout=5000):
        w.submit(ThumbJob(1, 3))
    assert r.calls == []


def test_a_stroke_by_stroke_export_for_an_old_model_is_answered(worker, qtbot):
    from ganpaint.app.views.steps_jobs import StepsJob

    w, r = worker
    r.gate.set()
    with qtbot.waitSignal(w.stepsRendered, timeout=5000) as blocker:
        w.submit(StepsJob(0, 7, snap(1), 0))  # the window waits for its frames: it is told
    result = blocker.args[0]
    assert result.token == 7 and result.image is None and "model changed" in result.error
    assert r.calls == []


def test_a_stroke_by_stroke_frame_waits_for_the_brushs_frames(worker, qtbot):
    from ganpaint.app.views.steps_jobs import StepsJob

    w, r = worker
    w.submit(FrameJob(1, snap(1)))
    assert r.started.wait(5)  # rendering, held at the gate
    w.submit(StepsJob(1, 7, snap(2), 0))  # an export's frame, then the brush moves on
    w.submit(FrameJob(1, snap(3)))
    with qtbot.waitSignal(w.stepsRendered, timeout=5000) as blocker:
        r.gate.set()
    assert r.calls == [1, 3, 2] and blocker.args[0].image is not None


def test_load_failure_is_a_result_and_keeps_the_model(worker, qtbot):
    w, r = worker
    r.gate.set()

    def fail(job):
        raise ValueError("not a generator")

    w.loader = fail
    with qtbot.waitSignal(w.modelLoaded) as blocker:
        w.submit(LoadJob(2, "bad", None))
    assert blocker.args[0].error == "not a generator" and blocker.args[0].bundle is None
    with qtbot.waitSignal(w.frameRendered):
        w.submit(FrameJob(1, snap(9)))  # the old key still renders


def test_stop_while_rendering(worker, qtbot):
    w, r = worker
    w.submit(FrameJob(1, snap(1)))
    assert r.started.wait(5)
    threading.Timer(0.2, r.gate.set).start()
    assert w.stop(10_000)
    assert w.isFinished()


def test_thumbnails_wait_while_a_stroke_is_drawn(worker, qtbot):
    """A thumbnail takes several frames' time; started between two frames of a drag it would
    hold the brush back, so thumbnails wait until a frame that is not live arrives."""
    w, r = worker
    r.gate.set()
    thumbs: list = []
    w.thumbnailReady.connect(thumbs.append)
    with qtbot.waitSignal(w.frameRendered):
        w.submit(FrameJob(1, snap(1), live=True))
    w.submit(ThumbJob(1, 7))
    qtbot.wait(200)
    assert thumbs == [] and len(w._slots.thumbs) == 1  # held, not dropped
    with qtbot.waitSignal(w.frameRendered):
        w.submit(FrameJob(1, snap(2), live=True))  # frames of the stroke still go ahead
    assert thumbs == []
    w.submit(FrameJob(1, snap(3)))  # the stroke ended
    qtbot.waitUntil(lambda: len(thumbs) == 1, timeout=5_000)
    assert thumbs[0].seed == 7


def test_a_scene_thumbnail_is_not_drawn_from_a_picture(worker, qtbot):
    """A thumbnail asked for before a picture came in (a restore, a project) would be the
    picture's latent drawn under a scene's seed: the worker drops it while the renderer draws
    a picture (the strip asks again once the picture closes)."""
    w, r = worker
    r.gate.set()
    thumbs: list = []
    w.thumbnailReady.connect(thumbs.append)
    r.picture = object()
    w.submit(ThumbJob(1, 7))
    with qtbot.waitSignal(w.frameRendered):
        w.submit(FrameJob(1, snap(1)))
    qtbot.waitUntil(w.is_idle, timeout=5_000)  # the thumbnail had its turn, before or after
    assert thumbs == []
    r.picture = None  # the picture closed: the seed's scene again
    with qtbot.waitSignal(w.thumbnailReady, timeout=5_000):
        w.submit(ThumbJob(1, 7))
    assert [t.seed for t in thumbs] == [7]
