"""The discriminator's high-pass head: it reads the picture's fine texture (stripes of a
grey level included) and nothing else, passes gradients to the picture, stays out of the
pixel logit (and so of R1), trains, grows into a state trained without it and is never
silently dropped; it resumes exactly (``tests/test_train_projected.py``, with the projected
heads)."""

from __future__ import annotations

import math

import pytest
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.train.discriminator import Discriminator
from ganpaint.train.highpass import FOLD, GAIN, HighpassHead, residual
from ganpaint.train.projected import projected_loss
from tests.test_train_projected import _trainer


def _sky(stripes: float = 0.0) -> torch.Tensor:
    """Two 32 px pictures in [-1, 1]: a vertical gradient, a row every 4 px ``stripes``
    grey levels brighter."""
    rows = torch.linspace(-0.6, 0.4, 32).view(1, 1, 32, 1).expand(2, 3, 32, 32).clone()
    rows[:, :, ::4] += stripes * 2 / 255
    return rows


def test_the_residual_ignores_smooth_gradients_and_keeps_one_level_stripes():
    smooth = residual(_sky())[..., 2:-2, 2:-2]  # away from the replicated border
    assert smooth.abs().max() < 1e-6
    striped = residual(_sky(1.0))[..., 2:-2, 2:-2] * GAIN
    assert 0.15 < striped.abs().max() < 0.3  # one grey level is about 0.25 after the gain


def test_the_head_sees_stripes_and_gives_the_picture_a_gradient():
    head = HighpassHead()
    smooth, striped = _sky(), _sky(2.0)
    maps = head(torch.cat([smooth, striped]))
    assert tuple(maps.shape) == (4, 32 // FOLD, 32 // FOLD)
    assert not torch.allclose(maps[:2], maps[2:])  # stripes change its logits
    x = striped.clone().requires_grad_(True)
    projected_loss([head(x)]).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="divisible by 4"):
        head(torch.zeros(1, 3, 30, 30))


def test_the_head_is_outside_the_pixel_logit_and_registered_last():
    torch.manual_seed(0)
    plain = Discriminator(32, (8, 8, 16, 16))
    torch.manual_seed(0)
    d = Discriminator(32, (8, 8, 16, 16), highpass=HighpassHead())
    for k, v in plain.state_dict().items():  # its own seed: the rest is as without it
        assert torch.equal(d.state_dict()[k], v), k
    names = [n for n, _ in d.named_parameters()]
    n_head = len(list(d.highpass.parameters()))
    assert names[:-n_head] == [n for n, _ in plain.named_parameters()]
    assert all(n.startswith("highpass.") for n in names[-n_head:])
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(d(x), plain(x))
    assert plain.texture(x) == [] and len(d.texture(x)) == 1


def test_training_with_the_head_moves_it_and_keeps_losses_finite(tmp_path):
    t = _trainer(tmp_path, "t", d_highpass=0.5)
    before = {k: v.clone() for k, v in t.D.highpass.state_dict().items()}
    for _ in range(3):
        out = t.train_step()
    assert {"loss_d_highpass", "loss_g_highpass"} <= set(out)
    assert all(math.isfinite(float(v)) for v in out.values())
    after = t.D.highpass.state_dict()
    assert any(not torch.equal(after[k], v) for k, v in before.items())
    assert "loss_d_highpass" not in _trainer(tmp_path, "plain").train_step()


def test_a_state_grows_the_head_after_the_projected_heads_and_keeps_it(tmp_path):
    old = _trainer(tmp_path, "old", d_projected=0.25)
    old.train_step()
    state = old.save_checkpoint()
    grown = _trainer(tmp_path, "grown", resume=state, d_projected=0.25, d_highpass=0.5)
    assert "high-pass head added" in grown.events[-1]
    assert not any("d_highpass" in e for e in grown.events)  # grown, not a recipe change
    own = grown.D.state_dict()
    for k, v in old.D.state_dict().items():
        assert torch.equal(own[k], v), k
    grown.train_step()
    with_head = grown.save_checkpoint()
    with pytest.raises(GanpaintError, match="resume it with d_highpass"):
        _trainer(tmp_path, "dropped", resume=with_head, d_projected=0.25)
    with pytest.raises(GanpaintError, match="d_projected cannot be added"):
        _trainer(tmp_path, "late", resume=_trainer_state(tmp_path), d_projected=0.25,
                 d_highpass=0.5)  # fmt: skip
    again = _trainer(tmp_path, "again", resume=with_head, d_projected=0.25, d_highpass=1.0)
    assert any("d_highpass 0.5 -> 1.0" in e for e in again.events)


def _trainer_state(tmp_path):
    """A state with the high-pass head and no projected heads."""
    t = _trainer(tmp_path, "highpass-only", d_highpass=0.5)
    t.train_step()
    return t.save_checkpoint()


def test_a_negative_weight_is_refused():
    from ganpaint.train.configs import get_config

    with pytest.raises(ValueError, match="d_highpass must be 0"):
        get_config("tiny").replace(d_highpass=-1.0)
