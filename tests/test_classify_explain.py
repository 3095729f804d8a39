"""``ganpaint.classify.explain.read_frame`` on a small random-weight classifier made here:
the probabilities are the softmax of the logits, the drives are exactly each unit's share of
the top class's centred logit for a pooled linear head, labels come from a dissection, and
bad input is refused with a message."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganpaint.classify.explain import UnitLabel, read_frame, unit_labels
from ganpaint.core.errors import GanpaintError
from tests.tiny_classifier import PooledClassifier


@pytest.fixture
def model() -> PooledClassifier:
    torch.manual_seed(3)
    return PooledClassifier()


def picture(seed: int = 0, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_probabilities_and_exact_drives_for_a_pooled_linear_head(model):
    image = picture()
    reading = read_frame(model, image, top=12)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        logits = model(x)[0]
        pooled = model.conv2(model.conv1(x))[0].mean((1, 2))
    assert np.allclose(reading.probs, logits.softmax(0).numpy(), atol=1e-6)
    assert reading.top == int(logits.argmax()) and reading.top_class == model.classes[reading.top]
    w = model.fc.weight.detach()
    share = ((w[reading.top] - w.mean(0)) * pooled).numpy()  # the unit's part of the centred logit
    assert [u.unit for u in reading.units] == list(np.argsort(-share, kind="stable"))
    assert np.allclose([u.drive for u in reading.units], np.sort(share)[::-1], atol=1e-5)
    # the drives add up to the centred logit less the bias's part
    centred = logits[reading.top] - logits.mean()
    bias = model.fc.bias.detach()
    assert np.isclose(share.sum(), float(centred - (bias[reading.top] - bias.mean())), atol=1e-5)
    assert reading.layer == "conv2"
    u = reading.units[0]
    assert u.heatmap.shape == (8, 8) and u.heatmap.dtype == np.float32
    assert u.peak == pytest.approx(float(u.heatmap.max()))
    assert u.label is None and u.concept == ""


def test_top_limits_the_units_and_the_model_mode_is_kept(model):
    model.train()
    reading = read_frame(model, picture(1), top=3, layer="conv1")
    assert len(reading.units) == 3 and reading.layer == "conv1"
    assert reading.units[0].heatmap.shape == (16, 16)
    assert model.training
    drives = [u.drive for u in reading.units]
    assert drives == sorted(drives, reverse=True)


def test_works_inside_no_grad(model):
    with torch.no_grad():
        reading = read_frame(model, picture(2))
    assert len(reading.units) == 6 and reading.ms >= 0


def _dissection(layer: str, labelled: dict[int, tuple[str, float]]):
    def unit(i: int):
        concept, iou = labelled.get(i, ("sky", 0.01))
        best = SimpleNamespace(concept=concept, iou=iou, labelled=i in labelled)
        return SimpleNamespace(unit=i, best=best)

    layers = {layer: SimpleNamespace(units=[unit(i) for i in range(12)])}
    return SimpleNamespace(layer=lambda name: layers.get(name))


def test_labels_come_from_the_dissection(model):
    dissection = _dissection("conv2", {u: ("dome", 0.2) for u in range(0, 12, 2)})
    assert unit_labels(dissection, "conv2")[4] == UnitLabel("dome", 0.2)
    assert 5 not in unit_labels(dissection, "conv2")
    assert unit_labels(dissection, "conv1") == {} and unit_labels(None, "conv2") == {}
    reading = read_frame(model, picture(), dissection, top=12)
    for u in reading.units:
        assert (u.concept == "dome") == (u.unit % 2 == 0)


@pytest.mark.parametrize(
    "image",
    [np.zeros((32, 32), np.uint8), np.zeros((32, 32, 4), np.uint8), np.zeros((32, 32, 3))],
)
def test_bad_pictures_are_refused(model, image):
    with pytest.raises(GanpaintError, match="H x W x 3 uint8"):
        read_frame(model, image)


def test_unknown_layer_is_refused(model):
    with pytest.raises(GanpaintError, match="no unit layer 'conv9'; it has conv1, conv2"):
        read_frame(model, picture(), layer="conv9")
