"""What a file that cannot be read looks like, in words a person understands.

The readers of model files (generator checkpoints, segmenters, ``bundle.json``,
``dissection.json``) use these to say what a file *is not* ("not a PyTorch checkpoint or
safetensors file (it holds text)") instead of passing on a Python message such as "pop from
empty list" that means nothing to whoever opened the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# torch.save writes a zip archive; the legacy format is a pickle (b"\x80" and protocol 2..5).
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_MARK = 0x80


def looks_like_torch(head: bytes) -> bool:
    """Whether the first bytes of a file could start a ``torch.save`` file (zip or pickle)."""
    return head.startswith(ZIP_MAGIC) or (
        len(head) > 1 and head[0] == PICKLE_PROTOCOL_MARK and 2 <= head[1] <= 5
    )


def describe_content(head: bytes) -> str:
    """A short phrase for what the first bytes of a file hold: empty, text or binary."""
    if not head:
        return "the file is empty"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "it holds binary data of another kind"
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return "it holds text"
    return "it holds binary data of another kind"


def file_head(path: Path, size: int = 64) -> bytes:
    """The first ``size`` bytes of ``path`` (fewer for a shorter file)."""
    with path.open("rb") as f:
        return f.read(size)


def read_json_file(path: Path, what: str, error: type[Exception]) -> Any:
    """The JSON value in ``path``; ``error`` naming the file when it cannot be read or is not
    the JSON document ``what`` (the message says why, as :func:`json_problem` does)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise error(f"{path}: {json_problem(raw, what)}") from None


def json_problem(raw: bytes, what: str) -> str:
    """Why ``raw`` is not the JSON document ``what`` (empty, not text, truncated, broken)."""
    if not raw.strip():
        return f"not {what}: the file is empty"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"not {what}: it is not text (binary data)"
    try:
        json.loads(text)
    except RecursionError:
        return f"not {what}: nested too deeply"
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated"):
            return f"not {what}: the JSON text is cut short (truncated at line {exc.lineno})"
        if not text.lstrip().startswith(("{", "[")):
            return f"not {what}: it holds text that is not JSON"
        return f"not {what}: broken JSON at line {exc.lineno}, column {exc.colno}"
    except ValueError:  # a number of more than 4300 digits
        return f"not {what}: it holds a number too long to read"
    return f"not {what}"
