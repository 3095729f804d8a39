"""The classifier's head refit and fine-tune (``classify.train``): an unpruned head stays
exactly as the refit left it while the conv layers learn, and its weights are trainable
again afterwards; a pruned head keeps each class's k strongest units, and only those train."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from ganpaint.classify.data import SceneSet
from ganpaint.classify.train import TrainSettings, finetune_trunk, predict
from ganpaint.models.classifier import SceneClassifier


def _scenes(n: int, seed: int) -> SceneSet:
    """32 px pictures whose class (of 3) is the channel brighter than the others."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 3, n)
    images = rng.integers(20, 120, (n, 32, 32, 3)).astype(np.uint8)
    images[np.arange(n), :, :, classes] += 100
    labels = np.zeros((n, 32, 32), np.uint8)
    return SceneSet(start=seed, images=images, labels=labels, classes=classes.astype(np.int64))


def test_finetune_trains_the_conv_layers_under_a_frozen_head():
    torch.manual_seed(0)
    model = SceneClassifier(("r", "g", "b"), (4, "M", 8))
    train, choose = _scenes(256, 0), _scenes(128, 1000)
    head = {k: v.clone() for k, v in model.head.state_dict().items()}
    trunk = model.vgg.features[0].weight.detach().clone()
    before = float((predict(model, choose.images) == choose.classes).mean())
    s = TrainSettings(batch=32, finetune_epochs=3, finetune_lr=1e-2)
    out = finetune_trunk(model, train, choose, s)
    assert len(out) == 3 and all(set(r) == {"loss", "choose_accuracy"} for r in out)
    for k, v in model.head.state_dict().items():
        assert torch.equal(v, head[k]), k
    assert not torch.equal(model.vgg.features[0].weight, trunk)
    assert all(q.requires_grad for q in model.parameters())
    assert out[-1]["choose_accuracy"] > max(before, 0.6), (before, out)


def test_pruned_head_keeps_each_class_k_strongest_units_through_the_fine_tune():
    """``head_units`` = k: after the refit each class has exactly k nonzero weights, those of
    its largest standardised weights, and the fine-tune leaves the zeros at 0."""
    from ganpaint.classify.ablate import pooled_features
    from ganpaint.classify.train import refit_head

    torch.manual_seed(0)
    model = SceneClassifier(("r", "g", "b"), (4, "M", 8))
    train, choose = _scenes(256, 0), _scenes(128, 1000)
    feats = pooled_features(model, train.images)
    dense = TrainSettings(head_l1=0.0, dropout=0.0, refit_steps=200)
    refit_head(model, feats, train.classes, dense)
    strength = (model.head.weight.detach().double() * feats.std(0)).abs()
    pruned = TrainSettings(head_l1=0.0, dropout=0.0, refit_steps=200, head_units=3)
    refit_head(model, feats, train.classes, pruned)
    w = model.head.weight.detach()
    assert [int(n) for n in (w != 0).sum(1)] == [3, 3, 3]
    # the dense refit reaches the same optimum, so its strongest 3 are the ones kept
    assert torch.equal(w != 0, _top(strength, 3))
    w = w.clone()
    finetune_trunk(model, train, choose, replace(pruned, finetune_epochs=1, batch=32))
    after = model.head.weight.detach()
    assert torch.equal(after != 0, w != 0)
    assert not torch.equal(after, w)  # the kept weights trained with the trunk


def _top(x: torch.Tensor, k: int) -> torch.Tensor:
    mask = torch.zeros_like(x, dtype=torch.bool)
    return mask.scatter_(1, x.topk(k, 1).indices, True)


def test_train_classifier_builds_the_pooling_it_is_asked_for(monkeypatch):
    """``TrainSettings.pool`` reaches the model that trains, and the model learns with it."""
    import ganpaint.classify.train as train_mod

    monkeypatch.setattr(train_mod, "load_scenes", lambda start, n, size, cache: _scenes(n, start))
    s = TrainSettings(n_train=256, n_choose=128, epochs=3, batch=32, lr=1e-2, size=32,
                      widths=(4, "M", 8), pool="max", refit_scenes=256,
                      refit_steps=100)  # fmt: skip
    model, run = train_mod.train_classifier(s, torch.device("cpu"), cache=None)
    assert model.pool == "max" and model.config()["pool"] == "max"
    assert run["refit_choose_accuracy"] > 0.6, run


def test_random_zoom_shows_a_part_of_each_picture_at_full_size():
    from ganpaint.classify.data import random_zoom

    gen = torch.Generator().manual_seed(0)
    ramp = torch.linspace(-1, 1, 64).expand(8, 3, 64, 64).clone()  # left to right
    assert random_zoom(ramp, 1.0, gen) is ramp
    out = random_zoom(ramp, 0.5, gen)
    assert out.shape == ramp.shape
    span = out[:, 0, 32].amax(1) - out[:, 0, 32].amin(1)  # across one row
    # each picture now spans a random share in [0.5, 1] of the ramp, inside the picture
    assert (span > 2 * 0.5 - 0.05).all() and (span < 2.0).all() and span.std() > 0.02
    assert out.min() >= -1 and out.max() <= 1
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 0, 5], out[:, 0, 50])


def test_act_l1_adds_the_pooled_units_mean_to_the_loss():
    from ganpaint.classify.train import _loss

    torch.manual_seed(0)
    model = SceneClassifier(("r", "g", "b"), (4, "M", 8)).eval()
    scenes = _scenes(16, 3)
    x = torch.from_numpy(scenes.images).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(scenes.classes)
    s = TrainSettings(dropout=0.0, precision="fp32")
    with torch.no_grad():
        plain = float(_loss(model, x, y, s))
        penalised = float(_loss(model, x, y, replace(s, act_l1=0.5)))
        mean = float(model.pooled(x).mean())
    assert mean > 0 and penalised - plain == pytest.approx(0.5 * mean, rel=1e-5)
