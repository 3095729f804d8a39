"""A damaged optional file of a bundle (picture encoder, scene classifier, their documents)
leaves the bundle usable for painting: ``load_bundle`` records why in ``problems`` and the
file's loader raises that; a damaged generator or dissection still refuses the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganpaint.core.errors import BundleError, CheckpointError
from ganpaint.models.bundle import OPTIONAL_FILES, load_bundle, write_bundle_json
from ganpaint.models.checkpoint import save_generator
from ganpaint.models.classifier import SceneClassifier, save_classifier
from ganpaint.models.encoder import PictureEncoder, save_encoder
from ganpaint.robust.classifier_target import attack_seed, dissection_seed
from ganpaint.robust.model_targets import tiny_generator


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundle") / "whole"
    folder.mkdir()
    gen = tiny_generator()
    save_generator(gen, folder / "generator.safetensors")
    save_classifier(SceneClassifier(("church", "forest", "street"), (4, "M", 8)),
                    folder / "classifier.safetensors")  # fmt: skip
    save_encoder(PictureEncoder(8, 8, 4, "layer2"), folder / "encoder.safetensors")
    (folder / "classifier_dissection.json").write_text(json.dumps(dissection_seed()))
    (folder / "classifier_attack.json").write_text(json.dumps(attack_seed()))
    meta = {"name": "tiny", "widths": list(gen.widths), "edit_layers": ["layer2"]}
    write_bundle_json(folder, meta)
    return folder


def copy_of(whole: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(whole, tmp_path / "copy"))


def test_a_whole_bundle_has_no_problems(whole):
    bundle = load_bundle(whole)
    assert bundle.problems == {}
    assert bundle.load_classifier().classes == ("church", "forest", "street")
    assert bundle.load_encoder().z_dim == 8 and bundle.classifier_dissection() is not None


@pytest.mark.parametrize("name", OPTIONAL_FILES)
@pytest.mark.parametrize("how", ["cut", "deleted"])
def test_a_damaged_optional_file_is_a_problem_not_a_refusal(whole, tmp_path, name, how):
    folder = copy_of(whole, tmp_path)
    path = folder / name
    if how == "cut":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.unlink()
    bundle = load_bundle(folder)  # opens: the generator is whole
    assert list(bundle.problems) == [name]
    problem = bundle.problems[name]
    assert str(path) in problem
    assert ("sha256" if how == "cut" else "listed in bundle.json but missing") in problem
    loader = {
        "encoder.safetensors": bundle.load_encoder,
        "classifier.safetensors": bundle.load_classifier,
        "classifier_dissection.json": bundle.classifier_dissection,
    }.get(name)
    if loader is not None:
        with pytest.raises(BundleError) as info:
            loader()
        assert str(info.value) == problem


@pytest.mark.parametrize("name", ["encoder.safetensors", "classifier.safetensors"])
def test_an_unlisted_network_file_that_is_not_whole_is_found_at_open(whole, tmp_path, name):
    folder = copy_of(whole, tmp_path)
    meta = json.loads((folder / "bundle.json").read_text())
    del meta["files"][name]
    (folder / "bundle.json").write_text(json.dumps(meta))
    path = folder / name
    path.write_bytes(path.read_bytes()[:-100])  # the header's byte ranges now lie
    bundle = load_bundle(folder)
    assert (
        "truncated safetensors file" in bundle.problems[name] and str(path) in bundle.problems[name]
    )


@pytest.mark.parametrize("name", ["generator.safetensors", "dissection.json"])
def test_a_damaged_required_file_still_refuses_the_bundle(whole, tmp_path, name):
    folder = copy_of(whole, tmp_path)
    if name == "dissection.json":
        (folder / name).write_text("{}")
        meta = json.loads((folder / "bundle.json").read_text())
        meta["files"][name] = {"sha256": "0" * 64}
        (folder / "bundle.json").write_text(json.dumps(meta))
    else:
        path = folder / name
        path.write_bytes(path.read_bytes()[:100])
    with pytest.raises((BundleError, CheckpointError), match=name):
        load_bundle(folder)
