"""``ganpaint bench`` runs end to end on a tiny generator (a smoke test: no timing checks)."""

from __future__ import annotations

import json

import pytest
import torch

from ganpaint.cli import main
from ganpaint.models import ProGANGenerator, save_generator


@pytest.mark.slow
def test_bench_json_smoke(tmp_path, capsys):
    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    save_generator(ProGANGenerator([32, 32, 16], z_dim=32), path)
    args = ["bench", "--model", str(path), "--device", "cpu", "--frames", "3"]
    assert main([*args, "--dissect-samples", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "device",
        "model",
        "gflop_per_frame",
        "ceiling_gflops",
        "floor_ms",
        "speedup",
        "dissect_samples_per_s",
    ):
        assert key in out
    for path_name in ("naive", "optimised"):
        assert out[path_name]["p50_ms"] > 0 and out[path_name]["p95_ms"] >= out[path_name]["p50_ms"]
    assert out["device"].startswith("cpu") and out["dissect_samples_per_s"] > 0
    inc = out["incremental"]
    assert inc["p50_ms"] > 0 and inc["p95_ms"] >= inc["p50_ms"]
    assert 0 < inc["dirty_fraction"] <= 1 and inc["max_diff_levels"] <= 1
    assert inc["over_optimised"] == pytest.approx(inc["p50_ms"] / out["optimised"]["p50_ms"])
    points = inc["crossover"]["points"]
    assert points[0]["cells"] == 1 and points[-1]["work"] == 1.0
    assert [p["work"] for p in points] == sorted(p["work"] for p in points)
    assert 0 < inc["crossover"]["work_fraction"] <= 1 and inc["state_mb"] > 0
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "speedup" in printed and "incremental" in printed


def test_bench_rejects_bad_arguments(tmp_path, capsys):
    assert main(["bench", "--arch", "progan256", "--frames", "0"]) == 2
    assert "--frames" in capsys.readouterr().err


@pytest.mark.slow
def test_run_bench_reports_what_the_dissect_fn_measures():
    """The engine's bench takes dissection's throughput as a function (engine never imports
    dissect); whatever that function returns is the reported figure."""
    from ganpaint.engine.bench import run_bench

    torch.manual_seed(0)
    gen = ProGANGenerator([32, 32, 16], z_dim=32)
    result = run_bench(gen, "tiny", "cpu", frames=2, dissect_fn=lambda device: 12.5)
    assert result["dissect_samples_per_s"] == 12.5
    assert run_bench(gen, "tiny", "cpu", frames=2)["dissect_samples_per_s"] is None


def test_crossing_interpolates_where_incremental_meets_full():
    from ganpaint.engine.bench import _crossing

    points = [
        {"work": 0.2, "incremental_ms": 2.0},
        {"work": 0.6, "incremental_ms": 6.0},
        {"work": 1.0, "incremental_ms": 12.0},
    ]
    assert _crossing(points, 9.0) == pytest.approx(0.8)
    assert _crossing(points, 20.0) == 1.0
    assert _crossing(points, 1.0) == 0.2
