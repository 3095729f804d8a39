"""The incremental renderer equals the full render (float64: identical; float32: within one
level), its windows are exact at the borders, and the fold chain equals a refold."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ganpaint.engine.bench import scripted_drag
from ganpaint.engine.compose import FoldChain, compose_edits
from ganpaint.engine.document import EditDocument, Stroke
from ganpaint.engine.incremental import IncrementalTail, changed_window, tail_geometry
from ganpaint.engine.renderer import Renderer
from ganpaint.models.progan import seeded_generator

WIDTHS = (16, 16, 16, 8, 8)  # 64 px, small enough for float64 on a busy CPU


@pytest.fixture(scope="module")
def gen():
    return seeded_generator(WIDTHS, z_dim=16, seed=1)


def pair(gen, precision="fp32", **kw) -> tuple[Renderer, Renderer]:
    """(incremental, full) renderers; full_above=2 keeps every frame incremental. (float64
    convolutions in channels_last take a slow generic kernel on the CPU.)"""
    kw.setdefault("channels_last", precision != "fp64")
    inc = Renderer(gen, "cpu", precision=precision, incremental=True, full_above=2.0, **kw)
    return inc, Renderer(gen, "cpu", precision=precision, incremental=False, **kw)


def disc(side: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side]
    return (((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r).astype(np.uint8) * 255


def session(gen, layer: str, doc: EditDocument):
    """A drag, its commit, undo, redo, hiding a stroke and deleting one: each a revision."""
    drag = scripted_drag(gen, layer, 6)
    for s in drag.committed:
        doc.add_stroke(s)
        yield
    for s in drag.frames:
        doc.set_preview(s)
        yield
    doc.add_stroke(drag.frames[-1])
    yield
    doc.undo()
    yield
    doc.redo()
    yield
    doc.set_visible(0, False)
    yield
    doc.remove_stroke(1)
    yield
    corner = Stroke("c", "draw", (0, 1, 2), 1.0, 0.99, layer, disc(gen.resolution, 0, 63, 6))
    doc.add_stroke(corner)  # a change at the image border: the halo is zero-padded there
    yield


def test_float64_incremental_frames_are_identical_to_full_frames(gen):
    inc, full = pair(gen, "fp64")
    doc = EditDocument("m", "layer4", seed=3)
    works = []
    for _ in session(gen, "layer4", doc):
        a, b = inc.render(doc.snapshot()), full.render(doc.snapshot())
        assert a.ok and b.ok, (a.error, b.error)
        assert np.array_equal(a.image, b.image)
        works.append(a.work)
    assert min(works) < 0.6, "the changes were incremental"
    # the kept activations are the full run's, not only the rounded image
    tail = inc._tail
    ref = IncrementalTail(gen, inc.net, "layer4", None)
    groups = inc._groups(doc.snapshot().strokes, "layer4")
    with torch.inference_mode():
        ref.reset(inc.features(3, "layer4"), {g: inc.affine(g, s) for g, s in groups})
    for name, value in ref.out.items():
        assert torch.allclose(tail.out[name], value, rtol=0, atol=1e-12), name


@pytest.mark.parametrize("layer", ["layer4", "layer6"])
def test_float32_incremental_frames_are_within_one_level(gen, layer):
    inc, full = pair(gen)
    doc = EditDocument("m", layer, seed=7)
    previous = None
    for _ in session(gen, layer, doc):
        a, b = inc.render(doc.snapshot()), full.render(doc.snapshot())
        diff = np.abs(a.image.astype(int) - b.image.astype(int))
        assert diff.max() <= 1
        if previous is not None and a.since is not None:
            # everything that changed since the previous frame lies inside ``dirty``
            x, y, w, h = a.dirty
            changed = np.abs(a.image.astype(int) - previous.astype(int)).max(axis=-1) > 0
            outside = changed.copy()
            outside[y : y + h, x : x + w] = False
            assert not outside.any()
        previous = a.image


def test_strokes_on_two_layers_update_incrementally(gen):
    inc, full = pair(gen, "fp64")
    doc = EditDocument("m", "layer4", seed=2)
    later = Stroke("t", "draw", (1, 3), 1.0, 0.99, "layer6", disc(64, 40, 20, 8))
    doc.add_stroke(later)
    for _ in session(gen, "layer4", doc):
        a, b = inc.render(doc.snapshot()), full.render(doc.snapshot())
        assert np.array_equal(a.image, b.image)
    doc.set_visible(0, False)  # only the later layer's edit changes
    a, b = inc.render(doc.snapshot()), full.render(doc.snapshot())
    assert a.since is not None and np.array_equal(a.image, b.image)


def test_float16_incremental_frames_are_within_one_level(gen):
    inc, full = pair(gen, "fp16")
    doc = EditDocument("m", "layer6", seed=4)
    for _ in session(gen, "layer6", doc):
        a, b = inc.render(doc.snapshot()), full.render(doc.snapshot())
        assert a.ok and b.ok, (a.error, b.error)
        assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1


def test_windows_grow_by_the_reach_and_double_at_upsampling(gen):
    r = Renderer(gen, "cpu")
    geo = {g.name: g for g in tail_geometry(gen, r.net, "layer4")}
    assert geo["layer5"].upsample and geo["layer5"].grow((3, 4, 3, 4)) == (5, 9, 5, 9)
    assert geo["layer6"].grow((5, 9, 5, 9)) == (4, 10, 4, 10)
    assert geo["layer6"].grow((0, 2, 14, 16)) == (0, 3, 13, 16)  # clipped at the borders
    out = geo[gen.output_name]
    assert out.reach == 0 and not out.needs_context and out.grow((1, 2, 3, 4)) == (1, 2, 3, 4)
    a = torch.zeros(1, 4, 8, 8)
    b = a.clone()
    assert changed_window(a, b) is None
    b[0, 2, 1, 5] = 1.0
    b[0, 0, 3, 2] = -1.0
    assert changed_window(a, b) == (1, 4, 2, 6)


def test_a_large_change_takes_the_full_path_and_a_new_seed_resets(gen):
    r = Renderer(gen, "cpu", incremental=True, full_above=0.3)
    doc = EditDocument("m", "layer4", seed=1)
    assert r.render(doc.snapshot()).since is None  # the first frame is full
    doc.add_stroke(Stroke("t", "draw", (0,), 1.0, 0.99, "layer4", disc(64, 60, 60, 3)))
    small = r.render(doc.snapshot())
    assert small.since == 0 and small.work < 0.3
    doc.add_stroke(Stroke("t", "draw", (1,), 1.0, 0.99, "layer4", np.full((64, 64), 255, np.uint8)))
    big = r.render(doc.snapshot())
    assert big.since is None and big.work == 1.0 and big.dirty is None
    doc.set_seed(9)
    assert r.render(doc.snapshot()).since is None
    # a frame rendered with incremental=False leaves the kept frame alone
    r.render(doc.snapshot().plain(), incremental=False)
    assert r.render(doc.snapshot()).dirty == (0, 0, 0, 0)  # nothing changed since


def test_a_failed_frame_leaves_no_half_updated_state(gen):
    r = Renderer(gen, "cpu", incremental=True)
    doc = EditDocument("m", "layer4", seed=1)
    r.render(doc.snapshot())
    doc.add_stroke(Stroke("t", "draw", (999,), 1.0, 0.99, "layer4", disc(64, 30, 30, 9)))
    assert not r.render(doc.snapshot()).ok
    doc.undo()
    again = r.render(doc.snapshot())
    assert again.ok and again.since is None
    assert np.array_equal(
        again.image, Renderer(gen, "cpu", incremental=False).render(doc.snapshot()).image
    )


def _lower(stroke: Stroke):
    from ganpaint.engine.intervention import UnitEdit

    mask = torch.from_numpy(stroke.mask[::8, ::8].astype(np.float32) / 255.0)
    values = torch.full((len(stroke.units),), 2.0)
    return UnitEdit(torch.tensor(stroke.units), values, stroke.strength, mask)


def test_the_fold_chain_equals_a_refold_bit_for_bit_and_folds_little():
    rng = random.Random(5)
    strokes = []
    for _ in range(300):
        units = tuple(rng.sample(range(8), 3))
        mask = disc(64, rng.uniform(0, 64), rng.uniform(0, 64), rng.uniform(4, 20))
        strokes.append(Stroke("t", "draw", units, rng.choice((1.0, 0.5)), 0.99, "l", mask))
    chain = FoldChain(_lower, 8, 8, every=32)
    doc = EditDocument("m", "l")
    for s in strokes:
        doc.add_stroke(s)
        chain.get(doc.snapshot().strokes)
    edits = [
        lambda: doc.set_visible(len(doc.strokes) - 3, False),
        lambda: doc.undo(),
        lambda: doc.redo(),
        lambda: doc.remove_stroke(len(doc.strokes) - 5),
        lambda: doc.set_preview(strokes[7]),
        lambda: doc.set_visible(10, False),  # old strokes: only where they reach is refolded
        lambda: doc.remove_stroke(40),
        lambda: doc.set_visible(10, True),
        lambda: doc.undo(),
        lambda: doc.set_visible(200, False),
        lambda: doc.set_preview(None),
        lambda: doc.remove_stroke(len(doc.strokes) - 2),
    ]
    counts = []
    for edit in edits:
        edit()
        visible = doc.snapshot().strokes
        start = chain.folds
        a, b = chain.get(visible)
        counts.append(chain.folds - start)
        ra, rb = compose_edits([_lower(s) for s in visible], 8, 8)
        assert torch.equal(a, ra) and torch.equal(b, rb)
    assert max(counts[:5]) <= 40, counts  # recent edits fold on from a near mark
    assert max(counts[5:9]) < 200, counts  # old ones refold only the strokes reaching them
    assert len(chain._marks) <= 300 // 32 + 3


def test_the_fold_chain_after_changes_that_edit_nothing_or_everything():
    rng = random.Random(2)
    blank = np.zeros((64, 64), np.uint8)
    full = np.full((64, 64), 255, np.uint8)
    strokes = [Stroke("t", "draw", (1, 2), 1.0, 0.99, "l", blank)]  # reaches no cell
    strokes += [Stroke("t", "draw", (0,), 0.0, 0.99, "l", full)]  # strength 0
    strokes += [Stroke("t", "draw", (3, 4, 5, 6, 7, 0), 0.7, 0.99, "l", full)]  # everywhere
    for _ in range(150):
        mask = disc(64, rng.uniform(0, 64), rng.uniform(0, 64), rng.uniform(4, 12))
        strokes.append(Stroke("t", "remove", tuple(rng.sample(range(8), 2)), 1.0, 0.99, "l", mask))
    chain = FoldChain(_lower, 8, 8, every=16)
    chain.get(tuple(strokes))
    for change in ([0], [1], [2], [0, 1, 2], [5, 100]):
        visible = tuple(s for i, s in enumerate(strokes) if i not in change)
        for target in (visible, tuple(strokes)):
            a, b = chain.get(target)
            ra, rb = compose_edits([_lower(s) for s in target], 8, 8)
            assert torch.equal(a, ra) and torch.equal(b, rb)
