"""The render worker's job for File > Export Image > "stroke by stroke": one frame of the
edit with its first ``count`` strokes, rendered in full on the worker's thread with the units
the canvas has zeroed (the canvas's incremental frame stays as it is). The window asks for
the frames one at a time (:mod:`~ganpaint.engine.steps` chooses the counts), each job in a
slot below the brush's frames, so painting goes on while an export renders."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class StepsJob:
    key: int
    token: int  # which export of the window's this is
    snapshot: Any  # ganpaint.engine.document.DocumentSnapshot, with every stroke to show
    count: int  # how many of its strokes this frame shows
    zeroed: tuple = ()  # ((layer, units), ...), as the canvas's frames have them


@dataclass(frozen=True, eq=False)
class StepsResult:
    key: int
    token: int
    count: int
    image: np.ndarray | None  # uint8 (H, W, 3); None with ``error``
    error: str | None = None
    ms: float = 0.0


def run_steps(job: StepsJob, renderer: Any) -> StepsResult:
    """Render the job's frame; an error comes back in the result."""
    start = time.perf_counter()
    try:
        renderer.set_zeroed(dict(job.zeroed))
        snapshot = replace(job.snapshot, strokes=job.snapshot.strokes[: job.count])
        result = renderer.render(snapshot, incremental=False)
        image, error = result.image, result.error
    except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
        image, error = None, str(exc).strip() or type(exc).__name__
    ms = (time.perf_counter() - start) * 1000.0
    return StepsResult(job.key, job.token, job.count, image, error, ms)
