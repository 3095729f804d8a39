"""``ganpaint classifier report`` and ``attack`` on bundles: a bundle without a classifier gets
a page that says what is missing (and the attack a clear refusal); a bundle with a classifier,
a dissection and an attack file gets every section and its pictures; a malformed attack file
is named on the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganpaint.main import main
from ganpaint.models.bundle import read_bundle_json, write_bundle_json
from ganpaint.models.classifier import SceneClassifier, save_classifier
from ganpaint.scenes import SCENE_CLASSES
from tests.test_classify_model import small_bundle

WIDTHS = (4, "M", 8, "M", 12)


def _dissection(classes: tuple[str, ...]) -> dict:
    label = {"concept": "sky", "iou": 0.2, "level": 0.9, "labelled": True}
    none = {"concept": "tree", "iou": 0.01, "level": 0.99, "labelled": False}
    layers = [
        {"name": f"conv{i + 1}", "count": n, "units": [
            {"unit": u, "best": label if u % 2 else none, "top1": none} for u in range(n)
        ]}
        for i, n in enumerate((4, 8, 12))
    ]  # fmt: skip
    n = len(classes)
    ablation = {
        "layer": "conv3",
        "ks": [1, 5],
        "baseline": [90.0] * n,
        "classes": [
            {"name": c, "ranked": [[(i + j) % 12, 5.0 - j] for j in range(12)],
             "remove": [[88.0] * n, [70.0] * n], "keep": [[60.0] * n, [80.0] * n]}
            for i, c in enumerate(classes)
        ],
    }  # fmt: skip
    return {
        "format": "ganpaint-classifier-dissection",
        "version": 1,
        "classes": list(classes),
        "concepts": ["sky", "tree"],
        "iou_threshold": 0.04,
        "layers": layers,
        "ablation": ablation,
    }


def _attack_file(classes: tuple[str, ...]) -> dict:
    groups = {g: {"mean": m, "low": m - 0.1, "high": m + 0.1, "n": 4}
              for g, m in (("target", 0.9), ("source", 0.6), ("other", 0.3))}  # fmt: skip
    records = [
        {"seed": 5_000_000 + s, "source": s % 5, "target": (s + 1) % 5, "success": True,
         "l2": 1.0, "target_prob": 0.6, "groups": [0.9, 0.6, 0.3]}
        for s in range(4)
    ]  # fmt: skip
    return {
        "format": "ganpaint-classifier-attack",
        "version": 1,
        "classes": list(classes),
        "classifier_sha256": "0" * 64,  # not the classifier of the bundle
        "layer": "conv3",
        "size": 128,
        "top": 4,
        "settings": {"steps": 3, "refine": 1},
        "success": 1.0,
        "mean_l2": 1.0,
        "groups": groups,
        "target_vs_other": 3.0,
        "target_vs_other_interval": [2.5, 3.5],
        "records": records,
    }


@pytest.fixture
def bare(tmp_path) -> Path:
    return small_bundle(tmp_path)


def _full(folder: Path) -> Path:
    torch.manual_seed(0)
    save_classifier(SceneClassifier(SCENE_CLASSES, WIDTHS), folder / "classifier.safetensors")
    (folder / "classifier_dissection.json").write_text(json.dumps(_dissection(SCENE_CLASSES)))
    (folder / "classifier_attack.json").write_text(json.dumps(_attack_file(SCENE_CLASSES)))
    meta = read_bundle_json(folder)
    meta["classifier"] = {"classes": list(SCENE_CLASSES), "heldout_accuracy": 0.5}
    write_bundle_json(folder, meta)
    return folder


def test_report_of_a_bundle_without_classifier_says_what_is_missing(bare, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["classifier", "report", str(bare), "-o", str(out), "--scenes", "0"]) == 0
    err = capsys.readouterr().err
    page = (out / "index.html").read_text()
    for what, command in (
        ("classifier", "ganpaint classifier train"),
        ("classifier dissection", "ganpaint classifier dissect"),
        ("ablation", "ganpaint classifier ablate"),
        ("attack measurements", "ganpaint classifier attack"),
    ):
        assert f"This bundle has no {what}: <code>{command} BUNDLE</code>" in page
        assert f"missing: {what} ({command} BUNDLE)" in err


def test_attack_on_a_bundle_without_classifier_is_refused(bare, capsys):
    assert main(["classifier", "attack", str(bare)]) == 2
    assert "no classifier; run `ganpaint classifier train` first" in capsys.readouterr().err


@pytest.mark.slow
def test_report_with_every_part_has_each_section_and_picture(bare, tmp_path):
    out = tmp_path / "report"
    argv = ["classifier", "report", str(_full(bare)), "-o", str(out)]
    assert main([*argv, "--scenes", "12", "--examples", "2"]) == 0
    page = (out / "index.html").read_text()
    assert "This bundle has no" not in page and "Missing from" not in page
    for section in ("<h2>Classifier</h2>", "<h2>Dissection</h2>", "<h2>Ablation</h2>"):
        assert section in page
    assert "success <b>100.0%</b>" in page and "<b>3.00x</b>" in page
    assert "measured on an earlier classifier" in page
    pictures = ["units-by-layer.png", "ablation.png", "attack-groups.png", "attack-0.png"]
    pictures += [
        "attack-1.png",
        f"unit-{_dissection(SCENE_CLASSES)['ablation']['classes'][0]['ranked'][0][0]}.png",
    ]
    for name in pictures:
        assert f"img/{name}" in page
        with Image.open(out / "img" / name) as img:
            assert img.width > 100
    assert not (out / "img" / "attack-2.png").exists()


@pytest.mark.slow
def test_report_names_a_malformed_attack_file(bare, tmp_path, capsys):
    folder = _full(bare)
    doc = _attack_file(SCENE_CLASSES)
    doc["groups"]["other"]["mean"] = "lots"
    (folder / "classifier_attack.json").write_text(json.dumps(doc))
    write_bundle_json(folder, read_bundle_json(folder))
    out = tmp_path / "report"
    argv = ["classifier", "report", str(folder), "-o", str(out), "--scenes", "0"]
    assert main([*argv, "--examples", "0"]) == 0
    page = (out / "index.html").read_text()
    assert "groups.other.mean: expected a number, got &#x27;lots&#x27;" in page
    assert "classifier_attack.json" in capsys.readouterr().err


@pytest.mark.slow
def test_report_of_attacks_on_another_classifier_shows_no_examples(bare, tmp_path):
    folder = _full(bare)
    doc = _attack_file(SCENE_CLASSES)
    doc["layer"] = "conv9"
    (folder / "classifier_attack.json").write_text(json.dumps(doc))
    write_bundle_json(folder, read_bundle_json(folder))
    out = tmp_path / "report"
    argv = ["classifier", "report", str(folder), "-o", str(out), "--scenes", "0"]
    assert main([*argv, "--examples", "1"]) == 0
    page = (out / "index.html").read_text()
    assert "No examples: the classifier has no unit layer &#x27;conv9&#x27;" in page
    assert "These attacks were measured on an earlier classifier" in page


def test_card_rows_flatten_the_card():
    from ganpaint.classify.report import card_rows

    rows = dict(card_rows({"w": [1, "M"] * 10, "e": [{"loss": 0.5}], "s": {"a": 1.23456}}))
    assert rows["w"].endswith("… (20 in all)") and rows["w"].count(",") == 16
    assert rows["e"] == '{"loss": 0.5}' and rows["s.a"] == "1.235"


@pytest.mark.slow
def test_report_warns_of_a_dissection_of_an_earlier_classifier(bare, tmp_path):
    folder = _full(bare)
    out = tmp_path / "report"
    argv = ["classifier", "report", str(folder), "-o", str(out), "--scenes", "0"]
    assert main([*argv, "--examples", "0"]) == 0
    assert "This dissection was measured" not in (out / "index.html").read_text()  # no hash
    doc = json.loads((folder / "classifier_dissection.json").read_text())
    doc.setdefault("options", {})["classifier_sha256"] = "0" * 64
    doc["ablation"]["classifier_sha256"] = "0" * 64
    (folder / "classifier_dissection.json").write_text(json.dumps(doc))
    write_bundle_json(folder, read_bundle_json(folder))
    assert main([*argv, "--examples", "0"]) == 0
    page = (out / "index.html").read_text()
    assert "This dissection was measured on an earlier classifier" in page
    assert "This ablation was measured on an earlier classifier" in page
    assert "ganpaint classifier dissect BUNDLE</code> again" in page
