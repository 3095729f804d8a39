"""The random-actions check of the real window (``python -m ganpaint.devtools.app_monkey``):
a short run on the demo model finds nothing, and it does find the faults it checks for."""

from __future__ import annotations

import pytest

from ganpaint.devtools.app_monkey import format_report, main, run_monkey


def test_random_actions_leave_the_window_consistent(demo_bundle):
    r = run_monkey(demo_bundle, seed=3, seconds=8)
    assert r["ok"], format_report(r)
    assert r["actions"] >= 20 and r["kinds"]["paint"] >= 3 and len(r["kinds"]) >= 10
    assert format_report(r).startswith("ok: ")


def test_it_finds_rows_that_miss_a_change_and_an_exception_in_a_slot(demo_bundle, monkeypatch):
    from ganpaint.app.views import frames, history_panel

    real = history_panel.StrokeModel.set_strokes

    def forgets_deletes(self, strokes):
        if len(strokes) < len(self.strokes):
            return  # a row deleted from the document stays in the list
        real(self, strokes)

    monkeypatch.setattr(history_panel.StrokeModel, "set_strokes", forgets_deletes)
    r = run_monkey(demo_bundle, seed=3, seconds=20)
    assert not r["ok"] and "the History rows are not the strokes" in r["problems"][0]
    monkeypatch.setattr(history_panel.StrokeModel, "set_strokes", real)

    def broken(self, index):
        raise RuntimeError("spotlight broke")

    monkeypatch.setattr(frames.FrameView, "spotlight_stroke", broken)
    r = run_monkey(demo_bundle, seed=3, seconds=20)
    assert not r["ok"] and "spotlight broke" in "\n".join(r["problems"])


def test_bad_arguments(capsys):
    with pytest.raises(ValueError):
        run_monkey(seconds=0)
    assert main(["--seconds", "-1"]) == 2
    assert "seconds must be" in capsys.readouterr().err
