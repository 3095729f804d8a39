"""``ganpaint drag-bench``: a scripted drag through the real app window (frames per second,
superseded requests); the work is in :mod:`ganpaint.app.drag_bench`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drag-bench",
        help="drag the brush across the real app window and report frames per second",
        description="Open the app's main window offscreen, paint one scripted drag of "
        "--events mouse moves with the render worker drawing concurrently, and report events "
        "sent, frames rendered and shown, frames per second, requests submitted and "
        "superseded, render times and whether the final frame is current. Figures are "
        "measurements, not pass/fail checks.",
    )
    p.set_defaults(handler=_drag_bench)
    add_arguments(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="bundle folder or checkpoint (default: the bundled model)")
    p.add_argument("--events", type=int, default=200, help="mouse moves (default 200)")
    p.add_argument("--interval-ms", type=int, default=8, help="ms between moves (default 8)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--threads", type=int, default=None, help="render threads (default: the app's)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _drag_bench(args: argparse.Namespace) -> int:
    from ganpaint.app.drag_bench import run_from_args

    return run_from_args(args)
