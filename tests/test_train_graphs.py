"""The ``graphs`` speed option (ganpaint.train.graphs) with a stand-in for CUDA graphs that
replays by calling the recorded step again: the warm-up, the capture, the checks against
eager steps and the resets run on a CPU; the recording itself needs CUDA."""

from __future__ import annotations

import pytest
import torch

from ganpaint.train import graphs
from ganpaint.train.graphs import StepGraphs
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
        t.graphs = StepGraphs(t, backend)
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
    eager = [plain.train_step() for _ in range(28)]
    backend = StandIn()
    fast = _trainer(tmp_path, "fast", backend, **recipe)
    assert fast.speed_options == "graphs"
    graphed = [{k: v.clone() for k, v in fast.train_step().items()} for _ in range(28)]
    # 28 steps, R1 on 0, 4, ..., 24. Each kind: 3 warm-up steps, one capture, 2 checked
    # steps (the capture's and the next), then replays: 21 - 5 = 16 plain, 7 - 5 = 2 R1
    assert backend.warmed == 2 * graphs.WARMUP_STEPS and backend.captured == 2
    assert fast.graphs.plain.replays == 21 - graphs.WARMUP_STEPS - graphs.CHECKS == 16
    assert fast.graphs.with_r1.replays == 2 and fast.graphs.replays == 18
    assert fast.graphs.active and fast.graphs.with_r1.active
    assert fast.step == 28 and fast.images_seen == plain.images_seen
    for a, b in zip(eager, graphed, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6), k
    _same_weights(plain, fast)


def test_steps_of_a_still_generator_stay_eager(tmp_path):
    t = _trainer(tmp_path, "t", StandIn())
    assert t.graphs.takes(r1=True, train_g=True) and t.graphs.takes(r1=False, train_g=True)
    assert not t.graphs.takes(r1=False, train_g=False)  # a warm start's D warm-up
    assert not t.graphs.takes(r1=True, train_g=False)
    t.g_frozen_until = 8
    for _ in range(8):
        t.train_step()
    assert t.graphs.backend.warmed == 0
    t.train_step()
    assert t.graphs.backend.warmed == 1


@pytest.mark.parametrize("recipe", RECIPES)
def test_a_graph_that_does_not_match_eager_steps_is_dropped(tmp_path, recipe):
    plain = _trainer(tmp_path, "plain", **recipe)
    for _ in range(28):
        plain.train_step()
    bad = _trainer(tmp_path, "bad", StandIn(broken=True), **recipe)
    logged = []
    bad.log = logged.append
    for _ in range(28):
        bad.train_step()
    for kind in (bad.graphs.plain, bad.graphs.with_r1):
        assert not kind.active and kind.replays == 0
        assert "differed from the eager step's by 1 of the update" in kind.disabled
    # the plain steps' graph is checked at step 5 (after 1, 2, 3), the R1 steps' at 12
    assert bad.events == [
        f"step 5: CUDA graphs of the plain steps turned off, {bad.graphs.plain.disabled}; "
        "they run eagerly",
        f"step 12: CUDA graphs of the R1 steps turned off, {bad.graphs.with_r1.disabled}; "
        "they run eagerly",
    ]
    assert len(logged) == 2 and "WARNING" in logged[0]
    assert bad.speed_options == "base"
    _same_weights(plain, bad)  # the eager result stood at the check, and after it


def test_restoring_a_snapshot_records_again(tmp_path):
    backend = StandIn()
    t = _trainer(tmp_path, "t", backend)
    t.take_snapshot()
    for _ in range(20):
        t.train_step()
    assert backend.captured == 2 and t.graphs.plain.replays > 0
    t.recover("a test")  # new optimiser state: the recorded steps would read the old one
    for _ in range(20):
        t.train_step()
    assert backend.warmed == 4 * graphs.WARMUP_STEPS and backend.captured == 4


def test_graphs_are_asked_for_on_cuda_only(tmp_path):
    t = _trainer(tmp_path, "t", graphs=True)
    assert t.graphs is None and t.speed_options == "base"  # this CPU: eager, as asked of it


class FailingCapture(StandIn):
    def capture(self, body):
        raise RuntimeError("operation not permitted when stream is capturing")


def test_a_capture_that_fails_leaves_the_run_eager(tmp_path):
    plain = _trainer(tmp_path, "plain")
    for _ in range(20):
        plain.train_step()
    t = _trainer(tmp_path, "t", FailingCapture())
    for _ in range(20):
        t.train_step()
    for kind in (t.graphs.plain, t.graphs.with_r1):
        assert not kind.active and "RuntimeError: operation not permitted" in kind.disabled
    assert all(p.requires_grad for p in t.D.parameters())
    _same_weights(plain, t)


def test_the_probe_times_graphs_only_where_they_stayed_on(tmp_path):
    from ganpaint.core.errors import GanpaintError
    from ganpaint.devtools import train_speed

    t = _trainer(tmp_path, "t", StandIn())
    for _ in range(28):
        t.train_step()
    assert train_speed._graphs_row(t) == {"graph_replays": 18}
    t.graphs.with_r1._drop("a test")
    assert train_speed._graphs_row(t) == {"graph_replays": 18, "r1_graph_off": "a test"}
    t.graphs.plain._drop("another test")  # then the steps timed were eager ones
    with pytest.raises(GanpaintError, match="graphs turned off: another test"):
        train_speed._graphs_row(t)
    t.graphs = None
    with pytest.raises(GanpaintError, match="not available here"):
        train_speed._graphs_row(t)


def test_the_log_says_what_the_graphs_did(tmp_path):
    t = _trainer(tmp_path, "t", StandIn())
    logged = []
    t.log = logged.append
    t.train(max_steps=12, write_checkpoint=False, export=False, sample_every=0)
    # 12 steps, R1 on 0, 4, 8: 9 plain ones, 3 warm-up, 2 checked, 4 replayed
    assert "speed options graphs, step 0/12" in logged[0]
    assert logged[-1].endswith(", 4 steps replayed from CUDA graphs")
    assert t.windows[-1]["speed"] == "graphs"
