"""The render worker's job for File > Export Image > "stroke by stroke": one frame of the
edit with its first ``count`` strokes, rendered in full on the worker's thread with the units
the canvas has zeroed (the canvas's incremental frame stays as it is). The window asks for
the frames one at a time (:mod:`~ganpaint.engine.steps` chooses the counts), each job in a
slot below the brush's frames, so painting goes on while an export renders."""

from __future__ import annotations

from dataclasses import dataclass
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


def run_steps(job: StepsJob, renderer: Any) -> StepsResult:
    """Render the job's frame; an error comes back in the result."""
    from ganpaint.engine.steps import render_steps

    try:
        renderer.set_zeroed(dict(job.zeroed))
        image, error = render_steps(renderer, job.snapshot, (job.count,))[0], None
    except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
        image, error = None, str(exc).strip() or type(exc).__name__
    return StepsResult(job.key, job.token, job.count, image, error)
