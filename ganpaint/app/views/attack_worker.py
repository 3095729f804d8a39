"""The attack worker: one QThread of its own that runs the classifier's adversarial attacks,
so the render worker goes on drawing frames (and the person on painting and undoing) while
an attack of several seconds runs.

It holds at most one attack waiting and one running. A new attack supersedes both: the
waiting one is dropped and the running one is cancelled at its next forward pass (its result
comes back marked cancelled and the window ignores it by token). :meth:`AttackWorker.cancel`
stops one attack by token. The thread works on its own copy of the classifier
(:class:`~ganpaint.app.views.classifier_jobs.ClassifierRunner` with ``own_copy``), with one
torch thread and, on Linux, a lower scheduling priority (nice ``ATTACK_NICE``, per thread):
the attack and the renders share a small machine's cores, and a frame under the brush
matters more than an attack finishing a little sooner. Off the CPU the two threads take
turns on the device instead (:mod:`~ganpaint.app.views.device_turns`: CUDA graph capture
allows no other thread's work), the attack stepping aside between passes. Progress and
the result come back by queued signal; failures as results, never as exceptions.
"""

from __future__ import annotations

import os
import sys
import threading

from PySide6.QtCore import QThread, Signal

from ganpaint.app.views.classifier_jobs import AttackJob, ClassifierRunner
from ganpaint.app.views.device_turns import DeviceTurns

ATTACK_THREADS = 1  # torch threads for the attack: the rest of the cores render
ATTACK_NICE = 10  # added to the attack thread's niceness on Linux (renders keep 0)


class AttackWorker(QThread):
    """Runs :class:`AttackJob` values one at a time; see the module docstring."""

    attackProgress = Signal(object)  # AttackProgress
    attackDone = Signal(object)  # AttackDone

    def __init__(self, parent=None, threads: int = ATTACK_THREADS, nice: int = ATTACK_NICE,
                 turns: DeviceTurns | None = None):  # fmt: skip
        super().__init__(parent)
        self.turns = turns or DeviceTurns()  # the render worker's, in the app
        self.setObjectName("AttackWorker")
        self._cond = threading.Condition()
        self._pending: AttackJob | None = None
        self._running: AttackJob | None = None
        self._stopping = False
        self.threads, self.nice = threads, nice
        self.runner = ClassifierRunner(own_copy=True)
        self.torch_threads: int | None = None  # as set on this thread, once running
        self.niced = False  # whether the lower priority took

    # -- GUI side ------------------------------------------------------------------------

    def submit(self, job: AttackJob) -> None:
        """Run ``job`` next, superseding the attack waiting and the one running."""
        with self._cond:
            if self._running is not None:
                self._running.cancel.set()
            self._pending = job
            self._cond.notify()
        if not self.isRunning():
            self.start()

    def cancel(self, token: int) -> None:
        """Stop the attack answering ``token``: dropped if waiting, stopped if running."""
        with self._cond:
            for job in (self._pending, self._running):
                if job is not None and job.token == token:
                    job.cancel.set()
            if self._pending is not None and self._pending.token == token:
                self._pending = None

    def cancel_all(self) -> None:
        """Stop whatever runs or waits (the model changed)."""
        with self._cond:
            for job in (self._pending, self._running):
                if job is not None:
                    job.cancel.set()
            self._pending = None

    def is_idle(self) -> bool:
        with self._cond:
            return self._pending is None and self._running is None

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Cancel the attack and wait for the thread to end."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.cancel_all()
        return self.wait(timeout_ms) if self.isRunning() else True

    # -- worker side ---------------------------------------------------------------------

    def _next(self) -> AttackJob | None:
        with self._cond:
            while not self._stopping and self._pending is None:
                self._cond.wait()
            if self._stopping:
                return None
            self._running, self._pending = self._pending, None
            return self._running

    def run(self) -> None:
        import torch

        torch.set_num_threads(max(1, int(self.threads)))
        self.torch_threads = torch.get_num_threads()
        self.niced = _lower_priority(self.nice)
        while (job := self._next()) is not None:
            with self.turns.attack(job.device):
                done = self.runner.attack(
                    job, job.bundle, job.device, self.attackProgress.emit,
                    between=lambda device=job.device: self.turns.pause(device),
                )  # fmt: skip
            with self._cond:
                self._running = None
            self.attackDone.emit(done)


def _lower_priority(nice: int) -> bool:
    """Raise this thread's niceness by ``nice`` (Linux: setpriority on the thread id); True
    when it took. Elsewhere the thread keeps its priority."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:
        return False
    return True
