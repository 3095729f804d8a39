"""The dissection schema: the bundled file round-trips exactly, unknown keys survive, newer
versions and malformed structure are refused with the key path, and hand-editable lists skip
malformed entries (strict mode, used by writers, refuses them)."""

from __future__ import annotations

import copy
import json

import pytest

from ganpaint.core.errors import BundleError
from ganpaint.models.bundle import default_bundle_path, read_dissection
from ganpaint.models.dissection import (
    DISSECTION_FORMAT,
    Dissection,
    DissectionError,
    UnitSet,
    validated,
)


def _bundled() -> dict:
    path = default_bundle_path() / "dissection.json"
    if not path.is_file():
        pytest.skip("the bundled model has no dissection.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _small() -> dict:
    return {
        "format": DISSECTION_FORMAT,
        "version": 1,
        "samples": 8,
        "seed_base": 100,
        "concepts": ["tree", "sky"],
        "iou_cutoff": 0.05,
        "layers": {
            "layer4": {
                "units": 2,
                "quantiles": [0.5, 0.99],
                "levels": [[0.1, 1.0], [0.2, 2.0]],
                "thresholds": [0.9, 1.8],
                "unit_labels": [
                    {"unit": 0, "concept": "tree", "iou": 0.2},
                    {"unit": 1, "concept": None, "iou": 0.0},
                ],
                "concepts": {
                    "tree": {
                        "iou": [[0, 0.2], [1, 0.01]],
                        "causal_set": {"units": [0], "removal": 0.5, "steps": [0.5]},
                    }
                },
            }
        },
    }


def test_bundled_dissection_round_trips_exactly():
    raw = _bundled()
    doc = Dissection.from_dict(raw)
    assert doc.to_dict() == raw
    # key order too, so a rewrite of an unchanged document is the same file
    assert json.dumps(doc.to_dict()) == json.dumps(raw)
    assert validated(raw) == doc


def test_attributes_read_the_document():
    doc = Dissection.from_dict(_small())
    layer = doc.layer("layer4")
    assert layer is not None and layer.units == 2 and layer.levels[1] == (0.2, 2.0)
    tree = doc.concept("layer4", "tree")
    assert tree.iou == ((0, 0.2), (1, 0.01)) and tree.causal == ()
    assert tree.causal_set == UnitSet(units=(0,), removal=0.5, steps=(0.5,))
    assert tree.insert_set is None and doc.concept("layer4", "sky") is None
    assert doc.layer("layer9") is None and doc.concepts == ("tree", "sky")
    with pytest.raises(AttributeError):
        doc.samples = 3  # type: ignore[misc]  # frozen


def test_unknown_keys_round_trip():
    raw = _small()
    raw["future"] = {"a": [1, 2]}
    raw["layers"]["layer4"]["note"] = "x"
    raw["layers"]["layer4"]["concepts"]["tree"]["causal_set"]["why"] = [1]
    doc = Dissection.from_dict(raw)
    assert doc.to_dict() == raw
    assert doc.extra["future"]["a"] == (1, 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "version 2 is newer than this program reads"),
        (lambda d: d.update(version="1"), "version: expected an integer"),
        (lambda d: d.pop("version"), "version: expected a positive integer"),
        (lambda d: d.update(format="other"), "format: expected 'ganpaint-dissection'"),
        (lambda d: d.update(layers=[]), "layers: expected an object of layers"),
        (lambda d: d.update(samples=1.5), "samples: expected an integer"),
        (lambda d: d.update(concepts=["a", 3]), r"concepts\[1\]: expected a string"),
        (lambda d: d["layers"].update(layer4=7), "layers.layer4: expected an object"),
        (
            lambda d: d["layers"]["layer4"]["levels"].append([1.0]),
            r"layers.layer4.levels\[2\]: expected 2 levels",
        ),
        (
            lambda d: d["layers"]["layer4"]["thresholds"].__setitem__(0, "x"),
            r"layers.layer4.thresholds\[0\]: expected a number",
        ),
        (
            lambda d: d["layers"]["layer4"]["concepts"]["tree"]["causal_set"].update(removal="a"),
            "layers.layer4.concepts.tree.causal_set.removal: expected a number",
        ),
        (
            lambda d: d["layers"]["layer4"].update(causal_options=[1]),
            "layers.layer4.causal_options: expected an object",
        ),
    ],
)
def test_malformed_structure_is_refused_with_its_key_path(change, message):
    raw = _small()
    change(raw)
    with pytest.raises(DissectionError, match=message):
        Dissection.from_dict(raw)
    assert issubclass(DissectionError, BundleError)


