"""The clock and the log of a training run: a time budget counted from process start, a
logger that prints and appends to a file, and the plain print-or-silent log the training
loops take."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

Log = Callable[[str], None]


def print_log(enabled: bool) -> Log:
    """A log that prints each message at once (``enabled``), or one that says nothing."""
    if not enabled:
        return lambda msg: None
    return lambda msg: print(msg, flush=True)


def process_age_s() -> float:
    """Seconds since this process started (interpreter start-up and imports included)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        return age if 0 <= age < 3600 else 0.0
    except (OSError, ValueError, IndexError):
        return 0.0


class Clock:
    """The pipeline's budget: seconds since the process started and seconds left."""

    def __init__(self, budget_s: float, from_process_start: bool = True):
        self.budget_s = float(budget_s)
        self.t0 = time.perf_counter() - (process_age_s() if from_process_start else 0.0)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.budget_s - self.elapsed()

    def at(self, seconds_from_start: float) -> float:
        """The ``time.perf_counter()`` value of a point in the budget."""
        return self.t0 + seconds_from_start


class Logger:
    """Print with flush and append every line to a log file (closed on every write, so
    nothing is lost if the process is killed)."""

    def __init__(self, path: Path, clock: Clock):
        self.path = path
        self.clock = clock

    def __call__(self, msg: str) -> None:
        line = f"[{self.clock.elapsed():6.1f}s] {msg}"
        print(line, flush=True)
        try:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError:
            pass

    def append_file(self, title: str, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        with self.path.open("a", encoding="utf-8") as f:
            f.write(f"----- {title} -----\n{text}\n----- end of {title} -----\n")
        tail = "\n".join(text.strip().splitlines()[-12:])
        print(f"----- {title} (last lines) -----\n{tail}\n-----", flush=True)
