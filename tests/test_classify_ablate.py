"""Ablation math on hand-made pooled units, where the answer can be worked out by hand."""

from __future__ import annotations

import pytest
import torch

from ganpaint.classify.ablate import (
    ablated_logits,
    ablation_curves,
    balanced_accuracy,
    rank_units,
)
from ganpaint.classify.dissect import chance_iou


def test_balanced_accuracy_by_hand():
    truth = torch.tensor([0, 0, 1, 1, 1, 2])
    pred = torch.tensor([0, 1, 1, 1, 0, 0])
    ba = balanced_accuracy(pred, truth, 3)
    # class 0: recall 1/2, TNR: of 4 negatives 2 predicted 0 -> 2/4; (0.5 + 0.5) / 2
    assert ba[0] == pytest.approx(50.0)
    # class 1: recall 2/3, TNR 2/3 (one of the class-0 scenes predicted 1)
    assert ba[1] == pytest.approx(100 * (2 / 3 + 2 / 3) / 2)
    # class 2: never predicted: recall 0, TNR 1
    assert ba[2] == pytest.approx(50.0)


def _toy():
    # unit 0 votes for class 0, unit 1 for class 1, unit 2 is silent
    feats = torch.tensor([[2.0, 0.0, 1.0], [3.0, 0.5, 1.0], [0.0, 2.0, 1.0], [0.5, 3.0, 1.0]])
    truth = torch.tensor([0, 0, 1, 1])
    weight = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    bias = torch.tensor([0.0, 0.1])
    return feats.double(), truth, weight.double(), bias.double()


def test_zeroing_a_unit_removes_its_term():
    feats, _, weight, bias = _toy()
    keep = torch.tensor([True, False, True])
    expected = torch.stack([feats[:, 0], torch.full((4,), 0.1, dtype=torch.float64)], 1)
    assert torch.allclose(ablated_logits(feats, weight, bias, keep), expected)


def test_ranking_and_curves_by_hand():
    feats, truth, weight, bias = _toy()
    ranked = rank_units(feats, truth, weight, bias)
    # zeroing unit 0 makes class 1 win everywhere (bias 0.1 > 0): both classes fall to 50;
    # zeroing unit 1 turns the last scene (0.5 vs 0.1) to class 0: both fall to 75;
    # the silent unit changes nothing and comes last
    assert ranked[0] == [(0, 50.0), (1, 25.0), (2, 0.0)]
    assert ranked[1] == [(0, 50.0), (1, 25.0), (2, 0.0)]
    base, curves = ablation_curves(feats, truth, weight, bias, [[0, 1, 2], [1, 0, 2]], [1])
    assert base == [100.0, 100.0]
    assert curves[0]["remove"] == [[50.0, 50.0]]  # without unit 0: class 1 everywhere
    # only unit 0 kept: class 1's logit is its bias 0.1, so scene 2 (0 vs 0.1) stays
    # class 1 and the rest go to class 0: class 0 recall 1, TNR 1/2
    assert curves[0]["keep"] == [[75.0, 75.0]]
    assert curves[1]["remove"] == [[75.0, 75.0]]


def test_chance_iou():
    # a mask of 10 % independent of a concept of 30 %: overlap 3 %, union 37 %
    assert chance_iou(0.3, 0.9) == pytest.approx(0.03 / 0.37)
    assert chance_iou(0.0, 0.99) == 0.0
