"""``devtools.classifier_probe``: its class rules on label maps built for each class, and a
short run that trains with the rule asked for (not the shipped one) and dissects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganpaint.classify.train as train_module
import ganpaint.devtools.classifier_probe as probe_module
from ganpaint.classify.data import SceneSet
from ganpaint.classify.train import TrainSettings
from ganpaint.devtools.classifier_probe import RULES, chalet_track, describe, entrance, probe
from ganpaint.scenes import CONCEPTS, scene_classes
from ganpaint.scenes.concepts import BRICK, DOME, DOOR, GRASS, MOUNTAIN, PATH, SKY

N = 64  # label maps are N x N, so a block of k rows of the full width is k / N of it


def _map(*blocks: tuple[int, int, int, int, int]) -> np.ndarray:
    """Sky over grass, then each block (label, top, left, height, width) painted in."""
    lab = np.full((N, N), SKY, np.uint8)
    lab[N // 2 :] = GRASS
    for label, top, left, h, w in blocks:
        lab[top : top + h, left : left + w] = label
    return lab


DOME_BIG = (DOME, 4, 4, 10, 10)  # 100 px: 2.4 %
ONE_SMALL = (BRICK, 30, 10, 12, 24)  # 288 px: 7 %, one building
MOUNTAINS = (MOUNTAIN, 24, 40, 6, 24)  # 3.5 %
A_PATH = (PATH, 50, 0, 4, 64)  # 6.3 %
BIG = (BRICK, 10, 4, 40, 56)  # 55 %
BIG_DOOR = (DOOR, 36, 26, 14, 12)  # 4.1 %
TWO = ((BRICK, 30, 2, 12, 20), (BRICK, 30, 40, 12, 20))


def test_chalet_track_rule():
    maps = [
        _map(ONE_SMALL, DOME_BIG),  # church
        _map(),  # landscape
        _map(BIG),  # close-up
        _map(ONE_SMALL, MOUNTAINS),  # chalet
        _map(ONE_SMALL, A_PATH),  # track
        _map(ONE_SMALL),  # house
        _map(*TWO, MOUNTAINS),  # a village with mountains: chalet (no village class)
        _map(ONE_SMALL, MOUNTAINS, A_PATH),  # chalet before track
    ]
    assert chalet_track(np.stack(maps)).tolist() == [0, 1, 2, 3, 4, 5, 3, 3]


def test_entrance_rule():
    maps = [
        _map(ONE_SMALL, DOME_BIG),  # church
        _map(),  # landscape
        _map(*TWO),  # village
        _map(BIG, BIG_DOOR),  # entrance
        _map(BIG),  # close-up, no large door
        _map(ONE_SMALL),  # house
        _map((BRICK, 30, 10, 20, 20)),  # 400 px, 9.8 %: under 25 %, a house
    ]
    assert entrance(np.stack(maps)).tolist() == [0, 1, 2, 3, 4, 5, 5]
    # where the shipped rule says church, landscape or village, so does this one
    shipped = scene_classes(np.stack(maps))
    assert shipped[:3].tolist() == [0, 1, 2]


def test_every_rule_names_its_classes():
    maps = np.stack([_map(), _map(BIG, BIG_DOOR), _map(ONE_SMALL, A_PATH), _map(*TWO)])
    for name, rule in RULES.items():
        if rule is None:
            continue
        names, classify = rule
        assert len(set(names)) == len(names), name
        assert classify(maps).max() < len(names), name


def _scenes(start: int, n: int, size: int, cache=None) -> SceneSet:
    """n 32 px scenes cycling through label maps of the entrance rule's six classes; each
    picture is the colour of its map's labels, so a classifier can learn them."""
    maps = [_map(ONE_SMALL, DOME_BIG), _map(), _map(*TWO), _map(BIG, BIG_DOOR), _map(BIG),
            _map(ONE_SMALL)]  # fmt: skip
    palette = np.random.default_rng(0).integers(0, 255, (len(CONCEPTS), 3)).astype(np.uint8)
    labels = np.stack([maps[(start + i) % len(maps)][::2, ::2] for i in range(n)])
    return SceneSet(start, palette[labels], labels, scene_classes(labels))


@pytest.mark.slow
def test_a_short_run_trains_on_the_rule_asked_for(monkeypatch):
    monkeypatch.setattr(train_module, "load_scenes", _scenes)
    monkeypatch.setattr(probe_module, "load_scenes", _scenes)
    torch.manual_seed(0)
    s = TrainSettings(n_train=120, epochs=2, n_choose=36, batch=12, widths=(8, "M", 16),
                      refit_scenes=120, refit_steps=30, lr=1e-2, precision="fp32")  # fmt: skip
    model, out = probe(s, "entrance", 12, 1, torch.device("cpu"))
    names = RULES["entrance"][0]
    assert tuple(model.classes) == names
    assert list(out["class_frequencies_train"]) == list(names)
    # the six maps cycle, so every class of the rule is a sixth; the shipped rule has no
    # entrance and would put those scenes in close-up
    assert all(f == pytest.approx(1 / 6, abs=0.01) for f in out["class_frequencies_train"].values())
    assert out["refit_choose_accuracy"] > 0.5
    (layer,) = out["layers"]
    assert layer["name"] == model.unit_layers[-1]
    for counts in (layer["best"], layer["top1"]):
        assert set(counts) <= set(CONCEPTS) and sum(counts.values()) <= 16
    assert "entrance" in describe(out)


def test_bad_arguments_are_named():
    with pytest.raises(SystemExit, match="rule"):
        probe(TrainSettings(), "nope", 10, 1, torch.device("cpu"))
    for argv in (["--widths", "8,x"], ["--dropout", "1.5"], ["--scenes", "3"], ["--zoom", "0"]):
        with pytest.raises(SystemExit, match="classifier_probe"):
            probe_module.main(argv)
