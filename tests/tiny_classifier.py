"""A small random-weight scene classifier for the tests: the interface of
``SceneClassifier`` (``classes``, ``unit_layers``, ``module_for``, images in [-1, 1] in,
logits out) on two conv layers and a ResNet-style head."""

from __future__ import annotations

import torch
from torch import nn


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
