"""A dependency-free progress bar for long commands (writes to stderr, quiet when not a TTY
unless asked)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """Counts work done out of ``total`` and redraws one status line at most 10 times a second."""

    def __init__(self, total: int, desc: str = "", stream=None, enabled: bool | None = None):
        self.total = max(int(total), 1)
        self.desc = desc
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self._last = 0.0
        self.postfix = ""

    def update(self, n: int = 1, postfix: str | None = None) -> None:
        self.done += n
        if postfix is not None:
            self.postfix = postfix
        now = time.perf_counter()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = min(self.done / self.total, 1.0)
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * int(frac * 24)
        self.stream.write(
            f"\r{self.desc} [{bar:<24}] {self.done}/{self.total} "
            f"{rate:.1f}/s eta {eta:.0f}s {self.postfix}  "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], total: int, desc: str = "") -> Iterator[T]:
    """Iterate ``items`` while showing a progress bar."""
    with Progress(total, desc) as bar:
        for item in items:
            yield item
            bar.update()
