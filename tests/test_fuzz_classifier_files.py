"""The classifier fuzz target (``classifier.safetensors``, ``encoder.safetensors``,
``classifier_dissection.json``, ``classifier_attack.json``) and one test per bug it found:
each bad file is refused with a GanpaintError whose message names the file and the problem."""

from __future__ import annotations

import json
import random
import struct
import warnings
from pathlib import Path

import pytest

from ganpaint.core.errors import CheckpointError, GanpaintError
from ganpaint.models.classifier import SceneClassifier, load_classifier, save_classifier
from ganpaint.models.classifier_attack import AttackFileError, read_attack_file
from ganpaint.models.classifier_dissection import DissectionError, read_classifier_dissection
from ganpaint.models.encoder import PictureEncoder, load_encoder, save_encoder
from ganpaint.robust import cases as C
from ganpaint.robust import classifier_target as CT
from ganpaint.robust import fuzz as F
from ganpaint.robust.mutate import _tweaked


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CT.ClassifierFilesTarget(tmp_path_factory.mktemp("classifier-fuzz"))


def _with_metadata(data: bytes, **changes) -> bytes:
    """A safetensors file with its ``__metadata__`` entries replaced (None removes one)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    for key, value in changes.items():
        if value is None:
            header["__metadata__"].pop(key, None)
        else:
            header["__metadata__"][key] = value
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data[8 + n :]


def _refused(path: Path, data: bytes | str, reader, error, match: str) -> str:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    with pytest.raises(error, match=match) as info:
        reader(path)
    assert str(path) in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("name", CT.FILES)
def test_the_seed_files_read(target, name):
    CT.CHECKS[name](target.folder / name)


@pytest.mark.slow
def test_fuzz_classifier_target_short_run(tmp_path):
    report = F.fuzz("classifier", 40, seed=3, workdir=tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.loaded > 0 and report.refused > 0


def test_a_message_without_the_file_name_is_a_bug(target, monkeypatch):
    def vague(path):
        raise CheckpointError("bad")

    monkeypatch.setitem(CT.CHECKS, CT.CLASSIFIER, vague)
    case = C.Case(0, "test", "", {CT.CLASSIFIER: target.originals[CT.CLASSIFIER]})
    outcome, text = F.run_case(target, case)
    assert outcome == "bug" and "does not say the file" in text


# -- the bugs the fuzzer found ---------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder_bytes(tmp_path_factory) -> bytes:
    p = tmp_path_factory.mktemp("enc") / "e.safetensors"
    save_encoder(PictureEncoder(8, 8, 4, "layer4"), p)
    return p.read_bytes()


@pytest.fixture(scope="module")
def classifier_bytes(tmp_path_factory) -> bytes:
    p = tmp_path_factory.mktemp("cls") / "c.safetensors"
    save_classifier(SceneClassifier(("a", "b"), (4, "M", 8)), p)
    return p.read_bytes()


@pytest.mark.parametrize("version", [1, [1], 1.5, True])
def test_encoder_version_that_is_not_text(tmp_path, encoder_bytes, version):
    """Was AttributeError: 'int' object has no attribute 'isdigit'."""
    data = _with_metadata(encoder_bytes, version=version)
    _refused(tmp_path / "encoder.safetensors", data, load_encoder, CheckpointError, "version")


def test_encoder_version_of_unicode_digits(tmp_path, encoder_bytes):
    """'²'.isdigit() is true but int('²') raises ValueError."""
    data = _with_metadata(encoder_bytes, version="\u00b2")
    _refused(tmp_path / "encoder.safetensors", data, load_encoder, CheckpointError, "version")


@pytest.mark.parametrize("config", [7, 0.5, ["x"], {"a": 1}])
def test_config_that_is_not_text(tmp_path, encoder_bytes, classifier_bytes, config):
    """Was TypeError: the JSON object must be str, bytes or bytearray."""
    msg = "metadata 'config' is not text"
    p = tmp_path / "encoder.safetensors"
    _refused(p, _with_metadata(encoder_bytes, config=config), load_encoder, CheckpointError, msg)
    p = tmp_path / "classifier.safetensors"
    data = _with_metadata(classifier_bytes, config=config)
    _refused(p, data, load_classifier, CheckpointError, msg)


@pytest.mark.parametrize("config", ["[1, 2]", '"text"', "1" * 5000])
def test_config_text_that_is_not_an_object(tmp_path, classifier_bytes, config):
    data = _with_metadata(classifier_bytes, config=config)
    path = tmp_path / "classifier.safetensors"
    _refused(path, data, load_classifier, CheckpointError, "config in the metadata is not")


def test_classifier_with_too_many_classes(tmp_path, classifier_bytes):
    cfg = {"architecture": "vgg-gap", "classes": ["c"] * 5000, "widths": [4, "M", 8]}
    data = _with_metadata(classifier_bytes, config=json.dumps(cfg))
    path = tmp_path / "classifier.safetensors"
    _refused(path, data, load_classifier, CheckpointError, "5000 classes")


def test_attack_file_with_a_failed_attack_reads(tmp_path):
    """The writer stores ``"groups": null`` for a failed attack; the reader refused that."""
    doc = CT.attack_seed()
    assert any(r["groups"] is None and not r["success"] for r in doc["records"])
    path = tmp_path / "classifier_attack.json"
    path.write_text(json.dumps(doc))
    read = read_attack_file(path)
    assert [r.groups for r in read.records].count(None) == 1


def test_attack_file_without_a_version(tmp_path):
    """Was TypeError: '>' not supported between instances of 'NoneType' and 'int'."""
    doc = CT.attack_seed()
    del doc["version"]
    path = tmp_path / "classifier_attack.json"
    _refused(path, json.dumps(doc), read_attack_file, AttackFileError, "version: missing")


@pytest.mark.parametrize("key", ["mean_l2", "target_vs_other"])
def test_attack_figure_beyond_float_range(tmp_path, key):
    """A 400-digit integer passed the check and broke the report's formatting."""
    text = json.dumps(CT.attack_seed()).replace(f'"{key}": ', f'"{key}": 1{"0" * 400}, "x_{key}": ')
    path = tmp_path / "classifier_attack.json"
    _refused(path, text, read_attack_file, AttackFileError, f"{key}: expected a number within")


