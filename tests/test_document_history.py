"""The autosave's document: the undo history written with the strokes and read back so
restored work undoes and redoes as before (a damaged history costs only itself), and each
stroke's mask encoded once however often the autosave writes it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ganpaint.engine.document import EditDocument, Stroke


def _stroke(i: int) -> Stroke:
    mask = np.zeros((16, 16), np.uint8)
    mask[i % 16, :] = 255
    return Stroke("tree", "draw", (i,), 1.0, 0.99, "layer4", mask)


def _history_file(doc: EditDocument) -> dict:
    """The document as the autosave writes it, through JSON."""
    d = doc.to_dict()
    d["history"] = doc.history_to_dict()
    return json.loads(json.dumps(d))


def _edited() -> EditDocument:
    doc = EditDocument("m", "layer4", seed=3)
    for i in range(4):
        doc.add_stroke(_stroke(i))
    doc.remove_stroke(1)
    doc.set_visible(0, False)
    doc.reset()
    doc.undo()  # the reset
    doc.add_stroke(_stroke(9))
    doc.undo()
    doc.undo()  # the visibility: two redo steps wait
    return doc


def _masks(doc: EditDocument) -> list:
    return [(s.units, s.visible) for s in doc.strokes]


def test_a_read_history_undoes_and_redoes_exactly_as_the_written_one():
    doc = _edited()
    data = _history_file(doc)
    # every stroke once: the current ones are the project part's; the rest, once each
    assert len(data["history"]["strokes"]) == 3  # the removed 1, the hidden 0, the 9
    back = EditDocument.from_dict(data)
    assert back.history_problem is None and _masks(back) == _masks(doc)
    for step in ("redo", "redo", "undo", "undo", "undo", "undo", "undo", "redo"):
        assert getattr(doc, step)() == getattr(back, step)()
        assert _masks(back) == _masks(doc)
    while doc.undo():
        assert back.undo() and _masks(back) == _masks(doc)
    assert not back.can_undo and back.strokes == ()
    # a project file (no history) opens with none, as before
    plain = EditDocument.from_dict(json.loads(json.dumps(_edited().to_dict())))
    assert not plain.can_undo and not plain.can_redo and plain.history_problem is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda h: h.update(version=99),
        lambda h: h.update(undo="all of it"),
        lambda h: h["undo"].append([0, 0, [999]]),  # a stroke index past the table
        lambda h: h["undo"].append([5, 9, []]),  # a splice past the strokes it would cut
        lambda h: h["redo"].append([0, 1, [True]]),
        lambda h: h["strokes"].append({"mask": "lost"}),
        lambda h: h["undo"].append([0, 0, [0] * 100_001]),  # one stroke, 100,001 times
    ],
)
def test_a_damaged_history_is_dropped_and_the_strokes_kept(damage):
    doc = _edited()
    data = _history_file(doc)
    damage(data["history"])
    back = EditDocument.from_dict(data, "autosave.ganpaint")
    assert _masks(back) == _masks(doc)
    assert not back.can_undo and not back.can_redo
    assert back.history_problem.startswith("autosave.ganpaint: history")


def test_each_strokes_mask_is_encoded_once_however_often_it_is_autosaved(monkeypatch):
    import zlib

    import ganpaint.engine.document as document

    calls = []
    real = zlib.compress
    monkeypatch.setattr(document.zlib, "compress", lambda *a: calls.append(1) or real(*a))
    doc = _edited()
    first = json.dumps(_history_file(doc))
    encoded = len(calls)
    assert encoded == 6  # strokes 0-3 and 9, and 0's hidden copy (made before any save)
    assert json.dumps(_history_file(doc)) == first and len(calls) == encoded  # cached
    back = EditDocument.from_dict(json.loads(first))
    assert json.dumps(_history_file(back)) == first  # read back, written the same
    shown = _stroke(5)
    shown.to_dict()
    before = len(calls)
    hidden = shown.with_visible(False).to_dict()  # the same mask: its encoding goes with it
    assert len(calls) == before and hidden["mask"] == shown.to_dict()["mask"]
