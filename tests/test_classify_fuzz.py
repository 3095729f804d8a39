"""Hostile classifier files: mutated ``classifier_dissection.json`` documents and mutated
``classifier.safetensors`` bytes are either read (and keep their invariants) or refused with
the project's error for that reader, never another exception."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

from ganpaint.core.errors import CheckpointError
from ganpaint.models.classifier import load_classifier, save_classifier
from ganpaint.models.classifier_dissection import DissectionError, read_classifier_dissection
from ganpaint.robust.mutate import dumps_with_raw, mutate_bytes, mutate_json
from tests.test_classify_dissection_file import document
from tests.test_classify_model import tiny


def test_mutated_dissection_documents(tmp_path: Path):
    path = tmp_path / "classifier_dissection.json"
    outcomes = {"read": 0, "refused": 0}
    for i in range(300):
        rng = random.Random(i)
        raws: list[str] = []
        doc = copy.deepcopy(document())
        for _ in range(rng.randint(1, 3)):
            doc = mutate_json(rng, doc, raws)
        path.write_text(dumps_with_raw(doc, raws))
        try:
            read = read_classifier_dissection(path)
        except DissectionError:
            outcomes["refused"] += 1
            continue
        outcomes["read"] += 1
        # what was read writes back to JSON and reads the same again
        assert type(read).from_dict(json.loads(json.dumps(read.to_dict()))) == read
        for layer in read.layers:
            assert 0 <= layer.labelled_fraction() <= 1
        read.class_rankings()
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes


@pytest.mark.slow
def test_mutated_classifier_files(tmp_path: Path):
    good = tmp_path / "good.safetensors"
    save_classifier(tiny(), good)
    data = good.read_bytes()
    path = tmp_path / "classifier.safetensors"
    for i in range(8):
        path.write_bytes(mutate_bytes(random.Random(i), data))
        try:
            model = load_classifier(path)
        except CheckpointError:
            continue
        assert model.classes and model.unit_layers
