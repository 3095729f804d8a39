"""Starting the app: the QApplication, the splash, the main window and the self-test.

:func:`create_window` builds the main window without entering the event loop (tests and
scripts use it); :func:`run_app` is what ``ganpaint`` with no subcommand runs;
:func:`run_self_test` checks offscreen that a stroke changes the image (the standalone build
runs it).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def application():
    """The QApplication (made once), named and themed."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from ganpaint.app.views import theme
    from ganpaint.app.views.settings import APPLICATION, ORGANIZATION

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
    from ganpaint.app.views import theme

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


def _preload_renderer() -> None:
    """Start importing torch and the renderer (seconds on a small CPU) on a thread of their
    own while Qt starts and the window is built: the render worker needs them for the first
    frame, and the GUI thread never does (nothing it imports pulls torch in)."""
    import threading

    def load() -> None:
        import ganpaint.engine.renderer  # noqa: F401 - torch, the generator, the renderer
        import ganpaint.models.bundle  # noqa: F401

    threading.Thread(target=load, name="preload-torch", daemon=True).start()


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
    application()
    from ganpaint.app.views.autosave import Autosave
    from ganpaint.app.views.main_window import MainWindow
    from ganpaint.app.views.settings import Preferences

    folder = Path(data_dir) / "autosave" if data_dir is not None else None
    window = MainWindow(
        Preferences(settings),
        seed=seed,
        threads=threads,
        autosave=Autosave(folder),
        concepts_folder=Path(data_dir) / "concepts" if data_dir is not None else None,
    )
    if device:
        window.models.device_pref = device
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
    from ganpaint.app.state.platform_check import missing_qt_libraries

    missing = missing_qt_libraries(os.environ)
    if missing:
        print(missing, file=sys.stderr, flush=True)
        return 1
    t0 = time.perf_counter()
    _preload_renderer()
    app = application()
    splash = _splash()  # torch takes seconds to import; show something at once
    from ganpaint.core.threads import render_threads

    threads = render_threads()  # the policy ganpaint bench measures with
    window = create_window(model, project, device, threads=threads)
    from ganpaint.app.views.stop_signals import stop_on_signals

    stop_on_signals(window, app)  # Ctrl+C in the terminal, a logout: close at once
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
                    f"{marks.get('model', float('nan')):.2f} s, first frame {marks['frame']:.2f} s"
                    f" (at wall clock {time.time():.3f})",  # startup_time: spawn to frame
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
    ``model`` (default: the bundled one) in a real main window, paint one stroke, wait
    for the edited frame and run the bundle's scene classifier and picture encoder on it.
    Prints one line; returns 0, or 1 with the reason on stderr.
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
    from PySide6.QtCore import QSettings

    from ganpaint.core.paths import resources_dir
    from ganpaint.core.threads import render_threads

    t0 = time.perf_counter()
    app = application()
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
        _wait_or_raise(lambda: w.frames.frames > 0, errors, timeout_s)
        if w.frames.frames == 0 or w.models.bundle is None:
            raise RuntimeError(f"no frame within {timeout_s:.0f} s")
        t_first = time.perf_counter() - t0
        what, changed = _self_test_stroke(w, errors, timeout_s)
        r = w.models.resolution
        networks = _self_test_networks(w.models.bundle, w.frames.image)
        return (
            f"self-test: ok: {w.models.bundle.name} ({r} px, {w.models.model_path}) on "
            f"{w.models.device_text}, first frame {t_first:.1f} s, stroke with {what} changed "
            f"{changed} of {r * r} pixels, {networks}, total {time.perf_counter() - t0:.1f} s"
        )
    finally:
        w.close()


def _self_test_networks(bundle, image) -> str:
    """Load the bundle's scene classifier and picture encoder (torchvision networks: the
    standalone build must carry what they import) and run each on the edited frame."""
    import torch

    x = torch.from_numpy(image[..., :3].copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    parts = []
    classifier = bundle.load_classifier()
    if classifier is not None:
        with torch.inference_mode():
            best = int(classifier(x).argmax())
        parts.append(f"classifier reads {classifier.classes[best]!r}")
    encoder = bundle.load_encoder()
    if encoder is not None:
        z, _ = encoder.predict(x)
        parts.append(f"encoder gives a z of {z.shape[1]} values")
    return ", ".join(parts) or "no classifier or encoder in the bundle"


def _wait_or_raise(condition, errors: list[str], timeout_s: float) -> None:
    """Wait for ``condition`` or the first error; raise that error."""
    wait_until(lambda: condition() or errors, timeout_s)
    if errors:
        raise RuntimeError(errors[0])


def _self_test_stroke(w, errors: list[str], timeout_s: float) -> tuple[str, int]:
    """Paint one stroke and wait for its frame: (what painted, pixels changed)."""
    import numpy as np
    from PySide6.QtCore import Qt

    before = w.frames.image.copy()
    r = w.models.resolution
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
    _wait_or_raise(lambda: w.frames.shown_revision == w.document.revision, errors, timeout_s)
    if w.frames.shown_revision != w.document.revision:
        raise RuntimeError(f"the edited frame did not arrive within {timeout_s:.0f} s")
    diff = np.abs(w.frames.image.astype(int) - before.astype(int)).sum(axis=-1)
    changed = int((diff > 0).sum())
    if changed == 0:
        raise RuntimeError("the edited frame is the same as the original")
    return what, changed


def wait_until(condition, timeout_s: float = 30.0) -> bool:
    """Run the event loop until ``condition()`` holds (or the time is up)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timer = QTimer()
    timer.setInterval(15)
    timer.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    return bool(condition())
