"""The discriminator's spectral branch: it sees whole-width stripes, starts at zero, grows
into a state trained without it, and is never silently dropped."""

from __future__ import annotations

import json

import pytest
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.train.configs import get_config
from ganpaint.train.discriminator import Discriminator

MICRO = get_config("tiny").replace(
    name="micro", g_widths=(16, 16, 8, 8), d_widths=(8, 8, 16, 16), z_dim=16, batch=4,
    r1_every=2, dataset_size=24, max_steps=4, sample_every=0,
)  # fmt: skip


def _trainer(tmp_path, name, resume=False, **changes):
    from ganpaint.train.gan import GANTrainer

    t = GANTrainer(MICRO.replace(**changes), tmp_path / name, device="cpu", resume=resume)
    gen = torch.Generator().manual_seed(5)
    t.set_data(torch.randint(0, 256, (24, 32, 32, 3), generator=gen, dtype=torch.uint8))
    return t


def test_the_branch_sees_lines_across_the_picture():
    d = Discriminator(32, (8, 8, 16, 16), spectral=True)
    flat = torch.zeros(1, 3, 32, 32)
    lines = flat.clone()
    lines[:, :, ::4] = 0.2  # a line every 4 rows, across the whole width: period 4 px
    rows, cols = d.spectral.spectra(lines)[0]
    # 8 cycles per picture (and its harmonic at 16); nothing below; columns see a constant
    assert int(rows.argmax()) + 1 == 32 // 4 and rows[7] > 0.5
    assert rows[:7].abs().max() < 1e-5 and cols.abs().max() < 1e-5
    assert d.spectral.spectra(flat).abs().max() < 1e-6


def test_the_branch_starts_at_zero_and_trains(tmp_path):
    torch.manual_seed(0)
    plain = Discriminator(32, (8, 8, 16, 16))
    torch.manual_seed(0)
    grown = Discriminator(32, (8, 8, 16, 16), spectral=True)
    x = torch.randn(4, 3, 32, 32)
    assert torch.equal(plain(x), grown(x))  # gain 0: the same logits
    # registered last: the plain parameters keep their order
    assert [n for n, _ in grown.named_parameters()][: len(list(plain.parameters()))] == [
        n for n, _ in plain.named_parameters()
    ]
    t = _trainer(tmp_path, "t", d_spectral=True)
    for _ in range(3):  # R1 (a gradient of a gradient) on steps 0 and 2
        out = t.train_step()
    assert all(torch.isfinite(v) for v in out.values())
    assert float(t.D.spectral.gain.detach()) != 0.0  # it learned


def test_a_state_without_the_branch_grows_it(tmp_path):
    old = _trainer(tmp_path, "old")
    for _ in range(3):
        old.train_step()
    state = old.save_checkpoint()
    grown = _trainer(tmp_path, "grown", resume=state, d_spectral=True)
    assert grown.step == 3 and "spectral branch added" in grown.events[-1]
    for k, v in old.D.state_dict().items():
        assert torch.equal(grown.D.state_dict()[k], v), k
    assert float(grown.D.spectral.gain.detach()) == 0.0
    x = torch.randn(4, 3, 32, 32)
    assert torch.allclose(old.D(x), grown.D(x))
    n_old = len(list(old.D.parameters()))
    moments = [grown.opt_D.state[p] for p in list(grown.D.parameters())[:n_old]]
    assert all("exp_avg_sq" in m for m in moments)  # the old moments came back
    grown.train_step()
    spectral_state = grown.save_checkpoint()
    again = _trainer(tmp_path, "again", resume=spectral_state, d_spectral=True)
    assert sum("spectral branch added" in e for e in again.events) == 1  # once, when grown
    assert torch.equal(again.D.spectral.gain, grown.D.spectral.gain)
    # and a state with the branch is never resumed without it
    with pytest.raises(GanpaintError, match="resume it with d_spectral"):
        _trainer(tmp_path, "dropped", resume=spectral_state)


@pytest.mark.parametrize(("in_state", "flag", "expect"), [
    (True, False, True),  # a state with the branch keeps it, flag or not
    (False, True, True),  # --d-spectral grows it
    (False, False, False),
])  # fmt: skip
def test_a_window_keeps_or_adds_the_branch(tmp_path, monkeypatch, in_state, flag, expect):
    cfg = _window_config(tmp_path, monkeypatch, {"d_spectral": in_state}, d_spectral=flag)
    assert cfg.d_spectral is expect


def _window_config(tmp_path, monkeypatch, state_changes, **window_options):
    """The config a GPU window trains with (its pipeline stubbed out), after a state made
    with ``state_changes`` to MICRO (none when ``state_changes`` is None)."""
    import ganpaint.train.pipeline as pipeline
    from ganpaint.devtools import gpu_window

    gpu = tmp_path / ".gpu"
    if state_changes is not None:
        t = _trainer(tmp_path, "t", **state_changes)
        t.train_step()
        t.save_checkpoint(gpu / "state")
    seen = {}

    def fake_pipeline(cfg, run_dir, seconds, **kwargs):
        seen["cfg"] = cfg
        return {"bundle": None}

    monkeypatch.setattr(pipeline, "run_pipeline", fake_pipeline)
    gpu_window.run_window("tiny", 10, tmp_path / "out", gpu, **window_options)
    return seen["cfg"]


