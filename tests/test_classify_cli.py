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


def test_auto_precision_is_bf16_only_where_the_device_computes_it_natively(monkeypatch):
    import torch

    from ganpaint.classify.train import TrainSettings, resolve_precision
    from ganpaint.core import devices
    from ganpaint.core.errors import GanpaintError

    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "_cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    assert not devices.native_bf16(cpu) and not devices.native_bf16(torch.device("mps"))
    assert resolve_precision(TrainSettings(), cpu).precision == "fp32"
    monkeypatch.setattr(devices, "_cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))
    assert devices.native_bf16(cpu)
    assert resolve_precision(TrainSettings(), cpu).precision == "bf16"
    # a precision asked for is kept, whatever the device; an unknown one is refused
    assert resolve_precision(TrainSettings(precision="fp32"), cpu).precision == "fp32"
    with pytest.raises(GanpaintError, match="precision 'fp16': use one of auto, bf16, fp32"):
        resolve_precision(TrainSettings(precision="fp16"), cpu)


def test_pool_choices_are_the_models():
    from ganpaint.cli.classifier_cmd import POOL_CHOICES
    from ganpaint.models.classifier import POOLS

    assert POOL_CHOICES == POOLS


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
    args = ["classifier", "train", "--refit-head", "--pool", "max", "--scenes", "64"]
    assert main(args) == 2
    assert "--pool cannot change" in capsys.readouterr().err


def _with_classifier(tmp_path: Path, card: dict) -> tuple[Path, str]:
    """A copy of the bundle's generator and segmenter with a tiny classifier and ``card``;
    the classifier file's sha256."""
    from ganpaint.models.bundle import sha256_file

    folder = small_bundle(tmp_path)
    save_classifier(tiny(), folder / "classifier.safetensors")
    meta = read_bundle_json(folder)
    meta["classifier"] = card
    write_bundle_json(folder, meta)
    return folder, sha256_file(folder / "classifier.safetensors")


def _retrained():
    """Other weights for the same tiny classifier, as `classifier train` would store."""
    import torch

    model = tiny()
    with torch.no_grad():
        model.head.bias.add_(1.0)
    return model


def _stamped_bundle(tmp_path: Path) -> Path:
    """A bundle with a tiny classifier and a dissection, ablation and attack stamped with
    that classifier's hash."""
    folder, sha = _with_classifier(tmp_path, {"heldout_accuracy": 0.9})
    doc = document()
    doc["ablation"]["ks"] = [1, 20]
    doc["ablation"]["classifier_sha256"] = sha
    doc["options"] = {**doc.get("options", {}), "classifier_sha256": sha}
    (folder / "classifier_dissection.json").write_text(json.dumps(doc))
    attack = {"success": 0.95, "target_vs_other": 3.1, "classifier_sha256": sha}
    (folder / "classifier_attack.json").write_text(json.dumps(attack))
    write_bundle_json(folder, read_bundle_json(folder))
    return folder


def test_summary_leaves_out_what_an_earlier_classifier_measured(tmp_path: Path, capsys):

    folder = _stamped_bundle(tmp_path)
    assert main(["classifier", "summary", str(folder), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["stale"] == [] and s["concepts_detected"] == 1
    assert s["ablation"]["own_drop_top20"] == 35.0 and s["attack"]["success"] == 0.95
    save_classifier(_retrained(), folder / "classifier.safetensors")
    write_bundle_json(folder, read_bundle_json(folder))
    assert main(["classifier", "summary", str(folder), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["stale"] == ["dissection", "ablation", "attack"]
    assert s["concepts_detected"] is None and s["labelled_fraction"] is None
    assert s["ablation"]["own_drop_top20"] is None and s["attack"]["success"] is None
    assert s["accuracy"] == 0.9  # the card is the new classifier's
    assert main(["classifier", "summary", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "earlier classifier" in text and "`ganpaint classifier ablate`" in text
    # documents written before the hash was kept cannot be judged: shown as before
    doc = json.loads((folder / "classifier_dissection.json").read_text())
    del doc["ablation"]["classifier_sha256"], doc["options"]["classifier_sha256"]
    (folder / "classifier_dissection.json").write_text(json.dumps(doc))
    write_bundle_json(folder, read_bundle_json(folder))
    assert main(["classifier", "summary", str(folder), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["stale"] == ["attack"] and s["concepts_detected"] == 1


def test_the_panel_takes_no_labels_from_an_earlier_classifier(tmp_path: Path):
    import torch

    from ganpaint.app.views.classifier_jobs import _dissection_note, _open, class_rankings
    from ganpaint.classify.explain import unit_labels
    from ganpaint.models import load_bundle

    folder = _stamped_bundle(tmp_path)
    bundle = load_bundle(folder)
    _, dissection = _open(bundle, torch.device("cpu"))
    assert _dissection_note(bundle, dissection) is None
    assert unit_labels(dissection, "conv1") and class_rankings(dissection)
    save_classifier(_retrained(), folder / "classifier.safetensors")
    write_bundle_json(folder, read_bundle_json(folder))
    bundle = load_bundle(folder)
    _, dissection = _open(bundle, torch.device("cpu"))
    assert "earlier classifier" in _dissection_note(bundle, dissection)
    assert not unit_labels(dissection, "conv1") and not class_rankings(dissection)


@pytest.mark.slow
def test_dissect_and_ablate_keep_the_hash_of_the_classifier_they_measured(
    tmp_path: Path, monkeypatch
):
    from ganpaint.classify.bundle_runs import ablate_bundle, dissect_bundle
    from ganpaint.models.bundle import stale_classifier_parts

    monkeypatch.chdir(tmp_path)  # the scene cache is relative to the working folder
    folder, sha = _with_classifier(tmp_path, {"resolution": 32})
    doc = dissect_bundle(folder, n=4, grid=32)
    assert doc.options["classifier_sha256"] == sha
    doc = ablate_bundle(folder, n_rank=6, n_heldout=6)
    assert doc.ablation.extra["classifier_sha256"] == sha
    assert doc.options["classifier_sha256"] == sha  # the merge keeps the other part's
    assert stale_classifier_parts(folder) == ()


def test_storing_a_new_classifier_marks_an_unstamped_dissection_earlier(tmp_path: Path):

    from ganpaint.classify.card import _store
    from ganpaint.models.bundle import sha256_file, stale_classifier_parts

    folder = _stamped_bundle(tmp_path)
    doc = json.loads((folder / "classifier_dissection.json").read_text())
    del doc["ablation"]["classifier_sha256"], doc["options"]["classifier_sha256"]
    (folder / "classifier_dissection.json").write_text(json.dumps(doc))
    write_bundle_json(folder, read_bundle_json(folder))
    old = sha256_file(folder / "classifier.safetensors")
    assert stale_classifier_parts(folder) == ()  # not judged: no hash
    _store(folder, _retrained(), {"heldout_accuracy": 0.5})
    assert stale_classifier_parts(folder) == ("dissection", "ablation", "attack")
    doc = json.loads((folder / "classifier_dissection.json").read_text())
    assert doc["options"]["classifier_sha256"] == doc["ablation"]["classifier_sha256"] == old
    assert main(["classifier", "summary", str(folder), "--json"]) == 0  # hashes recorded


def test_summary_refuses_a_classifier_that_bundle_json_does_not_describe(tmp_path: Path, capsys):
    folder = _stamped_bundle(tmp_path)
    (folder / "classifier_attack.json").write_text(json.dumps({"success": 0.5}))
    assert main(["classifier", "summary", str(folder)]) == 0  # listed with another hash
    assert "problem: " in capsys.readouterr().out
    save_classifier(_retrained(), folder / "classifier.safetensors")  # copied in by hand
    assert main(["classifier", "summary", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "classifier.safetensors" in err and "damaged or replaced" in err
