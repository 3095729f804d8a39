"""Mutators for fuzzing: random JSON biased towards edge values, one structural change in a
JSON value, raw JSON text that ``json.dumps`` cannot write, and byte-level changes. Plain
functions over :class:`random.Random`, so a case made from a seed is made again the same."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
from typing import Any

# Raw JSON text that json.dumps cannot produce but a hostile file can hold.
RAW_VALUES = (
    "1" * 5000,  # an integer of more than 4300 digits: int() raises ValueError
    "-" + "9" * 400,  # fits the digit limit, overflows float()
    "1e999",  # inf
    "-1e999",
    "NaN",
    "Infinity",
    "[" * 5000 + "]" * 5000,  # nesting deeper than the recursion limit
    '{"a":' * 3000 + "1" + "}" * 3000,
    '"\\ud800"',  # a lone surrogate
    '"\\u0000"',
    "0.1e-400",
    "-0",
)

EDGE_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    255,
    256,
    4096,
    4097,
    2**31,
    2**32,
    2**32 - 1,
    2**63,
    -(2**63),
    10**30,
    10**400,
    0.0,
    -0.0,
    0.5,
    0.99,
    1.0,
    1.5,
    -1e-9,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    "draw",
    "remove",
    "layer4",
    "zlib-base64-u8",
    "ganpaint-project",
    "ganpaint-bundle",
    "x" * 1000,
    "\u00e9\u4e2d\U0001f600",
    "\x00",
    "../../etc/passwd",
    "/etc/passwd",
    "AAAA",
    "====",
    [],
    {},
    [0],
    [1, 1],
    [4096, 4096],
    [0, 5],
    [-1, 4],
)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON-able value, biased towards edge values, nested at most a few levels."""
    r = rng.random()
    if r < 0.35:
        return copy.deepcopy(rng.choice(EDGE_VALUES))  # callers mutate what they get
    if r < 0.5:
        return rng.randint(-(2**40), 2**40)
    if r < 0.6:
        return rng.uniform(-1e6, 1e6)
    if r < 0.72:
        n = rng.randint(0, 12)
        return "".join(
            chr(rng.choice((rng.randint(32, 126), rng.randint(0, 0x2FFF)))) for _ in range(n)
        )
    if depth >= 4:
        return copy.deepcopy(rng.choice(EDGE_VALUES))
    if r < 0.86:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["format", "version", "model", "id", "layer", "seed", "strokes", "mask", "shape"]
    return {
        rng.choice(keys) if rng.random() < 0.5 else str(random_json(rng, 4)): random_json(
            rng, depth + 1
        )
        for _ in range(rng.randint(0, 4))
    }


RAW_TOKEN = "\x00raw{}\x00"


def dumps_with_raw(value: Any, raws: list[str]) -> str:
    """``json.dumps(value)`` with each ``RAW_TOKEN.format(i)`` string replaced by ``raws[i]``."""
    text = json.dumps(value, allow_nan=True)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(RAW_TOKEN.format(i)), raw)
    return text


def _positions(value: Any, out: list, limit: int = 2000) -> list:
    """Every (container, key) inside ``value``, containers first; at most ``limit``."""
    stack = [value]
    while stack and len(out) < limit:
        v = stack.pop()
        if isinstance(v, dict):
            for k in list(v):
                out.append((v, k))
                stack.append(v[k])
        elif isinstance(v, list):
            for i in range(len(v)):
                out.append((v, i))
                stack.append(v[i])
    return out


def mutate_json(rng: random.Random, value: Any, raws: list[str] | None = None) -> Any:
    """One structural change somewhere in a JSON value (modified in place where possible).

    With ``raws``, a value may be replaced by a raw-text token (see :func:`dumps_with_raw`).
    """
    positions = _positions(value, [])
    if not positions or rng.random() < 0.03:
        return random_json(rng)
    parent, key = rng.choice(positions)
    old = parent[key]
    op = rng.random()
    if op < 0.15:  # delete
        del parent[key]
    elif op < 0.45:  # replace by a random or edge value
        parent[key] = random_json(rng)
    elif op < 0.55 and raws is not None:  # replace by raw text
        raws.append(rng.choice(RAW_VALUES))
        parent[key] = RAW_TOKEN.format(len(raws) - 1)
    elif op < 0.7:
        parent[key] = _tweaked(rng, old)
    else:
        _grow_or_swap(rng, op, positions, parent, key, old)
    return value


def _tweaked(rng: random.Random, old: Any) -> Any:
    """A number or string changed a little; anything else wrapped or turned into text."""
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        as_float = float(old) if abs(old) < 2**1000 else math.inf  # float() overflows beyond
        return rng.choice((old + 1, old - 1, -old, old * 1000, as_float, str(old), 2**64 + old))
    if isinstance(old, float):
        return rng.choice(
            (old * 2, -old, math.nan, math.inf, int(old) if math.isfinite(old) else 0)
        )
    if isinstance(old, str):
        if old and rng.random() < 0.5:
            i = rng.randrange(len(old))
            return old[:i] + rng.choice(("", "=", "\x00", "!", "A" * 9, "é")) + old[i + 1 :]
        return rng.choice((old * 3, old[: len(old) // 2], [old], {"v": old}))
    return rng.choice(([old], {"x": old}, json.dumps(old), None))


def _grow_or_swap(
    rng: random.Random, op: float, positions: list, parent: Any, key: Any, old: Any
) -> None:
    """Duplicate or grow a list, add a key to an object, or swap two positions' values."""
    if op < 0.8 and isinstance(parent, list):  # duplicate or grow
        parent.insert(key, old if rng.random() < 0.5 else random_json(rng))
        if rng.random() < 0.1:
            parent.extend([old] * rng.randint(2, 50))
    elif op < 0.9 and isinstance(parent, dict):  # an extra key
        parent[rng.choice(("extra", "__proto__", "", key + "_"))] = random_json(rng)
    else:  # swap with another position's value (copies: a swap into itself makes a cycle)
        other_parent, other_key = rng.choice(positions)
        with contextlib.suppress(KeyError, IndexError):
            other = copy.deepcopy(other_parent[other_key])
            other_parent[other_key] = copy.deepcopy(old)
            parent[key] = other


INTERESTING_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x01, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C)


def mutate_bytes(rng: random.Random, data: bytes, max_ops: int = 4) -> bytes:
    """1 to ``max_ops`` byte-level changes: bit flips, byte sets, truncation, chunk
    deletion, duplication, insertion and overwrite."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, max_ops)):
        n = len(buf)
        op = rng.random()
        if n == 0:
            buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            continue
        i = rng.randrange(n)
        if op < 0.3:
            buf[i] ^= 1 << rng.randrange(8)
        elif op < 0.45:
            buf[i] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
        elif op < 0.55:
            del buf[i:]
        elif op < 0.67:
            del buf[i : i + rng.randint(1, 64)]
        elif op < 0.77:
            j = rng.randrange(n)
            buf[i:i] = buf[j : j + rng.randint(1, 64)]
        elif op < 0.87:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            j = rng.randrange(n)
            chunk = buf[j : j + rng.randint(1, 32)]
            buf[i : i + len(chunk)] = chunk
    return bytes(buf)
