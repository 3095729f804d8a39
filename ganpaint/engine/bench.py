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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ganpaint.core.devices import describe_device, pick_device, synchronize
from ganpaint.core.seeds import z_from_seed
from ganpaint.engine.document import EditDocument, Stroke
from ganpaint.engine.hooks import Trace
from ganpaint.engine.incremental import IncrementalTail
from ganpaint.engine.intervention import apply_strokes
from ganpaint.engine.renderer import Renderer, to_uint8
from ganpaint.models.dissection import Dissection
from ganpaint.models.progan import (
    ProGANGenerator,
    progan_flops,
    seeded_generator,
    without_units,
)

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
    """Per frame: the document changes, the app's renderer turns its snapshot into uint8
    (a full frame, or the incremental path when ``renderer.incremental`` is on)."""

    def __init__(self, renderer: Renderer, drag: Drag, seed: int):
        self.renderer = renderer
        self.doc = EditDocument("bench", drag.frames[0].layer, seed=seed)
        for s in drag.committed:
            self.doc.add_stroke(s)
        self.work: list[float] = []  # FLOP fraction of the tail each frame recomputed

    def frame(self, preview: Stroke) -> np.ndarray:
        self.doc.set_preview(preview)
        result = self.renderer.render(self.doc.snapshot())
        if not result.ok:
            raise RuntimeError(result.error)
        self.work.append(result.work)
        return result.image


def time_frames(
    paths: list, frames: list[Stroke]
) -> tuple[list[list[float]], list[list[np.ndarray]]]:
    """Frame times (ms) and images per path, the paths interleaved frame by frame so that
    background load falls on all alike."""
    times: list[list[float]] = [[] for _ in paths]
    images: list[list[np.ndarray]] = [[] for _ in paths]
    for preview in frames:
        for i, path in enumerate(paths):
            start = time.perf_counter()
            image = path.frame(preview)
            times[i].append((time.perf_counter() - start) * 1000.0)
            images[i].append(image)
    return times, images


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def measure_crossover(renderer: Renderer, seed: int, layer: str, repeats: int = 3) -> dict:
    """Incremental against full frames for square changes of growing size at ``layer``.

    The incremental frame is timed on a change of k x k cells at the centre of the edit
    layer, for k from one cell to the whole layer, and a full frame is timed beside it; the
    crossover is the work fraction (FLOP of the tail recomputed, halos included) from which
    the full frame is as fast. ``Renderer``'s ``full_above`` default comes from this figure.
    """
    gen, net = renderer.generator, renderer.net
    side = gen.layer_resolution(layer)
    edits = {layer: renderer._identity(layer)}
    with torch.inference_mode():
        h = renderer.features(seed, layer)
        tail = IncrementalTail(gen, net, layer, None)
        full_ms = statistics.median(_timed(lambda: tail.reset(h, edits)) for _ in range(repeats))
        points = []
        for k in sorted({1, 2, 3, 4, side // 4, side // 2, (3 * side) // 4, side} - {0}):
            lo = (side - k) // 2
            window = (lo, lo + k, lo, lo + k)
            x = h.clone()
            x[:, :, lo : lo + k, lo : lo + k] += 0.5
            work = tail.work(tail.plan(window))

            times = []
            for _ in range(repeats):
                tail.reset(h, edits)  # the unchanged frame, then the change on top
                times.append(_timed(lambda x=x, window=window: tail.update(x, window, edits)))
            points.append({"cells": k, "work": work, "incremental_ms": statistics.median(times)})
    points = [{**p, "full_ms": full_ms} for p in points]
    return {"work_fraction": _crossing(points, full_ms), "points": points}


def _crossing(points: list[dict], full_ms: float) -> float:
    """The work fraction where the incremental time reaches the full frame's, linear between
    the last point below it and the first at or above it (1.0 if never)."""
    below = None
    for p in points:
        if p["incremental_ms"] >= full_ms:
            if below is None:
                return p["work"]
            rise = p["incremental_ms"] - below["incremental_ms"]
            t = (full_ms - below["incremental_ms"]) / rise if rise > 0 else 0.0
            return below["work"] + t * (p["work"] - below["work"])
        below = p
    return 1.0


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def run_bench(
    gen: ProGANGenerator,
    model_name: str,
    device: str | None = None,
    frames: int = 30,
    layer: str | None = None,
    dissection: Dissection | None = None,
    renderer_options: dict | None = None,
    dissect_fn: Callable[[torch.device], float] | None = None,
    zeroed: Mapping[str, Sequence[int]] | None = None,
) -> dict:
    """Measure both paths in one run and return the figures ``ganpaint bench`` prints;
    ``zeroed``: units every path zeroes (View > Clean artifacts, ``Renderer.set_zeroed``)."""
    dev = pick_device(device)
    layer = layer or ("layer4" if "layer4" in gen.layer_names else gen.layer_names[0])
    options = {k: v for k, v in (renderer_options or {}).items() if k != "incremental"}
    renderer = Renderer(gen, dev, dissection, **options, incremental=False)
    fresh = Renderer(gen, dev, dissection, **options, incremental=True)
    renderer.set_zeroed(zeroed)
    fresh.set_zeroed(zeroed)
    drag = scripted_drag(gen, layer, frames)
    seed = 1234
    paths = [
        NaivePath(without_units(gen, zeroed or {}), renderer, drag, seed),
        OptimisedPath(renderer, drag, seed),
        OptimisedPath(fresh, drag, seed),
    ]
    # first use: feature cache, graph capture, level estimate, kernel selection
    time_frames(paths, scripted_drag(gen, layer, 3).frames)
    paths[2].work.clear()
    (naive, optimised, incremental), images = time_frames(paths, drag.frames)
    diff = np.abs(images[0][-1].astype(np.int16) - images[1][-1].astype(np.int16))
    inc_diff = max(_max_diff(a, b) for a, b in zip(images[1], images[2], strict=True))
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
    result["incremental"] = {
        **_percentiles(incremental),
        "dirty_fraction": statistics.fmean(paths[2].work),
        "full_frames": sum(w >= 1.0 for w in paths[2].work),
        "max_diff_levels": inc_diff,
        "state_mb": fresh.state_bytes() / 2**20,
        "full_above": fresh.full_above,
        "crossover": measure_crossover(fresh, seed, layer),
    }
    inc = result["incremental"]
    inc["over_floor"] = inc["p50_ms"] / result["floor_ms"]
    inc["over_optimised"] = inc["p50_ms"] / result["optimised"]["p50_ms"]
    result["speedup"] = result["naive"]["p50_ms"] / result["optimised"]["p50_ms"]
    result["achieved_gflops"] = gflop / (result["optimised"]["p50_ms"] / 1000.0)
    result["optimised_over_floor"] = result["optimised"]["p50_ms"] / result["floor_ms"]
    result["dissect_samples_per_s"] = dissect_fn(dev) if dissect_fn is not None else None
    return result
