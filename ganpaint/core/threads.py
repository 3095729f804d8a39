"""How many CPU threads rendering uses (torch-free, so the app can decide before torch loads)."""

from __future__ import annotations

import os


def render_threads() -> int:
    """CPU threads for rendering, used by the app's render worker and by ``ganpaint bench``
    alike: every core but one, which stays free for the GUI thread (at least one)."""
    return max(1, (os.cpu_count() or 2) - 1)
