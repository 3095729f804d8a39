"""The GAN's speed-only options (channels-last, compile, graphs) and the probe that measures them
(ganpaint.devtools.train_speed): same model, same state files, clear refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools import gpu_window, train_speed
from ganpaint.train.configs import get_config, parse_speed
from ganpaint.train.state import read_state

MICRO = get_config("tiny").replace(
    name="micro", g_widths=(16, 16, 8, 8), d_widths=(8, 8, 16, 16), z_dim=16, batch=4,
    r1_every=2, dataset_size=24, max_steps=4, sample_every=0,
)  # fmt: skip


def _data(n: int = 24) -> torch.Tensor:
    gen = torch.Generator().manual_seed(5)
    return torch.randint(0, 256, (n, 32, 32, 3), generator=gen, dtype=torch.uint8)


def _trainer(tmp_path, name, resume=False, **changes):
    from ganpaint.train.gan import GANTrainer

    t = GANTrainer(MICRO.replace(**changes), tmp_path / name, device="cpu", resume=resume)
    t.set_data(_data())
    return t


def _is_channels_last(t: torch.Tensor) -> bool:
    return t.dim() != 4 or t.is_contiguous(memory_format=torch.channels_last)


def test_channels_last_trains_the_same_model(tmp_path):
    # one after the other: each trainer seeds the global RNG (latents, flips) as it starts
    base = _trainer(tmp_path, "base")
    losses_base = [base.train_step() for _ in range(5)]  # R1 on steps 0, 2 and 4
    fast = _trainer(tmp_path, "fast", channels_last=True)
    assert all(_is_channels_last(p) for p in fast.D.parameters())
    assert not all(_is_channels_last(p) for p in base.D.parameters())
    # G too, but for its first block, whose input is z as a 1x1 picture (see GANTrainer)
    first = fast.G.layer_names[0]
    for name, p in fast.G.named_parameters():
        if name.startswith(first + "."):
            assert p.is_contiguous(), name
        else:
            assert _is_channels_last(p), name
    assert not _is_channels_last(fast.G.get_submodule(first).conv.weight)
    losses_fast = [fast.train_step() for _ in range(5)]
    for a, b in zip(losses_base, losses_fast, strict=True):
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5), k
    for name in ("G", "G_ema", "D"):
        pa, pb = getattr(base, name).state_dict(), getattr(fast, name).state_dict()
        for k in pa:
            # atol 1e-4: on an AVX2 CPU one Adam step of a near-zero gradient moved one
            # weight 4.8e-5 apart (float rounding; a wrong layout moves them by O(1))
            assert torch.allclose(pa[k], pb[k], rtol=1e-4, atol=1e-4), f"{name}.{k}"


def test_the_window_record_names_the_speed_options_in_effect(tmp_path):
    fast = _trainer(tmp_path, "fast", channels_last=True, compile=True)  # compile: CUDA only
    assert fast.speed_options == "channels_last"
    fast.train(max_steps=2, write_checkpoint=False, export=False, sample_every=0)
    assert fast.windows[-1]["speed"] == "channels_last"
    assert _trainer(tmp_path, "base").speed_options == "base"


def test_a_channels_last_state_resumes_in_either_format(tmp_path):
    fast = _trainer(tmp_path, "fast", channels_last=True)
    for _ in range(3):
        fast.train_step()
    state = fast.save_checkpoint()
    meta, _ = read_state(state)
    assert meta["config"]["channels_last"] is True
    plain = _trainer(tmp_path, "plain", resume=state)
    again = _trainer(tmp_path, "again", resume=state, channels_last=True)
    for t in (plain, again):
        assert t.step == 3
        for k, v in fast.G.state_dict().items():
            assert torch.equal(t.G.state_dict()[k], v), k
    # the moments come back in their parameter's memory format
    for p in again.D.parameters():
        st = again.opt_D.state[p]
        assert st["exp_avg_sq"].shape == p.shape and _is_channels_last(st["exp_avg_sq"])
    torch.manual_seed(7)
    a = plain.train_step()
    torch.manual_seed(7)
    b = again.train_step()
    assert torch.allclose(a["loss_d"], b["loss_d"], rtol=1e-4, atol=1e-5)


def test_a_moment_of_the_wrong_shape_is_refused(tmp_path):
    t = _trainer(tmp_path, "t")
    t.train_step()
    state = t.save_checkpoint()
    for shard in sorted(state.glob("*.safetensors")):
        tensors = load_file(str(shard))
        key = next((k for k in tensors if k.startswith("opt_D.") and "exp_avg_sq" in k), None)
        if key is not None:
            tensors[key] = tensors[key].flatten()[:1]
            save_file(tensors, str(shard), metadata={"format": "pt"})
            break
    else:
        pytest.fail("no D moment in the state")
    with pytest.raises(GanpaintError, match=rf"{key}: shape \(1,\)"):
        _trainer(tmp_path, "u", resume=state)


def test_parse_speed_and_variants():
    off = {"channels_last": False, "compile": False, "graphs": False}
    assert parse_speed("base") == off
    assert parse_speed("channels_last+compile") == {**off, "channels_last": True, "compile": True}
    assert parse_speed("graphs") == {**off, "graphs": True}
    with pytest.raises(GanpaintError, match="unknown speed option 'fast'"):
        parse_speed("fast")
    v = train_speed.parse_variant("channels_last+batch16+fp32")
    assert v["changes"] == {**off, "batch": 16, "channels_last": True} and v["fp32"]
    v = train_speed.parse_variant("channels_last+projected")
    assert v["changes"] == {**off, "d_projected": 0.25, "channels_last": True}
    v = train_speed.parse_variant("base+projected+highpass")
    assert v["changes"] == {**off, "d_projected": 0.25, "d_highpass": 0.25}
    for bad, why in (("batch0", "positive"), ("turbo", "unknown name 'turbo'")):
        with pytest.raises(GanpaintError, match=why):
            train_speed.parse_variant(bad)


def test_the_probe_times_each_variant(tmp_path, capsys, monkeypatch):
    rows = train_speed.run("tiny", ["base", "channels_last+batch4", "compile", "graphs"], "cpu",
                           seconds=0.2, warmup=0, log=lambda msg: None)  # fmt: skip
    base, fast, skipped, no_graphs = rows
    assert base["vs_first"] == 1.0 and base["batch"] == 8 and fast["batch"] == 4
    for r in (base, fast):
        assert r["steps"] % 4 == 0 and r["steps"] >= 4  # whole R1 periods (tiny: every 4)
        assert r["images_per_s"] > 0 and r["finite"] and r["warmup_s"] > 0
    assert fast["vs_first"] == round(fast["images_per_s"] / base["images_per_s"], 3)
    assert skipped["skipped"] == "compile is used on CUDA only"
    assert no_graphs["skipped"] == "graphs is used on CUDA only"
    # --json into a folder not made yet, as .gpu/ on a fresh GPU machine with nothing carried
    out = tmp_path / "fresh" / "rows.json"
    code = train_speed.main(["--config", "tiny", "--device", "cpu", "--variants", "base",
                             "--seconds", "0.1", "--json", str(out)])  # fmt: skip
    assert code == 0 and "| base | 8 |" in capsys.readouterr().out
    assert json.loads(out.read_text())[0]["variant"] == "base"

    # a variant that fails is reported, and the others still run
    def broken(config, variant, *args):
        if variant["changes"]["channels_last"]:
            raise RuntimeError("no kernel")
        return real(config, variant, *args)

    real = train_speed.measure
    monkeypatch.setattr(train_speed, "measure", broken)
    rows = train_speed.run("tiny", ["channels_last", "base"], "cpu", 0.1, 0, log=lambda m: None)
    assert rows[0]["failed"] == "RuntimeError: no kernel" and rows[1]["vs_first"] == 1.0
    assert "failed: RuntimeError: no kernel" in train_speed.table(rows)
    # a bad variant is refused before anything is timed
    assert train_speed.main(["--config", "tiny", "--variants", "base,warp"]) == 2
    assert "unknown name 'warp'" in capsys.readouterr().err


def test_the_probe_starts_the_device_before_the_first_variant(monkeypatch):
    # The first variant's warm-up must not include the device's start (cuDNN, context):
    # window_speed.pick_speed compares warm-ups with base's, which is often first.
    calls = []
    monkeypatch.setattr(train_speed, "start_device", lambda dev: calls.append("start") or 1.5)

    def measure(config, variant, *args):
        calls.append(variant["name"])
        return {"variant": variant["name"]}

    monkeypatch.setattr(train_speed, "measure", measure)
    logged = []
    train_speed.run("tiny", ["base", "compile"], "cpu", 0.1, 0, log=logged.append)
    assert calls == ["start", "base", "compile"]
    assert logged[0] == "device started in 1.5 s (paid before the first variant)"
    assert train_speed.start_device("cpu") >= 0  # and the real one runs here


def test_a_window_refuses_an_unknown_speed_option(tmp_path, capsys):
    code = gpu_window.main(["run", "--config", "tiny", "--seconds", "1", "--out",
                            str(tmp_path / "out"), "--gpu-dir", str(tmp_path / "gpu"),
                            "--speed", "warp"])  # fmt: skip
    assert code == 2 and "unknown speed option 'warp'" in capsys.readouterr().err


def test_the_probe_counts_a_steps_operations_and_flops():
    rows = train_speed.run("tiny", ["base", "base+projected"], "cpu", seconds=0.1, warmup=0,
                           log=lambda msg: None, ops=True)  # fmt: skip
    plain, heads = rows
    for r in rows:
        assert r["ops_per_step"] > r["optimizer_ops"] > 0 and r["gflop_per_image"] > 0
    # the heads add operations and arithmetic to every step
    assert heads["ops_per_step"] > plain["ops_per_step"]
    assert heads["optimizer_ops"] > plain["optimizer_ops"]  # the heads' own weights
    assert heads["gflop_per_image"] > plain["gflop_per_image"]
    assert "ops_per_step" in train_speed.table(rows)


def _probe_in_a_process(args: list[str], variant: str, action: str, timeout: float):
    """``train_speed.main(args)`` in a fresh process, every row stubbed (no trainer), where
    ``variant`` first runs ``action``, a Python statement (``os``, ``time`` imported)."""
    script = (
        "import os, sys, time\n"
        "from ganpaint.devtools import train_speed\n"
        "def measure(config, variant, *args):\n"
        f"    if variant['name'] == {variant!r}:\n"
        f"        {action}\n"
        "    return {'variant': variant['name'], 'batch': 8, 'images_per_s': 10.0,"
        " 'finite': True}\n"
        "train_speed.measure = measure\n"
        "train_speed.start_device = lambda dev: 0.0\n"
        "sys.exit(train_speed.main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, "--config", "tiny", "--device", "cpu", "--seconds",
         "0.1", *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_the_probe_keeps_its_rows_when_a_variant_kills_the_process(tmp_path):
    # A CUDA error can leave the device unusable and the process dying in the middle of the
    # probe; the rows measured before must still reach --json for --speed auto. Here the
    # second variant ends the process as such a crash would, and the third never runs.
    # (The folder exists here, with an earlier probe's rows; the first test has none.)
    out = tmp_path / "gpu" / "speed.json"
    out.parent.mkdir()
    out.write_text(json.dumps([{"variant": "channels_last", "images_per_s": 99.0}]))
    done = _probe_in_a_process(
        ["--variants", "base,channels_last,batch16", "--json", str(out)],
        "channels_last", "os._exit(3)", timeout=120,
    )  # fmt: skip
    assert done.returncode == 3
    rows = json.loads(out.read_text())
    assert [r["variant"] for r in rows] == ["base"]  # the earlier probe's row is gone too
    assert rows[0]["vs_first"] == 1.0
    assert list(out.parent.iterdir()) == [out]  # no temporary file left


def test_the_probe_ends_a_variant_that_hangs(tmp_path):
    out = tmp_path / "speed.json"
    done = _probe_in_a_process(
        ["--json", str(out), "--variants", "base,compile,channels_last", "--variant-limit", "2"],
        "compile", "time.sleep(60)", timeout=50,
    )  # fmt: skip
    assert done.returncode == 1 and "Timeout" in done.stderr and "in measure" in done.stderr
    assert [r["variant"] for r in json.loads(out.read_text())] == ["base"]
    # variants within the limit are untouched by it, and the limit is cancelled after each
    done = _probe_in_a_process(
        ["--json", str(out), "--variants", "base,channels_last", "--variant-limit", "1"],
        "compile", "time.sleep(60)", timeout=50,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(json.loads(out.read_text())) == 2
    assert train_speed.main(["--config", "tiny", "--variant-limit", "0"]) == 2
