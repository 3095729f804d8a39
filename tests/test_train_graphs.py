"""The ``graphs`` speed option (ganpaint.train.graphs) with a stand-in for CUDA graphs that
replays by calling the recorded step again: the warm-up, the capture, the checks against
eager steps and the resets run on a CPU; the recording itself needs CUDA."""

from __future__ import annotations

import pytest
import torch

from ganpaint.train import graphs
from ganpaint.train.graphs import StepGraph
from tests.test_train_speed import _trainer as speed_trainer


class Recording:
    """Replays by running the recorded step on the buffers it was given, into one dict."""

    def __init__(self, body, broken: bool = False):
        self.body, self.broken, self.out = body, broken, {}

    def replay(self) -> None:
        if not self.broken:  # a broken graph: its kernels never run
            self.out.clear()
            self.out.update(self.body())


class StandIn:
    """A backend that records nothing at capture (as CUDA does) and counts its calls."""

    def __init__(self, broken: bool = False):
        self.broken, self.warmed, self.captured = broken, 0, 0

    def warm(self, body):
        self.warmed += 1
        return body()

    def capture(self, body):
        self.captured += 1
        rec = Recording(body, self.broken)
        return rec, rec.out


def _trainer(tmp_path, name, backend=None, **changes):
    """test_train_speed's micro trainer, R1 every 4 steps (3 plain steps in 4)."""
    t = speed_trainer(tmp_path, name, r1_every=4, max_steps=40, **changes)
    if backend is not None:
        t.graphs = StepGraph(t, backend)
    return t


def _same_weights(a, b) -> None:
    for name in ("G", "G_ema", "D"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        for k in sa:
            assert torch.allclose(sa[k], sb[k], rtol=1e-5, atol=1e-6), f"{name}.{k}"


# with the high-pass head: its spectral norms' vectors are state a check must restore too
RECIPES = [{}, {"d_highpass": 0.25}]


@pytest.mark.parametrize("recipe", RECIPES)
def test_graphed_steps_train_the_same_weights_as_eager_ones(tmp_path, recipe):
    plain = _trainer(tmp_path, "plain", **recipe)
    eager = [plain.train_step() for _ in range(16)]
    backend = StandIn()
    fast = _trainer(tmp_path, "fast", backend, **recipe)
    assert fast.speed_options == "graphs"
    graphed = [{k: v.clone() for k, v in fast.train_step().items()} for _ in range(16)]
    # 16 steps, R1 on 0, 4, 8, 12: 12 plain ones, 3 warm-up, one capture and 2 checked
    # steps (the capture's and the next), then 7 replays
    assert backend.warmed == graphs.WARMUP_STEPS and backend.captured == 1
    assert fast.graphs.replays == 12 - graphs.WARMUP_STEPS - graphs.CHECKS == 7
    assert fast.graphs.active and fast.step == 16 and fast.images_seen == plain.images_seen
    for a, b in zip(eager, graphed, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6), k
    _same_weights(plain, fast)


def test_steps_with_r1_or_a_still_generator_stay_eager(tmp_path):
    t = _trainer(tmp_path, "t", StandIn())
    assert not t.graphs.takes(r1=True, train_g=True)
    assert not t.graphs.takes(r1=False, train_g=False)  # a warm start's D warm-up
    assert t.graphs.takes(r1=False, train_g=True)
    t.g_frozen_until = 8
    for _ in range(8):
        t.train_step()
    assert t.graphs.backend.warmed == 0  # none of the first 8 was a plain step


@pytest.mark.parametrize("recipe", RECIPES)
def test_a_graph_that_does_not_match_eager_steps_is_dropped(tmp_path, recipe):
    plain = _trainer(tmp_path, "plain", **recipe)
    for _ in range(16):
        plain.train_step()
    bad = _trainer(tmp_path, "bad", StandIn(broken=True), **recipe)
    logged = []
    bad.log = logged.append
    for _ in range(16):
        bad.train_step()
    assert not bad.graphs.active and bad.graphs.replays == 0
    assert "differed from the eager step's by 1 of the update" in bad.graphs.disabled
    assert bad.events == [f"step 5: CUDA graphs turned off, {bad.graphs.disabled}; "
                          "the run goes on eagerly"]  # fmt: skip
    assert logged and "WARNING" in logged[0]
    assert bad.speed_options == "base"
    _same_weights(plain, bad)  # the eager result stood at the check, and after it


def test_restoring_a_snapshot_records_again(tmp_path):
    backend = StandIn()
    t = _trainer(tmp_path, "t", backend)
    t.take_snapshot()
    for _ in range(12):
        t.train_step()
    assert backend.captured == 1 and t.graphs.replays > 0
    t.recover("a test")  # new optimiser state: the recorded steps would read the old one
    for _ in range(12):
        t.train_step()
    assert backend.warmed == 2 * graphs.WARMUP_STEPS and backend.captured == 2


def test_graphs_are_asked_for_on_cuda_only(tmp_path):
    t = _trainer(tmp_path, "t", graphs=True)
    assert t.graphs is None and t.speed_options == "base"  # this CPU: eager, as asked of it


class FailingCapture(StandIn):
    def capture(self, body):
        raise RuntimeError("operation not permitted when stream is capturing")


def test_a_capture_that_fails_leaves_the_run_eager(tmp_path):
    plain = _trainer(tmp_path, "plain")
    for _ in range(12):
        plain.train_step()
    t = _trainer(tmp_path, "t", FailingCapture())
    for _ in range(12):
        t.train_step()
    assert not t.graphs.active and "RuntimeError: operation not permitted" in t.graphs.disabled
    assert all(p.requires_grad for p in t.D.parameters())
    _same_weights(plain, t)
