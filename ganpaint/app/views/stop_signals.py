"""Stopping the app from outside: Ctrl+C in the terminal that started it (SIGINT), a logout
or ``kill`` (SIGTERM), a closed terminal (SIGHUP).

Python runs a signal handler only when the interpreter next gets control, and Qt's event
loop may not give it any for as long as nobody touches the window: Ctrl+C did nothing, and a
SIGTERM killed the app before it could save its settings. :class:`StopSignals` makes each of
these signals wake the event loop (a self-pipe watched by a ``QSocketNotifier``; a short
timer where there is none) and calls ``on_stop`` with the signal's name, on the GUI thread;
:func:`stop_on_signals` is how the app uses it.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QSocketNotifier, QTimer

from ganpaint.app.state.session import STOP_SIGNALS  # those this platform has are handled

if TYPE_CHECKING:
    from ganpaint.app.views.main_window import MainWindow

POLL_MS = 200  # without a wake-up pipe: how often the interpreter gets to run handlers


class StopSignals(QObject):
    """Owns the wake-up pipe and the handlers; :meth:`uninstall` puts the old ones back."""

    def __init__(self, on_stop: Callable[[str], None], parent: QObject | None = None):
        super().__init__(parent)
        self._on_stop = on_stop
        self._previous: dict[int, object] = {}
        self._pending: list[str] = []
        self._pair: tuple[socket.socket, socket.socket] | None = None
        self._old_fd: int | None = None
        self._notifier: QSocketNotifier | None = None
        self._timer: QTimer | None = None

    def install(self) -> list[str]:
        """Handle the stop signals (on the main thread only); returns their names."""
        names = [n for n in STOP_SIGNALS if hasattr(signal, n)]
        try:
            reader, writer = socket.socketpair()
            reader.setblocking(False)
            writer.setblocking(False)
            self._old_fd = signal.set_wakeup_fd(writer.fileno())
            self._pair = (reader, writer)
            self._notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Read, self)
            self._notifier.activated.connect(self._woken)
        except (OSError, ValueError):  # no socket pair here: let a timer give Python turns
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._deliver)
            self._timer.start(POLL_MS)
        for name in names:
            number = getattr(signal, name)
            self._previous[number] = signal.signal(number, self._handle)
        return names

    def uninstall(self) -> None:
        """Put back the handlers and the wake-up fd that were there before :meth:`install`."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier = None
        if self._pair is not None:
            signal.set_wakeup_fd(self._old_fd if self._old_fd is not None else -1)
            for end in self._pair:
                end.close()
            self._pair = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _handle(self, number: int, _frame) -> None:
        self._pending.append(signal.Signals(number).name)

    def _woken(self) -> None:
        if self._pair is not None:
            try:
                while self._pair[0].recv(64):
                    pass
            except OSError:  # drained
                pass
        self._deliver()

    def _deliver(self) -> None:
        while self._pending:
            self._on_stop(self._pending.pop(0))


def stop_on_signals(window: MainWindow, app: QCoreApplication) -> StopSignals:
    """What ``ganpaint`` does on a stop signal: ``window.stop(name)`` (closes without
    asking, unsaved strokes kept for the next start), then the event loops end with the
    exit status a shell gives a process the signal stopped (128 + its number)."""

    def stop(name: str) -> None:
        window.stop(name)
        app.exit(128 + int(getattr(signal, name)))

    stops = StopSignals(stop, app)
    stops.install()
    return stops
