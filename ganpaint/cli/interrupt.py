"""Ctrl-C as a request to stop at the next safe point, for the commands whose work can be
resumed (``ganpaint train-gan``): the first Ctrl-C lets the current step finish, the state
and the generator are saved as at any other stop, and the command exits with 130; a second
Ctrl-C quits at once, as Ctrl-C always did (the state then is the last checkpoint's)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

INTERRUPTED = 130
"""The exit code of a command stopped by Ctrl-C (128 + SIGINT), saved or not."""


@contextmanager
def stop_on_interrupt(what: str) -> Iterator[Callable[[], bool]]:
    """While the block runs, the first SIGINT sets the flag the yielded check reads (and
    prints that ``what`` will stop and be saved); the next raises KeyboardInterrupt. The
    previous handler comes back after the block. Outside the main thread (where signal
    handlers cannot be set) the check is always False and Ctrl-C acts as before."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()
        print(
            f"ganpaint: stopping {what} after this step and saving it "
            "(Ctrl-C again to quit at once)",
            file=sys.stderr,
            flush=True,
        )

    signal.signal(signal.SIGINT, handler)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
