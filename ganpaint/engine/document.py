"""The edit document: what the user made, as plain Python with change notifications.

An :class:`EditDocument` holds the model id, edit layer, seed, the committed strokes (each an
immutable :class:`Stroke`), an undo/redo history and an optional live *preview* stroke (the
stroke under the brush, not yet an undo step). The history keeps the last :data:`UNDO_LIMIT`
steps, each as the splice that undoes it (not a copy of the stroke list, which made a long
session's history grow with the square of its strokes). Every change bumps ``revision``
and notifies listeners. :meth:`EditDocument.snapshot` gives the immutable value a render
request carries. Projects are saved as versioned JSON (``.ganpaint``), written atomically;
the autosave adds the undo history (:meth:`EditDocument.history_to_dict`), which a read
takes back when it is sound.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.core.errors import ProjectFileError
from ganpaint.core.files import atomic_write_text
from ganpaint.engine.history import decode_history, encode_history
from ganpaint.engine.picture import PictureBase

PROJECT_FORMAT = "ganpaint-project"
# 2: an optional "picture" (an inverted picture, engine/picture.py); version-1 files still open.
PROJECT_VERSION = 2
ACTIONS = ("draw", "remove")
MAX_MASK_SIDE = 4096
MAX_STROKES = 100_000
MAX_UNITS = 65_536
# Undo steps kept; older ones are forgotten (the strokes themselves are all kept).
UNDO_LIMIT = 1000


def _frozen_mask(mask: np.ndarray) -> np.ndarray:
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if m.ndim != 2 or not (1 <= m.shape[0] <= MAX_MASK_SIDE and 1 <= m.shape[1] <= MAX_MASK_SIDE):
        raise ValueError(f"stroke mask must be 2-D, at most {MAX_MASK_SIDE} a side")
    if m is mask:
        m = m.copy()
    m.setflags(write=False)
    return m


@dataclass(frozen=True, eq=False)
class Stroke:
    """One brush stroke: force ``units`` of ``layer`` towards their level (draw) or 0 (remove)
    with ``strength`` inside ``mask`` (uint8 coverage 0..255 over the image)."""

    concept: str
    action: str
    units: tuple[int, ...]
    strength: float
    quantile: float
    layer: str
    mask: np.ndarray
    visible: bool = True
    # the mask's encoding in a project file, made once (the mask never changes): the
    # autosave writes every stroke after each one, which cost 35 ms at 300 strokes
    _packed: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"stroke action must be one of {ACTIONS}, got {self.action!r}")
        if not (0.0 <= float(self.strength) <= 1.0) or math.isnan(self.strength):
            raise ValueError(f"stroke strength must be in [0, 1], got {self.strength}")
        if not (0.0 < float(self.quantile) < 1.0):
            raise ValueError(f"stroke quantile must be in (0, 1), got {self.quantile}")
        units = tuple(int(u) for u in self.units)
        if len(units) > MAX_UNITS or any(u < 0 for u in units):
            raise ValueError("stroke units must be non-negative unit indices")
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "strength", float(self.strength))
        object.__setattr__(self, "quantile", float(self.quantile))
        object.__setattr__(self, "mask", _frozen_mask(self.mask))

    def with_visible(self, visible: bool) -> Stroke:
        return self._with(visible=bool(visible))

    def with_strength(self, strength: float) -> Stroke:
        return self._with(strength=strength)

    def _with(self, **changes: Any) -> Stroke:
        changed = replace(self, **changes)  # checked again by __post_init__
        object.__setattr__(changed, "mask", self.mask)  # the same (read-only) mask array
        object.__setattr__(changed, "_packed", self._packed)  # and so its encoding
        return changed

    def to_dict(self) -> dict[str, Any]:
        packed = self._packed
        if packed is None:
            packed = base64.b64encode(zlib.compress(self.mask.tobytes(), 6)).decode("ascii")
            object.__setattr__(self, "_packed", packed)
        return {
            "concept": self.concept,
            "action": self.action,
            "units": list(self.units),
            "strength": self.strength,
            "quantile": self.quantile,
            "layer": self.layer,
            "visible": self.visible,
            "mask": {"shape": list(self.mask.shape), "encoding": "zlib-base64-u8", "data": packed},
        }

    @classmethod
    def from_dict(cls, d: Any, where: str = "stroke") -> Stroke:
        """The stroke a project file holds; :class:`ProjectFileError` (naming ``where``)
        for anything malformed."""
        if not isinstance(d, dict):
            raise ProjectFileError(f"{where}: must be an object")
        try:
            mask = _mask_from_dict(d["mask"], where)
            _check_stroke_fields(d, where)
            return cls(
                concept=d["concept"],
                action=d["action"],
                units=tuple(d["units"]),
                strength=float(d["strength"]),
                quantile=float(d["quantile"]),
                layer=d["layer"],
                mask=mask,
                visible=bool(d.get("visible", True)),
            )
        except ProjectFileError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError, zlib.error) as exc:
            raise ProjectFileError(f"{where}: malformed ({type(exc).__name__}: {exc})") from None


def _mask_from_dict(m: Any, where: str) -> np.ndarray:
    """A stroke's uint8 mask from its ``{"shape", "encoding", "data"}`` record; the data is
    inflated no further than the shape allows (a zlib bomb stops there)."""
    shape = m["shape"]
    if m.get("encoding") != "zlib-base64-u8":
        raise ProjectFileError(f"{where}: unknown mask encoding {m.get('encoding')!r}")
    if not (
        isinstance(shape, list)
        and len(shape) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) for s in shape)
    ):
        raise ProjectFileError(f"{where}: mask shape must be two integers")
    shape = (shape[0], shape[1])
    if not all(1 <= s <= MAX_MASK_SIDE for s in shape):
        raise ProjectFileError(f"{where}: mask shape {shape} is out of range")
    expected = shape[0] * shape[1]
    raw = zlib.decompressobj().decompress(base64.b64decode(m["data"], validate=True), expected + 1)
    if len(raw) != expected:
        raise ProjectFileError(f"{where}: mask data does not match shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def _check_stroke_fields(d: dict[str, Any], where: str) -> None:
    """Units are integers, names are strings, strength and quantile are numbers."""
    units = d["units"]
    if not isinstance(units, list) or not all(
        isinstance(u, int) and not isinstance(u, bool) for u in units
    ):
        raise ProjectFileError(f"{where}: 'units' must be a list of integers")
    for key in ("concept", "action", "layer"):
        if not isinstance(d[key], str):
            raise ProjectFileError(f"{where}: {key!r} must be a string")
    for key in ("strength", "quantile"):
        if not isinstance(d[key], int | float) or isinstance(d[key], bool):
            raise ProjectFileError(f"{where}: {key!r} must be a number")


@dataclass(frozen=True)
class DocumentSnapshot:
    """An immutable picture of a document: the value a render request carries."""

    revision: int
    model_id: str
    layer: str
    seed: int
    strokes: tuple[Stroke, ...]  # visible committed strokes, then the preview if any
    picture: PictureBase | None = None  # an inverted picture the strokes edit, or None

    def with_seed(self, seed: int) -> DocumentSnapshot:
        return replace(self, seed=int(seed))

    def plain(self) -> DocumentSnapshot:
        """The same scene with no strokes (for compare views)."""
        return replace(self, strokes=())


Listener = Callable[[str], None]


@dataclass
class _State:
    seed: int
    layer: str
    strokes: tuple[Stroke, ...] = ()


# One undo (or redo) step: (start, end, strokes) turns the current stroke list ``cur`` into
# ``cur[:start] + strokes + cur[end:]``. Adding a stroke costs O(1) history, not O(strokes).
_Splice = tuple[int, int, tuple[Stroke, ...]]


def _history() -> deque[_Splice]:
    return deque(maxlen=UNDO_LIMIT)


@dataclass
class EditDocument:
    """The document the user edits. Notifies listeners with a change kind: ``"strokes"``,
    ``"preview"``, ``"seed"``, ``"layer"``, ``"loaded"`` or ``"saved"``."""

    model_id: str
    layer: str
    seed: int = 0
    _strokes: tuple[Stroke, ...] = ()
    revision: int = 0
    preview: Stroke | None = None
    modified: bool = False
    _undo: deque[_Splice] = field(default_factory=_history)
    _redo: deque[_Splice] = field(default_factory=_history)
    _listeners: list[Listener] = field(default_factory=list)
    # The inverted picture this document edits (None: the generated scene for ``seed``).
    picture: PictureBase | None = None
    # why the undo history read with the strokes (an autosave's) was dropped, or None
    history_problem: str | None = None
    # (stroke index, revision) of the last strength change: a merged change joins its step
    _merge_with: tuple[int, int] | None = field(default=None, repr=False, compare=False)
    # True while listeners hear a change that joined the step before it (a slider's later
    # values): the app's autosave waits for the slider to rest
    merging: bool = field(default=False, repr=False, compare=False)

    # -- notifications -------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(kind)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _changed(self, kind: str, modified: bool = True) -> None:
        self.revision += 1
        if modified:
            self.modified = True
        for listener in list(self._listeners):
            listener(kind)

    # -- reading -------------------------------------------------------------------------

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        return self._strokes

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def snapshot(self) -> DocumentSnapshot:
        visible = tuple(s for s in self._strokes if s.visible)
        if self.preview is not None:
            visible += (self.preview,)
        return DocumentSnapshot(
            self.revision, self.model_id, self.layer, self.seed, visible, self.picture
        )

    # -- editing (each call is one undo step) ----------------------------------------------

    def _apply(self, splice: _Splice) -> _Splice:
        """Apply ``splice`` to the stroke list; returns the splice that reverts it."""
        start, end, strokes = splice
        cur = self._strokes
        self._strokes = cur[:start] + strokes + cur[end:]
        return (start, start + len(strokes), cur[start:end])

    def _set_strokes(self, start: int, end: int, strokes: tuple[Stroke, ...]) -> None:
        """Replace ``strokes[start:end]`` by ``strokes``: one undo step."""
        self._undo.append(self._apply((start, end, strokes)))
        self._redo.clear()
        self._changed("strokes")

    def _index(self, index: int) -> int:
        return range(len(self._strokes))[index]  # IndexError as a list would raise it

    def add_stroke(self, stroke: Stroke) -> None:
        if len(self._strokes) >= MAX_STROKES:
            raise ValueError(f"a document holds at most {MAX_STROKES} strokes")
        self.preview = None
        n = len(self._strokes)
        self._set_strokes(n, n, (stroke,))

    def remove_stroke(self, index: int) -> None:
        i = self._index(index)
        self._set_strokes(i, i + 1, ())

    def set_visible(self, index: int, visible: bool) -> None:
        i = self._index(index)
        self._set_strokes(i, i + 1, (self._strokes[i].with_visible(visible),))

    def set_strength(self, index: int, strength: float, merge: bool = False) -> None:
        """Give stroke ``index`` another strength: one undo step. With ``merge``, a change
        right after another of the same stroke's strength (nothing else in between) joins
        that step, so a slider dragged through many values is undone at once."""
        i = self._index(index)
        changed = (self._strokes[i].with_strength(strength),)
        if merge and self._merge_with == (i, self.revision):
            self._apply((i, i + 1, changed))  # the step already made reverts to the first
            self.merging = True
            try:
                self._changed("strokes")
            finally:
                self.merging = False
        else:
            self._set_strokes(i, i + 1, changed)
        self._merge_with = (i, self.revision)

    def show_only(self, index: int | None) -> None:
        """Show stroke ``index`` alone, or every stroke (``None``): one undo step, which
        leaves the strokes whose visibility stays as they are."""
        keep = None if index is None else self._index(index)
        strokes = self._strokes
        shown = tuple(
            s if s.visible == (keep is None or j == keep) else s.with_visible(not s.visible)
            for j, s in enumerate(strokes)
        )
        if any(a is not b for a, b in zip(shown, strokes, strict=True)):
            self._set_strokes(0, len(strokes), shown)

    def reset(self) -> None:
        """Remove every stroke and any live preview (one undo step)."""
        self.preview = None
        if self._strokes:
            self._set_strokes(0, len(self._strokes), ())
        else:
            self._changed("strokes", modified=False)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self._apply(self._undo.pop()))
        self._changed("strokes")
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self._apply(self._redo.pop()))
        self._changed("strokes")
        return True

    def history_to_dict(self) -> dict[str, Any]:
        """The undo/redo history as JSON (:mod:`ganpaint.engine.history`): the autosave keeps
        it, so that restored work can still be undone."""
        return encode_history(self._strokes, self._undo, self._redo)

    def restore_history(self, d: Any, where: str = "history") -> None:
        """Take the history :meth:`history_to_dict` wrote for these strokes;
        :class:`ProjectFileError` (and the history unchanged) when it is damaged."""
        undo, redo = decode_history(
            d, self._strokes, Stroke.from_dict, UNDO_LIMIT, where, MAX_STROKES
        )
        self._undo, self._redo = deque(undo, maxlen=UNDO_LIMIT), deque(redo, maxlen=UNDO_LIMIT)

    @property
    def history_size(self) -> tuple[int, int]:
        """(undo steps, stroke references the undo/redo history holds): for diagnostics."""
        steps = len(self._undo)
        refs = sum(len(s[2]) for s in self._undo) + sum(len(s[2]) for s in self._redo)
        return steps, refs

    def set_preview(self, stroke: Stroke | None) -> None:
        """Show ``stroke`` live (not an undo step); ``None`` clears it."""
        if stroke is None and self.preview is None:
            return
        self.preview = stroke
        self._changed("preview", modified=False)

    def set_seed(self, seed: int) -> None:
        """Show another scene; the strokes stay (that is how edits move to another seed)."""
        seed = int(seed)
        if seed != self.seed:
            self.seed = seed
            self._changed("seed")

    def set_layer(self, layer: str) -> None:
        if layer != self.layer:
            self.layer = layer
            self._changed("layer")

    def assign(self, other: EditDocument) -> None:
        """Take ``other``'s content (after a successful load); listeners are kept."""
        self.model_id, self.layer, self.seed = other.model_id, other.layer, other.seed
        self._strokes = other.strokes
        self.picture = other.picture
        self.preview = None
        self._undo = deque(other._undo, maxlen=UNDO_LIMIT)  # an autosave's; a project has none
        self._redo = deque(other._redo, maxlen=UNDO_LIMIT)
        self.revision += 1
        self.modified = False
        for listener in list(self._listeners):
            listener("loaded")

    # -- files ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d = {
            "format": PROJECT_FORMAT,
            "version": PROJECT_VERSION,
            "model": {"id": self.model_id},
            "layer": self.layer,
            "seed": self.seed,
            "strokes": [s.to_dict() for s in self._strokes],
        }
        if self.picture is not None:
            d["picture"] = self.picture.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "project") -> EditDocument:
        if not isinstance(d, dict) or d.get("format") != PROJECT_FORMAT:
            raise ProjectFileError(
                f"{where}: not a GANPaint project (format is not {PROJECT_FORMAT!r})"
            )
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ProjectFileError(f"{where}: project version is missing")
        if version > PROJECT_VERSION:
            raise ProjectFileError(
                f"{where}: project version {version} is newer than this app supports "
                f"({PROJECT_VERSION}); update GANPaint"
            )
        model = d.get("model")
        if not isinstance(model, dict) or not isinstance(model.get("id"), str):
            raise ProjectFileError(f"{where}: 'model.id' must be a string")
        layer, seed, strokes = d.get("layer"), d.get("seed"), d.get("strokes")
        if not isinstance(layer, str):
            raise ProjectFileError(f"{where}: 'layer' must be a string")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
            raise ProjectFileError(f"{where}: 'seed' must be an integer in 0..2**32-1")
        if not isinstance(strokes, list) or len(strokes) > MAX_STROKES:
            raise ProjectFileError(f"{where}: 'strokes' must be a list")
        parsed = tuple(
            Stroke.from_dict(s, f"{where}: stroke {i + 1}") for i, s in enumerate(strokes)
        )
        picture = None
        if "picture" in d:
            if version < 2:
                raise ProjectFileError(f"{where}: a 'picture' needs project version 2")
            picture = PictureBase.from_dict(d["picture"], f"{where}: picture")
        doc = cls(model_id=model["id"], layer=layer, seed=seed, _strokes=parsed, picture=picture)
        doc._take_history(d.get("history"), f"{where}: history")
        return doc

    def _take_history(self, d: Any, where: str) -> None:
        """An autosave's undo history (None: none): damaged, it costs only itself
        (``history_problem``)."""
        if d is None:
            return
        try:
            self.restore_history(d, where)
        except ProjectFileError as exc:
            self.history_problem = str(exc)

    def save(self, path: str | Path) -> None:
        """Write the project atomically (temporary file, then rename)."""
        atomic_write_text(path, json.dumps(self.to_dict(), separators=(",", ":")))
        self.modified = False
        for listener in list(self._listeners):
            listener("saved")

    @classmethod
    def load(cls, path: str | Path) -> EditDocument:
        """Read a project file; raises :class:`ProjectFileError` naming the problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProjectFileError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProjectFileError(f"{path}: cannot read ({exc})") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            # ValueError: also a number of more than 4300 digits; RecursionError: deep nesting
            raise ProjectFileError(
                f"{path}: not a GANPaint project (invalid JSON: {exc})"
            ) from None
        return cls.from_dict(data, str(path))
