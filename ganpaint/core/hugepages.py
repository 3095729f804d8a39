"""Large CPU tensors on transparent huge pages (torch-free: it must act before torch loads).

PyTorch's CPU allocator hands every buffer of 2 MB or more to ``madvise(MADV_HUGEPAGE)``
when the environment variable ``THP_MEM_ALLOC_ENABLE`` is set when it first allocates (it
reads the variable once). Without it, a batch at 256 px (activations of 8 MB and more per
image) is freed back to the kernel and faulted in again 4 KB at a time on every pass, and a
2-core CPU spent nearly half its time in the kernel doing so: docs/ARCHITECTURE.md, "CPU
memory", has the measurements. Importing :mod:`ganpaint` calls :func:`prefer_huge_pages`,
so every entry point (the app, the commands, the developer scripts, the tests) gets it as
long as ``ganpaint`` is imported before torch allocates. A value the user set, such as
``THP_MEM_ALLOC_ENABLE=0``, is kept. It acts on Linux only (where the kernel's
``/sys/kernel/mm/transparent_hugepage/enabled`` is ``madvise`` or ``always``); elsewhere
torch ignores the variable.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

THP_VARIABLE = "THP_MEM_ALLOC_ENABLE"


def prefer_huge_pages(environ: MutableMapping[str, str] | None = None) -> bool:
    """Ask torch for huge pages unless the variable is set already; returns whether the
    variable now asks for them (``"1"``)."""
    env = os.environ if environ is None else environ
    env.setdefault(THP_VARIABLE, "1")
    return env[THP_VARIABLE] == "1"
