"""``ganpaint train-gan`` under torchrun with 2 CPU processes (gloo): the tiny config trains
data-parallel, the ranks stay in step (the trainer checks that their weights agree at the
end), and the state it writes records both ranks' RNG and resumes on 2 processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ganpaint.models import load_generator
from ganpaint.train.configs import get_config
from ganpaint.train.state import read_state
from tests.test_dissect_dist import ROOT, _env, _free_port


def _torchrun(out, steps: int, *extra: str) -> subprocess.CompletedProcess:
    launcher = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "ganpaint",
        "train-gan", "--config", "tiny", "--device", "cpu", "--workers", "1",
        "--out", str(out), "--max-steps", str(steps), *extra,
    ]  # fmt: skip
    return subprocess.run(
        launcher, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=240
    )


@pytest.mark.slow
def test_two_process_training_and_resume(tmp_path):
    tiny = get_config("tiny")
    run = _torchrun(tmp_path / "a", 3)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "data-parallel over 2 processes" in run.stdout
    meta, tensors = read_state(tmp_path / "a" / "state")
    assert meta["processes"] == 2 and meta["images_seen"] == 3 * tiny.batch
    assert {"rng.cpu.rank0", "rng.cpu.rank1", "rng.data"} <= set(tensors)
    assert not meta["events"]

    run = _torchrun(tmp_path / "b", 5, "--resume", str(tmp_path / "a" / "state"))
    assert run.returncode == 0, run.stderr[-4000:]
    meta, _ = read_state(tmp_path / "b" / "state")
    assert meta["images_seen"] == 5 * tiny.batch
    assert [w["steps"] for w in meta["windows"]] == [[0, 3], [3, 5]]
    assert not meta["events"]  # same number of processes: the RNG carried over
    gen = load_generator(tmp_path / "b" / "generator_ema.safetensors")
    assert gen.resolution == tiny.resolution


class _TwoRanks:
    """A stand-in for a 2-process group: the other rank holds ``other`` (sum = mine + other)."""

    def __init__(self, other):
        self.other, self.world, self.rank, self.active = other, 2, 0, True

    def all_reduce_sum_(self, t):
        return t.add_(self.other(t))


def test_mean_grads_averages_and_check_in_sync_catches_drift():
    import torch

    from ganpaint.core.errors import GanpaintError
    from ganpaint.train.parallel import check_in_sync, mean_grads

    lin = torch.nn.Linear(3, 2)
    for p in lin.parameters():
        p.grad = torch.ones_like(p)
    mean_grads(lin.parameters(), _TwoRanks(lambda t: torch.full_like(t, 3.0)))
    assert all(torch.equal(p.grad, torch.full_like(p, 2.0)) for p in lin.parameters())
    check_in_sync({"G": lin}, _TwoRanks(lambda t: t.clone()))  # the same weights: fine
    with pytest.raises(GanpaintError, match="G weights differ"):
        check_in_sync({"G": lin}, _TwoRanks(lambda t: t + 1e-3))
