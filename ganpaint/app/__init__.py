"""The Qt program (the only package that imports PySide6 and qtawesome).

:func:`create_window` builds the main window without entering the event loop (tests and
scripts use it); :func:`run_app` is what ``ganpaint`` with no subcommand runs.

Modules: ``main_window`` (assembly, painting, view and presentation) with its mixins
``window_model`` (start-up, model loading, recovery, units), ``window_files`` (projects,
export, clipboard, recent files, About) and ``window_concepts`` (custom concepts: teaching,
the concept file, export and import); ``canvas`` (display and brush input),
``painting`` (brush input to strokes), ``brush`` (mask stamping, NumPy), ``frames``
(document to render jobs, results to the canvas), ``worker`` (the render thread),
``concept_panel``/``concepts`` (what to paint), ``concept_dialog``/``concept_draft``/
``mark_tile`` (New Concept: marking samples, live unit ranking), ``history_panel``, ``gallery``,
``inspector``, ``presentation``, ``status_bar``, ``actions`` (the command table),
``autosave``, ``settings``, ``prompts``, ``files``, ``imaging``, ``model_card``, ``theme``,
``tool`` (brush settings), ``demo_bundle`` and the scripts ``screenshots``, ``startup_time``
and ``drag_bench`` (a scripted drag through the real window: frames per second, superseded
requests).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

__all__ = ["create_window", "run_app", "run_self_test"]


def _application():
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from ganpaint.app import theme
    from ganpaint.app.settings import APPLICATION, ORGANIZATION

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(sys.argv[:1])
    if not QCoreApplication.organizationName():
        QCoreApplication.setOrganizationName(ORGANIZATION)
    if QCoreApplication.applicationName() in ("", "python", "python3", Path(sys.argv[0]).name):
        QCoreApplication.setApplicationName(APPLICATION)
    if not app.property("ganpaintTheme"):
        theme.apply_theme(app)
        app.setProperty("ganpaintTheme", True)
    return app


def _splash():
    """A splash screen with the app icon, shown while the heavy modules import."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QSplashScreen

    from ganpaint import __version__
    from ganpaint.app import theme

    icon = theme.app_icon_path()
    dpr = 2.0
    pm = QPixmap(int(420 * dpr), int(240 * dpr))
    pm.setDevicePixelRatio(dpr)
    pm.fill(QColor(theme.WINDOW))
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    if icon is not None and icon.suffix == ".svg":
        QSvgRenderer(str(icon)).render(p, QRectF(32, 72, 96, 96))
    p.setPen(QColor(theme.TEXT))
    font = QFont()
    font.setPointSize(20)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(150, 84, 260, 40), Qt.AlignLeft | Qt.AlignVCenter, "GANPaint")
    font.setPointSize(10)
    font.setBold(False)
    p.setFont(font)
    p.setPen(QColor(theme.TEXT_DIM))
    p.drawText(
        QRectF(150, 124, 260, 40), Qt.AlignLeft | Qt.AlignTop, f"desktop {__version__}\nloading…"
    )
    p.end()
    splash = QSplashScreen(pm)
    splash.show()
    return splash


def create_window(
    model: str | os.PathLike | None = None,
    project: str | os.PathLike | None = None,
    device: str | None = None,
    settings=None,
    *,
    restore: bool | None = None,
    data_dir: str | os.PathLike | None = None,
    seed: int | None = None,
    threads: int | None = None,
):
    """Build and start the main window (not shown, no event loop).

    ``model`` is a bundle folder or generator file (None: the bundled default), ``project``
    a .ganpaint file to open once the model is ready, ``settings`` a ``QSettings`` (default:
    the user's), ``restore`` answers the crash-recovery question (None asks, unless
    ``GANPAINT_RESTORE`` is set), ``data_dir`` overrides where autosaves and custom concepts
    go, ``threads`` sets torch's CPU thread count on the render thread.
    """
    _application()
    from ganpaint.app.autosave import Autosave
    from ganpaint.app.main_window import MainWindow
    from ganpaint.app.settings import Preferences

    folder = Path(data_dir) / "autosave" if data_dir is not None else None
    window = MainWindow(
        Preferences(settings),
        seed=seed,
        threads=threads,
        autosave=Autosave(folder),
        concepts_folder=Path(data_dir) / "concepts" if data_dir is not None else None,
    )
    if device:
        window.device_pref = device
    window.start(
        str(model) if model is not None else None,
        str(project) if project is not None else None,
        restore,
    )
    return window


