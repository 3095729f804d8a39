"""``devtools.head_sweep``: each candidate's figures on the choosing scenes are those that
``ganpaint classifier ablate`` and ``summary`` would give for the head refitted with its
settings, and the bundle's model is left as it was."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from ganpaint.classify.ablate import ablate_classifier
from ganpaint.classify.data import SceneSet
from ganpaint.classify.train import TrainSettings, refit_head
from ganpaint.devtools.head_sweep import _numbers, sweep, table
from ganpaint.models.classifier import SceneClassifier
from ganpaint.models.classifier_dissection import Ablation
from tests.test_classify_train import _scenes


def _head_of(train: SceneSet, model: SceneClassifier, s: TrainSettings) -> SceneClassifier:
    from ganpaint.classify.ablate import pooled_features

    m = copy.deepcopy(model)
    refit_head(m, pooled_features(m, train.images), train.classes, s)
    return m


def test_rows_match_the_ablate_command_and_leave_the_model():
    torch.manual_seed(0)
    model = SceneClassifier(("r", "g", "b"), (4, "M", 32)).eval()
    train, choose = _scenes(300, 0), _scenes(200, 1000)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    base = TrainSettings(refit_steps=150)
    rows = sweep(model, train, choose, [0.0, 0.02], [0, 5], 300, 300, base)
    assert [(r["head_l1"], r["head_units"]) for r in rows] == [
        (0.0, 0), (0.0, 5), (0.02, 0), (0.02, 5)]  # fmt: skip
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    for r in rows:
        if r["head_units"]:
            assert r["weights_used"] == 3 * 5
    for r in (rows[1], rows[3]):
        s = replace(base, head_l1=r["head_l1"], head_units=r["head_units"])
        refitted = _head_of(train, model, s)
        doc = ablate_classifier(refitted, train, choose, ks=[20])
        f = Ablation.from_dict(doc, "ablation").figures(20)
        assert r["own_drop_top20"] == pytest.approx(f["own_drop"], abs=0.01)
        assert r["other_drop_top20"] == pytest.approx(f["other_drop"], abs=0.01)
        assert r["keep_top20_drop"] == pytest.approx(f["keep_drop"], abs=0.01)
    assert rows[0]["choose_accuracy"] > 0.6
    assert table(rows).count("\n") == len(rows) + 1


def test_bad_lists_are_named():
    for bad in ("a,b", "", "-1"):
        with pytest.raises(SystemExit, match="head_sweep"):
            _numbers(bad, float)
    assert _numbers("0.01, 0.03", float) == [0.01, 0.03]
