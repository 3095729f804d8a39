"""The Qt program (the only package that imports PySide6 and qtawesome).

:func:`create_window` builds the main window without entering the event loop (tests and
scripts use it); :func:`run_app` is what ``ganpaint`` with no subcommand runs.

Modules: ``main_window`` (assembly, painting, view and presentation) with its mixins
``window_model`` (start-up, model loading, recovery, units) and ``window_files`` (projects,
export, clipboard, recent files, About); ``canvas`` (display and brush input),
``painting`` (brush input to strokes), ``brush`` (mask stamping, NumPy), ``frames``
(document to render jobs, results to the canvas), ``worker`` (the render thread),
``concept_panel``/``concepts`` (what to paint), ``history_panel``, ``gallery``,
``inspector``, ``presentation``, ``status_bar``, ``actions`` (the command table),
``autosave``, ``settings``, ``prompts``, ``files``, ``imaging``, ``model_card``, ``theme``,
``tool`` (brush settings), ``demo_bundle`` and the scripts ``screenshots`` and ``startup_time``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

__all__ = ["create_window", "run_app"]


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
    ``GANPAINT_RESTORE`` is set), ``data_dir`` overrides where autosaves go, ``threads``
    sets torch's CPU thread count on the render thread.
    """
    _application()
    from ganpaint.app.autosave import Autosave
    from ganpaint.app.main_window import MainWindow
    from ganpaint.app.settings import Preferences

    folder = Path(data_dir) / "autosave" if data_dir is not None else None
    window = MainWindow(
        Preferences(settings), seed=seed, threads=threads, autosave=Autosave(folder)
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
) -> int:
    """Open the main window and run the event loop; returns the exit code.

    With ``startup_time`` the app quits at its first frame and prints how long that took
    from this call (imports of Qt and torch included).
    """
    t0 = time.perf_counter()
    app = _application()
    splash = _splash()  # torch takes seconds to import; show something at once
    threads = max(1, (os.cpu_count() or 2) - 1)  # leave a core for the GUI thread
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
