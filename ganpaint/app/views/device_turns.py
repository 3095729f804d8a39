"""Turns on an accelerator between the render worker and the attack worker.

On the CPU the two threads run side by side (the attack with one torch thread at a lower
priority). On CUDA they must not: the renderer captures CUDA graphs, and while a graph is
being captured another thread's allocations or synchronising calls are errors (and MPS is
not safe to drive from two threads at once). So on any device but the CPU they take turns:
the render worker holds the turn for each job, the attack for its whole run except between
two forward passes, where it steps aside whenever a render job is waiting
(:meth:`DeviceTurns.pause`). A frame waits at most one of the attack's passes (milliseconds
on a GPU), never the whole attack.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


def shared(device: object) -> bool:
    """Whether ``device`` ("cpu", "cuda:0", a torch.device, ...) needs turns."""
    return str(device).split(":")[0] != "cpu"


class DeviceTurns:
    """One holder at a time; waiting renders go before the attack (see the module)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holder: str | None = None
        self._renders_waiting = 0

    @contextmanager
    def render(self, device: object) -> Iterator[None]:
        """Hold the turn for one render-worker job (a no-op on the CPU)."""
        if not shared(device):
            yield
            return
        with self._cond:
            self._renders_waiting += 1
            self._cond.notify_all()  # an attack in pause() sees it
            self._cond.wait_for(lambda: self._holder is None)
            self._renders_waiting -= 1
            self._holder = "render"
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def attack(self, device: object) -> Iterator[None]:
        """Hold the turn for a whole attack (a no-op on the CPU)."""
        if not shared(device):
            yield
            return
        self._take_for_attack()
        try:
            yield
        finally:
            self._release()

    def pause(self, device: object) -> None:
        """Between two of the attack's passes: let every waiting render job go first."""
        if not shared(device):
            return
        with self._cond:
            if self._renders_waiting == 0:
                return
            self._holder = None
            self._cond.notify_all()
        self._take_for_attack()

    def _take_for_attack(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._holder is None and self._renders_waiting == 0)
            self._holder = "attack"

    def _release(self) -> None:
        with self._cond:
            self._holder = None
            self._cond.notify_all()

    @property
    def holder(self) -> str | None:
        with self._cond:
            return self._holder

    @property
    def renders_waiting(self) -> int:
        with self._cond:
            return self._renders_waiting
