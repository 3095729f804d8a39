"""A scripted drag through the real app: ``python -m ganpaint.devtools.drag_bench [--model
PATH] [--events 200] [--json]`` (also ``ganpaint drag-bench``, which :mod:`ganpaint.main`
registers with :func:`register`).

Opens the main window offscreen on the model (default: the bundled one), picks a concept
(``tree`` when the model has it, else the first usable concept, else hand-picked units),
waits until the window has settled (first frame shown, render worker idle), then presses on
the canvas and sends mouse-move events across it at a steady pace from a QTimer, so the
event loop keeps running and the render worker draws concurrently, exactly as under a hand.
After the release it waits for the final frame and reports: events sent, frames rendered
and shown during the drag, frames per second, requests submitted, superseded (replaced in
the worker's pending slot before they started) and rendered, the worker's render times, the
edit-to-screen latency of the frames shown, the GUI thread's time per move event, and
whether the final frame is the document's last revision and how far it is from a fresh
:class:`~ganpaint.engine.renderer.Renderer`'s full frame (float32: within a level).

The drag runs twice in one session: first with full frames (``full_path`` in the report),
then, after undoing it, with the incremental path the app uses (the main figures), so the
two see the same machine load; ``fps_over_full`` is their ratio.

With ``--classifier`` the Classifier panel is open during both drags, so the bundle's scene
classifier reads frames on the render worker as it does for a speaker; the report adds how
many readings ran and were skipped during the drag and their times. Run it with and without
to see what the panel costs the brush. With ``--attack`` an adversarial attack on the picture
runs through each drag (:mod:`~ganpaint.devtools.attack_load`: a new one starts whenever one
finishes), and the report adds how many attacks started and finished during the drag.

The figures are measurements, not pass/fail checks. Settings and autosaves go to a temp
folder; the user's files are not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_EVENTS = 200
DEFAULT_INTERVAL_MS = 8
PREFERRED_CONCEPTS = ("tree", "grass", "dome")
HAND_PICKED_UNITS = 15


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50": statistics.median(ordered), "p95": p95}


def drag_path(side: int, events: int) -> list[tuple[float, float]]:
    """``events`` + 1 points (image pixels) from left to right across the image, gently
    waving, so every move grows the stroke."""
    import math

    n = max(events, 1)
    return [
        (side * (0.1 + 0.8 * i / n), side * (0.5 + 0.12 * math.sin(i / n * 2 * math.pi)))
        for i in range(n + 1)
    ]


def _choose_brush(window) -> str:
    panel, brush = window.concept_panel, window.brush
    usable = [c.name for c in panel.concepts if c.available]
    name = next((c for c in PREFERRED_CONCEPTS if c in usable), usable[0] if usable else None)
    if name is not None:
        brush.update(concept=name, action="draw", size=0.06, hardness=0.6, strength=1.0)
        return f"{name} ({len(panel.brush_units())} units)"
    from ganpaint.app.state.tool import CUSTOM

    units = tuple(range(min(HAND_PICKED_UNITS, len(panel.units))))
    brush.update(custom_units=units, concept=CUSTOM, action="draw", size=0.06, hardness=0.6)
    return f"units {units[0]}–{units[-1]} (no dissection: hand-picked)"


def run_drag_bench(
    model: str | os.PathLike | None = None,
    events: int = DEFAULT_EVENTS,
    interval_ms: int = DEFAULT_INTERVAL_MS,
    device: str | None = None,
    threads: int | None = None,
    settings=None,
    data_dir: str | os.PathLike | None = None,
    seed: int = 1234,
    timeout_s: float = 300.0,
    classifier: bool = False,
    attack: bool = False,
) -> dict:
    """Run the scripted drag in a real main window and return the figures (see module)."""
    if not 1 <= int(events) <= 100_000:
        raise ValueError(f"events must be in 1..100000, got {events}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="ganpaint-drag-bench-") as tmp:
        if settings is None:
            from ganpaint.app.views.scripting import scratch_settings

            settings = scratch_settings(tmp)
        return _run(
            model, int(events), int(interval_ms), device, threads, settings,
            Path(data_dir) if data_dir is not None else Path(tmp), seed, timeout_s, classifier,
            attack,
        )  # fmt: skip


def _run(model, events, interval_ms, device, threads, settings, data_dir, seed, timeout_s,
         classifier, attack):  # fmt: skip
    import torch

    from ganpaint.app import create_window
    from ganpaint.app.views.launch import wait_until
    from ganpaint.core.threads import render_threads
    from ganpaint.engine.renderer import Renderer

    main_threads = torch.get_num_threads()
    threads = threads or render_threads()
    window = create_window(
        model, device=device, settings=settings, restore=False, data_dir=data_dir,
        seed=seed, threads=threads,
    )  # fmt: skip
    errors: list[str] = []
    window.modelFailed.connect(errors.append)
    window.prompts.answers["save_changes"] = "discard"
    try:
        window.resize(1280, 840)
        window.show()
        if not wait_until(lambda: window.frames.frames > 0 or errors, timeout_s) or errors:
            raise RuntimeError(errors[0] if errors else "no first frame in time")
        brush = _choose_brush(window)
        if classifier:
            _open_classifier_panel(window, timeout_s)
        # Settled: the gallery's thumbnails and the compare frame are done.
        if not wait_until(window.worker.is_idle, timeout_s):
            raise RuntimeError("the render worker did not settle")
        renderer = worker_renderer(window)
        side = window.models.bundle.generator.resolution
        points = [window.canvas.from_image(x, y) for x, y in drag_path(side, events)]
        widget_points = [(p.x(), p.y()) for p in points]
        # The same drag twice in one run: full frames, then (after undoing it) the
        # incremental path the app uses, so that both see the same machine load.
        load = None
        if attack:
            from ganpaint.devtools.attack_load import AttackLoad

            load = AttackLoad(window)
        renderer.incremental = False
        full = _measured_drag(window, widget_points, interval_ms, timeout_s, load)
        window.document.undo()
        if not wait_until(
            lambda: window.frames.shown_revision == window.document.revision, timeout_s
        ):
            raise RuntimeError("the frame after undo did not arrive")
        # Both drags start settled: the thumbnails the first stroke and the undo asked for
        # are done before the second drag, as they were before the first.
        if not wait_until(window.worker.is_idle, timeout_s):
            raise RuntimeError("the render worker did not settle after the undo")
        renderer.incremental = True
        figures = _measured_drag(window, widget_points, interval_ms, timeout_s, load)
        doc = window.document
        diff = levels_from_fresh_render(window)
        worker = window.worker
        return {
            "model": window.models.bundle.name,
            "resolution": side,
            "layer": doc.layer,
            "brush": brush,
            "renderer": {
                "path": f"{type(renderer).__module__}.{type(renderer).__qualname__}.render",
                "is_engine_renderer": type(renderer).render is Renderer.render,
                "device": window.models.device_text,
                "precision": renderer.precision,
                "cuda_graphs": renderer.use_graphs,
                "channels_last": renderer.channels_last,
                "incremental": renderer.incremental,
                "worker_threads": worker.torch_threads,
                "render_threads_policy": render_threads(),
                "main_thread_threads": main_threads,
            },
            **figures,
            "full_path": full,
            "fps_over_full": _ratio(figures["fps_during_drag"], full["fps_during_drag"]),
            "final_image_max_diff": diff,
            "classifier_panel": classifier,
            "attack": attack,
            "strokes": len(doc.strokes),
        }
    finally:
        window.close()
        window.deleteLater()


def _open_classifier_panel(window, timeout_s: float) -> None:
    from ganpaint.app.views.launch import wait_until

    view = window.classifier_view
    if not view.available:
        raise RuntimeError("--classifier: the model has no scene classifier")
    view.show_panel(True)
    if not wait_until(lambda: view.shown is not None, timeout_s):
        raise RuntimeError("--classifier: the panel's first reading did not arrive")


def levels_from_fresh_render(window) -> int | None:
    """How far (largest difference, in levels) the frame on screen is from the document
    rendered in full by a fresh Renderer on the worker's device, with the units the frames
    zero and the worker's thread count (another count may change float sums in the last
    bit); None when that render fails."""
    import numpy as np
    import torch

    from ganpaint.engine.renderer import Renderer

    bundle, main_threads = window.models.bundle, torch.get_num_threads()
    fresh = Renderer(bundle.generator, worker_renderer(window).device, bundle.dissection)
    fresh.set_zeroed(dict(window.frames.zeroed))
    torch.set_num_threads(window.worker.torch_threads or main_threads)
    try:
        reference = fresh.render(window.document.snapshot(), incremental=False)
    finally:
        torch.set_num_threads(main_threads)
    if not reference.ok:
        return None
    return int(np.abs(reference.image.astype(int) - window.frames.image.astype(int)).max())


def worker_renderer(window):
    """The render worker's renderer (the one the app draws with)."""
    return window.worker._renderer


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


