"""Small classifiers for the tests, with the interface of ``SceneClassifier`` (``classes``,
``unit_layers``, ``module_for``, images in [-1, 1] in, logits out): ``TinyClassifier`` for the
attack tests, trained once per session in about a second, telling 16 px pictures apart by
their brightest channel; ``PooledClassifier`` (random weights, a ResNet-style pooled linear
head) for the reading the app shows (``classify.explain``) and the Classifier panel."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import nn


class TinyClassifier(nn.Module):
    """Two conv layers whose post-ReLU outputs are the units, as ``SceneClassifier`` has."""

    classes = ("red", "green", "blue")
    unit_layers = ("conv1", "conv2")

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU())
        self.head = nn.Linear(8, 3)

    def module_for(self, layer: str) -> nn.Module:
        return getattr(self, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv2(self.conv1(x)).amax((2, 3)))


def pictures(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """16 px pictures whose class is the channel that is brighter than the others."""
    labels = torch.randint(0, 3, (n,), generator=gen)
    x = torch.rand(n, 3, 16, 16, generator=gen) * 0.4 + 0.1
    x[torch.arange(n), labels] += 0.4
    return x, labels


@cache
def trained_tiny() -> TinyClassifier:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = TinyClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is faster, and fair to a busy machine
    try:
        for _ in range(100):
            x, y = pictures(32, gen)
            loss = nn.functional.cross_entropy(model(x * 2 - 1), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    x, y = pictures(64, gen)
    with torch.no_grad():
        assert (model(x * 2 - 1).argmax(1) == y).float().mean() > 0.9
    return model


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.permute(0, 2, 3, 1) * 255).round().byte().numpy()


def predict(model: nn.Module, images: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 * 2 - 1
    with torch.no_grad():
        return model(x).softmax(1).numpy()


class PooledClassifier(nn.Module):
    """Two conv layers (their post-ReLU outputs are the units) and a ResNet-style head:
    global average pool, one linear layer."""

    classes = ("church", "house", "village", "landscape")
    unit_layers = ("conv1", "conv2")

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(8, 12, 3, 2, 1), nn.ReLU())
        self.fc = nn.Linear(12, 4)

    def module_for(self, layer: str) -> nn.Module:
        return getattr(self, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv2(self.conv1(x)).mean((2, 3)))
