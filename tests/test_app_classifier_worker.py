"""The classifier's jobs: on the render worker a reading comes back as a result, after the
frames and only for the newest frame rendered, and a model without a classifier gives a
message; on the attack worker an attack reports progress, can be cancelled or superseded,
never kills the thread, and frames keep rendering while it runs."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
import torch

from ganpaint.app.views.attack_worker import AttackWorker
from ganpaint.app.views.classifier_jobs import NO_CLASSIFIER, AttackJob, ClassifyJob
from ganpaint.app.views.worker import FrameJob, LoadJob, RenderWorker
from tests.test_app_worker import FakeRenderer, snap
from tests.tiny_classifier import PooledClassifier


class FakeBundle:
    """A bundle with a classifier (or none) and no classifier dissection."""

    def __init__(self, classifier=None):
        self.classifier = classifier
        self.loads = 0

    def load_classifier(self):
        self.loads += 1
        return self.classifier

    def classifier_dissection(self):
        return None


def picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def start_worker(qtbot, bundle):
    w = RenderWorker()
    renderer = FakeRenderer()
    w.loader = lambda job: (bundle, renderer, "fake")
    w.start()
    with qtbot.waitSignal(w.modelLoaded):
        w.submit(LoadJob(1, "x", None))
    return w, renderer


@pytest.fixture
def model():
    torch.manual_seed(0)
    return PooledClassifier()


@pytest.fixture
def worker(qtbot, model):

    bundle = FakeBundle(model)
    w, renderer = start_worker(qtbot, bundle)
    yield w, renderer, bundle
    renderer.gate.set()
    w.stop()


def test_a_reading_is_a_result_and_the_classifier_loads_once(worker, qtbot):
    w, r, bundle = worker
    r.gate.set()
    for rev in (1, 2):
        with qtbot.waitSignal(w.classified, timeout=5000) as sig:
            w.submit(ClassifyJob(1, picture(rev), rev, token=4))
        res = sig.args[0]
        assert res.error is None and res.revision == rev and res.token == 4
        assert res.reading.classes == PooledClassifier.classes
        assert np.isclose(res.reading.probs.sum(), 1.0, atol=1e-5)
        assert "unlabelled" in res.note  # no dissection in this bundle
    assert bundle.loads == 1


def test_frames_go_first_and_a_reading_of_an_older_frame_is_skipped(worker, qtbot):
    w, r, _ = worker
    w.read_every_s = 1e9  # no reading is ever overdue here
    w.submit(FrameJob(1, snap(1)))
    assert r.started.wait(5)  # frame 1 is rendering; the reading of frame 0 waits
    w.submit(ClassifyJob(1, picture(), 0))
    w.submit(FrameJob(1, snap(2)))
    seen = []
    w.classified.connect(lambda res: seen.append(res.revision))
    with qtbot.waitSignals([w.frameRendered, w.frameRendered], timeout=5000):
        r.gate.set()
    qtbot.waitUntil(w.is_idle, timeout=5000)
    assert r.calls == [1, 2] and seen == [] and w.skipped_readings == 1
    with qtbot.waitSignal(w.classified, timeout=5000):
        w.submit(ClassifyJob(1, picture(), 2))
    assert seen == [2]
    # the unedited frame (compare) is read whatever its revision
    with qtbot.waitSignal(w.classified, timeout=5000):
        w.submit(ClassifyJob(1, picture(), 0, kind="plain"))
    assert seen == [2, 0]


def test_a_model_without_a_classifier_says_so(qtbot):
    for bundle in (FakeBundle(None), object()):
        w, r = start_worker(qtbot, bundle)
        r.gate.set()
        try:
            with qtbot.waitSignal(w.classified, timeout=5000) as sig:
                w.submit(ClassifyJob(1, picture(), 1))
            assert sig.args[0].reading is None and sig.args[0].error == NO_CLASSIFIER
        finally:
            w.stop()


@pytest.fixture
def attacker(model):
    """An attack worker with quick settings for the tiny model, and a job maker."""
    from ganpaint.classify.attack import AttackSettings

    bundle = FakeBundle(model)
    a = AttackWorker()
    a.runner.attack_settings = AttackSettings(steps=16, refine=4)

    def job(token, target=2, seed=0):
        return AttackJob(1, token, picture(seed), target, bundle=bundle, device="cpu")

    yield a, job
    a.stop()


@pytest.fixture
def slowed(monkeypatch):
    """Attacks wait at their start until ``gate`` is set (``started`` says one is waiting):
    a slowed attack, so a test need not race a real one."""
    import ganpaint.classify.attack as attack_module

    real = attack_module.attack_image
    started, gate = threading.Event(), threading.Event()

    def attack_image(*args, **kwargs):
        started.set()
        assert gate.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(attack_module, "attack_image", attack_image)
    yield started, gate
    gate.set()


def test_an_attack_reports_progress_and_its_result(attacker, qtbot):
    a, job = attacker
    steps = []
    a.attackProgress.connect(lambda p: steps.append((p.token, p.done, p.total)))
    with qtbot.waitSignal(a.attackDone, timeout=20_000) as sig:
        a.submit(job(7))
    done = sig.args[0]
    assert done.error is None and not done.cancelled and done.token == 7
    assert done.result.target == 2 and done.result.adversarial.shape == (32, 32, 3)
    assert steps and steps[-1][1] == steps[-1][2] and all(t == 7 for t, _, _ in steps)
    dones = [d for _, d, _ in steps]
    assert dones == sorted(dones)
    # its own torch thread count, and below the renders in priority where the OS allows
    assert a.torch_threads == 1 and a.niced == sys.platform.startswith("linux")
    qtbot.waitUntil(a.is_idle, timeout=5000)


def test_a_cancelled_attack_stops_and_the_worker_goes_on(attacker, qtbot):
    a, job = attacker

    def cancel_at_first_progress(p):
        a.cancel(p.token)

    a.attackProgress.connect(cancel_at_first_progress)
    with qtbot.waitSignal(a.attackDone, timeout=20_000) as sig:
        a.submit(job(3, 1))
    assert sig.args[0].cancelled and sig.args[0].result is None
    a.attackProgress.disconnect(cancel_at_first_progress)
    with qtbot.waitSignal(a.attackDone, timeout=20_000) as sig:  # a new request runs in full
        a.submit(job(4, 1))
    assert not sig.args[0].cancelled and sig.args[0].result is not None


def test_a_new_attack_supersedes_the_running_one(attacker, slowed, qtbot):
    a, job = attacker
    started, gate = slowed
    done = []
    a.attackDone.connect(done.append)
    a.submit(job(1, 1))
    assert started.wait(10)  # attack 1 runs (held at its start)
    a.submit(job(2, 2, seed=1))
    a.submit(job(3, 3, seed=2))  # 2 never starts: 3 replaces it in the slot
    gate.set()
    qtbot.waitUntil(lambda: len(done) == 2, timeout=20_000)
    assert [(d.token, d.cancelled) for d in done] == [(1, True), (3, False)]
    assert done[1].result.target == 3 and np.array_equal(done[1].image, picture(2))


def test_frames_render_while_an_attack_runs(worker, attacker, slowed, qtbot):
    """The render worker serves a frame while an attack is in the middle of running."""
    w, r, _ = worker
    a, job = attacker
    started, gate = slowed
    r.gate.set()
    finished = []
    a.attackDone.connect(finished.append)
    a.submit(job(5))
    assert started.wait(10)
    with qtbot.waitSignal(w.frameRendered, timeout=5000) as sig:
        w.submit(FrameJob(1, snap(3)))
    assert sig.args[0].result.revision == 3 and finished == [] and not a.is_idle()
    gate.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=20_000)
    assert finished[0].result is not None


def test_stop_cancels_a_long_attack(attacker, qtbot):
    """Closing the window stops the thread at once, even mid-way through a long attack."""
    from ganpaint.classify.attack import AttackSettings

    a, job = attacker
    a.runner.attack_settings = AttackSettings(steps=1_000_000, refine=1_000_000)
    progress = []
    a.attackProgress.connect(progress.append)
    a.submit(job(1))
    qtbot.waitUntil(lambda: bool(progress), timeout=10_000)  # it is running
    assert a.stop(timeout_ms=5000) and a.isFinished()


def test_a_bad_target_is_a_message(attacker, qtbot):
    a, job = attacker
    with qtbot.waitSignal(a.attackDone, timeout=5000) as sig:
        a.submit(job(1, 9))
    assert "target class 9" in sig.args[0].error


def test_an_overdue_reading_goes_ahead_of_the_next_frame(worker, qtbot):
    w, r, _ = worker
    order = []
    w.classified.connect(lambda res: order.append(("read", res.revision)))
    w.frameRendered.connect(lambda fr: order.append(("frame", fr.result.revision)))
    w.submit(FrameJob(1, snap(1)))
    assert r.started.wait(5)  # frame 1 renders; then a reading of it and frame 2 wait
    w.submit(ClassifyJob(1, picture(), 1))
    w.submit(FrameJob(1, snap(2)))
    w.read_every_s = 0.0  # overdue: the reading goes before frame 2
    with qtbot.waitSignals([w.frameRendered, w.classified, w.frameRendered], timeout=5000):
        r.gate.set()
    assert order == [("frame", 1), ("read", 1), ("frame", 2)]


def test_off_the_cpu_renders_and_the_attack_take_turns():
    """On an accelerator a render job waits for the attack's current pass only, and the
    attack waits while renders are waiting; on the CPU nothing waits."""
    from ganpaint.app.views.device_turns import DeviceTurns

    turns = DeviceTurns()
    with turns.attack("cpu"), turns.render("cpu"):
        assert turns.holder is None  # the CPU: side by side
    order = []
    in_render = threading.Event()
    with turns.attack("cuda:0"):
        assert turns.holder == "attack"

        def render():
            with turns.render("cuda"):
                in_render.set()
                order.append("render")

        t = threading.Thread(target=render)
        t.start()
        deadline = time.monotonic() + 10
        while turns.renders_waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert turns.renders_waiting == 1 and not in_render.is_set()  # the render waits
        order.append("pass 1")
        turns.pause("cuda:0")  # between passes: the waiting render goes first
        assert in_render.is_set() and turns.holder == "attack"
        order.append("pass 2")
        t.join(5)
    assert order == ["pass 1", "render", "pass 2"] and turns.holder is None
    turns.pause("cuda")  # nobody waiting: goes straight on
