"""The discriminator's projected heads: they read the bundled classifier's frozen trunk (kept
out of the discriminator's parameters and state), pass gradients to the picture, train,
resume exactly, grow into a state trained without them and are never silently dropped."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganpaint.core.errors import GanpaintError
from ganpaint.models.classifier import load_classifier
from ganpaint.train.configs import get_config
from ganpaint.train.discriminator import Discriminator
from ganpaint.train.projected import (
    FEATURE_LAYERS,
    ProjectedHeads,
    default_classifier_path,
    projected_loss,
)
from tests.test_train_spectral import _window_config

MICRO = get_config("tiny").replace(
    name="micro", g_widths=(16, 16, 8, 8), d_widths=(8, 8, 16, 16), z_dim=16, batch=4,
    r1_every=2, dataset_size=24, max_steps=4, sample_every=0,
)  # fmt: skip


def _data() -> torch.Tensor:
    gen = torch.Generator().manual_seed(5)
    return torch.randint(0, 256, (24, 32, 32, 3), generator=gen, dtype=torch.uint8)


def _trainer(tmp_path, name, resume=False, **changes):
    from ganpaint.train.gan import GANTrainer

    t = GANTrainer(MICRO.replace(**changes), tmp_path / name, device="cpu", resume=resume)
    t.set_data(_data())
    return t


def test_the_heads_read_the_classifiers_own_units():
    heads = ProjectedHeads()
    classifier = load_classifier(default_classifier_path())
    pictures = torch.rand(2, 3, 128, 128) * 2 - 1
    seen = {}
    hooks = [
        classifier.module_for(n).register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o))
        for n in FEATURE_LAYERS
    ]
    with torch.no_grad():
        classifier(pictures)
        feats = heads.features(pictures)
    for h in hooks:
        h.remove()
    for name in FEATURE_LAYERS:
        assert torch.allclose(feats[name], seen[name], atol=1e-5), name
    # a 32 px picture is resized to the classifier's 128 px: one logit map per layer
    maps = heads(torch.zeros(3, 3, 32, 32))
    assert [tuple(m.shape) for m in maps] == [(3, 32, 32), (3, 16, 16), (3, 8, 8)]


def test_the_trunk_is_frozen_and_outside_the_discriminators_state():
    torch.manual_seed(0)
    plain = Discriminator(32, (8, 8, 16, 16))
    torch.manual_seed(0)
    d = Discriminator(32, (8, 8, 16, 16), projected=ProjectedHeads())
    # the heads draw from their own seed: the rest is initialised as without them
    for k, v in plain.state_dict().items():
        assert torch.equal(d.state_dict()[k], v), k
    names = [n for n, _ in d.named_parameters()]
    assert names[: len(names) - len(list(d.projected.parameters()))] == [
        n for n, _ in plain.named_parameters()
    ]  # registered last: a grown state's optimiser moments keep their indices
    assert all(k.startswith(("projected.heads.",)) or k in plain.state_dict()
               for k in d.state_dict())  # fmt: skip
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    assert torch.equal(d(x), plain(x))  # the pixel logit (and so R1) does not use them
    loss = projected_loss(d.project(x))
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # G learns through the trunk
    assert all(p.grad is None and not p.requires_grad for p in d.projected.trunk.parameters())
    d.train()
    assert not d.projected.trunk.training  # batch norm on running statistics, always


def test_training_with_the_heads_moves_them_and_keeps_losses_finite(tmp_path):
    t = _trainer(tmp_path, "t", d_projected=1.0)
    before = {k: v.clone() for k, v in t.D.projected.state_dict().items()}
    trunk = {k: v.clone() for k, v in t.D.projected.trunk.state_dict().items()}
    for _ in range(3):
        out = t.train_step()
    assert {"loss_d_projected", "loss_g_projected"} <= set(out)
    assert all(torch.isfinite(v) for v in out.values())
    after = t.D.projected.state_dict()
    assert any(not torch.equal(after[k], v) for k, v in before.items())
    assert all(torch.equal(t.D.projected.trunk.state_dict()[k], v) for k, v in trunk.items())
    # without the heads there is no projected loss at all
    plain = _trainer(tmp_path, "plain").train_step()
    assert "loss_d_projected" not in plain


@pytest.mark.parametrize("cfg", [{"d_projected": 0.5}, {"d_highpass": 0.5}])
def test_resume_with_the_heads_continues_exactly(tmp_path, cfg):
    # the projected heads, and the high-pass head (train/highpass.py) likewise
    whole = _trainer(tmp_path, "whole", **cfg)
    whole.train(max_steps=2, export=False)
    whole.train(max_steps=4, export=False)
    first = _trainer(tmp_path, "a", **cfg)
    first.train(max_steps=2, export=False)
    torch.manual_seed(99)  # the state, not this process, decides what comes next
    second = _trainer(tmp_path, "b", resume=tmp_path / "a" / "state", **cfg)
    second.train(max_steps=4, export=False)
    assert second.images_seen == whole.images_seen
    for name in ("G", "G_ema", "D"):
        a, b = getattr(whole, name).state_dict(), getattr(second, name).state_dict()
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6), (name, k)


def test_a_state_without_the_heads_grows_them_and_keeps_them(tmp_path):
    old = _trainer(tmp_path, "old")
    for _ in range(2):
        old.train_step()
    state = old.save_checkpoint()
    grown = _trainer(tmp_path, "grown", resume=state, d_projected=1.0)
    assert grown.step == 2 and "projected heads added" in grown.events[-1]
    own = grown.D.state_dict()
    for k, v in old.D.state_dict().items():
        assert torch.equal(own[k], v), k
    n_old = len(list(old.D.parameters()))
    assert all("exp_avg_sq" in grown.opt_D.state[p] for p in list(grown.D.parameters())[:n_old])
    grown.train_step()
    with_heads = grown.save_checkpoint()
    again = _trainer(tmp_path, "again", resume=with_heads, d_projected=2.0)  # weight may change
    assert sum("projected heads added" in e for e in again.events) == 1
    assert torch.equal(
        again.D.projected.heads["conv7"][0].parametrizations.weight.original,
        grown.D.projected.heads["conv7"][0].parametrizations.weight.original,
    )
    with pytest.raises(GanpaintError, match="resume it with d_projected"):
        _trainer(tmp_path, "dropped", resume=with_heads)
    # the spectral branch registers before the heads: it cannot come after them
    with pytest.raises(GanpaintError, match="d_spectral cannot be added"):
        _trainer(tmp_path, "late", resume=with_heads, d_projected=1.0, d_spectral=True)
    both = _trainer(tmp_path, "both", resume=state, d_projected=1.0, d_spectral=True)
    assert sum("added" in e for e in both.events) == 2  # both at once is fine


def test_a_missing_or_wrong_classifier_is_named(tmp_path):
    with pytest.raises(GanpaintError, match="no-such.safetensors"):
        ProjectedHeads(tmp_path / "no-such.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(GanpaintError, match="bad.safetensors"):
        ProjectedHeads(bad)
    with pytest.raises(ValueError, match="d_projected"):
        MICRO.replace(d_projected=-1.0)


@pytest.mark.parametrize(("in_state", "option", "expect"), [
    (0.5, None, 0.5),  # a state keeps its heads and their weight from window to window
    (0.5, 2.0, 2.0),  # the option sets the weight
    (0.0, 1.0, 1.0),  # the option adds them
    (0.0, None, 0.0),
])  # fmt: skip
def test_a_window_keeps_or_sets_the_heads(tmp_path, monkeypatch, in_state, option, expect):
    from ganpaint.devtools import gpu_window

    state = {"d_projected": in_state}
    cfg = _window_config(tmp_path, monkeypatch, state, d_projected=option)
    assert cfg.d_projected == expect
    assert gpu_window.AB_VARIANTS["d_projected"] == ["--d-projected", "0.25"]


def test_the_state_names_the_classifier_the_heads_learned_on(tmp_path):
    import json

    t = _trainer(tmp_path, "t", d_projected=1.0)
    t.train_step()
    state = t.save_checkpoint()
    meta = json.loads((state / "state.json").read_text())
    assert meta["projected_source"] == t.D.projected.source
    assert len(meta["projected_source"]["classifier_sha256"]) == 64
    same = _trainer(tmp_path, "same", resume=state, d_projected=1.0)
    assert not any("another classifier" in e for e in same.events)
    meta["projected_source"]["classifier_sha256"] = "0" * 64  # as if retrained since
    (state / "state.json").write_text(json.dumps(meta))
    moved = _trainer(tmp_path, "moved", resume=state, d_projected=1.0)
    assert (
        "the projected heads now read another classifier (sha256 000000000000 ->"
        in (moved.events[-1])
    )


def test_the_heads_run_under_bf16_autocast_in_float32():
    # CUDA trains under bf16 autocast; the CPU's autocast stands in for it here
    d = Discriminator(32, (8, 8, 16, 16), projected=ProjectedHeads()).train()
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        maps = d.project(x)
        assert all(m.dtype == torch.float32 for m in d.project(x.bfloat16()))  # G's bf16
        # a 256 px picture is shrunk with antialiasing, which has no bf16 kernel on the CPU
        big = d.projected(torch.randn(1, 3, 256, 256).bfloat16())
        assert [tuple(m.shape) for m in big] == [(1, 32, 32), (1, 16, 16), (1, 8, 8)]
    assert all(m.dtype == torch.float32 and torch.isfinite(m).all() for m in maps)
    projected_loss(maps).backward()
    assert torch.isfinite(x.grad).all()
    buffers = dict(d.projected.named_buffers())
    assert buffers and all(b.dtype == torch.float32 for b in buffers.values())


def test_folding_batch_norm_keeps_the_output_and_draws_no_random_numbers():
    from ganpaint.train.projected import fold_batch_norm

    torch.manual_seed(0)
    conv, bn, relu = nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU()
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-1, 1)
    layers = [conv, bn.eval(), relu]
    x = torch.randn(2, 3, 8, 8)
    state = torch.random.get_rng_state()
    folded = fold_batch_norm(layers)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert len(folded) == 2 and folded[1] is relu and folded[0] is not conv
    with torch.no_grad():
        assert torch.allclose(nn.Sequential(*folded)(x), nn.Sequential(*layers)(x), atol=1e-5)
    assert fold_batch_norm([relu, bn]) == [relu, bn]  # no conv before it: kept
