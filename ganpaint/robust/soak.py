"""A long editing session through the engine, to find leaks and unbounded growth.

:func:`run_soak` paints ``strokes`` random strokes on a document (each shown first as one to
three live previews, as a brush drag would), interleaved with undo, redo, seed changes,
visibility toggles, cancelled previews and stroke removals, and renders every snapshot with
a :class:`~ganpaint.engine.Renderer`. It samples the process's resident memory (RSS) as it
goes and reports it at the start (after the first render), at the end and at its peak,
with the throughput and the size of the undo history.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ganpaint.models.progan import ProGANGenerator

try:
    import resource
except ImportError:  # Windows
    resource = None

TINY_WIDTHS = (32, 32, 16, 8)
TINY_Z = 16


def rss_mb() -> float | None:
    """Resident memory of this process now, in MiB (Linux: /proc; elsewhere None)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * (resource.getpagesize() if resource else 4096) / 2**20


def peak_rss_mb() -> float:
    """The operating system's high-water mark of this process's RSS, in MiB (0 if unknown)."""
    if resource is None:
        return 0.0
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024


def tiny_generator(seed: int = 0) -> ProGANGenerator:
    """The soak's default model: 32 px, widths 32,32,16,8, z 16, seeded random weights."""
    from ganpaint.models.progan import seeded_generator

    return seeded_generator(TINY_WIDTHS, TINY_Z, seed)


@dataclass
class SoakReport:
    model: str
    device: str
    target_strokes: int
    strokes: int = 0  # strokes committed (add_stroke calls)
    operations: Counter = field(default_factory=Counter)
    renders: int = 0
    render_errors: int = 0
    first_error: str | None = None
    seconds: float = 0.0
    render_ms: list[float] = field(default_factory=list, repr=False)
    render_ms_by_op: dict[str, list[float]] = field(default_factory=dict, repr=False)
    rss_before_mb: float = 0.0  # before the model and renderer were set up
    rss_start_mb: float = 0.0  # after set-up and the first render
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0  # highest sample during the session
    rss_now_mb: float = 0.0
    maxrss_mb: float = 0.0  # the OS's high-water mark at the end
    samples: list[tuple[int, float]] = field(default_factory=list)  # (strokes, RSS MiB)
    document_strokes: int = 0
    undo_steps: int = 0
    history_refs: int = 0  # stroke references held by the undo/redo history
    mask_mb: float = 0.0  # mask bytes of the document's strokes

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_start_mb

    @property
    def strokes_per_s(self) -> float:
        return self.strokes / self.seconds if self.seconds > 0 else 0.0

    def _ms(self, q: float, op: str | None = None) -> float:
        ms = self.render_ms if op is None else self.render_ms_by_op.get(op, [])
        return float(np.percentile(ms, q)) if ms else 0.0

    def lines(self) -> list[str]:
        ops = ", ".join(f"{k} {v}" for k, v in sorted(self.operations.items()))
        return [
            f"model         {self.model} on {self.device}",
            f"strokes       {self.strokes} committed in {self.seconds:.1f} s "
            f"({self.strokes_per_s:.1f} strokes/s)",
            f"operations    {ops}",
            f"renders       {self.renders} ({self.renders / max(self.seconds, 1e-9):.0f}/s), "
            f"p50 {self._ms(50):.2f} ms, p95 {self._ms(95):.2f} ms, max {self._ms(100):.1f} ms, "
            f"{self.render_errors} errors",
            "render after  "
            + ", ".join(
                f"{op} p50 {self._ms(50, op):.1f} / p95 {self._ms(95, op):.1f} ms"
                for op in sorted(self.render_ms_by_op)
            ),
            f"RSS           before set-up {self.rss_before_mb:.0f} MB, start "
            f"{self.rss_start_mb:.0f} MB, end {self.rss_end_mb:.0f} MB, peak "
            f"{self.rss_peak_mb:.0f} MB (growth {self.rss_growth_mb:+.0f} MB; OS high-water "
            f"mark {self.maxrss_mb:.0f} MB)",
            f"document      {self.document_strokes} strokes ({self.mask_mb:.1f} MB of masks), "
            f"undo history {self.undo_steps} steps holding {self.history_refs} stroke references",
        ] + ([f"first error   {self.first_error}"] if self.first_error else [])

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "strokes": self.strokes,
            "operations": dict(self.operations),
            "renders": self.renders,
            "render_errors": self.render_errors,
            "first_error": self.first_error,
            "seconds": round(self.seconds, 2),
            "strokes_per_s": round(self.strokes_per_s, 2),
            "render_ms": {
                "p50": round(self._ms(50), 3),
                "p95": round(self._ms(95), 3),
                "max": round(self._ms(100), 3),
                "by_operation": {
                    op: {"p50": round(self._ms(50, op), 3), "p95": round(self._ms(95, op), 3)}
                    for op in sorted(self.render_ms_by_op)
                },
            },
            "rss_mb": {
                "before_setup": round(self.rss_before_mb, 1),
                "start": round(self.rss_start_mb, 1),
                "end": round(self.rss_end_mb, 1),
                "peak": round(self.rss_peak_mb, 1),
                "growth": round(self.rss_growth_mb, 1),
                "os_high_water": round(self.maxrss_mb, 1),
            },
            "samples": [[s, round(m, 1)] for s, m in self.samples],
            "document_strokes": self.document_strokes,
            "undo_steps": self.undo_steps,
            "history_refs": self.history_refs,
            "mask_mb": round(self.mask_mb, 2),
        }


