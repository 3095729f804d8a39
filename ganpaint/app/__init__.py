"""The GANPaint desktop program: the only package that imports Qt (PySide6, qtawesome).

:mod:`ganpaint.app.state` holds the app's state and decisions in plain Python (testable
without Qt); :mod:`ganpaint.app.views` holds the Qt widgets, the main window composed of
them and the render thread. The entry points, importing Qt only when called:

* :func:`create_window` builds the main window without entering the event loop (tests and
  scripts use it);
* :func:`run_app` opens the window and runs the event loop (``ganpaint`` with no command);
* :func:`run_self_test` checks offscreen that the app paints here (``ganpaint --self-test``).

See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_window", "run_app", "run_self_test"]


def create_window(*args: Any, **kwargs: Any) -> Any:
    """See :func:`ganpaint.app.views.launch.create_window`."""
    from ganpaint.app.views.launch import create_window

    return create_window(*args, **kwargs)


def run_app(*args: Any, **kwargs: Any) -> int:
    """See :func:`ganpaint.app.views.launch.run_app`."""
    from ganpaint.app.views.launch import run_app

    return run_app(*args, **kwargs)


def run_self_test(*args: Any, **kwargs: Any) -> int:
    """See :func:`ganpaint.app.views.launch.run_self_test`."""
    from ganpaint.app.views.launch import run_self_test

    return run_self_test(*args, **kwargs)
