"""python -m ganpaint.devtools.state_probe: the discriminator's logits on seen and unseen
scenes, and the EMA against the live generator, read from a training state."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools import state_probe
from ganpaint.models.segmenter import Segmenter
from ganpaint.scenes import CONCEPTS


def _state(tmp_path, config="tiny"):
    from ganpaint.train.gan import GANTrainer

    t = GANTrainer(config, tmp_path / "run", device="cpu", resume=False)
    t.set_data(torch.randint(0, 256, (16, 32, 32, 3), generator=torch.Generator().manual_seed(1),
                             dtype=torch.uint8))  # fmt: skip
    for _ in range(3):
        t.train_step()
    t.save_checkpoint(tmp_path / "state")
    return tmp_path / "state", t


def test_d_logits_on_seen_unseen_and_samples(tmp_path, capsys):
    state, t = _state(tmp_path)
    assert state_probe.main([str(state), "--what", "d", "--config", "tiny", "--samples", "6",
                             "--device", "cpu"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["step"] == 3 and out["n"] == 6 and out["unseen_from_seed"] == 16  # after the set
    for key in ("training", "unseen", "samples"):
        row = out[key]
        assert math.isfinite(row["mean"]) and row["std"] >= 0 and 0 <= row["positive"] <= 1
    assert out["training"] != out["unseen"]


def test_ema_against_live_uses_one_rendered_set(tmp_path, monkeypatch):
    from ganpaint.train.data import EVAL_SEED, render_scenes
    from ganpaint.train.quality import evaluate_gan

    state, t = _state(tmp_path)
    torch.manual_seed(0)
    seg = Segmenter(len(CONCEPTS), concepts=CONCEPTS, encoder=(8, 8, 16, 16), decoder=(8, 8, 16))

    class Bundle:
        def load_segmenter(self):
            return seg

    monkeypatch.setattr("ganpaint.models.bundle.load_bundle", lambda path: Bundle())
    out = state_probe.ema_vs_live(str(state), "tiny", "B", 6, "cpu",
                                  live_from=["layer1", "layer7"])  # fmt: skip
    assert set(out) == {"step", "n", "ema", "midpoint", "live", "live from layer1",
                        "live from layer7"}  # fmt: skip
    assert out["live from layer1"] == out["live"]  # every block live: the live G itself
    assert out["live from layer7"] not in (out["live"], out["ema"])
    with pytest.raises(GanpaintError, match="--live-from layer99: no such block"):
        state_probe.ema_vs_live(str(state), "tiny", "B", 6, "cpu", live_from=["layer99"])
    real, real_b = render_scenes(6, 32, EVAL_SEED), render_scenes(6, 32, EVAL_SEED + 6)
    for row, gen in (("ema", t.G_ema), ("live", t.G)):  # each measured as a window would
        again = evaluate_gan(gen.eval(), seg, 6, real=real, real_b=real_b, device="cpu")
        assert out[row] == {k: again[k] for k in out[row]}


def test_ema_needs_a_bundle(tmp_path, capsys):
    assert state_probe.main([str(tmp_path), "--what", "ema"]) == 2
    assert "--what ema needs --bundle" in capsys.readouterr().err


def test_a_state_opens_with_the_recipe_it_was_trained_with(tmp_path, capsys):
    from ganpaint.train.configs import get_config

    state, _ = _state(tmp_path, get_config("tiny").replace(d_spectral=True))
    # --config names the plain tiny config; the state's spectral branch comes from the state
    assert state_probe.main([str(state), "--what", "d", "--config", "tiny", "--samples", "4",
                             "--device", "cpu"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["step"] == 3