def _brush_mask(rng: random.Random, side: int) -> np.ndarray:
    """A soft round dab or a short drag of dabs, uint8 at image resolution."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    cover = np.zeros((side, side), np.float32)
    y, x = rng.uniform(0, side), rng.uniform(0, side)
    radius = rng.uniform(1.5, side / 4 + 2)
    for _ in range(rng.randint(1, 6)):
        d = np.sqrt((yy - y) ** 2 + (xx - x) ** 2)
        np.maximum(cover, np.clip(1.5 - d / radius, 0.0, 1.0), out=cover)
        y += rng.uniform(-radius, radius)
        x += rng.uniform(-radius, radius)
    return (cover * 255).astype(np.uint8)


def run_soak(
    strokes: int = 10_000,
    model: str | Path | None = None,
    device: str | None = "cpu",
    seed: int = 0,
    sample_every: int = 100,
    progress: Callable[[int, SoakReport], None] | None = None,
    threads: int | None = None,
) -> SoakReport:
    """Drive ``strokes`` committed strokes through an :class:`EditDocument` and a
    :class:`Renderer`; ``model`` is a bundle or checkpoint (default: :func:`tiny_generator`).

    On the CPU torch runs with ``threads`` (default: the app's ``render_threads()`` policy)
    for the session; the previous setting is restored afterwards.
    """
    import torch

    previous = torch.get_num_threads()
    try:
        return _run(strokes, model, device, seed, sample_every, progress, threads)
    finally:
        torch.set_num_threads(previous)


def _run(strokes, model, device, seed, sample_every, progress, threads) -> SoakReport:
    import torch

    from ganpaint.core.devices import describe_device
    from ganpaint.core.threads import render_threads
    from ganpaint.engine.document import EditDocument
    from ganpaint.engine.renderer import Renderer

    gc.collect()
    before = rss_mb() or peak_rss_mb()
    gen, dissection, name, layers, model_id = _soak_model(model, seed)
    renderer = Renderer(gen, device, dissection)
    if renderer.device.type == "cpu":
        torch.set_num_threads(threads or render_threads())
    report = SoakReport(name, describe_device(renderer.device), strokes)
    report.rss_before_mb = before
    doc = EditDocument(model_id, layers[0], seed=0)
    rng = random.Random(f"ganpaint-soak/{seed}")
    session = _Session(report, gen, renderer, doc, layers, rng, sample_every, progress)
    session.start()
    start = time.perf_counter()
    while report.strokes < strokes:
        session.render(session.operation())
    report.seconds = time.perf_counter() - start
    session.finish()
    return report


def _soak_model(model: str | Path | None, seed: int) -> tuple[Any, Any, str, list[str], str]:
    """(generator, dissection, description, edit layers, model id) of a bundle or checkpoint,
    or of :func:`tiny_generator` when ``model`` is None."""
    from ganpaint.models.bundle import load_bundle

    if model is None:
        gen = tiny_generator(seed)
        widths = ",".join(map(str, TINY_WIDTHS))
        name = f"tiny random generator ({gen.resolution} px, widths {widths}, z {TINY_Z})"
        return gen, None, name, ["layer4", "layer6"], "tiny"
    bundle = load_bundle(model)
    gen = bundle.generator
    layers = [n for n in bundle.edit_layers if n in gen.layer_names]
    name = f"{bundle.name} ({gen.resolution} px, {bundle.path})"
    return gen, bundle.dissection, name, layers, bundle.name


def _stroke(mask: np.ndarray, layer: str, units: tuple[int, ...], action: str, strength: float):
    from ganpaint.engine.document import Stroke

    return Stroke("soak", action, units, strength, 0.99, layer, mask)


class _Session:
    """The soak's document and renderer, and the person's random operations on them: brush
    drags with previews, undo, redo, seed changes, cancelled drags, visibility toggles and
    removals, each followed by a render."""

    def __init__(
        self,
        report: SoakReport,
        gen: ProGANGenerator,
        renderer: Any,
        doc: Any,
        layers: list[str],
        rng: random.Random,
        sample_every: int,
        progress: Callable[[int, SoakReport], None] | None,
    ):
        self.report, self.gen, self.renderer, self.doc = report, gen, renderer, doc
        self.layers, self.rng = layers, rng
        self.sample_every, self.progress = sample_every, progress
        self.side = gen.resolution

    def render(self, op: str) -> None:
        report = self.report
        result = self.renderer.render(self.doc.snapshot())
        report.renders += 1
        report.render_ms.append(result.ms)
        report.render_ms_by_op.setdefault(op, []).append(result.ms)
        if not result.ok:
            report.render_errors += 1
            if report.first_error is None:
                report.first_error = result.error

    def sample(self) -> None:
        report = self.report
        now = rss_mb()
        if now is None:
            now = peak_rss_mb()
        report.rss_now_mb = now
        report.rss_peak_mb = max(report.rss_peak_mb, now)
        report.samples.append((report.strokes, now))

    def start(self) -> None:
        """One-time set-up (unit levels are estimated on first use) and the first render."""
        for layer in self.layers:
            self.renderer.levels(layer)
        self.render("start")
        gc.collect()
        self.report.rss_start_mb = rss_mb() or peak_rss_mb()
        self.sample()

    def finish(self) -> None:
        """Memory at the end and what the document and its history hold."""
        report, doc = self.report, self.doc
        gc.collect()
        self.sample()
        report.rss_end_mb = report.samples[-1][1]
        report.maxrss_mb = peak_rss_mb()
        report.document_strokes = len(doc.strokes)
        report.undo_steps, report.history_refs = doc.history_size
        report.mask_mb = sum(s.mask.nbytes for s in doc.strokes) / 2**20

    def operation(self) -> str:
        """One random operation on the document; returns its name (counted in the report)."""
        rng, doc, ops = self.rng, self.doc, self.report.operations
        r = rng.random()
        n = len(doc.strokes)
        if r < 0.62:
            self.drag()
            return "stroke"
        if r < 0.76:
            ops["undo"] += doc.undo()
            return "undo"
        if r < 0.88:
            ops["redo"] += doc.redo()
            return "redo"
        if r < 0.94:
            doc.set_seed(rng.randrange(64))
            op = "seed"
        elif r < 0.98:  # a drag cancelled (Escape)
            doc.set_preview(_stroke(_brush_mask(rng, self.side), self.layers[0], (0,), "draw", 1.0))
            self.render("preview")
            doc.set_preview(None)
            op = "cancel"
        elif r < 0.99 and n:  # toggle a recent stroke's visibility (the history panel)
            i = max(0, n - 1 - int(rng.expovariate(0.2)))
            doc.set_visible(i, not doc.strokes[i].visible)
            op = "visible"
        elif n:
            doc.remove_stroke(max(0, n - 1 - int(rng.expovariate(0.2))))
            op = "remove"
        else:
            return "stroke"  # nothing to remove: counted as nothing, rendered as a stroke
        ops[op] += 1
        return op

    def drag(self) -> None:
        """A brush drag: previews of the growing stroke, then the committed stroke."""
        rng, doc, report = self.rng, self.doc, self.report
        layer = rng.choice(self.layers)
        channels = self.gen.layer_channels(layer)
        units = tuple(sorted(rng.sample(range(channels), rng.randint(1, min(8, channels)))))
        action = "draw" if rng.random() < 0.7 else "remove"
        strength = rng.choice((1.0, rng.uniform(0.2, 1.0)))
        mask = _brush_mask(rng, self.side)
        steps = rng.randint(1, 3)
        for k in range(1, steps + 1):
            partial = (mask.astype(np.uint16) * k // (steps + 1)).astype(np.uint8)
            doc.set_preview(_stroke(partial, layer, units, action, strength))
            report.operations["preview"] += 1
            self.render("preview")
        doc.add_stroke(_stroke(mask, layer, units, action, strength))
        report.operations["stroke"] += 1
        report.strokes += 1
        if report.strokes % self.sample_every == 0:
            self.sample()
            if self.progress is not None:
                self.progress(report.strokes, report)
