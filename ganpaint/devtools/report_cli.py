"""The ending the measuring devtools share: run the measurement, print its report (and
write its figures as JSON when asked), or print the error in one line and exit 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganpaint.core.errors import GanpaintError


def report(
    prog: str,
    measure: Callable[[], Any],
    format_report: Callable[[Any], str],
    json_path: str | None = None,
    errors: tuple[type[BaseException], ...] = (GanpaintError, OSError),
) -> int:
    """``measure()``, then ``format_report`` of its result on stdout and the result in
    ``json_path``; 0, or 2 with ``prog: error: ...`` on stderr for one of ``errors``."""
    try:
        result = measure()
    except errors as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(format_report(result))
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1))
    return 0
