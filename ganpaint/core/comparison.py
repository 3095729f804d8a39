"""Before-and-after images for slides: the unedited and the edited frame in one file, or
the edit stroke by stroke.

:func:`save_before_after` writes either a PNG with the two side by side (``"side"``; the gap
between them transparent, so it takes the colour of the slide it is placed on) or an
animated GIF that shows one, then the other, for ever (``"gif"``), both enlarged as the
plain export is (nearest, or Lanczos when ``smooth``). :func:`save_steps_gif` writes the
frames of :func:`ganpaint.engine.steps.render_steps` as an animated GIF: the scene held a
second, each stroke added after the last, the finished edit held two seconds. A GIF's
frames share one palette and are not dithered, so the pixels the edit left alone stay still
instead of shimmering from frame to frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganpaint.core.images import enlarge

FORMS = ("side", "gif")
GAP = 1 / 32  # the side-by-side gap, as a share of one image's width (4 px at 128 px)
HOLD_MS = 1000  # how long the before-and-after GIF shows each frame
FIRST_MS, STEP_MS, LAST_MS = 1000, 500, 2000  # the stroke-by-stroke GIF's timing
PALETTE_SAMPLES = 8  # frames a GIF's shared palette is made from


def side_by_side(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """uint8 RGBA: ``before`` on the left, ``after`` on the right, a transparent gap."""
    if before.shape != after.shape:
        raise ValueError(f"before {before.shape} and after {after.shape} differ in size")
    h, w = before.shape[:2]
    gap = max(2, round(w * GAP))
    out = np.zeros((h, 2 * w + gap, 4), np.uint8)
    out[:, :w, :3], out[:, w + gap :, :3] = before, after
    out[:, :w, 3] = out[:, w + gap :, 3] = 255
    return out


def shared_palette_frames(frames: list[np.ndarray]) -> list[Image.Image]:
    """The frames as palette images sharing one palette (made from at most
    ``PALETTE_SAMPLES`` of them, the first and last among them), undithered."""
    picks = np.linspace(0, len(frames) - 1, min(len(frames), PALETTE_SAMPLES)).round()
    sample = np.concatenate([frames[int(i)] for i in sorted(set(picks))], axis=1)
    palette = Image.fromarray(sample).quantize(256, method=Image.Quantize.MEDIANCUT)
    return [
        Image.fromarray(np.ascontiguousarray(frame)).quantize(
            palette=palette, dither=Image.Dither.NONE
        )
        for frame in frames
    ]


def alternating_gif_frames(before: np.ndarray, after: np.ndarray) -> list[Image.Image]:
    """The two frames as palette images sharing one palette, undithered."""
    return shared_palette_frames([before, after])


def save_steps_gif(
    path: str | Path, frames: list[np.ndarray], factor: int = 1, smooth: bool = False
) -> None:
    """An animated GIF of ``frames`` (uint8 (H, W, 3), the scene first and the finished
    edit last), looping for ever: the first held ``FIRST_MS``, each next ``STEP_MS``, the
    last ``LAST_MS``."""
    if len(frames) < 2:
        raise ValueError(f"a stroke-by-stroke GIF needs at least 2 frames, got {len(frames)}")
    shapes = {np.shape(f) for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"the frames differ in size: {sorted(shapes)}")
    big = [enlarge(np.asarray(f, np.uint8), factor, smooth) for f in frames]
    first, *rest = shared_palette_frames(big)
    durations = [FIRST_MS] + [STEP_MS] * (len(frames) - 2) + [LAST_MS]
    first.save(path, format="GIF", save_all=True, append_images=rest,
               duration=durations, loop=0, optimize=False)  # fmt: skip


def save_before_after(
    path: str | Path,
    before: np.ndarray,
    after: np.ndarray,
    form: str = "side",
    factor: int = 1,
    smooth: bool = False,
) -> None:
    """Write the pair to ``path`` (``form``: "side", a PNG; "gif", an animated GIF)."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if np.shape(before) != np.shape(after):
        raise ValueError(f"before {np.shape(before)} and after {np.shape(after)} differ in size")
    big = [enlarge(np.asarray(a, np.uint8), factor, smooth) for a in (before, after)]
    if form == "side":
        Image.fromarray(side_by_side(*big), "RGBA").save(path, format="PNG")
        return
    first, second = alternating_gif_frames(*big)
    first.save(path, format="GIF", save_all=True, append_images=[second],
               duration=HOLD_MS, loop=0, optimize=False)  # fmt: skip
