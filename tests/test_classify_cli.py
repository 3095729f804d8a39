"""``ganpaint classifier``: a bundle without a classifier, a corrupt classifier file, the
summary with and without the dissection and attack files, and a tiny dissection run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ganpaint.cli import main
from ganpaint.models.bundle import read_bundle_json, write_bundle_json
from ganpaint.models.classifier import save_classifier
from tests.test_classify_dissection_file import document
from tests.test_classify_model import small_bundle, tiny


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return small_bundle(tmp_path_factory.mktemp("cls"))


def test_no_classifier_is_a_clear_error(bundle: Path, capsys):
    for sub in ("dissect", "ablate", "summary"):
        assert main(["classifier", sub, str(bundle)]) == 2
        err = capsys.readouterr().err
        assert "no classifier" in err and "ganpaint classifier train" in err, err


def test_corrupt_classifier_file_is_named(tmp_path: Path, capsys):
    folder = small_bundle(tmp_path)
    (folder / "classifier.safetensors").write_bytes(b"not weights at all")
    write_bundle_json(folder, read_bundle_json(folder))
    assert main(["classifier", "ablate", str(folder)]) == 2
    assert "classifier.safetensors" in capsys.readouterr().err


def test_summary_reads_what_is_there(tmp_path: Path, capsys):
    folder = tmp_path / "bundle"  # the summary reads bundle.json and the files it lists
    folder.mkdir()
    write_bundle_json(folder, {"name": "t"})
    save_classifier(tiny(), folder / "classifier.safetensors")
    meta = read_bundle_json(folder)
    meta["classifier"] = {"heldout_accuracy": 0.9}
    write_bundle_json(folder, meta)
    assert main(["classifier", "summary", str(folder), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["accuracy"] == 0.9 and s["labelled_fraction"] is None
    assert s["ablation"]["own_drop_top20"] is None and s["attack"]["success"] is None
    doc = document()
    doc["ablation"]["ks"] = [1, 20]
    (folder / "classifier_dissection.json").write_text(json.dumps(doc))
    (folder / "classifier_attack.json").write_text(
        json.dumps({"success": 0.95, "target_vs_other": 3.1})
    )
    write_bundle_json(folder, read_bundle_json(folder))
    assert main(["classifier", "summary", str(folder), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["labelled_fraction"] == 0.5 and s["concepts_detected"] == 1
    # k = 20 is the document's second row: church 90-50, house 80-50 -> own 35
    assert s["ablation"]["own_drop_top20"] == 35.0
    assert s["attack"] == {"success": 0.95, "target_vs_other": 3.1}
    (folder / "classifier_attack.json").write_text(json.dumps({"success": "all"}))
    write_bundle_json(folder, read_bundle_json(folder))
    assert main(["classifier", "summary", str(folder)]) == 2
    assert "success: expected a number" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_dissection_labels_every_layer():
    from ganpaint.classify.data import load_scenes
    from ganpaint.classify.dissect import dissect_classifier

    scenes = load_scenes(0, 6, 32, cache=None, workers=1)
    part = dissect_classifier(tiny(), scenes, batch=3, grid=32)
    layers = part["layers"]
    assert [x["name"] for x in layers] == ["conv1", "conv2", "conv3"]
    assert [len(x["units"]) for x in layers] == [4, 8, 8]
    for layer in layers:
        for u in layer["units"]:
            assert u["top1"]["level"] == 0.99
            assert u["best"]["iou"] >= u["top1"]["iou"] - 1e-9  # the best level includes 0.99
            assert u["best"]["labelled"] == (u["best"]["iou"] > 0.04)
    shares = part["options"]["concept_shares"]
    assert np.isclose(sum(shares.values()), 1.0, atol=1e-3)


def test_precision_choices_are_the_trainers():
    from ganpaint.classify.train import PRECISIONS
    from ganpaint.cli.classifier_cmd import PRECISION_CHOICES

    assert PRECISION_CHOICES == PRECISIONS


def test_widths_option_parses_and_refuses(capsys):
    from ganpaint.cli.classifier_cmd import DEFAULT_WIDTHS_TEXT
    from ganpaint.models.classifier import DEFAULT_WIDTHS, parse_widths

    assert parse_widths(DEFAULT_WIDTHS_TEXT) == DEFAULT_WIDTHS  # the help says the default
    assert parse_widths("8, m ,16") == (8, "M", 16)
    for bad, why in (("16,X", "'X'"), ("M,M", "at least one conv"), ("0,16", "'0'"),
                     ("16," * 30 + "16", "1 to 24")):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            parse_widths(bad)
        assert main(["classifier", "train", "--widths", bad, "--scenes", "64"]) == 2
        assert "--widths" in capsys.readouterr().err
    args = ["classifier", "train", "--refit-head", "--widths", "8,16", "--scenes", "64"]
    assert main(args) == 2
    assert "--refit-head" in capsys.readouterr().err
