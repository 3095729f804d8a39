"""classifier_dissection.json: round trip, malformed documents, the ablation figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganpaint.models.classifier_dissection import (
    ClassifierDissection,
    DissectionError,
    read_classifier_dissection,
)


def document() -> dict:
    label = {"concept": "sky", "iou": 0.2, "level": 0.9, "labelled": True}
    weak = {"concept": "dome", "iou": 0.01, "level": 0.99, "labelled": False}
    return {
        "format": "ganpaint-classifier-dissection",
        "version": 1,
        "classes": ["church", "house"],
        "concepts": ["sky", "dome"],
        "iou_threshold": 0.04,
        "layers": [
            {
                "name": "conv1",
                "count": 2,
                "units": [
                    {"unit": 0, "best": label, "top1": weak},
                    {"unit": 1, "best": weak, "top1": weak},
                ],
            }
        ],
        "ablation": {
            "layer": "conv1",
            "ks": [1, 2],
            "baseline": [90.0, 80.0],
            "classes": [
                {
                    "name": "church",
                    "ranked": [[1, 4.0], [0, 0.0]],
                    "remove": [[70.0, 79.0], [50.0, 78.0]],
                    "keep": [[85.0, 60.0], [90.0, 80.0]],
                },
                {
                    "name": "house",
                    "ranked": [[0, 2.0], [1, 1.0]],
                    "remove": [[88.0, 60.0], [50.0, 50.0]],
                    "keep": [[80.0, 76.0], [90.0, 80.0]],
                },
            ],
        },
        "future_key": {"kept": True},
    }


def test_round_trip_and_readers(tmp_path: Path):
    path = tmp_path / "classifier_dissection.json"
    path.write_text(json.dumps(document()))
    doc = read_classifier_dissection(path)
    assert doc.to_dict() == document()  # unknown keys kept
    layer = doc.layer("conv1")
    assert layer.labelled_fraction() == 0.5 and layer.labelled_fraction(fixed=True) == 0.0
    assert layer.concepts_detected() == ("sky",)
    assert doc.layer("conv9") is None
    assert doc.class_rankings() == {"church": [1, 0], "house": [0, 1]}


def test_ablation_figures_by_hand():
    ab = ClassifierDissection.from_dict(document()).ablation
    f = ab.figures(1)
    # church loses 90-70 = 20 of its own, house 80-79 = 1; house loses 80-60 = 20, church 2
    assert f["own_drop"] == pytest.approx(20.0)
    assert f["other_drop"] == pytest.approx(1.5)
    # keeping only the top unit: church 90-85 = 5, house 80-76 = 4
    assert f["keep_drop"] == pytest.approx(4.5)
    with pytest.raises(DissectionError, match="no k = 20"):
        ab.figures(20)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format="ganpaint-dissection"), "format"),
        (lambda d: d.update(version=99), "version: 99"),
        (lambda d: d["layers"][0]["units"][0]["best"].update(iou="high"), r"layers\[0\]"),
        (lambda d: d["layers"][0]["units"][1].update(unit=5), "outside 0..1"),
        (lambda d: d["layers"][0]["units"][1].update(unit=0), "listed twice"),
        (lambda d: d["ablation"]["classes"][0]["ranked"].append([1]), "unit, drop"),
        (lambda d: d["ablation"]["classes"][1]["keep"].pop(), r"classes\[1\].keep"),
        (lambda d: d["ablation"].update(baseline=[1.0]), "baseline"),
    ],
)
def test_malformed_documents_name_the_key(tmp_path: Path, edit, message):
    d = document()
    edit(d)
    path = tmp_path / "classifier_dissection.json"
    path.write_text(json.dumps(d))
    with pytest.raises(DissectionError, match=message):
        read_classifier_dissection(path)


def test_not_json(tmp_path: Path):
    path = tmp_path / "classifier_dissection.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(DissectionError, match="classifier_dissection.json"):
        read_classifier_dissection(path)
