"""What a fuzzing run is made of: a case (files and how they were made), a target (a reader
that makes and runs cases), the outcomes a case can have, the run's report, and the per-case
time limit."""

from __future__ import annotations

import contextlib
import random
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class InvariantError(AssertionError):
    """A reader accepted an input but what it returned is not usable."""


def require_file_named(exc: BaseException, path: Path) -> None:
    """Raise :class:`InvariantError` unless ``exc``'s message names ``path`` and says more
    than that (a refusal a person can act on)."""
    message = str(exc)
    if str(path) not in message or len(message) <= len(str(path)) + 8:
        raise InvariantError(f"a message that does not say the file and why: {message!r}")


class CaseTimeout(BaseException):
    """A case ran past the time limit (a BaseException so readers' handlers cannot eat it)."""


@dataclass(frozen=True)
class Case:
    """One input: the files to write (name -> bytes, None deletes) and how it was made."""

    index: int
    kind: str
    description: str
    files: dict[str, bytes | None]


@dataclass
class Bug:
    index: int
    kind: str
    description: str
    error: str
    traceback: str


@dataclass
class FuzzReport:
    """What a fuzzing run found: counts per outcome and per kind of case, and the bugs."""

    target: str
    seed: int
    cases: int = 0
    loaded: int = 0
    refused: int = 0
    bug_count: int = 0
    bugs: list[Bug] = field(default_factory=list)  # the first few
    kinds: dict[str, Counter] = field(default_factory=dict)
    seconds: float = 0.0
    slowest_s: float = 0.0
    slowest_case: int = -1

    @property
    def ok(self) -> bool:
        return self.bug_count == 0

    def count(self, case: Case, outcome: str) -> None:
        self.cases += 1
        self.kinds.setdefault(case.kind, Counter())[outcome] += 1
        if outcome == "loaded":
            self.loaded += 1
        elif outcome == "refused":
            self.refused += 1
        else:
            self.bug_count += 1

    def lines(self) -> list[str]:
        """A human-readable summary."""
        out = [
            f"{self.target}: {self.cases} cases (seed {self.seed}) in {self.seconds:.1f} s: "
            f"{self.loaded} loaded, {self.refused} refused, {self.bug_count} bugs"
            f" (slowest case {self.slowest_case}: {self.slowest_s * 1000:.0f} ms)"
        ]
        for kind in sorted(self.kinds):
            c = self.kinds[kind]
            out.append(
                f"  {kind:<28} {c['loaded']:>6} loaded {c['refused']:>6} refused {c['bug']:>4} bugs"
            )
        for bug in self.bugs:
            out.append(
                f"  BUG case {bug.index} ({bug.kind}: {_clip(bug.description)}): "
                f"{_clip(bug.error, 300)}"
            )
            out.extend("    " + _clip(line) for line in bug.traceback.rstrip().splitlines()[-6:])
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seed": self.seed,
            "cases": self.cases,
            "loaded": self.loaded,
            "refused": self.refused,
            "bugs": self.bug_count,
            "seconds": round(self.seconds, 3),
            "slowest_ms": round(self.slowest_s * 1000, 1),
            "kinds": {k: dict(v) for k, v in sorted(self.kinds.items())},
            "examples": [
                {
                    "case": b.index,
                    "kind": b.kind,
                    "description": b.description,
                    "error": b.error,
                }
                for b in self.bugs
            ],
        }


def _clip(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the block after ``seconds`` (POSIX main thread only;
    elsewhere the caller still compares the elapsed time)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CaseTimeout(f"over the {seconds:.0f} s time limit")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Target:
    """A reader under test: makes cases and runs one."""

    name = ""
    refusals: tuple[type[BaseException], ...] = ()

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def make(self, rng: random.Random, index: int) -> Case:
        raise NotImplementedError

    def run(self, case: Case) -> None:
        """Feed the case to the reader: return if it loaded (and is sound), raise otherwise."""
        raise NotImplementedError

    def write(self, folder: Path, case: Case) -> None:
        for name, data in case.files.items():
            p = folder / name
            if data is None:
                p.unlink(missing_ok=True)
            else:
                p.write_bytes(data)
