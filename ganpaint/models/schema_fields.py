"""Typed reading of JSON documents: value checks that name the key path at fault, frozen
JSON values, and the base of the schema dataclasses (:class:`Node`) that gives the same JSON
back, key order and unknown keys kept. :mod:`ganpaint.models.dissection` is built on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, TypeVar

from ganpaint.core.errors import BundleError

JsonMap = Mapping[str, Any]
_EMPTY: JsonMap = MappingProxyType({})
T = TypeVar("T")


class DissectionError(BundleError):
    """A ``dissection.json`` document is malformed or from a newer version."""


# ---- checks on JSON values --------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    """A number that arithmetic with floats can use (not an integer beyond float's range)."""
    if not _is_num(v):
        return False
    try:
        float(v)
    except OverflowError:
        return False
    return True


def _fail(path: str, expected: str, value: Any) -> DissectionError:
    shown = type(value).__name__ if not isinstance(value, str | int | float) else repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return DissectionError(f"{path}: expected {expected}, got {shown}")


def _check(pred: Callable[[Any], bool], expected: str) -> Callable[[Any, str], Any]:
    def check(v: Any, path: str) -> Any:
        if not pred(v):
            raise _fail(path, expected, v)
        return v

    return check


_int = _check(_is_int, "an integer")
_num = _check(_is_num, "a number")
_str = _check(lambda v: isinstance(v, str), "a string")
_bool = _check(lambda v: isinstance(v, bool), "true or false")


def _real(v: Any, path: str) -> Any:
    """A number that float arithmetic can use (a 400-digit integer is refused by name)."""
    if not _is_real(_num(v, path)):
        raise _fail(path, "a number within float's range", v)
    return v


def _opt_str(v: Any, path: str) -> str | None:
    return None if v is None else _str(v, path)


def _list(v: Any, path: str) -> list:
    if not isinstance(v, list):
        raise _fail(path, "a list", v)
    return v


def _tuple_of(item: Callable[[Any, str], T]) -> Callable[[Any, str], tuple[T, ...]]:
    def check(v: Any, path: str) -> tuple[T, ...]:
        return tuple(item(x, f"{path}[{i}]") for i, x in enumerate(_list(v, path)))

    return check


_ints = _tuple_of(_int)
_nums = _tuple_of(_num)
_strs = _tuple_of(_str)
_int_rows = _tuple_of(_ints)
_num_rows = _tuple_of(_nums)
_reals = _tuple_of(_real)
_real_rows = _tuple_of(_reals)


def _freeze(v: Any) -> Any:
    """JSON as immutable values: objects as read-only mappings, lists as tuples."""
    if isinstance(v, dict):
        return MappingProxyType({k: _freeze(x) for k, x in v.items()})
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def _thaw(v: Any) -> Any:
    """The JSON value behind :func:`_freeze`'d (or dataclass) data."""
    if isinstance(v, _Node):
        return v.to_dict()
    if isinstance(v, Mapping):
        return {k: _thaw(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        return [_thaw(x) for x in v]
    return v


def _json_map(v: Any, path: str) -> JsonMap | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise _fail(path, "an object", v)
    return _freeze(v)


class _Fields:
    """Reads the known keys of one JSON object and keeps the rest (and the key order)."""

    def __init__(self, d: Any, path: str):
        if not isinstance(d, dict):
            raise _fail(path or "the document", "an object", d)
        self.d, self.path, self.taken = d, path, set()

    def get(self, key: str, check: Callable[[Any, str], Any], default: Any = None) -> Any:
        self.taken.add(key)
        if key not in self.d:
            return default
        return check(self.d[key], f"{self.path}.{key}" if self.path else key)

    def rest(self) -> dict[str, Any]:
        return {
            "extra": _freeze({k: v for k, v in self.d.items() if k not in self.taken}),
            "keys": tuple(self.d),
        }


@dataclass(frozen=True)
class _Node:
    """Shared ``to_dict``: known fields (those present when read), then unknown keys, in
    the original key order when the object was read from a file."""

    extra: JsonMap = field(default_factory=lambda: _EMPTY, kw_only=True, compare=True, repr=False)
    keys: tuple[str, ...] = field(default=(), kw_only=True, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("extra", "keys"):
                continue
            value = getattr(self, f.name)
            if f.name in self.keys or (not self.keys and value is not None):
                out[f.name] = _thaw(value)
        out.update(_thaw(self.extra))
        if self.keys:
            order = {k: i for i, k in enumerate(self.keys)}
            out = dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))
        return out