def run_app(
    model: str | None = None,
    project: str | None = None,
    device: str | None = None,
    startup_time: bool = False,
    self_test: bool = False,
) -> int:
    """Open the main window and run the event loop; returns the exit code.

    With ``startup_time`` the app quits at its first frame and prints how long that took
    from this call (imports of Qt and torch included). With ``self_test`` it runs
    :func:`run_self_test` instead (no window on screen).
    """
    if self_test:
        return run_self_test(model, device)
    t0 = time.perf_counter()
    app = _application()
    splash = _splash()  # torch takes seconds to import; show something at once
    from ganpaint.engine.renderer import render_threads

    threads = render_threads()  # the policy ganpaint bench measures with
    window = create_window(model, project, device, threads=threads)
    window.show()
    if splash is not None:
        splash.finish(window)
    if startup_time:
        marks = {"window": time.perf_counter() - t0}

        def first_frame(_result) -> None:
            if "frame" not in marks:
                marks["frame"] = time.perf_counter() - t0
                print(
                    f"startup: window {marks['window']:.2f} s, model "
                    f"{marks.get('model', float('nan')):.2f} s, first frame {marks['frame']:.2f} s",
                    flush=True,
                )
                window.close()
                app.quit()

        window.modelLoaded.connect(lambda: marks.setdefault("model", time.perf_counter() - t0))
        window.frameShown.connect(first_frame)
        window.modelFailed.connect(lambda e: (print(f"startup: model failed: {e}"), app.quit()))
    return app.exec()


def run_self_test(
    model: str | None = None, device: str | None = None, timeout_s: float = 120.0
) -> int:
    """Check that the app works here (the standalone build runs it): offscreen, open
    ``model`` (default: the bundled one) in a real main window, paint one stroke and wait
    for the edited frame. Prints one line; returns 0, or 1 with the reason on stderr.
    Settings and autosaves go to a temporary folder."""
    import tempfile

    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt starts: no display needed
    with tempfile.TemporaryDirectory(prefix="ganpaint-self-test-") as tmp:
        os.environ["GANPAINT_DATA_DIR"] = tmp
        try:
            print(_self_test(model, device, Path(tmp), timeout_s), flush=True)
            return 0
        except Exception as exc:
            print(f"self-test: FAILED: {exc}", file=sys.stderr, flush=True)
            return 1


def _self_test(model, device, tmp: Path, timeout_s: float) -> str:
    errors: list[str] = []
    hook = sys.excepthook  # Qt slots report their exceptions here and carry on

    def record(kind, exc, tb) -> None:
        errors.append(f"{kind.__name__}: {exc}")
        hook(kind, exc, tb)

    sys.excepthook = record
    try:
        return _self_test_window(model, device, tmp, timeout_s, errors)
    finally:
        sys.excepthook = hook


def _self_test_window(model, device, tmp: Path, timeout_s: float, errors: list[str]) -> str:
    import numpy as np
    from PySide6.QtCore import QSettings, Qt

    from ganpaint.app.screenshots import wait_until
    from ganpaint.core.paths import resources_dir
    from ganpaint.engine.renderer import render_threads

    t0 = time.perf_counter()
    app = _application()
    if not app.styleSheet():
        raise RuntimeError(f"no style sheet in {resources_dir()}")
    settings = QSettings(str(tmp / "settings.ini"), QSettings.IniFormat)
    w = create_window(model, device=device, settings=settings, restore=False, data_dir=tmp,
                      seed=1, threads=render_threads())  # fmt: skip
    w.modelFailed.connect(lambda e: errors.append(f"cannot open the model: {e}"))
    w.prompts.answers["save_changes"] = "discard"
    try:
        if not any(not a.icon().isNull() for a in w.actions.values()):
            raise RuntimeError("no action has an icon (are qtawesome's fonts missing?)")
        w.resize(1100, 760)
        w.show()
        wait_until(lambda: w.frames.frames > 0 or errors, timeout_s)
        if errors:
            raise RuntimeError(errors[0])
        if w.frames.frames == 0 or w.bundle is None:
            raise RuntimeError(f"no frame within {timeout_s:.0f} s")
        t_first = time.perf_counter() - t0
        before = w.frames.image.copy()
        r = w.bundle.generator.resolution
        usable = [c.name for c in w.concept_panel.concepts if c.available]
        if usable:
            w.brush.update(concept=usable[0], action="draw", size=0.2, hardness=1.0)
            what = f"concept {usable[0]}"
        else:  # no dissection: paint with the first units of the layer
            units = w.concept_panel.unit_list
            for row in range(min(8, units.count())):
                units.item(row).setCheckState(Qt.Checked)
            w.brush.update(action="draw", size=0.2, hardness=1.0)
            what = f"{min(8, units.count())} units"
        revision = w.document.revision
        w.painter.paint([(r * 0.2, r * 0.5), (r * 0.5, r * 0.5), (r * 0.8, r * 0.5)])
        if len(w.document.strokes) != 1 or w.document.revision == revision:
            raise RuntimeError("the stroke did not reach the document")
        wait_until(lambda: w.frames.shown_revision == w.document.revision or errors, timeout_s)
        if errors:
            raise RuntimeError(errors[0])
        if w.frames.shown_revision != w.document.revision:
            raise RuntimeError(f"the edited frame did not arrive within {timeout_s:.0f} s")
        diff = np.abs(w.frames.image.astype(int) - before.astype(int)).sum(axis=-1)
        changed = int((diff > 0).sum())
        if changed == 0:
            raise RuntimeError("the edited frame is the same as the original")
        return (
            f"self-test: ok: {w.bundle.name} ({r} px, {w.model_path}) on {w.device_text}, "
            f"first frame {t_first:.1f} s, stroke with {what} changed {changed} of {r * r} "
            f"pixels, total {time.perf_counter() - t0:.1f} s"
        )
    finally:
        w.close()