class _NoLoad:
    """No attack during the drag."""

    def start(self) -> None:
        pass

    def stop(self, timeout_s: float) -> dict:
        return {}


def _measured_drag(window, widget_points, interval_ms: int, timeout_s: float, load=None) -> dict:
    """One drag through ``widget_points``; frames, requests, times and the final revision;
    with ``load`` (an :class:`~ganpaint.devtools.attack_load.AttackLoad`) attacks run
    through it."""
    from ganpaint.app.views.launch import wait_until
    from ganpaint.app.views.scripting import drag_canvas

    frames, doc, worker = window.frames, window.document, window.worker
    submitted_at: dict[int, float] = {}
    shown: list[tuple[float, int]] = []  # (time, revision)
    render_ms: list[float] = []
    read_ms: list[float] = []

    def submitted(kind: str) -> None:
        submitted_at.setdefault(doc.revision, time.perf_counter())

    def on_shown(r) -> None:
        shown.append((time.perf_counter(), r.revision))

    def on_rendered(fr) -> None:
        if fr.kind == "frame":
            render_ms.append(fr.result.ms)

    def on_read(res) -> None:
        if res.reading is not None:
            read_ms.append(res.reading.ms)

    unsubscribe = doc.subscribe(submitted)
    worker.classified.connect(on_read)
    frames.frameShown.connect(on_shown)
    worker.frameRendered.connect(on_rendered)
    try:
        before, shown_before = worker.frame_counts(), frames.frames
        skipped_before = worker.skipped_readings

        def pressed() -> None:
            if not window.painter.active:
                raise RuntimeError("the press did not start a stroke")

        load = load or _NoLoad()
        load.start()
        gui_cpu = time.thread_time()
        times = drag_canvas(window, widget_points, interval_ms, pressed)
        gui_cpu = time.thread_time() - gui_cpu
        during = worker.frame_counts()
        shown_during = frames.frames - shown_before
        reads_during, skipped_during = len(read_ms), worker.skipped_readings - skipped_before
        if not wait_until(lambda: frames.shown_revision == doc.revision, timeout_s):
            raise RuntimeError("the final frame did not arrive")
        after = worker.frame_counts()
        attacks = load.stop(timeout_s)
    finally:
        unsubscribe()
        frames.frameShown.disconnect(on_shown)
        worker.frameRendered.disconnect(on_rendered)
        worker.classified.disconnect(on_read)
    drag_s = times.end - times.start
    latency = [(t - submitted_at[r]) * 1000.0 for t, r in shown if r in submitted_at]
    # the longest the canvas went without a new frame while the hand moved
    stamps = [times.start, *(t for t, _ in shown if t <= times.end), times.end]
    longest_gap = max(b - a for a, b in zip(stamps, stamps[1:], strict=False)) * 1000.0
    return {
        "events": times.sent,
        "interval_ms": interval_ms,
        "drag_s": drag_s,
        "events_per_s": times.sent / drag_s if drag_s > 0 else None,
        "frames_rendered_during_drag": during.rendered - before.rendered,
        "frames_shown_during_drag": shown_during,
        "fps_during_drag": shown_during / drag_s if drag_s > 0 else None,
        "requests_submitted": after.submitted - before.submitted,
        "requests_superseded": after.superseded - before.superseded,
        "requests_rendered": after.rendered - before.rendered,
        "render_ms": _percentiles(render_ms),
        "event_ms": _percentiles(times.event_ms),
        # the GUI thread's CPU time over the drag: input, overlay, frames shown, repaints
        "gui_cpu_share": gui_cpu / drag_s if drag_s > 0 else None,
        "latency_ms": _percentiles(latency),
        "longest_gap_ms": longest_gap,
        "final_revision": doc.revision,
        "final_shown_revision": frames.shown_revision,
        "final_matches_revision": frames.shown_revision == doc.revision,
        "readings_during_drag": reads_during,
        "readings_skipped_during_drag": skipped_during,
        "read_ms": _percentiles(read_ms),
        **attacks,
    }


