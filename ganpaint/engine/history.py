"""The undo/redo history as JSON, so that a restored autosave can still be undone.

An :class:`~ganpaint.engine.document.EditDocument` keeps each undo (and redo) step as a
splice ``(start, end, strokes)``. :func:`encode_history` writes the splices with their
strokes as indices into one table: the document's own strokes first (the project part of
the file already holds them), then each other stroke the history holds, once (a reset's
splice holds every stroke, and they are the same objects). :func:`decode_history` reads it
back and checks every index and, by replaying the steps, every splice, so a damaged history
raises :class:`~ganpaint.core.errors.ProjectFileError` instead of making a later undo fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ganpaint.core.errors import ProjectFileError

HISTORY_VERSION = 1


def encode_history(strokes: Sequence[Any], undo: Iterable[tuple], redo: Iterable[tuple]) -> dict:
    """The history as a JSON-ready dict (``strokes``: the document's current strokes)."""
    table = {id(s): i for i, s in enumerate(strokes)}
    extra: list[Any] = []

    def ref(stroke: Any) -> int:
        if id(stroke) not in table:
            table[id(stroke)] = len(strokes) + len(extra)
            extra.append(stroke)
        return table[id(stroke)]

    steps = {
        name: [[start, end, [ref(s) for s in held]] for start, end, held in splices]
        for name, splices in (("undo", undo), ("redo", redo))
    }
    return {"version": HISTORY_VERSION, "strokes": [s.to_dict() for s in extra], **steps}


def decode_history(
    d: Any,
    strokes: tuple,
    parse_stroke,
    limit: int,
    where: str,
    max_strokes: int,
) -> tuple[list[tuple], list[tuple]]:
    """(undo, redo) splices from :func:`encode_history`'s dict, for a document whose strokes
    are ``strokes``; ``parse_stroke(dict, where)`` reads one stroke; at most ``limit`` steps
    each, and no step may leave more than ``max_strokes`` strokes."""
    if not isinstance(d, dict) or d.get("version") != HISTORY_VERSION:
        raise ProjectFileError(f"{where}: not an undo history this app can read")
    extra = d.get("strokes")
    if not isinstance(extra, list):
        raise ProjectFileError(f"{where}: 'strokes' must be a list")
    table = list(strokes) + [
        parse_stroke(s, f"{where}: stroke {i + 1}") for i, s in enumerate(extra)
    ]
    out = []
    for name in ("undo", "redo"):
        splices = d.get(name)
        if not isinstance(splices, list) or len(splices) > limit:
            raise ProjectFileError(f"{where}: '{name}' must be a list of at most {limit} steps")
        parsed = [_splice(s, table, f"{where}: {name} step {i + 1}") for i, s in enumerate(splices)]
        _replay(parsed, strokes, f"{where}: {name}", max_strokes)
        out.append(parsed)
    return out[0], out[1]


def _splice(s: Any, table: list, where: str) -> tuple:
    if not (isinstance(s, list) and len(s) == 3 and isinstance(s[2], list)):
        raise ProjectFileError(f"{where}: must be [start, end, [stroke indices]]")
    start, end, refs = s
    numbers = (start, end, *refs)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers):
        raise ProjectFileError(f"{where}: indices must be integers")
    if not all(0 <= r < len(table) for r in refs):
        raise ProjectFileError(f"{where}: a stroke index is out of range")
    return start, end, tuple(table[r] for r in refs)


def _replay(splices: list[tuple], strokes: tuple, where: str, max_strokes: int) -> None:
    """Apply the steps as undo (or redo) would, the last first, checking each fits."""
    count = len(strokes)
    for i in range(len(splices) - 1, -1, -1):
        start, end, held = splices[i]
        if not 0 <= start <= end <= count:
            raise ProjectFileError(f"{where} step {i + 1}: does not fit the strokes before it")
        count += len(held) - (end - start)
        if count > max_strokes:
            raise ProjectFileError(f"{where} step {i + 1}: leaves over {max_strokes} strokes")
