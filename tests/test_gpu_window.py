"""The GPU window's files: packed into at most 8 files of at most 16 MiB, and unpacked into
``.gpu/`` (state, segmenter, bundle, last) on the way home."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools import gpu_window

SEGMENTER = {"conv.weight": torch.linspace(-2, 2, 24).reshape(2, 3, 4), "steps": torch.arange(3)}


def _window(tmp_path, shards: int = 2):
    run, state = tmp_path / "run", tmp_path / "state"
    (run / "bundle").mkdir(parents=True)
    state.mkdir()
    for i in range(shards):
        (state / f"tensors-{i:05d}.safetensors").write_bytes(bytes([i]) * 100)
    (state / "state.json").write_text(json.dumps({"step": 7}))
    for name in ("generator.safetensors", "bundle.json"):
        (run / "bundle" / name).write_text(name)
    save_file(SEGMENTER, str(run / "bundle" / "segmenter.safetensors"), metadata={"format": "s"})
    for name in ("samples.png", "summary.json", "metrics.jsonl", "pipeline.log"):
        (run / name).write_text(name)
    return run, state


def test_pack_and_unpack_round_trip(tmp_path):
    run, state = _window(tmp_path)
    out = tmp_path / "OUT"
    names = gpu_window.pack(run, state, out)
    assert len(names) <= gpu_window.MAX_FILES and sorted(names) == sorted(
        p.name for p in out.iterdir()
    )
    home = tmp_path / "home" / ".gpu"
    got = gpu_window.unpack(out, home)
    assert set(got) == {"state", "bundle", "last", "segmenter"}
    assert json.loads((home / "state" / "state.json").read_text()) == {"step": 7}
    assert (home / "state" / "tensors-00001.safetensors").read_bytes() == bytes([1]) * 100
    assert sorted(p.name for p in (home / "bundle").iterdir()) == [
        "bundle.json", "generator.safetensors", "segmenter.safetensors",
    ]  # fmt: skip
    # The carried segmenter: float16 (half the bytes to send), integers and metadata kept.
    with safe_open(str(home / "segmenter.safetensors"), framework="pt") as f:
        assert f.metadata() == {"format": "s"}
        w, steps = f.get_tensor("conv.weight"), f.get_tensor("steps")
    assert w.dtype == torch.float16 and steps.dtype == SEGMENTER["steps"].dtype
    assert torch.allclose(w.float(), SEGMENTER["conv.weight"], atol=1e-3)
    assert torch.equal(steps, SEGMENTER["steps"])
    assert (home / "last" / "pipeline.log").is_file() and (home / "last" / "samples.png").is_file()


def test_pack_refuses_too_many_or_too_large_files(tmp_path, monkeypatch):
    run, state = _window(tmp_path, shards=5)
    with pytest.raises(GanpaintError, match="over 8"):
        gpu_window.pack(run, state, tmp_path / "OUT")
    monkeypatch.setattr(gpu_window, "MAX_FILE_BYTES", 50)
    run, state = _window(tmp_path / "b", shards=1)
    with pytest.raises(GanpaintError, match="over 16 MiB"):
        gpu_window.pack(run, state, tmp_path / "OUT2")
    with pytest.raises(GanpaintError, match="not a GPU window"):
        gpu_window.unpack(tmp_path, tmp_path / ".gpu")
