"""Each model-file reader says what an unreadable file is not, in words a person understands:
text, random bytes, an empty file and a truncated file, for the generator (``.pth`` and
``.safetensors``), the segmenter, ``bundle.json`` and ``dissection.json``."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import torch

from ganpaint.core.errors import BundleError, CheckpointError
from ganpaint.models import load_bundle, load_generator
from ganpaint.models.bundle import read_dissection
from ganpaint.models.segmenter import load_segmenter

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "models" / "scenes128"
# Words of Python's own exceptions that once reached the user ("pop from empty list").
PYTHON_WORDS = ("pop from", "index out of range", "Expecting value", "EOFError", "char 0")

TEXT = b"hello, this is a note\nnot a model at all\n"
RANDOM = random.Random(7).randbytes(4096)


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _refusal(load, path: Path, errors=(CheckpointError, BundleError)) -> str:
    with pytest.raises(errors) as info:
        load(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    assert not any(w in msg for w in PYTHON_WORDS), msg
    return msg.removeprefix(f"{path}: ")


@pytest.fixture(scope="module")
def pth_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("pth") / "g.pth"
    torch.save({"layer1.conv.weight": torch.zeros(64, 64)}, path)
    return path.read_bytes()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_generator_reader_names_what_the_file_is_not(tmp_path, suffix):
    for data, expected in [
        (TEXT, "(it holds text)"),
        (RANDOM, "(it holds binary data of another kind)"),
        (b"", "(the file is empty)"),
    ]:
        msg = _refusal(load_generator, _write(tmp_path, f"m{suffix}", data))
        assert msg.startswith("not a "), msg
        assert "safetensors file" in msg and msg.endswith(expected), msg
        # The app opens a dropped file through load_bundle: same words.
        assert _refusal(load_bundle, tmp_path / f"m{suffix}") == msg


def test_truncated_safetensors_is_called_truncated(tmp_path):
    data = (BUNDLED / "generator.safetensors").read_bytes()
    for cut in (20_000, 9):
        msg = _refusal(load_generator, _write(tmp_path, "g.safetensors", data[:cut]))
        assert msg.startswith("a truncated safetensors file"), msg
    msg = _refusal(load_segmenter, _write(tmp_path, "s.safetensors", data[:20_000]))
    assert msg.startswith("a truncated safetensors file (tensor "), msg


def test_broken_safetensors_header(tmp_path):
    data = bytearray((BUNDLED / "generator.safetensors").read_bytes()[:4096])
    data[8:12] = b"}}}}"
    for load in (load_generator, load_segmenter):
        msg = _refusal(load, _write(tmp_path, "b.safetensors", bytes(data)))
        assert msg == "a safetensors file with a broken header (not JSON)", msg


def test_truncated_and_damaged_pytorch_checkpoints(tmp_path, pth_bytes):
    msg = _refusal(load_generator, _write(tmp_path, "t.pth", pth_bytes[: len(pth_bytes) // 2]))
    assert msg == "a truncated or damaged PyTorch checkpoint (its zip archive is broken)"
    legacy = tmp_path / "legacy.pth"
    torch.save({"a": torch.zeros(8)}, legacy, _use_new_zipfile_serialization=False)
    cut = _write(tmp_path, "legacy_cut.pth", legacy.read_bytes()[:40])
    msg = _refusal(load_generator, cut)
    assert msg.startswith("cannot read checkpoint: a truncated PyTorch checkpoint"), msg


def test_segmenter_reader(tmp_path, pth_bytes):
    cases = [
        (TEXT, "not a safetensors file (it holds text)"),
        (RANDOM, "not a safetensors file (it holds binary data of another kind)"),
        (b"", "not a safetensors file (the file is empty)"),
        (pth_bytes, "not a safetensors file (it is a PyTorch checkpoint)"),
    ]
    for data, expected in cases:
        assert _refusal(load_segmenter, _write(tmp_path, "s.safetensors", data)) == expected


@pytest.mark.parametrize(
    "data, expected",
    [
        (TEXT, "it holds text that is not JSON"),
        (RANDOM, "it is not text (binary data)"),
        (b"", "the file is empty"),
        (b'{"format": "ganpaint-dissection", "layers": {"lay', "the JSON text is cut short"),
        (b'{"format": 1,, }', "broken JSON at line 1, column 14"),
    ],
)
def test_json_readers(tmp_path, data, expected):
    dissection = _write(tmp_path, "dissection.json", data)
    msg = _refusal(read_dissection, dissection)
    assert msg.startswith(f"not a dissection.json file: {expected}"), msg
    folder = tmp_path / "bundle"
    folder.mkdir()
    _write(folder, "bundle.json", data)
    with pytest.raises(BundleError) as info:
        load_bundle(folder)
    assert f"not a bundle.json file: {expected}" in str(info.value)


def test_a_good_bundle_still_reads(tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(BUNDLED, folder)
    bundle = load_bundle(folder)
    assert bundle.dissection is not None
    assert json.loads((folder / "bundle.json").read_text())["name"] == bundle.name


@pytest.mark.parametrize(
    ("name", "what"),
    [("segmenter", "segmenter"), ("classifier", "scene classifier"),
     ("encoder", "picture encoder")],
)  # fmt: skip
def test_a_bundles_other_network_opened_as_a_model_is_named(name, what):
    """Opening the bundle's segmenter (or classifier, encoder) as a model says which file it
    is and what to open instead, not which weight key did not fit."""
    msg = _refusal(load_generator, BUNDLED / f"{name}.safetensors")
    assert f"this is a GANPaint {what} file, not a generator" in msg
    assert "open the bundle folder" in msg and "unexpected key" not in msg
