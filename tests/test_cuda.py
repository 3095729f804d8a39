"""The CUDA path (half precision, captured graphs) against the float32 CPU path.

Skipped without a CUDA device (CI has none); run on a GPU machine with
``python -m pytest --noconftest tests/test_cuda.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganpaint.engine import EditDocument, Renderer, Stroke
from ganpaint.engine.bench import random_progan256
from ganpaint.models import ProGANGenerator

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _doc(side: int, channels: int) -> EditDocument:
    doc = EditDocument("m", "layer4", seed=21)
    mask = np.zeros((side, side), np.uint8)
    mask[: side // 2, : side // 2] = 255
    doc.add_stroke(Stroke("tree", "draw", tuple(range(0, channels, 7)), 1.0, 0.99, "layer4", mask))
    doc.add_stroke(
        Stroke(
            "tree", "remove", tuple(range(3, channels, 5)), 0.8, 0.99, "layer4", mask[::-1].copy()
        )
    )
    return doc


@pytest.mark.parametrize("graphs", [True, False])
def test_cuda_half_matches_cpu_float(graphs):
    torch.manual_seed(0)
    gen = ProGANGenerator([256, 256, 256, 128, 64, 32])
    cpu = Renderer(gen, "cpu", precision="fp32")
    doc = _doc(gen.resolution, 256)
    ref = cpu.render(doc.snapshot())
    levels = cpu.levels("layer4")
    gpu = Renderer(gen, "cuda", cuda_graphs=graphs)
    gpu._levels["layer4"] = levels  # same insert levels on both paths
    out = gpu.render(doc.snapshot())
    assert ref.ok and out.ok, (ref.error, out.error)
    diff = np.abs(ref.image.astype(int) - out.image.astype(int))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 4, (diff.mean(), diff.max())
    # replaying the graph with another preview gives a new, correct frame
    mask = np.zeros((gen.resolution,) * 2, np.uint8)
    mask[60:, 60:] = 255
    doc.set_preview(Stroke("tree", "draw", (1, 2, 3), 1.0, 0.99, "layer4", mask))
    ref2, out2 = cpu.render(doc.snapshot()), gpu.render(doc.snapshot())
    assert np.abs(ref2.image.astype(int) - out2.image.astype(int)).mean() < 1.0
    assert not np.array_equal(out.image, out2.image)


def test_progan256_half_has_no_overflow():
    gen = random_progan256()
    gpu = Renderer(gen, "cuda")
    res = gpu.render(_doc(256, 512).snapshot())
    assert res.ok and res.image.shape == (256, 256, 3)
    with torch.inference_mode():
        full = gpu.net(gpu.z(5).half())
    assert torch.isfinite(full).all()