def test_arms_resumed_from_one_state_draw_the_same_batches(tmp_path):
    # the A/B window's premise: B's extra parameters do not shift the random streams, and
    # at gain 0 its discriminator answers as A's, so both take the same first D step
    t = _trainer(tmp_path, "t")
    for _ in range(2):
        t.train_step()
    state = t.save_checkpoint()
    arm_a = _trainer(tmp_path, "a", resume=state)
    a = arm_a.train_step()
    rng_a = torch.get_rng_state()
    arm_b = _trainer(tmp_path, "b", resume=state, d_spectral=True)
    b = arm_b.train_step()
    assert torch.equal(torch.get_rng_state(), rng_a) and arm_a.pos == arm_b.pos
    for k in ("loss_d", "d_real", "d_fake"):  # before any update: the same numbers
        assert torch.allclose(a[k], b[k], rtol=1e-6, atol=1e-7), k
    # the G step follows B's first D update, in which the branch's gain left 0
    assert float(arm_b.D.spectral.gain.detach()) != 0.0


@pytest.mark.parametrize(("field", "in_state", "option", "expect"), [
    # a state keeps its EMA half-life and its batch from window to window
    ("ema_half_life_images", 20_000, None, 20_000),
    ("batch", 16, None, 16),
    ("d_highpass", 0.5, None, 0.5),  # and its high-pass head (resuming without it fails)
    # the option sets them
    ("ema_half_life_images", 20_000, 40_000, 40_000),
    ("batch", 16, 4, 4),
    ("d_highpass", 0.5, 1.0, 1.0),
    # no state: the config's
    ("ema_half_life_images", None, None, get_config("tiny").ema_half_life_images),
    ("batch", None, None, get_config("tiny").batch),
    ("d_highpass", None, None, 0.0),
])  # fmt: skip
def test_a_window_keeps_or_sets_a_recipe_field(
    tmp_path, monkeypatch, field, in_state, option, expect
):
    state = None if in_state is None else {field: in_state}
    cfg = _window_config(tmp_path, monkeypatch, state, **{field: option})
    assert getattr(cfg, field) == expect


def test_a_state_goes_on_at_another_batch_and_the_card_says_so(tmp_path):
    t = _trainer(tmp_path, "t")  # batch 4
    for _ in range(3):
        t.train_step()
    state = t.save_checkpoint()
    doubled = _trainer(tmp_path, "doubled", resume=state, batch=8, ema_half_life_images=99)
    assert (doubled.step, doubled.images_seen, doubled.pos) == (3, 12, 12)
    assert doubled.events[-2:] == ["step 3: batch 4 -> 8", "step 3: ema_half_life_images "
                                   f"{MICRO.ema_half_life_images} -> 99"]  # fmt: skip
    doubled.train_step()  # 12 + 8 of the 24 scenes: the same epoch goes on
    doubled.train_step()  # past its end: a new epoch
    assert (doubled.images_seen, doubled.pos) == (28, 8)
    again = _trainer(tmp_path, "again", resume=doubled.save_checkpoint(), batch=8,
                     ema_half_life_images=99)  # fmt: skip
    assert again.events == doubled.events  # nothing changed this time


def test_batch_auto_reads_the_probe_rows_for_the_windows_speed(tmp_path, monkeypatch, capsys):
    from ganpaint.devtools import window_speed

    gpu = tmp_path / ".gpu"
    gpu.mkdir()
    rows = [
        {"variant": "base", "batch": 8, "images_per_s": 100.0, "finite": True},
        {"variant": "channels_last", "batch": 8, "images_per_s": 100.0, "finite": True},
        {"variant": "channels_last+batch16", "batch": 16, "images_per_s": 190.0,
         "finite": True},
    ]  # fmt: skip
    (gpu / window_speed.SPEED_FILE).write_text(json.dumps(rows))
    cfg = _window_config(tmp_path, monkeypatch, {"batch": 8}, batch="auto",
                         speed="channels_last")  # fmt: skip
    assert cfg.batch == 16 and "[batch] 16 (1.90x" in capsys.readouterr().out
    # without channels_last there is no larger batch's row to go by: the state's stays
    cfg = _window_config(tmp_path, monkeypatch, {"batch": 8}, batch="auto", speed="base")
    assert cfg.batch == 8 and "[batch] 8 (no batch gains" in capsys.readouterr().out


def test_the_ab_variants_are_options_a_window_takes(tmp_path, monkeypatch, capsys):
    from ganpaint.devtools import gpu_window

    seen = []

    def fake_window(*args, **options):
        names = ("d_spectral", "ema_half_life_images", "d_projected", "batch", "d_highpass")
        seen.append(tuple(options[n] for n in names))
        return {"bundle": "b"}

    monkeypatch.setattr(gpu_window, "run_window", fake_window)
    base = ["run", "--seconds", "1", "--out", str(tmp_path / "o"), "--gpu-dir", str(tmp_path)]
    for name in gpu_window.AB_VARIANTS:
        assert gpu_window.main([*base, *gpu_window.AB_VARIANTS[name]]) == 0
    assert seen == [
        (True, None, None, None, None),
        (False, 20_000, None, None, None),
        (False, 40_000, None, None, None),
        (False, None, 0.25, None, None),
        (False, None, None, None, 0.25),
        (False, None, None, 64, None),
    ]
    with pytest.raises(SystemExit):
        gpu_window.main([*base, "--ema-half-life-images", "0"])
    assert "must be a positive whole number, not 0" in capsys.readouterr().err
    for bad in ("0", "-1", "nan", "inf", "x"):
        with pytest.raises(SystemExit):
            gpu_window.main([*base, "--d-projected", bad])
        assert f"must be a positive number, not {bad}" in capsys.readouterr().err


def test_the_batch_a_window_goes_on_from(tmp_path):
    from ganpaint.devtools.window_recipe import run_batch

    gpu = tmp_path / ".gpu"
    assert run_batch(gpu, "tiny", None) == get_config("tiny").batch  # nothing yet: 8
    t = _trainer(tmp_path, "t", batch=6)
    t.train_step()
    t.save_checkpoint(gpu / "state")
    assert run_batch(gpu, "tiny", None) == 6
