"""The edit stroke by stroke: frames of a snapshot with none, then more and more of its
strokes, for a slide that shows how a picture was painted.

:func:`step_counts` chooses how many strokes each frame shows (every count, or evenly
spaced counts when there are more strokes than ``max_frames``); :func:`render_steps` renders
them in full (the renderer's incremental frame is left alone) with the renderer as it is,
units zeroed by View > Clean artifacts included, so that from frame to frame only strokes
change. :func:`ganpaint.core.comparison.save_steps_gif` writes the animation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ganpaint.engine.document import DocumentSnapshot

# A longer edit shows evenly spaced stroke counts. 60 frames of a 128 px scene enlarged 4x
# made a 1.0 MB GIF (80 strokes, `ganpaint render --steps --scale 4`).
MAX_FRAMES = 60


def step_counts(strokes: int, max_frames: int = MAX_FRAMES) -> tuple[int, ...]:
    """The stroke counts the frames show: 0, then up to ``max_frames - 1`` more, evenly
    spaced and ending at ``strokes``."""
    if strokes < 0:
        raise ValueError(f"strokes must be >= 0, got {strokes}")
    if max_frames < 2:
        raise ValueError(f"max_frames must be >= 2, got {max_frames}")
    steps = min(strokes, max_frames - 1)
    return tuple(sorted({round(i * strokes / steps) for i in range(steps + 1)})) if steps else (0,)


def render_steps(
    renderer,
    snapshot: DocumentSnapshot,
    counts: tuple[int, ...] | None = None,
    raw: bool = False,
) -> list[np.ndarray]:
    """uint8 (H, W, 3) frames of ``snapshot`` with its first ``n`` strokes, for each ``n``
    of ``counts`` (default: :func:`step_counts`; the app asks for one at a time). Raises
    RuntimeError naming the frame that failed."""
    counts = step_counts(len(snapshot.strokes)) if counts is None else counts
    frames = []
    for n in counts:
        result = renderer.render(
            replace(snapshot, strokes=snapshot.strokes[:n]), incremental=False, raw=raw
        )
        if not result.ok:
            raise RuntimeError(f"rendering the frame with {n} strokes failed: {result.error}")
        frames.append(result.image)
    return frames
