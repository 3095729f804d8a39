"""Editing a painted stroke after the fact: its strength (a slider's many values undone as
one step) and showing one stroke alone."""

from __future__ import annotations

import numpy as np
import pytest

from ganpaint.engine.document import EditDocument, Stroke


def _stroke(i: int) -> Stroke:
    mask = np.zeros((16, 16), np.uint8)
    mask[i % 16, :] = 255
    return Stroke("tree", "draw", (i,), 1.0, 0.99, "layer4", mask)


def _doc(n: int = 3) -> EditDocument:
    doc = EditDocument("m", "layer4", seed=3)
    for i in range(n):
        doc.add_stroke(_stroke(i))
    return doc


def test_a_strength_slider_is_undone_in_one_step():
    doc = _doc()
    first = doc.strokes[1]
    for value in (0.9, 0.6, 0.3):
        doc.set_strength(1, value, merge=True)
    assert doc.strokes[1].strength == 0.3 and doc.strokes[1].units == first.units
    assert doc.strokes[0].strength == 1.0 and doc.strokes[2].strength == 1.0
    assert np.array_equal(doc.strokes[1].mask, first.mask)
    assert doc.history_size[0] == 4  # three strokes and one strength step
    assert doc.undo() and doc.strokes[1] is first
    assert doc.redo() and doc.strokes[1].strength == 0.3
    doc.set_strength(1, 0.5, merge=True)  # after a redo: a step of its own
    assert doc.undo() and doc.strokes[1].strength == 0.3


def test_strength_changes_merge_only_with_the_same_stroke_and_nothing_between():
    doc = _doc()
    doc.set_strength(0, 0.8, merge=True)
    doc.set_strength(1, 0.7, merge=True)  # another stroke: another step
    doc.set_strength(1, 0.6, merge=True)
    doc.set_visible(2, False)
    doc.set_strength(1, 0.5, merge=True)  # something in between: another step
    doc.set_strength(1, 0.4)  # not merged when not asked
    strengths = []
    while doc.undo():
        strengths.append(tuple(s.strength for s in doc.strokes))
    assert strengths[:5] == [
        (0.8, 0.5, 1.0),
        (0.8, 0.6, 1.0),
        (0.8, 0.6, 1.0),  # the visibility step
        (0.8, 1.0, 1.0),
        (1.0, 1.0, 1.0),
    ]


def test_a_strength_outside_zero_to_one_is_refused_and_changes_nothing():
    doc = _doc()
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="strength"):
            doc.set_strength(0, bad)
    assert doc.strokes[0].strength == 1.0 and doc.history_size[0] == 3
    with pytest.raises(IndexError):
        doc.set_strength(5, 0.5)


def test_show_only_one_stroke_then_all_each_one_step_leaving_the_rest_alone():
    doc = _doc(4)
    doc.set_visible(3, False)
    before = doc.strokes
    doc.show_only(1)
    assert [s.visible for s in doc.strokes] == [False, True, False, False]
    assert doc.strokes[1] is before[1] and doc.strokes[3] is before[3]  # unchanged: the same
    steps = doc.history_size[0]
    doc.show_only(1)  # nothing to change: no step
    assert doc.history_size[0] == steps
    doc.show_only(None)
    assert all(s.visible for s in doc.strokes)
    assert doc.undo() and [s.visible for s in doc.strokes] == [False, True, False, False]
    assert doc.undo() and doc.strokes == before
