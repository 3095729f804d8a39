"""The self-test (run by the standalone build's check) loads the bundle's classifier and
encoder and runs each on the frame: the frozen program must carry what torchvision needs."""

from __future__ import annotations

import numpy as np
import pytest

from ganpaint.app.views.launch import _self_test_networks
from ganpaint.core.errors import BundleError
from ganpaint.models.classifier import SceneClassifier
from ganpaint.models.encoder import PictureEncoder


class Bundle:
    def __init__(self, classifier=None, encoder=None, problem=None):
        self.classifier, self.encoder, self.problem = classifier, encoder, problem

    def load_classifier(self):
        if self.problem:
            raise BundleError(self.problem)
        return self.classifier

    def load_encoder(self):
        return self.encoder


FRAME = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def test_both_networks_run():
    bundle = Bundle(SceneClassifier(("church", "forest"), (4, "M", 8)).eval(),
                    PictureEncoder(8, 8, 4, "layer4").eval())  # fmt: skip
    line = _self_test_networks(bundle, FRAME)
    assert line.startswith("classifier reads '") and "encoder gives a z of 8 values" in line


def test_none_is_said():
    assert _self_test_networks(Bundle(), FRAME) == "no classifier or encoder in the bundle"


def test_a_damaged_classifier_fails_the_self_test():
    with pytest.raises(BundleError, match="sha256"):
        _self_test_networks(Bundle(problem="x/classifier.safetensors: sha256"), FRAME)
