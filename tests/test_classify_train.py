"""The classifier's fine-tune under its refitted head (``classify.train.finetune_trunk``):
the head stays exactly as the refit left it, the conv layers learn, and the head's weights
are trainable again afterwards."""

from __future__ import annotations

import numpy as np
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