def format_report(r: dict) -> str:
    """The figures as a few lines of text."""
    rr = r["renderer"]

    def ms(p: dict) -> str:
        if p["p50"] is None:
            return "none"
        return f"p50 {p['p50']:.1f} ms, p95 {p['p95']:.1f} ms"

    superseded = r["requests_superseded"]
    share = superseded / r["requests_submitted"] * 100 if r["requests_submitted"] else 0.0
    same = "yes" if rr["is_engine_renderer"] else "NO"
    diff = r["final_image_max_diff"]
    return "\n".join([
        f"model      {r['model']} ({r['resolution']} px), layer {r['layer']}, brush {r['brush']}",
        f"renderer   {rr['path']} (engine Renderer.render: {same}) on {rr['device']}, "
        f"{rr['precision']}, incremental {'on' if rr['incremental'] else 'off'}, "
        f"cuda graphs {'on' if rr['cuda_graphs'] else 'off'}, "
        f"channels_last {'on' if rr['channels_last'] else 'off'}",
        f"threads    render worker {rr['worker_threads']} (render_threads() = "
        f"{rr['render_threads_policy']}, the policy ganpaint bench uses too)",
        f"drag       {r['events']} move events in {r['drag_s']:.2f} s "
        f"({r['events_per_s']:.0f} events/s, timer {r['interval_ms']} ms)",
        f"frames     {r['frames_rendered_during_drag']} rendered, "
        f"{r['frames_shown_during_drag']} shown during the drag -> "
        f"{r['fps_during_drag']:.1f} frames/s",
        f"requests   {r['requests_submitted']} submitted, {superseded} superseded "
        f"({share:.0f} %), {r['requests_rendered']} rendered (final frame included)",
        f"render     {ms(r['render_ms'])} (measured by the worker)",
        f"gui        {ms(r['event_ms'])} per move event on the GUI thread; its CPU time "
        f"{r['gui_cpu_share'] * 100:.0f} % of the drag (full path "
        f"{r['full_path']['gui_cpu_share'] * 100:.0f} %)",
        f"latency    {ms(r['latency_ms'])} (document change to frame on screen); longest "
        f"wait for a new frame during the drag {r['longest_gap_ms']:.0f} ms",
        f"full path  the same drag with full frames: {r['full_path']['fps_during_drag']:.1f} "
        f"frames/s, render {ms(r['full_path']['render_ms'])}, latency "
        f"{ms(r['full_path']['latency_ms'])}",
        "ratio      incremental / full frames per second: "
        + (f"{r['fps_over_full']:.2f}x" if r["fps_over_full"] is not None else "n/a"),
        *(
            [f"classifier panel open: {r['readings_during_drag']} readings during the drag, "
             f"{r['readings_skipped_during_drag']} skipped (a newer frame was out), "
             f"read {ms(r['read_ms'])}"]
            if r["classifier_panel"] else []
        ),
        *(
            [f"attack     running through each drag: {r['attacks_started']} started, "
             f"{r['attacks_finished_during_drag']} finished during the drag "
             f"(full frames: {r['full_path']['attacks_started']} started, "
             f"{r['full_path']['attacks_finished_during_drag']} finished)"]
            if r.get("attack") else []
        ),
        f"final      revision {r['final_shown_revision']} shown, document at "
        f"{r['final_revision']}: {'match' if r['final_matches_revision'] else 'MISMATCH'}; "
        + ("image equals a fresh Renderer's" if diff == 0 else f"{diff} levels from a fresh one"),
    ])  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``drag-bench`` command (the program's entry point registers it)."""
    p = sub.add_parser(
        "drag-bench",
        help="drag the brush across the real app window and report frames per second",
        description="Open the app's main window offscreen, paint one scripted drag of "
        "--events mouse moves with the render worker drawing concurrently, and report events "
        "sent, frames rendered and shown, frames per second, requests submitted and "
        "superseded, render times and whether the final frame is current. Figures are "
        "measurements, not pass/fail checks.",
    )
    p.set_defaults(handler=run_from_args)
    add_arguments(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="bundle folder or checkpoint (default: the bundled model)")
    p.add_argument("--events", type=int, default=200, help="mouse moves (default 200)")
    p.add_argument("--interval-ms", type=int, default=8, help="ms between moves (default 8)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--threads", type=int, default=None, help="render threads (default: the app's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--classifier",
        action="store_true",
        help="drag with the Classifier panel open (the bundle's scene classifier)",
    )
    p.add_argument(
        "--attack",
        action="store_true",
        help="keep an adversarial attack on the picture running through each drag",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ganpaint.devtools.drag_bench", description=__doc__.split("\n\n")[1]
    )
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_from_args(args)


def run_from_args(args: argparse.Namespace) -> int:
    if args.interval_ms < 0 or (args.threads is not None and args.threads < 1):
        print("drag-bench: error: --interval-ms must be 0 or more and --threads 1 or more",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        result = run_drag_bench(
            args.model,
            args.events,
            args.interval_ms,
            args.device,
            args.threads,
            classifier=args.classifier,
            attack=args.attack,
        )
    except (RuntimeError, ValueError) as exc:
        print(f"drag-bench: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
