"""Long sessions: a short soak through the engine keeps memory bounded, the undo history
costs O(1) per stroke and is limited to UNDO_LIMIT steps, and undo/redo behave exactly as
the full-copy history they replace."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections import deque

import numpy as np
import pytest

from ganpaint.cli import main
from ganpaint.engine.document import UNDO_LIMIT, EditDocument, Stroke
from ganpaint.robust.soak import rss_mb, run_soak

MASK = np.zeros((2, 2), np.uint8)


def _stroke(i: int = 0, mask: np.ndarray = MASK) -> Stroke:
    return Stroke(f"c{i}", "draw", (i % 7,), 1.0, 0.99, "layer4", mask)


@pytest.mark.slow
def test_short_soak_keeps_memory_bounded():
    report = run_soak(strokes=500, device="cpu", seed=1)
    assert report.strokes == 500 and report.renders > 500
    assert report.render_errors == 0, report.first_error
    assert report.operations["undo"] > 0 and report.operations["redo"] > 0
    assert report.undo_steps <= UNDO_LIMIT
    if rss_mb() is not None:  # Linux: RSS sampled through the session
        assert report.rss_growth_mb < 150, "\n".join(report.lines())
        assert report.rss_peak_mb - report.rss_start_mb < 200, "\n".join(report.lines())
    text = "\n".join(report.lines())
    assert "strokes/s" in text and "RSS" in text


def test_undo_history_costs_constant_memory_per_stroke():
    """The history used to copy the whole stroke tuple per step: 10,000 strokes held 50 M
    references (about 400 MB). Now a step holds only what it changed."""
    masks = [np.full((2, 2), i % 256, np.uint8) for i in range(64)]
    strokes = [_stroke(i, masks[i % 64]) for i in range(5000)]
    doc = EditDocument("m", "layer4")
    tracemalloc.start()
    try:
        for s in strokes:
            doc.add_stroke(s)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    steps, refs = doc.history_size
    assert steps == UNDO_LIMIT and refs == 0
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MB for 5000 strokes"


def test_undo_limit_keeps_every_committed_stroke():
    doc = EditDocument("m", "layer4")
    strokes = [_stroke(i) for i in range(UNDO_LIMIT + 500)]
    for s in strokes:
        doc.add_stroke(s)
    assert doc.strokes == tuple(strokes)  # nothing dropped by the limit
    undone = 0
    while doc.undo():
        undone += 1
    assert undone == UNDO_LIMIT and doc.strokes == tuple(strokes[:500])
    redone = 0
    while doc.redo():
        redone += 1
    assert redone == UNDO_LIMIT and doc.strokes == tuple(strokes)


def _key(strokes) -> tuple:
    """Each added stroke has its own concept name; with_visible() copies the mask."""
    return tuple((s.concept, s.visible, s.mask.tobytes()) for s in strokes)


class _Reference:
    """The former history: full copies of the stroke tuple, with the same step limit."""

    def __init__(self):
        self.strokes: tuple = ()
        self.undo_stack: deque = deque(maxlen=UNDO_LIMIT)
        self.redo_stack: deque = deque(maxlen=UNDO_LIMIT)

    def set(self, strokes: tuple) -> None:
        self.undo_stack.append(self.strokes)
        self.redo_stack.clear()
        self.strokes = strokes

    def undo(self) -> bool:
        if not self.undo_stack:
            return False
        self.redo_stack.append(self.strokes)
        self.strokes = self.undo_stack.pop()
        return True

    def redo(self) -> bool:
        if not self.redo_stack:
            return False
        self.undo_stack.append(self.strokes)
        self.strokes = self.redo_stack.pop()
        return True


@pytest.mark.parametrize("seed", range(4))
def test_undo_redo_equal_the_full_copy_history(seed):
    rng = random.Random(seed)
    doc, ref = EditDocument("m", "layer4"), _Reference()
    masks = [np.full((2, 2), i, np.uint8) for i in range(8)]
    counter = 0
    for step in range(3000 if seed == 0 else 600):
        op = rng.random()
        n = len(doc.strokes)
        revision = doc.revision
        if op < 0.4:
            counter += 1
            s = _stroke(counter, masks[counter % 8])
            doc.add_stroke(s)
            ref.set(ref.strokes + (s,))
        elif op < 0.55 and n:
            i = rng.randrange(-n, n)
            doc.remove_stroke(i)
            lst = list(ref.strokes)
            del lst[i]
            ref.set(tuple(lst))
        elif op < 0.65 and n:
            i = rng.randrange(n)
            v = rng.random() < 0.5
            doc.set_visible(i, v)
            lst = list(ref.strokes)
            lst[i] = lst[i].with_visible(v)
            ref.set(tuple(lst))
        elif op < 0.68:
            had = bool(doc.strokes)
            doc.reset()
            if had:
                ref.set(())
        elif op < 0.85:
            assert doc.undo() == ref.undo()
        else:
            assert doc.redo() == ref.redo()
        assert _key(doc.strokes) == _key(ref.strokes), f"step {step}"
        assert (doc.can_undo, doc.can_redo) == (bool(ref.undo_stack), bool(ref.redo_stack))
        assert doc.revision >= revision
    with pytest.raises(IndexError):
        doc.remove_stroke(len(doc.strokes))
    with pytest.raises(IndexError):
        doc.set_visible(-len(doc.strokes) - 1, True)


def test_assign_and_load_clear_the_history(tmp_path):
    doc = EditDocument("m", "layer4")
    for i in range(5):
        doc.add_stroke(_stroke(i, np.full((4, 4), i, np.uint8)))
    doc.save(tmp_path / "p.ganpaint")
    doc.assign(EditDocument.load(tmp_path / "p.ganpaint"))
    assert not doc.can_undo and not doc.can_redo and len(doc.strokes) == 5
    assert doc.history_size == (0, 0)


def test_soak_command(capsys):
    assert main(["soak", "--strokes", "5", "--json", "--seed", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["strokes"] == 5 and data["render_errors"] == 0
    assert {"start", "end", "peak", "growth"} <= set(data["rss_mb"])
    assert data["strokes_per_s"] > 0


def test_soak_command_fails_over_growth_budget(capsys):
    assert main(["soak", "--strokes", "3", "--max-growth-mb", "-1000"]) == 1
    assert "grew" in capsys.readouterr().err


def test_soak_command_rejects_bad_arguments(capsys):
    assert main(["soak", "--strokes", "0"]) == 2
    assert "--strokes" in capsys.readouterr().err
    assert main(["soak", "--strokes", "1", "--threads", "0"]) == 2


def test_soak_on_a_given_model(tmp_path):
    from ganpaint.models import save_generator
    from ganpaint.robust.soak import tiny_generator

    save_generator(tiny_generator(3), tmp_path / "g.safetensors")
    report = run_soak(strokes=10, model=tmp_path / "g.safetensors", seed=4)
    assert report.render_errors == 0 and report.strokes == 10
    assert "g.safetensors" in report.model


def test_long_drag_and_recent_toggles_fold_few_strokes():
    """Previews fold one stroke each onto the committed strokes' map; hiding, deleting or
    undoing a recent stroke among hundreds folds on from the last kept prefix, not from 0."""
    from ganpaint.engine import Renderer
    from ganpaint.robust.soak import tiny_generator

    renderer = Renderer(tiny_generator(), "cpu")
    doc = EditDocument("m", "layer4")
    rng = np.random.default_rng(0)
    for i in range(300):
        mask = (rng.random((32, 32)) < 0.3).astype(np.uint8) * 255
        doc.add_stroke(Stroke("c", "remove", (i % 32,), 1.0, 0.99, "layer4", mask))
    assert renderer.render(doc.snapshot()).ok
    chain = renderer._chains["layer4"]
    before = chain.folds
    for frame in range(40):  # one long brush drag: a new preview per mouse move
        mask = np.zeros((32, 32), np.uint8)
        mask[: frame % 32 + 1, :4] = 255
        doc.set_preview(Stroke("c", "draw", (1, 2), 1.0, 0.99, "layer4", mask))
        assert renderer.render(doc.snapshot()).ok
    assert chain.folds - before == 40, "one fold per preview"
    doc.set_preview(None)
    for change in (
        lambda: doc.set_visible(296, False),
        lambda: doc.remove_stroke(290),
        doc.undo,
        doc.undo,
        doc.redo,
    ):
        before = chain.folds
        change()
        assert renderer.render(doc.snapshot()).ok
        assert chain.folds - before <= chain.every + 10