def test_hand_editable_lists_skip_malformed_entries_unless_strict():
    raw = _small()
    layer = raw["layers"]["layer4"]
    layer["unit_labels"].append({"unit": "x", "iou": 0.3})
    layer["concepts"]["tree"]["iou"].append(["x", 0.1])
    layer["concepts"]["tree"]["causal_set"]["units"].append("5")
    layer["concepts"]["tree"]["insert_set"] = "not an object"
    layer["concepts"]["sky"] = "not an object"
    doc = Dissection.from_dict(copy.deepcopy(raw))
    tree = doc.concept("layer4", "tree")
    assert len(doc.layer("layer4").unit_labels) == 2
    assert tree.iou == ((0, 0.2), (1, 0.01)) and tree.causal_set.units == (0,)
    assert tree.insert_set is None
    sky = doc.concept("layer4", "sky")
    assert sky is not None and sky.iou == ()  # still listed, with no units
    with pytest.raises(DissectionError, match=r"unit_labels\[2\].unit"):
        Dissection.from_dict(raw, strict=True)
    with pytest.raises(DissectionError):
        validated(raw)


def test_bundle_reader_names_the_file(tmp_path):
    path = tmp_path / "dissection.json"
    raw = _small()
    raw["version"] = 5
    path.write_text(json.dumps(raw))
    with pytest.raises(DissectionError, match=r"dissection.json: version 5"):
        read_dissection(path)
    assert read_dissection(tmp_path / "missing.json") is None


def test_merge_keeps_earlier_layers_of_the_same_samples():
    from ganpaint.dissect.pipeline import merge_with_existing

    old = _small()
    old["layers"]["layer2"] = copy.deepcopy(old["layers"]["layer4"])
    old["layers"]["layer4"]["units"] = 99
    new = _small()
    merged = merge_with_existing(Dissection.from_dict(new), Dissection.from_dict(old))
    assert sorted(merged.layers) == ["layer2", "layer4"] and merged.layer("layer4").units == 2
    other = dict(_small(), samples=9)
    kept = merge_with_existing(Dissection.from_dict(other), Dissection.from_dict(old))
    assert list(kept.layers) == ["layer4"]
    assert merge_with_existing(Dissection.from_dict(new), None) == Dissection.from_dict(new)


def test_import_skips_a_concept_for_another_layer(tmp_path):
    from ganpaint.models.concept_files import (
        CustomConcept,
        ModelFit,
        import_concepts,
        load_concepts,
        save_concepts,
    )

    fit = ModelFit("m", {"layer4": 8})
    source, mine = tmp_path / "in.json", tmp_path / "mine.json"
    save_concepts(source, [CustomConcept("pond", "layer9", [1], [0.5], [1.0])])
    report = import_concepts(mine, source, fit)  # nothing fits: nothing written, said why
    assert report.added == [] and report.skipped == [
        ("pond", "its layer layer9 is not an edit layer of m")
    ]
    assert not mine.exists() and "none of its 1 concept(s) fits m: pond:" in (
        report.nothing_imported()
    )
    save_concepts(source, [CustomConcept("pond", "layer4", [1], [0.5], [1.0])])
    assert import_concepts(mine, source, fit).added == ["pond"]
    assert [c.name for c in load_concepts(mine)] == ["pond"]
