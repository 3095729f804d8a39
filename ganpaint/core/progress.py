"""Progress reporting for long work: a small protocol the libraries accept, and bars.

Library functions take a :data:`ProgressFactory` (``make(desc, total)`` -> an object with
``update(n)`` and ``close()``), defaulting to :func:`no_progress`, so they stay silent and
testable; commands pass :func:`bar_factory`, which draws `tqdm` bars on stderr when it is a
terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol


class ProgressLike(Protocol):
    """What a progress factory returns: counts work done, then is closed."""

    def update(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[str, int], ProgressLike]


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(desc: str, total: int) -> ProgressLike:
    """A progress factory that shows nothing."""
    return _Silent()


def progress_bar(desc: str, total: int, enabled: bool | None = None) -> ProgressLike:
    """A tqdm bar on stderr for ``total`` steps; ``enabled=None`` shows it only on a terminal."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(
        total=max(int(total), 1),
        desc=desc,
        disable=not show,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=True,
    )


def bar_factory(enabled: bool | None = None) -> ProgressFactory:
    """A factory of :func:`progress_bar` bars (``enabled=False``: silent)."""

    def make(desc: str, total: int) -> ProgressLike:
        return progress_bar(desc, total, enabled)

    return make