@pytest.mark.parametrize("where", ["baseline", "remove", "ranked"])
def test_dissection_number_beyond_float_range(tmp_path, where):
    """Was OverflowError: int too large to convert to float (in Ablation.figures)."""
    doc = CT.dissection_seed()
    big = "1" + "0" * 400
    ablation = doc["ablation"]
    if where == "baseline":
        ablation["baseline"][0] = "BIG"
    elif where == "remove":
        ablation["classes"][0]["remove"][0][1] = "BIG"
    else:
        ablation["classes"][0]["ranked"][0][1] = "BIG"
    text = json.dumps(doc).replace('"BIG"', big)
    path = tmp_path / "classifier_dissection.json"
    _refused(path, text, read_classifier_dissection, DissectionError, "ablation")


def test_tweaking_a_huge_integer_does_not_break_the_mutator():
    """_tweaked(10**400) raised OverflowError in float(): the fuzzer itself stopped."""
    rng = random.Random(0)
    values = {repr(_tweaked(rng, 10**400))[:20] for _ in range(200)}
    assert len(values) > 3


def test_every_refusal_is_a_ganpaint_error_subclass():
    for error in (CheckpointError, AttackFileError, DissectionError):
        assert issubclass(error, GanpaintError)


def test_bytes_after_the_last_tensor(tmp_path, classifier_bytes):
    """Was the safetensors library's 'incomplete metadata, file not fully covered'."""
    path = tmp_path / "classifier.safetensors"
    message = _refused(path, classifier_bytes + b"\x00" * 7, load_classifier, CheckpointError,
                       "7 bytes after its last tensor")  # fmt: skip
    assert "damaged safetensors file" in message


def test_a_config_larger_than_the_file_is_refused_before_building(tmp_path, classifier_bytes):
    """24 layers of 1024 units would be built (0.9 GB) before the weights were compared."""
    cfg = {"architecture": "vgg-gap", "classes": ["a", "b"], "widths": [1024] * 24}
    data = _with_metadata(classifier_bytes, config=json.dumps(cfg))
    path = tmp_path / "classifier.safetensors"
    _refused(path, data, load_classifier, CheckpointError, r"describes \d+ stored values")
