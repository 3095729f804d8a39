"""The GPU window's files: packed into at most 8 files of at most 16 MiB, and unpacked into
``.gpu/`` (state, segmenter, bundle, last) on the way home."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools import gpu_ab, gpu_window, window_speed

SEGMENTER = {"conv.weight": torch.linspace(-2, 2, 24).reshape(2, 3, 4), "steps": torch.arange(3)}


def _window(tmp_path, shards: int = 2):
    run, state = tmp_path / "run", tmp_path / "state"
    (run / "bundle").mkdir(parents=True)
    state.mkdir()
    for i in range(shards):
        (state / f"tensors-{i:05d}.safetensors").write_bytes(bytes([i]) * 100)
    (state / "state.json").write_text(json.dumps({"step": 7}))
    for name in ("generator.safetensors", "bundle.json"):
        (run / "bundle" / name).write_text(name)
    save_file(SEGMENTER, str(run / "bundle" / "segmenter.safetensors"), metadata={"format": "s"})
    for name in ("samples.png", "summary.json", "metrics.jsonl", "pipeline.log"):
        (run / name).write_text(name)
    return run, state


def test_pack_and_unpack_round_trip(tmp_path):
    run, state = _window(tmp_path)
    out = tmp_path / "OUT"
    names = gpu_window.pack(run, state, out)
    assert len(names) <= gpu_window.TOOL_FILES and sorted(names) == sorted(
        p.name for p in out.iterdir()
    )
    home = tmp_path / "home" / ".gpu"
    got = gpu_window.unpack(out, home)
    assert set(got) == {"state", "bundle", "last", "segmenter"}
    assert json.loads((home / "state" / "state.json").read_text()) == {"step": 7}
    assert (home / "state" / "tensors-00001.safetensors").read_bytes() == bytes([1]) * 100
    assert sorted(p.name for p in (home / "bundle").iterdir()) == [
        "bundle.json", "generator.safetensors", "segmenter.safetensors",
    ]  # fmt: skip
    # The carried segmenter: float16 (half the bytes to send), integers and metadata kept.
    with safe_open(str(home / "segmenter.safetensors"), framework="pt") as f:
        assert f.metadata() == {"format": "s"}
        w, steps = f.get_tensor("conv.weight"), f.get_tensor("steps")
    assert w.dtype == torch.float16 and steps.dtype == SEGMENTER["steps"].dtype
    assert torch.allclose(w.float(), SEGMENTER["conv.weight"], atol=1e-3)
    assert torch.equal(steps, SEGMENTER["steps"])
    assert (home / "last" / "pipeline.log").is_file() and (home / "last" / "samples.png").is_file()


def test_pack_refuses_too_many_or_too_large_files(tmp_path, monkeypatch):
    run, state = _window(tmp_path, shards=4)  # 4 shards + 4 files: 8, one too many
    with pytest.raises(GanpaintError, match="over 7 .8 come back, 1 of them the call's log"):
        gpu_window.pack(run, state, tmp_path / "OUT")
    monkeypatch.setattr(gpu_window, "MAX_FILE_BYTES", 50)
    run, state = _window(tmp_path / "b", shards=1)
    with pytest.raises(GanpaintError, match="over 16 MiB"):
        gpu_window.pack(run, state, tmp_path / "OUT2")
    with pytest.raises(GanpaintError, match="not a GPU window"):
        gpu_window.unpack(tmp_path, tmp_path / ".gpu")


def test_unpack_names_a_missing_archive_and_keeps_gpu_dir(tmp_path):
    run, state = _window(tmp_path)
    out = tmp_path / "OUT"
    gpu_window.pack(run, state, out)
    (out / gpu_window.TEXT_ARCHIVE).unlink()  # left out by the device, as on 2026-11-27
    home = tmp_path / "home" / ".gpu"
    (home / "state").mkdir(parents=True)
    (home / "state" / "state.json").write_text("before")
    with pytest.raises(GanpaintError, match="no window.tar.gz beside state-tensors-00000"):
        gpu_window.unpack(out, home)
    assert (home / "state" / "state.json").read_text() == "before"


def _fake_arms(monkeypatch, figures, seen=None):
    """Stand-in arms: each writes a window's files and a state, with the given figures
    (and, with ``seen``, records the options it was run with)."""

    def arm(root, name, gpu_dir, run_args, extra):
        if seen is not None:
            seen.append(run_args)
        arm_dir, arm_out = root / name, root / f"out-{name}"
        (arm_dir / "window").mkdir(parents=True)
        (arm_dir / "state").mkdir()
        (arm_dir / "state" / "state.json").write_text(json.dumps({"arm": name}))
        (arm_dir / "window" / "samples.png").write_text(f"samples {name}")
        window, state = _window(root / f"fake-{name}")
        (window / "bundle" / "generator.safetensors").write_text(f"generator.safetensors {name}")
        assert len(gpu_window.pack(window, state, arm_out)) == 6  # what a real window returns
        fd, sky = figures[name]
        return {"exit": 0 if fd else 1, "options": extra, "fd_ratio": fd, "sky_noise_ratio": sky,
                "eval_n": 950 if fd else None}  # fmt: skip

    monkeypatch.setattr(gpu_ab, "_ab_arm", arm)


@pytest.mark.parametrize(
    ("figures", "winner"),
    [
        ({"a": (9.2, 4.0), "b": (9.4, 3.0)}, "b"),  # 9.4/3 + 3/1.5 = 5.13 < 9.2/3 + 4/1.5 = 5.73
        ({"a": (9.2, 4.0), "b": (12.0, 3.5)}, "a"),
        ({"a": (9.0, 3.0), "b": (9.0, 3.0)}, "a"),  # a tie keeps the baseline
        ({"a": (None, None), "b": (9.0, 3.0)}, "b"),  # an arm that failed cannot win
        ({"a": (3.2, None), "b": (3.1, None)}, "b"),  # no sky in either: fd_ratio decides
        ({"a": (3.2, None), "b": (3.3, 1.0)}, "a"),  # the sky term only if both have it
    ],
)
def test_ab_keeps_the_better_arm(tmp_path, monkeypatch, figures, winner):
    _fake_arms(monkeypatch, figures)
    gpu = tmp_path / ".gpu"
    (gpu / "state").mkdir(parents=True)
    (gpu / "state" / "state.json").write_text(json.dumps({"arm": "before"}))
    (gpu / "segmenter.safetensors").write_text("one segmenter for both arms")
    out = tmp_path / "OUT"
    result = gpu_window.run_ab("d_spectral", ["--config", "tiny"], out, gpu)
    assert result["winner"] == winner
    other = "b" if winner == "a" else "a"
    assert (out / "generator.safetensors").read_text() == f"generator.safetensors {winner}"
    assert (out / "samples-other.png").read_text() == f"samples {other}"
    assert not (out / "ab.json").exists()  # it travels in the archive
    # 6 files of the winner's window and samples-other.png: one slot left for log.txt
    assert len(list(out.iterdir())) == gpu_window.TOOL_FILES == gpu_window.MAX_FILES - 1
    # the winner's state goes on on this machine
    assert json.loads((gpu / "state" / "state.json").read_text()) == {"arm": winner}
    # and home keeps the A/B record beside the window's
    home = tmp_path / "home"
    gpu_window.unpack(out, home)
    assert json.loads((home / "last" / "ab.json").read_text())["winner"] == winner
    assert (home / "last" / "samples-other.png").read_text() == f"samples {other}"
    assert (home / "last" / "pipeline.log").is_file()  # the archive's other members kept
    assert (home / "bundle" / "generator.safetensors").read_text().endswith(winner)


def test_ab_evaluates_b_on_as_many_samples_as_a(tmp_path, monkeypatch):
    # a short window caps its evaluation by the time left (950 of 1000 on 2026-11-28's A/B)
    seen: list[list[str]] = []
    _fake_arms(monkeypatch, {"a": (9.2, 4.0), "b": (9.4, 3.0)}, seen)
    gpu = tmp_path / ".gpu"
    (gpu / "state").mkdir(parents=True)
    (gpu / "segmenter.safetensors").write_text("one segmenter for both arms")
    gpu_window.run_ab("d_projected", ["--config", "tiny"], tmp_path / "OUT", gpu)
    assert seen == [["--config", "tiny"], ["--config", "tiny", "--eval-samples", "950"]]


def test_ab_refuses_an_unknown_variant_no_segmenter_and_two_failed_arms(tmp_path, monkeypatch):
    with pytest.raises(GanpaintError, match="unknown A/B variant 'wider'"):
        gpu_window.run_ab("wider", [], tmp_path / "OUT", tmp_path / ".gpu")
    # without a carried segmenter each arm would train its own: figures not comparable
    with pytest.raises(GanpaintError, match="no segmenter.safetensors.*run one window first"):
        gpu_window.run_ab("d_projected", [], tmp_path / "OUT", tmp_path / ".gpu")
    (tmp_path / ".gpu").mkdir()
    (tmp_path / ".gpu" / "segmenter.safetensors").write_text("segmenter")
    _fake_arms(monkeypatch, {"a": (None, None), "b": (None, None)})
    with pytest.raises(GanpaintError, match="neither arm finished"):
        gpu_window.run_ab("d_spectral", [], tmp_path / "OUT", tmp_path / ".gpu")


def test_ab_passes_run_options_through():
    args = argparse.Namespace(
        config="scenes256", seconds=200.0, device="cuda", eval_samples=None, workers=None,
        max_steps=None, speed="channels_last", warm_start="models/scenes256",
        d_warmup_images=None, batch=None,
    )  # fmt: skip
    assert gpu_window._run_args(args) == [
        "--config", "scenes256", "--seconds", "200.0", "--device", "cuda", "--speed",
        "channels_last", "--warm-start", "models/scenes256",
    ]  # fmt: skip


SPEED_ROWS = [
    {"variant": "base", "warmup_s": 10.0, "images_per_s": 500.0, "finite": True},
    {"variant": "channels_last", "warmup_s": 10.0, "images_per_s": 600.0, "finite": True},
    {"variant": "channels_last+compile", "warmup_s": 100.0, "images_per_s": 900.0,
     "finite": True},
    {"variant": "batch64", "warmup_s": 10.0, "images_per_s": 5000.0, "finite": True},
    {"variant": "compile", "batch": "", "failed": "RuntimeError: no triton"},
]  # fmt: skip


def test_pick_speed_counts_the_warm_up_a_window_pays():
    # 300 s: (300 - 90) x 900 = 189,000 beats 300 x 600; 100 s: 10 x 900 does not
    assert window_speed.pick_speed(SPEED_ROWS, 300)[0] == "channels_last+compile"
    assert window_speed.pick_speed(SPEED_ROWS, 100)[0] == "channels_last"
    # batch64 changes the recipe, not only the speed: never picked
    slow = [dict(r, images_per_s=100.0) if r["variant"] != "batch64" else r for r in SPEED_ROWS]
    assert window_speed.pick_speed(slow, 300)[0] == "base"  # ties keep base
    assert window_speed.pick_speed(SPEED_ROWS[1:], 300) == (
        "base",
        "no timed base row to compare with",
    )


def test_pick_speed_compares_rows_with_the_heads_among_themselves():
    # the run has projected heads: the probe timed the speed options with them
    heads = [dict(r, variant=f"{r['variant']}+projected", images_per_s=r["images_per_s"] / 2)
             for r in SPEED_ROWS[:3]]  # fmt: skip
    fast_plain = [dict(SPEED_ROWS[0], images_per_s=9000.0)]  # faster, but without the heads
    speed, why = window_speed.pick_speed(fast_plain + heads, 300)
    assert speed == "channels_last+compile"  # the option alone, as --speed takes it
    assert "base+projected" in why and "base 2" not in why
    assert window_speed.pick_speed(heads, 100)[0] == "channels_last"
    assert window_speed.pick_speed(heads[1:], 300)[0] == "base"  # no base+projected row
    # with the high-pass head too, only the rows that time both heads count
    both = [dict(r, variant=f"{r['variant']}+highpass", images_per_s=r["images_per_s"] / 3)
            for r in heads[:2]]  # fmt: skip
    speed, why = window_speed.pick_speed(heads + both, 300)
    assert speed == "channels_last" and "base+projected+highpass" in why
    assert "channels_last+compile+projected " not in why


def test_speed_auto_reads_the_probe_rows(tmp_path, monkeypatch, capsys):
    gpu = tmp_path / ".gpu"
    gpu.mkdir()
    assert window_speed.auto_speed(gpu / window_speed.SPEED_FILE, 300) == "base"  # none yet
    (gpu / window_speed.SPEED_FILE).write_text("{broken")
    assert window_speed.auto_speed(gpu / window_speed.SPEED_FILE, 300) == "base"
    (gpu / window_speed.SPEED_FILE).write_text(json.dumps(SPEED_ROWS))
    (gpu / "segmenter.safetensors").write_text("segmenter")
    seen = []
    _fake_arms(monkeypatch, {"a": (9.0, 4.0), "b": (9.5, 4.0)}, seen)
    out = str(tmp_path / "OUT")
    code = gpu_window.main(["ab", "--variant", "d_spectral", "--seconds", "300",
                            "--speed", "auto", "--gpu-dir", str(gpu), "--out", out])  # fmt: skip
    assert code == 0
    assert "[speed] channels_last+compile" in capsys.readouterr().out
    assert len(seen) == 2
    for run_args in seen:  # both arms get the same, resolved option
        assert run_args[run_args.index("--speed") + 1] == "channels_last+compile"


HEAD_ROWS = [
    {"variant": "base+projected", "batch": 32, "warmup_s": 10.0, "images_per_s": 400.0},
    {"variant": "channels_last+projected", "batch": 32, "warmup_s": 9.0, "images_per_s": 430.0},
    {"variant": "channels_last+projected+batch64", "batch": 64, "warmup_s": 9.0,
     "images_per_s": 800.0},
    {"variant": "channels_last+batch64", "batch": 64, "warmup_s": 9.0, "images_per_s": 9000.0},
    {"variant": "compile+projected+batch64", "batch": 64, "warmup_s": 60.0, "failed": "x"},
]  # fmt: skip
for _row in HEAD_ROWS:
    _row.setdefault("finite", "failed" not in _row)


def test_pick_batch_takes_a_larger_batch_only_for_a_clear_gain_at_the_same_speed():
    # 800 / 430 = 1.86x with the heads; the faster row without the heads does not count
    batch, why = window_speed.pick_batch(HEAD_ROWS, "channels_last", 32)
    assert batch == 64 and why.startswith("1.86x") and "9000" not in why
    slow = [dict(r, images_per_s=500.0) if r.get("batch") == 64 else r for r in HEAD_ROWS]
    assert window_speed.pick_batch(slow, "channels_last", 32)[0] == 32  # 1.16x: not enough
    # a run already at 64 stays there whichever row is faster by less than the gain
    assert window_speed.pick_batch(slow, "channels_last", 64)[0] == 64
    # no row at the window's speed and batch to compare with: the run's batch stays
    assert window_speed.pick_batch(HEAD_ROWS, "base", 32) == (
        32, "no batch gains 1.8x (batch 32 400/s)")  # fmt: skip
    assert window_speed.pick_batch(HEAD_ROWS, "compile", 32) == (
        32, "no compile row at batch 32 to compare with")  # fmt: skip
    # at most twice the run's batch in one window
    huge = [*HEAD_ROWS, dict(HEAD_ROWS[2], variant="channels_last+projected+batch128",
                             batch=128, images_per_s=2000.0)]  # fmt: skip
    assert window_speed.pick_batch(huge, "channels_last", 32)[0] == 64
    assert window_speed.pick_batch(huge, "channels_last", 64)[0] == 128
    # and --speed auto still never picks a batch variant
    assert window_speed.pick_speed(HEAD_ROWS, 300)[0] == "channels_last"


def test_batch_is_a_window_option_both_arms_take():
    args = gpu_window.argparse.Namespace(
        config="scenes256", seconds=200.0, device=None, eval_samples=None, workers=None,
        max_steps=None, speed=None, warm_start=None, d_warmup_images=None, batch="auto",
    )  # fmt: skip
    assert gpu_window._run_args(args)[-2:] == ["--batch", "auto"]
    assert gpu_window.AB_VARIANTS["batch64"] == ["--batch", "64"]  # B's comes last and wins
    for bad in ("0", "-8", "x"):
        with pytest.raises(SystemExit):
            gpu_window.main(["run", "--seconds", "1", "--out", "o", "--batch", bad])


def test_pick_window_takes_speed_and_batch_from_one_measured_row():
    assert window_speed.pick_window(HEAD_ROWS, 300, 32)[:2] == ("channels_last", 64)
    compiled = dict(HEAD_ROWS[1], variant="channels_last+compile+projected", warmup_s=60.0,
                    images_per_s=500.0)  # fmt: skip
    # (300 - 50) x 500 = 125,000 at batch 32 against 300 x 800 = 240,000 (1.92x) at 64
    assert window_speed.pick_window([*HEAD_ROWS, compiled], 300, 32)[:2] == (
        "channels_last", 64)  # fmt: skip
    quicker = dict(compiled, images_per_s=600.0)  # 150,000: 64's 1.6x is not enough
    assert window_speed.pick_window([*HEAD_ROWS, quicker], 300, 32)[:2] == (
        "channels_last+compile", 32)  # fmt: skip
    # a run at 64 with no base row there: warm-ups count from the quickest row at 64
    assert window_speed.pick_window(HEAD_ROWS, 300, 64)[:2] == ("channels_last", 64)
    # no row at the run's batch: pick_speed's options, the batch stays
    speed, batch, why = window_speed.pick_window(HEAD_ROWS, 300, 16)
    assert (speed, batch) == ("channels_last", 16) and why.startswith("no row at batch 16")


def test_pick_window_weighs_graphs_like_any_speed_option():
    graphed = dict(HEAD_ROWS[1], variant="channels_last+graphs+projected", warmup_s=10.0,
                   images_per_s=1000.0)  # fmt: skip
    graphed64 = dict(HEAD_ROWS[2], variant="channels_last+graphs+projected+batch64",
                     warmup_s=10.0, images_per_s=1500.0)  # fmt: skip
    # graphs at 32 beat 64 without them (800/s), and 64 with them is 1.5x 32's: not enough
    rows = [*HEAD_ROWS, graphed, graphed64]
    assert window_speed.pick_window(rows, 300, 32)[:2] == ("channels_last+graphs", 32)
    assert window_speed.pick_speed(rows, 300)[0] == "channels_last+graphs"
    # a graphs row whose check failed (train_speed reports it failed) is never taken
    failed = {"variant": graphed["variant"], "batch": 32, "failed": "graphs turned off: ..."}
    rows = [*HEAD_ROWS, failed]
    assert window_speed.pick_window(rows, 300, 32)[:2] == ("channels_last", 64)


def test_speed_and_batch_auto_resolve_before_both_arms(tmp_path, monkeypatch, capsys):
    gpu = tmp_path / ".gpu"
    gpu.mkdir()
    (gpu / window_speed.SPEED_FILE).write_text(json.dumps(HEAD_ROWS))
    (gpu / "segmenter.safetensors").write_text("segmenter")
    seen = []
    _fake_arms(monkeypatch, {"a": (9.0, 4.0), "b": (9.5, 4.0)}, seen)
    code = gpu_window.main(["ab", "--variant", "ema_20k", "--seconds", "300", "--speed", "auto",
                            "--batch", "auto", "--gpu-dir", str(gpu), "--out",
                            str(tmp_path / "OUT")])  # fmt: skip
    assert code == 0
    assert "[speed] channels_last, batch 64" in capsys.readouterr().out
    for run_args in seen:  # scenes256's batch is 32; both arms get the resolved 64
        assert run_args[run_args.index("--batch") + 1] == "64"
        assert run_args[run_args.index("--speed") + 1] == "channels_last"
