"""The render worker's job for a picture of the user's own: inverting it into the loaded
model (:func:`~ganpaint.invert.inversion.invert_picture`), with progress after each step and
a cancel event the GUI thread sets; the picture comes back already encoded for the project
file (:meth:`~ganpaint.engine.picture.PictureBase.encoded`). The worker
(:mod:`~ganpaint.app.views.worker`) holds the job in its slot and runs :func:`run_inversion`
on its thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class InvertJob:
    """Invert ``pixels`` (the model's resolution, uint8) into the loaded model; setting
    ``cancel`` stops it at the next step."""

    key: int
    token: int  # which request of the window's this is
    pixels: np.ndarray
    steps: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class InvertProgress:
    token: int
    done: int
    total: int
    seconds: float


@dataclass(frozen=True)
class InvertResult:
    token: int
    picture: Any  # ganpaint.engine.picture.PictureBase, or None when cancelled or failed
    seconds: float
    error: str | None = None
    cancelled: bool = False


def run_inversion(
    job: InvertJob, bundle: Any, device: Any, emit: Callable[[InvertProgress], None]
) -> InvertResult:
    """``invert_picture`` on the loaded model and device, reporting each step to ``emit``;
    failures and cancellation come back as results."""
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        emit(InvertProgress(job.token, done, total, time.perf_counter() - start))

    try:
        from ganpaint.core.errors import InversionCancelled
        from ganpaint.invert.inversion import invert_picture

        picture = invert_picture(
            bundle,
            job.pixels,
            steps=job.steps,
            device=device,
            progress=progress,
            cancelled=job.cancel.is_set,
        )
        # encode the arrays for the project file here, once: every save and autosave of the
        # picture reuses the records, so the GUI thread never spends half a second on them
        picture.encoded()
        return InvertResult(job.token, picture, time.perf_counter() - start)
    except InversionCancelled:
        return InvertResult(job.token, None, time.perf_counter() - start, cancelled=True)
    except Exception as exc:  # noqa: BLE001 - shown to the user; the document stays
        message = str(exc).strip() or type(exc).__name__
        return InvertResult(job.token, None, time.perf_counter() - start, message)
