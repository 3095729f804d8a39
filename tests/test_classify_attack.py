"""The targeted attack (``ganpaint.classify.attack``) on a tiny CNN trained in the test: it
reaches the target on the uint8 picture, its L2 and unit changes are what they say, and bad
input is refused with a message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganpaint.classify.attack import AttackSettings, attack_batch, attack_image
from ganpaint.core.errors import GanpaintError
from tests.tiny_classifier import TinyClassifier, pictures, predict, to_uint8, trained_tiny


@pytest.fixture(scope="module")
def tiny() -> TinyClassifier:
    return trained_tiny()


def test_attack_reaches_the_target_on_the_uint8_picture(tiny):
    x, y = pictures(6, torch.Generator().manual_seed(5))
    images = to_uint8(x)
    targets = [(int(c) + 1) % 3 for c in y]
    results = attack_batch(tiny, images, targets)
    probs = predict(tiny, np.stack([r.adversarial for r in results]))
    for r, image, t, p in zip(results, images, targets, probs, strict=True):
        assert r.success and r.adversarial.dtype == np.uint8
        assert p.argmax() == t  # an independent forward pass of the uint8 picture
        assert r.target == t and r.probs_after.argmax() == t
        diff = (r.adversarial.astype(float) - image.astype(float)) / 255
        assert r.l2 == pytest.approx(np.sqrt((diff**2).sum()), rel=1e-5) and r.l2 > 0
        assert r.unit_change.shape == (8,) and (r.unit_change >= 0).all()
        assert r.heatmap.shape == (16, 16) and r.amplified.shape == image.shape


def test_unit_change_is_the_change_of_the_spatial_max(tiny):
    x, y = pictures(1, torch.Generator().manual_seed(9))
    image = to_uint8(x)[0]
    r = attack_image(tiny, image, (int(y[0]) + 2) % 3, layer="conv1", heatmap_units=[0, 1])
    assert r.layer == "conv1"
    with torch.no_grad():
        a0 = tiny.conv1(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 * 2 - 1)
        a1 = tiny.conv1(
            torch.from_numpy(r.adversarial).permute(2, 0, 1)[None].float() / 255 * 2 - 1
        )
    expected = (a1.amax((2, 3)) - a0.amax((2, 3))).abs()[0].numpy()
    np.testing.assert_allclose(r.unit_change, expected, atol=1e-5)
    assert r.source == int(y[0])


def test_the_attack_keeps_the_classifier_mode(tiny):
    tiny.train()
    try:
        x, y = pictures(1, torch.Generator().manual_seed(3))
        attack_image(tiny, to_uint8(x)[0], (int(y[0]) + 1) % 3, settings=AttackSettings(steps=2))
        assert tiny.training
    finally:
        tiny.eval()


def test_amplified_perturbation_is_mid_grey_plus_gain_times_change(tiny):
    x, y = pictures(1, torch.Generator().manual_seed(4))
    image = to_uint8(x)[0]
    r = attack_image(tiny, image, (int(y[0]) + 1) % 3, gain=10.0)
    pert = r.adversarial.astype(float) - image.astype(float)
    np.testing.assert_array_equal(r.amplified, np.clip(128 + 10 * pert, 0, 255).round())


@pytest.mark.parametrize(
    ("images", "targets", "words"),
    [
        (np.zeros((1, 16, 16, 3), np.float32), [1], "uint8"),
        (np.zeros((1, 16, 16), np.uint8), [1], "uint8"),
        (np.zeros((2, 16, 16, 3), np.uint8), [1], "2 pictures but 1"),
        (np.zeros((1, 16, 16, 3), np.uint8), [3], "target class 3"),
    ],
)
def test_bad_input_is_refused_with_a_message(tiny, images, targets, words):
    with pytest.raises(GanpaintError, match=words):
        attack_batch(tiny, images, targets)


def test_unknown_layer_and_bad_settings_are_refused(tiny):
    with pytest.raises(GanpaintError, match="no unit layer 'conv9'.*conv1, conv2"):
        attack_image(tiny, np.zeros((16, 16, 3), np.uint8), 1, layer="conv9")
    with pytest.raises(GanpaintError, match="steps"):
        AttackSettings(steps=0)
    with pytest.raises(GanpaintError, match="gamma"):
        AttackSettings(gamma=1.5)


def test_mean_interval_is_the_normal_approximation():
    from ganpaint.classify.attack_stats import mean_interval

    iv = mean_interval([1, 2, 3, 4, 5], level=0.99)
    half = 2.5758293035489 * np.std([1, 2, 3, 4, 5], ddof=1) / np.sqrt(5)  # z from tables
    assert iv.mean == 3 and iv.n == 5
    assert iv.low == pytest.approx(3 - half) and iv.high == pytest.approx(3 + half)
    assert mean_interval([2.0]).low == mean_interval([2.0]).high == 2.0
    with pytest.raises(GanpaintError, match="no values"):
        mean_interval([])


def test_mean_interval_covers_the_true_mean_at_its_level():
    from ganpaint.classify.attack_stats import mean_interval

    rng = np.random.default_rng(1)
    hits = [
        (iv.low <= 1.0 <= iv.high)
        for iv in (mean_interval(rng.exponential(1.0, 200)) for _ in range(1000))
    ]
    assert 0.975 <= np.mean(hits) <= 1.0  # 99 % nominal, a skewed distribution


def test_ratio_interval_brackets_the_ratio_of_means():
    from ganpaint.classify.attack_stats import ratio_interval

    rng = np.random.default_rng(2)
    a, b = rng.exponential(3.0, 400), rng.exponential(1.0, 400)
    ratio, low, high = ratio_interval(a, b)
    assert ratio == pytest.approx(a.mean() / b.mean())
    assert low < ratio < high and low > 2.0 and high < 4.0
    with pytest.raises(GanpaintError, match="equal"):
        ratio_interval([1.0], [1.0, 2.0])


def test_group_means_split_the_units():
    from ganpaint.classify.attack_stats import group_means

    change = np.arange(10, dtype=float)
    assert group_means(change, [0, 1], [2, 3]) == (0.5, 2.5, np.mean([4, 5, 6, 7, 8, 9]))
    assert group_means(change, [0, 1], [1, 2]) == (0.5, 1.5, np.mean(range(3, 10)))
    with pytest.raises(GanpaintError, match="units each"):
        group_means(change, [], [1])
