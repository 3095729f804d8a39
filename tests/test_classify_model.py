"""SceneClassifier: its interface, its file (round trip, corrupt and wrong files) and the
bundle methods."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from ganpaint.core.errors import CheckpointError
from ganpaint.models.classifier import SceneClassifier, load_classifier, save_classifier

TINY = (4, "M", 8, "M", 8)


def tiny() -> SceneClassifier:
    torch.manual_seed(0)
    return SceneClassifier(("church", "house", "landscape"), TINY).eval()


def test_interface_units_hooks_and_pooled_head():
    model = tiny()
    assert model.unit_layers == ("conv1", "conv2", "conv3")
    assert model.unit_counts() == {"conv1": 4, "conv2": 8, "conv3": 8}
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    seen = {}
    hooks = [
        model.module_for(layer).register_forward_hook(
            lambda m, i, o, layer=layer: seen.__setitem__(layer, o)
        )
        for layer in model.unit_layers
    ]
    logits = model(x)
    for h in hooks:
        h.remove()
    assert logits.shape == (2, 3)
    assert seen["conv1"].shape == (2, 4, 32, 32) and seen["conv3"].shape == (2, 8, 8, 8)
    assert all((t >= 0).all() for t in seen.values())  # post-ReLU
    # the head is linear in the spatial mean of the last layer's units
    pooled = seen["conv3"].mean((2, 3))
    assert torch.allclose(model.pooled(x), pooled, atol=1e-6)
    assert torch.allclose(logits, model.head(pooled), atol=1e-5)
    with pytest.raises(KeyError, match="not a unit layer"):
        model.module_for("fc")


def test_max_pooling_head_reads_each_units_spatial_maximum():
    torch.manual_seed(0)
    model = SceneClassifier(("church", "house"), TINY, pool="max").eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    seen = {}
    hook = model.module_for("conv3").register_forward_hook(lambda m, i, o: seen.update(o=o))
    logits = model(x)
    hook.remove()
    pooled = seen["o"].amax((2, 3))
    assert not torch.allclose(pooled, seen["o"].mean((2, 3)))  # not the mean
    assert torch.allclose(model.pooled(x), pooled, atol=1e-6)
    assert torch.allclose(logits, model.head(pooled), atol=1e-5)
    with pytest.raises(ValueError, match="pool 'min'"):
        SceneClassifier(("a",), TINY, pool="min")


def test_pool_is_kept_in_the_file_and_files_without_it_pool_by_mean(tmp_path: Path):
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    model = SceneClassifier(("church", "house"), TINY, pool="max").eval()
    path = tmp_path / "classifier.safetensors"
    save_classifier(model, path)
    back = load_classifier(path)
    assert back.pool == "max"
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.allclose(back(x), model(x), atol=2e-2)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert json.loads(meta["config"])["pool"] == "max"
    # a file written before the option has no "pool": it is a mean-pooling classifier
    save_classifier(tiny(), path)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert "pool" not in json.loads(meta["config"])
    assert load_classifier(path).pool == "avg"
    cfg = json.loads(meta["config"])
    cfg["pool"] = "median"
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(path)), str(bad), metadata={**meta, "config": json.dumps(cfg)})
    with pytest.raises(CheckpointError, match="'pool' must be one of avg, max"):
        load_classifier(bad)


def test_file_round_trip(tmp_path: Path):
    model = tiny()
    path = tmp_path / "classifier.safetensors"
    save_classifier(model, path)
    back = load_classifier(path)
    assert back.classes == model.classes and back.widths == model.widths
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.allclose(back(x), model(x), atol=2e-2)  # float16 weights on disk


def test_corrupt_and_wrong_files_are_refused(tmp_path: Path):
    path = tmp_path / "classifier.safetensors"
    save_classifier(tiny(), path)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="cut.safetensors"):
        load_classifier(cut)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_classifier(empty)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(CheckpointError, match="not a ganpaint classifier"):
        load_classifier(other)
    with pytest.raises(CheckpointError, match="no such classifier"):
        load_classifier(tmp_path / "missing.safetensors")


def small_bundle(tmp_path: Path) -> Path:
    """A copy of the bundled model's files that the classifier commands need."""
    from ganpaint.models.bundle import default_bundle_path, read_bundle_json, write_bundle_json

    src = default_bundle_path()
    dst = tmp_path / "bundle"
    dst.mkdir()
    for name in ("generator.safetensors", "segmenter.safetensors"):
        shutil.copy(src / name, dst / name)
    meta = read_bundle_json(src)
    meta.pop("classifier", None)
    write_bundle_json(dst, meta)
    return dst


@pytest.mark.slow
def test_bundle_without_and_with_classifier(tmp_path: Path):
    from ganpaint.models import load_bundle
    from ganpaint.models.bundle import read_bundle_json, write_bundle_json

    folder = small_bundle(tmp_path)
    bundle = load_bundle(folder)
    assert bundle.classifier_path is None and bundle.load_classifier() is None
    assert bundle.classifier_dissection() is None
    save_classifier(tiny(), folder / "classifier.safetensors")
    meta = write_bundle_json(folder, read_bundle_json(folder))
    assert "classifier.safetensors" in meta["files"]
    assert load_bundle(folder).load_classifier().classes == ("church", "house", "landscape")
