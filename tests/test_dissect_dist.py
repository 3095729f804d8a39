"""``ganpaint dissect`` under torchrun with 2 CPU processes (gloo) gives the single-process
result: IoU counts exactly, quantile levels within float tolerance (the sample count is kept
below the sketch's resolution, so both sketches are exact), causal rankings equal."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.test_dissect import SEGMENT_FN, make_tiny_bundle

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _args(bundle: Path, cache: Path) -> list[str]:
    # 15 samples split 7 / 8: layer6 (16x16) keeps 15 * 256 < 4096 rows, so no compaction.
    return [
        "dissect", str(bundle), "--samples", "15", "--batch", "4", "--segment-fn", SEGMENT_FN,
        "--cache-dir", str(cache), "--causal-pool", "12", "--causal-samples", "4",
        "--causal-candidates", "4", "--causal-set-size", "3", "--quiet", "--device", "cpu",
        "--no-defaults",
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def _counts(cache: Path) -> dict[str, dict[str, torch.Tensor]]:
    out = {}
    for f in sorted((cache / "dissect").glob("pass2-*.safetensors")):
        out[f.name.split("-")[1]] = load_file(str(f))
    return out


@pytest.mark.slow
def test_two_process_dissection_equals_single_process(tmp_path):
    single = make_tiny_bundle(tmp_path / "single")
    sharded = make_tiny_bundle(tmp_path / "sharded")
    run = subprocess.run(
        [sys.executable, "-m", "ganpaint", *_args(single, tmp_path / "c1")],
        env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    launcher = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "ganpaint",
    ]  # fmt: skip
    run = subprocess.run(
        launcher + _args(sharded, tmp_path / "c2"),
        env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]

    a = json.loads((single / "dissection.json").read_text())
    b = json.loads((sharded / "dissection.json").read_text())
    assert a["processes"] == 1 and b["processes"] == 2
    ca, cb = _counts(tmp_path / "c1"), _counts(tmp_path / "c2")
    assert set(ca) == set(cb) == {"layer4", "layer6"}
    for layer in ca:
        for name in ("intersection", "unit_area", "concept_area"):
            assert torch.equal(ca[layer][name], cb[layer][name]), (layer, name)
        assert int(ca[layer]["concept_area"].sum()) == 15 * 32 * 32
        la, lb = a["layers"][layer], b["layers"][layer]
        torch.testing.assert_close(
            torch.tensor(la["levels"]), torch.tensor(lb["levels"]), rtol=1e-5, atol=1e-5
        )
        assert la["unit_labels"] == lb["unit_labels"]
        assert la["top_samples"] == lb["top_samples"]
        for concept, entry in la["concepts"].items():
            other = lb["concepts"][concept]
            assert entry["iou"] == other["iou"]
            assert entry.get("causal") == other.get("causal")
            assert entry.get("causal_set") == other.get("causal_set")
