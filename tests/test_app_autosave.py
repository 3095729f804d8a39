"""Autosave and recovery: a session killed with SIGKILL is restored at the next start; a
clean exit leaves nothing to restore; a stop signal (Ctrl+C, SIGTERM) closes the app at once
and keeps the unsaved strokes for the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import ganpaint
from ganpaint.engine.document import EditDocument, Stroke

CHILD = textwrap.dedent(
    """
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from ganpaint.app import create_window

    app = QApplication([])
    bundle, data, settings = sys.argv[1:4]
    w = create_window(model=bundle, settings=QSettings(settings, QSettings.IniFormat),
                      data_dir=data, restore=False, seed=11, threads=1)

    def paint():
        w.brush.update(concept="tree", size=0.08)
        for i in range(3):
            w.painter.paint([(10 + 18 * i, 8), (10 + 18 * i, 56)])
        print("AUTOSAVED", w.autosave.saves, w.autosave.document_path, flush=True)

    w.modelLoaded.connect(paint)
    app.exec()
    """
)


def _start_child(script_text: str, demo_bundle: Path, tmp_path: Path):
    """Run ``script_text`` (:data:`CHILD` or a variant) on the demo bundle with its data
    folder and settings in ``tmp_path``; returns the process, once it has autosaved, and
    its autosave path. A watchdog kills it after 120 s."""
    script = tmp_path / "child.py"
    script.write_text(script_text)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = str(Path(ganpaint.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    argv = [sys.executable, str(script), str(demo_bundle), str(tmp_path / "data"),
            str(tmp_path / "child.ini")]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)  # fmt: skip
    watchdog = threading.Timer(120, proc.kill)
    watchdog.daemon = True  # pytest need not wait for it
    watchdog.start()
    line = ""
    while not line.startswith("AUTOSAVED"):
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            pytest.fail("the child exited before autosaving")
    _, saves, autosave_path = line.split(maxsplit=2)
    assert int(saves) >= 3
    return proc, Path(autosave_path.strip())


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_session_is_restored(make_window, qtbot, frame_waiter, demo_bundle, tmp_path):
    data = tmp_path / "data"
    proc, autosave_path = _start_child(CHILD, demo_bundle, tmp_path)
    try:
        saved = EditDocument.load(autosave_path)
        assert len(saved.strokes) == 3
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    w = make_window(restore=True, wait=False, seed=5)
    qtbot.waitUntil(lambda: len(w.document.strokes) == 3, timeout=20_000)
    frame_waiter(w)
    assert w.document.seed == 11 and w.isWindowModified()
    for a, b in zip(w.document.strokes, saved.strokes, strict=True):
        assert np.array_equal(a.mask, b.mask) and a.units == b.units
    # the restored work can still be undone, stroke by stroke, and redone
    assert w.actions["edit.undo"].isEnabled() and "Restored 3 strokes" in w.status.currentMessage()
    for left in (2, 1, 0):
        w.actions["edit.undo"].trigger()
        assert len(w.document.strokes) == left
    assert not w.document.can_undo and w.actions["edit.redo"].isEnabled()
    w.actions["edit.redo"].trigger()
    assert np.array_equal(w.document.strokes[0].mask, saved.strokes[0].mask)
    # the dead session's files are gone; this session autosaved its own copy
    leftovers = {p.name for p in (data / "autosave").iterdir()}
    assert not any(name.startswith(autosave_path.stem) for name in leftovers)
    assert w.autosave.document_path.is_file()


def test_clean_exit_leaves_nothing_to_restore(make_window, qtbot, tmp_path):
    w = make_window()
    w.brush.update(concept="tree")
    w.painter.paint([(10, 10), (20, 20)])
    assert w.autosave.document_path.is_file()
    w.close()
    assert not any((tmp_path / "data" / "autosave").glob("*.ganpaint"))
    again = make_window(restore=True)
    assert again.document.strokes == ()


def test_restore_env_no_discards(make_window, qtbot, monkeypatch, tmp_path):
    from ganpaint.app.views.autosave import Autosave

    folder = tmp_path / "data" / "autosave"
    orphan = Autosave(folder)
    orphan.start()
    doc = EditDocument("demo", "layer4", 3)
    mask = np.full((64, 64), 255, np.uint8)
    doc.add_stroke(Stroke("tree", "draw", (1, 2), 1.0, 0.99, "layer4", mask))
    orphan.save(doc.to_dict(), {"model_path": None, "strokes": 1})
    orphan._lock.unlock()  # as if the process had died
    orphan._lock = None
    monkeypatch.setenv("GANPAINT_RESTORE", "no")
    w = make_window(restore=None)
    assert w.document.strokes == ()
    assert not orphan.document_path.exists()


STOPPED_CHILD = CHILD.replace(
    "w.modelLoaded.connect(paint)",
    "from ganpaint.app.views.stop_signals import stop_on_signals\n"
    "stop_on_signals(w, app)\n"
    "w.modelLoaded.connect(paint)",
).replace("app.exec()", "sys.exit(app.exec())")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_a_stop_signal_closes_at_once_and_keeps_the_strokes(make_window, qtbot, demo_bundle,
                                                          tmp_path):  # fmt: skip
    # Qt's event loop never let Python run the default SIGINT handler (Ctrl+C in the
    # terminal did nothing), and SIGTERM killed the app before it saved its settings
    data, ini = tmp_path / "data", tmp_path / "child.ini"
    proc, autosave_path = _start_child(STOPPED_CHILD, demo_bundle, tmp_path)
    session = autosave_path.stem
    try:
        os.kill(proc.pid, signal.SIGTERM)  # no window is touched: only the signal wakes Qt
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    folder = data / "autosave"
    meta = json.loads((folder / f"{session}.json").read_text())
    assert meta["stopped_by"] == "SIGTERM" and meta["strokes"] == 3
    assert not (folder / f"{session}.lock").exists()  # released: the next start may take it
    from PySide6.QtCore import QSettings

    saved = QSettings(str(ini), QSettings.IniFormat)
    assert saved.value("window/geometry") is not None  # it closed as a window closes
    assert float(saved.value("brush/size")) == 0.08  # the child's brush, kept

    w = make_window(restore=True, wait=False)
    qtbot.waitUntil(lambda: len(w.document.strokes) == 3, timeout=20_000)
    assert w.document.seed == 11 and w.isWindowModified()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGHUP")
def test_stop_signals_reach_the_gui_thread_and_uninstall(qtbot):
    from PySide6.QtCore import QObject

    from ganpaint.app.views.stop_signals import StopSignals

    def wakeup_fd() -> int:
        fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(fd)
        return fd

    before, fd_before = signal.getsignal(signal.SIGHUP), wakeup_fd()
    seen: list[str] = []
    owner = QObject()
    stops = StopSignals(seen.append, owner)
    assert set(stops.install()) == {"SIGINT", "SIGTERM", "SIGHUP"}
    try:
        os.kill(os.getpid(), signal.SIGHUP)  # would end this process without the handler
        qtbot.waitUntil(lambda: seen == ["SIGHUP"], timeout=5000)
    finally:
        stops.uninstall()
    assert signal.getsignal(signal.SIGHUP) is before
    assert wakeup_fd() == fd_before  # the wake-up pipe is gone too


def test_stop_closes_without_asking_and_keeps_only_unsaved_work(make_window, tmp_path):
    w = make_window()
    w.prompts.answers.pop("save_changes")
    w.prompts.save_changes = lambda what: pytest.fail(f"asked about {what}")
    w.brush.update(concept="tree")
    w.painter.paint([(10, 10), (20, 20)])
    doc = w.autosave.document_path
    w.stop("SIGINT")
    assert not w.isVisible() and doc.is_file()
    meta = json.loads(doc.with_suffix(".json").read_text())
    assert meta["stopped_by"] == "SIGINT" and meta["strokes"] == 1

    clean = make_window()  # nothing unsaved: a stop leaves nothing behind
    clean.prompts.save_changes = lambda what: pytest.fail(f"asked about {what}")
    clean_doc = clean.autosave.document_path
    clean.stop("SIGTERM")
    assert not clean.isVisible() and not clean_doc.exists()
    assert not clean_doc.with_suffix(".json").exists()


def test_the_restore_question_names_the_stop_signal():
    from ganpaint.app.state.session import recovery_question

    asked = recovery_question("2026-11-29 14:50", 1, False, "scenes128", stopped_by="SIGINT")
    assert asked.startswith("GANPaint was stopped with Ctrl+C before your work was saved.")
    assert "(SIGTERM)" in recovery_question("t", 2, False, "m", stopped_by="SIGTERM")
    for odd in (None, "SIGKILL", 9, ["SIGINT"]):  # the meta file may hold anything
        assert recovery_question("t", 2, False, "m", stopped_by=odd).startswith(
            "GANPaint did not close properly last time."
        )


def test_locks_left_by_dead_sessions_are_swept(tmp_path):
    from ganpaint.app.views.autosave import Autosave

    folder = tmp_path / "autosave"
    folder.mkdir()
    dead = folder / "0123456789ab.lock"  # a session killed before its first stroke
    code = (f"from PySide6.QtCore import QLockFile; import os; lock = QLockFile({str(dead)!r}); "
            f"assert lock.tryLock(0); os._exit(0)")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert dead.is_file()
    live = Autosave(folder)
    assert live.start()
    me = Autosave(folder)
    assert me.start()
    assert me.recoverable() == []
    left = {p.name for p in folder.iterdir()}
    assert dead.name not in left  # swept
    assert {f"{live.session}.lock", f"{me.session}.lock"} <= left  # held: kept
    live.finish()
    me.finish()


def test_the_restore_question_is_not_hidden_by_the_splash(qtbot):
    # The question comes while the splash is up and before the main window is shown: the
    # splash (which window managers keep on top) must go, and the question sit mid-screen,
    # not on the unplaced window's frame.
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication, QPixmap
    from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QSplashScreen

    from ganpaint.app.views.prompts import Prompts

    parent = QMainWindow()
    qtbot.addWidget(parent)
    pm = QPixmap(300, 200)
    pm.fill()
    splash = QSplashScreen(pm)
    qtbot.addWidget(splash)
    splash.show()
    seen = {}

    def answer():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen["splash"] = splash.isVisible()
        seen["centre"] = box.frameGeometry().center()
        box.button(QMessageBox.No).click()

    QTimer.singleShot(200, answer)
    assert Prompts(parent).restore("Restore the work autosaved at 12:00?") is False
    assert seen["splash"] is False
    screen = QGuiApplication.primaryScreen().availableGeometry().center()
    assert (seen["centre"] - screen).manhattanLength() <= 4


def test_a_dragged_strength_is_saved_once_it_rests(make_window, qtbot):
    """A strength slider's first value is saved at once; its later values (joined to one
    undo step) once it rests, not on every tick; a clean close leaves no autosave behind."""
    w = make_window()
    w.brush.update(concept="tree")
    w.painter.paint([(10, 10), (20, 20)])
    saves = w.autosave.saves
    for value in (0.9, 0.8, 0.7, 0.6):
        w.document.set_strength(0, value, merge=True)
    assert w.autosave.saves == saves + 1
    qtbot.waitUntil(lambda: w.autosave.saves == saves + 2, timeout=3000)
    saved = EditDocument.from_dict(json.loads(w.autosave.document_path.read_text()))
    assert saved.strokes[0].strength == pytest.approx(0.6)
    w.document.set_strength(0, 0.5, merge=True)  # joins the step: waits again
    assert w.autosave.saves == saves + 2
    w.close()
    qtbot.wait(500)
    assert w.autosave.saves == saves + 2 and not w.autosave.document_path.exists()
