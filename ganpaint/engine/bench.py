"""Edit-to-frame latency measurement: the naive per-request path against the app's path.

*naive* is what the original GANPaint server did per request: register a hook, lower every
stroke (masks pooled anew), run the whole generator from z in float32, copy the image out.
*optimised* is :class:`~ganpaint.engine.Renderer`, exactly as the app's render worker calls
it. Both render the same scripted drag (committed strokes plus a growing preview stroke),
interleaved frame by frame, and each frame is timed from the document change to a uint8
HxWx3 array on the host; the last frames of the two paths are compared pixel by pixel. A matrix
multiply measured in the same run gives the hardware ceiling, so the gap is a ratio.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ganpaint.core.devices import describe_device, pick_device, synchronize
from ganpaint.core.seeds import z_from_seed
from ganpaint.engine.document import EditDocument, Stroke
from ganpaint.engine.hooks import Trace
from ganpaint.engine.intervention import apply_strokes
from ganpaint.engine.renderer import Renderer, to_uint8
from ganpaint.models.dissection import Dissection
from ganpaint.models.progan import ProGANGenerator, progan_flops, seeded_generator

# The widths of Karras et al.'s official LSUN checkpoints: 512 up to 32 px, then 256, 128, 64.
PROGAN256_WIDTHS = (512, 512, 512, 512, 256, 128, 64)


def random_progan256(seed: int = 0) -> ProGANGenerator:
    """Random weights at the size of the official LSUN checkpoints (for timing only)."""
    return seeded_generator(PROGAN256_WIDTHS, z_dim=512, seed=seed)


def matmul_ceiling(device: torch.device, dtype: torch.dtype = torch.float32) -> float:
    """Best achieved GFLOP/s of a square matrix product on ``device`` in ``dtype``."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    best = float("inf")
    for i in range(8 if device.type == "cuda" else 5):
        synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        if i:
            best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9


@dataclass
class Drag:
    """A scripted drag: ``committed`` strokes, then a preview stroke that grows each frame."""

    committed: list[Stroke]
    frames: list[Stroke]


def scripted_drag(gen: ProGANGenerator, layer: str, frames: int, units: int = 15) -> Drag:
    side = gen.resolution
    rng = np.random.default_rng(0)
    channels = gen.layer_channels(layer)
    pick = tuple(int(u) for u in rng.choice(channels, size=min(units, channels), replace=False))
    yy, xx = np.mgrid[0:side, 0:side]

    def disc(cx: float, cy: float, r: float) -> np.ndarray:
        return (((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r).astype(np.uint8) * 255

    committed = [
        Stroke("tree", "draw", pick, 1.0, 0.99, layer, disc(side * 0.25, side * 0.7, side * 0.12)),
        Stroke(
            "tree", "remove", pick[:5], 1.0, 0.99, layer, disc(side * 0.7, side * 0.3, side * 0.1)
        ),
    ]
    drag: list[Stroke] = []
    mask = np.zeros((side, side), np.uint8)
    for i in range(frames):
        t = i / max(frames - 1, 1)
        mask = np.maximum(mask, disc(side * (0.2 + 0.6 * t), side * 0.5, side * 0.08))
        drag.append(Stroke("tree", "draw", pick, 1.0, 0.99, layer, mask.copy()))
    return Drag(committed, drag)


def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50_ms": statistics.median(ordered), "p95_ms": p95}


class NaivePath:
    """Per frame: hooks registered, every stroke lowered, full float32 forward from z."""

    def __init__(self, gen: ProGANGenerator, renderer: Renderer, drag: Drag, seed: int):
        self.renderer = renderer
        self.z = z_from_seed(seed, gen.z_dim)[None].to(renderer.device)
        self.net = copy.deepcopy(gen).to(renderer.device, torch.float32)
        self.committed = drag.committed

    def frame(self, preview: Stroke) -> np.ndarray:
        edits = [self.renderer.unit_edit_uncached(s) for s in [*self.committed, preview]]
        edit = lambda h: apply_strokes(h, edits)  # noqa: E731
        with torch.no_grad(), Trace(self.net, preview.layer, edit_output=edit):
            return to_uint8(self.net(self.z))[0]


class OptimisedPath:
    """Per frame: the document changes, the app's renderer turns its snapshot into uint8."""

    def __init__(self, renderer: Renderer, drag: Drag, seed: int):
        self.renderer = renderer
        self.doc = EditDocument("bench", drag.frames[0].layer, seed=seed)
        for s in drag.committed:
            self.doc.add_stroke(s)

    def frame(self, preview: Stroke) -> np.ndarray:
        self.doc.set_preview(preview)
        result = self.renderer.render(self.doc.snapshot())
        if not result.ok:
            raise RuntimeError(result.error)
        return result.image


def time_frames(paths: list, frames: list[Stroke]) -> tuple[list[list[float]], list[np.ndarray]]:
    """Frame times (ms) per path, the paths interleaved frame by frame so that background
    load falls on both alike; also each path's last image."""
    times: list[list[float]] = [[] for _ in paths]
    last: list[np.ndarray] = [np.zeros(0)] * len(paths)
    for preview in frames:
        for i, path in enumerate(paths):
            start = time.perf_counter()
            last[i] = path.frame(preview)
            times[i].append((time.perf_counter() - start) * 1000.0)
    return times, last


def run_bench(
    gen: ProGANGenerator,
    model_name: str,
    device: str | None = None,
    frames: int = 30,
    layer: str | None = None,
    dissection: Dissection | None = None,
    renderer_options: dict | None = None,
    dissect_fn: Callable[[torch.device], float] | None = None,
) -> dict:
    """Measure both paths in one run and return the figures ``ganpaint bench`` prints."""
    dev = pick_device(device)
    layer = layer or ("layer4" if "layer4" in gen.layer_names else gen.layer_names[0])
    renderer = Renderer(gen, dev, dissection, **(renderer_options or {}))
    drag = scripted_drag(gen, layer, frames)
    seed = 1234
    paths = [NaivePath(gen, renderer, drag, seed), OptimisedPath(renderer, drag, seed)]
    # first use: feature cache, graph capture, level estimate, kernel selection
    time_frames(paths, scripted_drag(gen, layer, 3).frames)
    (naive, optimised), (naive_img, optimised_img) = time_frames(paths, drag.frames)
    diff = np.abs(naive_img.astype(np.int16) - optimised_img.astype(np.int16))
    dtype = renderer.dtype
    ceiling = matmul_ceiling(dev, dtype)
    gflop = progan_flops(gen.widths, gen.z_dim, after=layer) / 1e9
    result = {
        "device": describe_device(dev),
        "model": model_name,
        "layer": layer,
        "precision": renderer.precision,
        "cuda_graphs": renderer.use_graphs,
        "frames": frames,
        "gflop_per_frame": gflop,
        "gflop_full_forward": progan_flops(gen.widths, gen.z_dim) / 1e9,
        "ceiling_gflops": ceiling,
        "floor_ms": gflop / ceiling * 1000.0,
        "naive": _percentiles(naive),
        "optimised": _percentiles(optimised),
        "image_diff": {"mean": float(diff.mean()), "max": int(diff.max())},
    }
    result["speedup"] = result["naive"]["p50_ms"] / result["optimised"]["p50_ms"]
    result["achieved_gflops"] = gflop / (result["optimised"]["p50_ms"] / 1000.0)
    result["optimised_over_floor"] = result["optimised"]["p50_ms"] / result["floor_ms"]
    result["dissect_samples_per_s"] = dissect_fn(dev) if dissect_fn is not None else None
    return result
