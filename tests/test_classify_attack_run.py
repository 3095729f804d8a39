"""``ganpaint classifier attack`` as a library: the run over every ordered pair of classes on
a tiny classifier, its JSON document, and the reader's refusals of malformed files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganpaint.classify.attack import AttackSettings
from ganpaint.classify.attack_file import (
    AttackFileError,
    attack_document,
    read_attack_file,
)
from ganpaint.classify.attack_run import run_attacks
from ganpaint.core.errors import GanpaintError
from tests.tiny_classifier import pictures, to_uint8, trained_tiny

FAST = AttackSettings(steps=25, init_eps=4.0)
RANKINGS = {0: [0, 1, 2], 1: [3, 4, 5], 2: [6, 7, 0]}


def _scene(seed: int, size: int) -> tuple[np.ndarray, np.ndarray, int]:
    x, y = pictures(1, torch.Generator().manual_seed(seed))
    return to_uint8(x)[0], np.zeros((16, 16), np.int64), int(y[0])


@pytest.fixture(scope="module")
def tiny():
    return trained_tiny()


@pytest.fixture(scope="module")
def run(tiny):
    return run_attacks(
        tiny, RANKINGS, _scene, range(100, 200), 16, per_pair=2, top=2, settings=FAST, batch=6
    )


def test_every_ordered_pair_is_attacked_on_correctly_classified_scenes(run, tiny):
    pairs = [(r.source, r.target) for r in run.records]
    assert sorted(set(pairs)) == [(s, t) for s in range(3) for t in range(3) if s != t]
    assert all(pairs.count(p) == 2 for p in set(pairs))
    for r in run.records:
        image, _, cls = _scene(r.seed, 16)
        assert cls == r.source
        assert r.seed in range(run.seeds_scanned[0], run.seeds_scanned[1] + 1)
    assert run.success() == 1.0
    assert all(r.groups is not None and r.l2 > 0 for r in run.records)


def test_document_round_trips_through_the_reader(run, tmp_path):
    doc = attack_document(run, machine="test cpu")
    path = tmp_path / "classifier_attack.json"
    path.write_text(json.dumps(doc))
    back = read_attack_file(path)
    assert back.success == doc["success"] == 1.0
    assert back.target_vs_other == pytest.approx(doc["target_vs_other"])
    groups = np.array([r.groups for r in run.records])
    assert back.groups["target"].mean == pytest.approx(groups[:, 0].mean())
    assert back.groups["other"].n == len(run.records)
    assert doc["target_vs_other"] == pytest.approx(groups[:, 0].mean() / groups[:, 2].mean())
    assert back.mean_l2 == pytest.approx(np.mean([r.l2 for r in run.records]))
    assert len(doc["pairs"]) == 6 and back.records[0].seed == run.records[0].seed
    assert back.classes == ("red", "green", "blue") and back.top == 2


def _broken(doc: dict, change) -> dict:
    doc = json.loads(json.dumps(doc))
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("success"), "success: missing"),
        (lambda d: d.update(success=1.5), "success: expected a fraction"),
        (lambda d: d.update(format="other"), "format: expected"),
        (lambda d: d.update(version=99), "version 99 is newer"),
        (lambda d: d["groups"].pop("other"), "groups.other: missing"),
        (lambda d: d["groups"]["target"].update(mean="big"), "groups.target.mean: expected a"),
        (lambda d: d["records"][1].update(target=7), r"records\[1\].target: expected a class"),
        (lambda d: d["records"][0].update(groups=[1, 2]), r"records\[0\].groups: expected three"),
        (lambda d: d.update(target_vs_other_interval=[1]), "target_vs_other_interval: expected"),
    ],
)
def test_malformed_attack_file_names_the_key(run, tmp_path, change, words):
    path = tmp_path / "classifier_attack.json"
    path.write_text(json.dumps(_broken(attack_document(run, "m"), change)))
    with pytest.raises(AttackFileError, match=words) as info:
        read_attack_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("raw", "words"),
    [(b"", "empty"), (b'{"success": 0.5', "cut short"), (b"\x89PNG\x00\x01", "not text")],
)
def test_unreadable_attack_file_says_why(tmp_path, raw, words):
    path = tmp_path / "classifier_attack.json"
    path.write_bytes(raw)
    with pytest.raises(AttackFileError, match=words):
        read_attack_file(path)
    with pytest.raises(AttackFileError, match="cannot be read"):
        read_attack_file(tmp_path / "absent.json")


def test_run_refuses_missing_rankings_and_too_few_seeds(tiny):
    with pytest.raises(GanpaintError, match="ranking of 4 units for the class\\(es\\) blue"):
        run_attacks(tiny, {0: [1, 2, 3, 4], 1: [1, 2, 3, 4]}, _scene, range(10), size=16)
    with pytest.raises(GanpaintError, match="not enough correctly classified scenes"):
        run_attacks(tiny, RANKINGS, _scene, range(3), size=16, top=2, per_pair=2)
    with pytest.raises(GanpaintError, match="per-pair"):
        run_attacks(tiny, RANKINGS, _scene, range(3), size=16, top=2, per_pair=0)


def test_a_run_without_success_has_no_unit_figure(tiny):
    weak = AttackSettings(steps=1, alpha=1e-4, init_eps=1e-4)
    run = run_attacks(tiny, RANKINGS, _scene, range(100, 200), 16, per_pair=1, top=2, settings=weak)
    assert run.success() < 1.0
    if run.success() == 0:
        with pytest.raises(GanpaintError, match="no attack succeeded"):
            run.group_intervals()


def test_attack_text_shows_the_figures(run):
    from ganpaint.classify.attack_file import attack_text

    doc = attack_document(run, machine="test cpu")
    text = attack_text(doc)
    assert "12 attacks on held-out scenes" in text and "success 100.0%" in text
    assert f"{doc['target_vs_other']:.2f}x" in text and "16x16x3 values" in text
    assert f"{doc['groups']['other']['mean']:.4f}" in text


def test_attack_seeds_stay_off_every_range_of_the_card():
    from ganpaint.classify.attack_bundle import HELDOUT_FIRST_SEED, attack_seeds

    card = {"seeds": {"train": [0, 100], "heldout": [2000, 2100], "gan_z": "not a range"}}
    assert attack_seeds(card, "held-out", None).start == HELDOUT_FIRST_SEED
    assert attack_seeds(card, "train", None) == range(0, 100)
    assert attack_seeds(card, "held-out", 9000).start == 9000
    with pytest.raises(GanpaintError, match="overlap the classifier's heldout seeds 2000..2099"):
        attack_seeds(card, "held-out", 1000)
    with pytest.raises(GanpaintError, match="names no training seeds"):
        attack_seeds({}, "train", None)


def test_mutated_attack_files_are_read_or_refused_with_the_readers_error(run, tmp_path):
    rng = np.random.default_rng(0)
    base = attack_document(run, "m")
    odd = [None, "x", -1, 2.5, True, [], {}, [1, 2, 3], 10**400]
    path = tmp_path / "classifier_attack.json"
    for _ in range(200):
        doc = json.loads(json.dumps(base))
        node = doc
        for _depth in range(3):  # walk down, then replace one value with an odd one
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = keys[int(rng.integers(len(keys)))]
            if isinstance(node[key], dict | list) and rng.random() < 0.6 and _depth < 2:
                node = node[key]
                continue
            node[key] = odd[int(rng.integers(len(odd)))]
            break
        path.write_text(json.dumps(doc))
        try:
            read_attack_file(path)
        except AttackFileError as exc:
            assert str(path) in str(exc)
