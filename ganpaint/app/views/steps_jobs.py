"""The render worker's job for File > Export Image > "stroke by stroke": the frames of the
edit with none, then more and more of its strokes (:func:`~ganpaint.engine.steps.render_steps`),
rendered in full on the worker's thread with the units the canvas has zeroed, so the
canvas's incremental frame stays as it is. Progress comes back after each frame, then the
frames (or the error) in a last :class:`StepsResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class StepsJob:
    key: int
    token: int  # which export of the window's this is
    snapshot: Any  # ganpaint.engine.document.DocumentSnapshot
    zeroed: tuple = ()  # ((layer, units), ...), as the canvas's frames have them


@dataclass(frozen=True, eq=False)
class StepsResult:
    """``frames`` is None until the last result (and in a failed one, with ``error``)."""

    key: int
    token: int
    done: int
    total: int
    frames: tuple[np.ndarray, ...] | None = None
    error: str | None = None


def run_steps(job: StepsJob, renderer: Any, emit: Callable[[StepsResult], None]) -> None:
    """Render the frames, emitting progress after each, then the frames or the error."""
    from ganpaint.engine.steps import render_steps, step_counts

    counts = step_counts(len(job.snapshot.strokes))
    total = len(counts)

    def progress(done: int, _total: int) -> None:
        if done < total:
            emit(StepsResult(job.key, job.token, done, total))

    try:
        renderer.set_zeroed(dict(job.zeroed))
        frames = render_steps(renderer, job.snapshot, counts, progress=progress)
    except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
        message = str(exc).strip() or type(exc).__name__
        emit(StepsResult(job.key, job.token, 0, total, error=message))
        return
    emit(StepsResult(job.key, job.token, total, total, tuple(frames)))
