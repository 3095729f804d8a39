"""The edit stroke by stroke: which stroke counts the frames show, the frames rendered, and
the GIF written from them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganpaint.core.comparison import save_steps_gif
from ganpaint.engine.steps import render_steps, step_counts


def test_step_counts_show_every_stroke_or_evenly_spaced_ones():
    assert step_counts(0) == (0,)
    assert step_counts(3) == (0, 1, 2, 3)
    long = step_counts(300, max_frames=60)
    assert len(long) == 60 and long[0] == 0 and long[-1] == 300
    gaps = np.diff(long)
    assert gaps.min() >= 5 and gaps.max() <= 6
    assert step_counts(5, max_frames=60) == (0, 1, 2, 3, 4, 5)
    assert step_counts(7, max_frames=3) == (0, 4, 7)  # round(3.5) is 4
    for bad in ((-1, 60), (3, 1)):
        with pytest.raises(ValueError):
            step_counts(*bad)


class _Renderer:
    """Draws each stroke's count as a grey level, and fails where told."""

    def __init__(self, fail_at=None):
        self.fail_at, self.calls = fail_at, []

    def render(self, snapshot, incremental=None, raw=False):
        from ganpaint.engine.renderer import RenderResult

        n = len(snapshot.strokes)
        self.calls.append((n, incremental))
        if n == self.fail_at:
            return RenderResult(0, 0, None, 1.0, "out of memory")
        return RenderResult(0, 0, np.full((4, 4, 3), 10 * n, np.uint8), 1.0)


def test_render_steps_renders_each_prefix_in_full_and_names_a_failure():
    from ganpaint.engine.document import DocumentSnapshot

    snap = DocumentSnapshot(1, "m", "layer4", 3, strokes=("a", "b", "c"))
    r = _Renderer()
    frames = render_steps(r, snap)
    assert [f[0, 0, 0] for f in frames] == [0, 10, 20, 30]
    assert r.calls == [(0, False), (1, False), (2, False), (3, False)]  # not incremental
    with pytest.raises(RuntimeError, match="with 2 strokes failed: out of memory"):
        render_steps(_Renderer(fail_at=2), snap)


def test_the_steps_gif_holds_the_first_and_last_frames_and_shares_one_palette(tmp_path):
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (40, 3), dtype=np.uint8)  # fewer than a palette holds
    scene = colours[rng.integers(0, 40, (16, 16))]
    frames = [scene.copy() for _ in range(4)]
    for i in range(1, 4):
        frames[i][: 4 * i, :4] = (255, 0, 0)  # each stroke paints a bit more red
    path = tmp_path / "steps.gif"
    save_steps_gif(path, frames, factor=2)
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.size == (32, 32)
        durations, palettes = [], set()
        for i in range(4):
            gif.seek(i)
            durations.append(gif.info["duration"])
            palettes.add(bytes(gif.getpalette() or b""))
            shown = np.asarray(gif.convert("RGB"))[::2, ::2]
            assert (shown[: 4 * i, :4] == (255, 0, 0)).all()
            assert np.array_equal(shown[:, 4:], scene[:, 4:])
        assert durations == [1000, 500, 500, 2000]
    assert len(palettes - {b""}) == 1  # one palette (later frames use the global one)
    with pytest.raises(ValueError, match="at least 2 frames"):
        save_steps_gif(path, frames[:1])
    with pytest.raises(ValueError, match="differ in size"):
        save_steps_gif(path, [scene, scene[:8]])
