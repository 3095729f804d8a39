"""Fuzzers for the readers of untrusted files: ``.ganpaint`` projects, ``bundle.json`` (with
its bundle folder) and generator checkpoints.

Case ``i`` of a run is made from its own random stream, seeded by ``(seed, target, i)``, so
any case can be made again alone (:func:`make_case`). Each case is fed to the reader and
sorted into one of three outcomes:

* ``loaded``: the reader accepted it, and what it returned keeps its invariants (a loaded
  project saves and loads again unchanged; a loaded bundle's layers exist; a loaded
  generator runs);
* ``refused``: the reader raised the project's error for that reader;
* a bug: any other exception, a broken invariant, or a case over the time limit.

The mutators (:func:`mutate_bytes`, :func:`mutate_json`, :func:`random_json`) are plain
functions over :class:`random.Random`, so tests can use them too.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import math
import random
import signal
import struct
import tempfile
import threading
import time
import traceback
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.core.errors import BundleError, CheckpointError, ProjectFileError

TARGET_NAMES = ("project", "bundle", "checkpoint")

# -- random JSON and mutations -------------------------------------------------------------

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


_RAW_TOKEN = "\x00raw{}\x00"


def dumps_with_raw(value: Any, raws: list[str]) -> str:
    """``json.dumps(value)`` with each ``_RAW_TOKEN.format(i)`` string replaced by ``raws[i]``."""
    text = json.dumps(value, allow_nan=True)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(_RAW_TOKEN.format(i)), raw)
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
        parent[key] = _RAW_TOKEN.format(len(raws) - 1)
    elif op < 0.7:  # tweak a number or string, change the type of anything else
        if isinstance(old, bool):
            parent[key] = not old
        elif isinstance(old, int):
            parent[key] = rng.choice(
                (old + 1, old - 1, -old, old * 1000, float(old), str(old), 2**64 + old)
            )
        elif isinstance(old, float):
            parent[key] = rng.choice(
                (old * 2, -old, math.nan, math.inf, int(old) if math.isfinite(old) else 0)
            )
        elif isinstance(old, str):
            if old and rng.random() < 0.5:
                i = rng.randrange(len(old))
                parent[key] = (
                    old[:i] + rng.choice(("", "=", "\x00", "!", "A" * 9, "é")) + old[i + 1 :]
                )
            else:
                parent[key] = rng.choice((old * 3, old[: len(old) // 2], [old], {"v": old}))
        else:
            parent[key] = rng.choice(([old], {"x": old}, json.dumps(old), None))
    elif op < 0.8 and isinstance(parent, list):  # duplicate or grow
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
    return value


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


# -- outcomes ------------------------------------------------------------------------------


class InvariantError(AssertionError):
    """A reader accepted an input but what it returned is not usable."""


class CaseTimeout(BaseException):
    """A case ran past the time limit (a BaseException so readers' handlers cannot eat it)."""


@dataclass(frozen=True)
class Case:
    """One input: the files to write (name -> bytes, None deletes) and how it was made."""

    index: int
    kind: str
    description: str
    files: dict[str, bytes | None]


@dataclass
class Bug:
    index: int
    kind: str
    description: str
    error: str
    traceback: str


@dataclass
class FuzzReport:
    """What a fuzzing run found: counts per outcome and per kind of case, and the bugs."""

    target: str
    seed: int
    cases: int = 0
    loaded: int = 0
    refused: int = 0
    bug_count: int = 0
    bugs: list[Bug] = field(default_factory=list)  # the first few
    kinds: dict[str, Counter] = field(default_factory=dict)
    seconds: float = 0.0
    slowest_s: float = 0.0
    slowest_case: int = -1

    @property
    def ok(self) -> bool:
        return self.bug_count == 0

    def count(self, case: Case, outcome: str) -> None:
        self.cases += 1
        self.kinds.setdefault(case.kind, Counter())[outcome] += 1
        if outcome == "loaded":
            self.loaded += 1
        elif outcome == "refused":
            self.refused += 1
        else:
            self.bug_count += 1

    def lines(self) -> list[str]:
        """A human-readable summary."""
        out = [
            f"{self.target}: {self.cases} cases (seed {self.seed}) in {self.seconds:.1f} s: "
            f"{self.loaded} loaded, {self.refused} refused, {self.bug_count} bugs"
            f" (slowest case {self.slowest_case}: {self.slowest_s * 1000:.0f} ms)"
        ]
        for kind in sorted(self.kinds):
            c = self.kinds[kind]
            out.append(
                f"  {kind:<28} {c['loaded']:>6} loaded {c['refused']:>6} refused {c['bug']:>4} bugs"
            )
        for bug in self.bugs:
            out.append(
                f"  BUG case {bug.index} ({bug.kind}: {_clip(bug.description)}): "
                f"{_clip(bug.error, 300)}"
            )
            out.extend("    " + _clip(line) for line in bug.traceback.rstrip().splitlines()[-6:])
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seed": self.seed,
            "cases": self.cases,
            "loaded": self.loaded,
            "refused": self.refused,
            "bugs": self.bug_count,
            "seconds": round(self.seconds, 3),
            "slowest_ms": round(self.slowest_s * 1000, 1),
            "kinds": {k: dict(v) for k, v in sorted(self.kinds.items())},
            "examples": [
                {
                    "case": b.index,
                    "kind": b.kind,
                    "description": b.description,
                    "error": b.error,
                }
                for b in self.bugs
            ],
        }


def _clip(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the block after ``seconds`` (POSIX main thread only;
    elsewhere the caller still compares the elapsed time)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CaseTimeout(f"over the {seconds:.0f} s time limit")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- targets -------------------------------------------------------------------------------


class Target:
    """A reader under test: makes cases and runs one."""

    name = ""
    refusals: tuple[type[BaseException], ...] = ()

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def make(self, rng: random.Random, index: int) -> Case:
        raise NotImplementedError

    def run(self, case: Case) -> None:
        """Feed the case to the reader: return if it loaded (and is sound), raise otherwise."""
        raise NotImplementedError

    def write(self, folder: Path, case: Case) -> None:
        for name, data in case.files.items():
            p = folder / name
            if data is None:
                p.unlink(missing_ok=True)
            else:
                p.write_bytes(data)


def _mask_dict(mask: np.ndarray) -> dict[str, Any]:
    packed = base64.b64encode(zlib.compress(mask.tobytes(), 6)).decode("ascii")
    return {"shape": list(mask.shape), "encoding": "zlib-base64-u8", "data": packed}


def random_mask(rng: random.Random, h: int, w: int) -> np.ndarray:
    """A brush-like uint8 mask: a soft disc or a box, sometimes noise."""
    m = np.zeros((h, w), np.uint8)
    r = rng.random()
    if r < 0.15:
        gen = np.random.default_rng(rng.randrange(2**32))
        return gen.integers(0, 256, size=(h, w), dtype=np.uint8)
    if r < 0.55:
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        rad = rng.uniform(1.0, max(h, w) / 3 + 1)
        yy, xx = np.mgrid[0:h, 0:w]
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        return (np.clip(1.0 - d / rad, 0, 1) * 255).astype(np.uint8)
    y0, x0 = rng.randrange(h), rng.randrange(w)
    m[y0 : rng.randint(y0, h), x0 : rng.randint(x0, w)] = rng.choice((255, 128, 1))
    return m


def valid_project(rng: random.Random, strokes: int | None = None) -> dict[str, Any]:
    """A well-formed project dictionary with a few random strokes."""
    n = rng.randint(0, 3) if strokes is None else strokes
    side = rng.choice((1, 4, 8, 16, 32, 33))
    out = []
    for _ in range(n):
        h, w = (side, side) if rng.random() < 0.8 else (rng.randint(1, 40), rng.randint(1, 40))
        out.append(
            {
                "concept": rng.choice(("tree", "dome", "", "sky")),
                "action": rng.choice(("draw", "remove")),
                "units": sorted(rng.sample(range(64), rng.randint(0, 5))),
                "strength": rng.choice((0.0, 1.0, rng.random())),
                "quantile": rng.choice((0.99, 0.5, rng.uniform(0.01, 0.999))),
                "layer": rng.choice(("layer4", "layer6")),
                "visible": rng.random() < 0.9,
                "mask": _mask_dict(random_mask(rng, h, w)),
            }
        )
    return {
        "format": "ganpaint-project",
        "version": 1,
        "model": {"id": rng.choice(("scenes128", "m", ""))},
        "layer": "layer4",
        "seed": rng.choice((0, 1, 2**32 - 1, rng.randrange(2**32))),
        "strokes": out,
    }


class ProjectTarget(Target):
    """``EditDocument.load`` (and so ``from_dict``/``Stroke.from_dict``): only
    :class:`ProjectFileError`; a loaded project must save and load back unchanged."""

    name = "project"
    refusals = (ProjectFileError,)
    FILE = "case.ganpaint"

    def __init__(self, workdir: Path):
        import ganpaint.engine.document  # noqa: F401 - imported here, not timed in case 0

        super().__init__(workdir)
        self._bomb: str | None = None

    def bomb(self) -> str:
        """base64 of zlib data that inflates to 64 MiB (made once)."""
        if self._bomb is None:
            self._bomb = base64.b64encode(zlib.compress(bytes(64 << 20), 9)).decode("ascii")
        return self._bomb

    def make(self, rng: random.Random, index: int) -> Case:
        r = rng.random()
        raws: list[str] = []
        if r < 0.08:
            kind, desc = "valid", "a well-formed project"
            text = json.dumps(valid_project(rng))
        elif r < 0.38:
            d = valid_project(rng, strokes=rng.randint(1, 3))
            n = rng.randint(1, 3)
            for _ in range(n):
                d = mutate_json(rng, d, raws)
            kind, desc = "structure", f"{n} structural mutations, {len(raws)} raw values"
            text = dumps_with_raw(d, raws)
        elif r < 0.53:
            d = valid_project(rng, strokes=rng.randint(1, 2))
            kind, desc = "mask", self._mutate_mask(rng, d["strokes"][-1]["mask"])
            text = json.dumps(d)
        elif r < 0.73:
            kind = "bytes"
            base = json.dumps(valid_project(rng, strokes=rng.randint(0, 2))).encode()
            data = mutate_bytes(rng, base)
            return Case(index, kind, "byte mutations of a valid project", {self.FILE: data})
        elif r < 0.85:
            d = random_json(rng)
            if isinstance(d, dict) and rng.random() < 0.7:
                d.update({"format": "ganpaint-project", "version": rng.choice((0, 1, True))})
            kind, desc = "random-json", "a random JSON value"
            text = json.dumps(d)
        else:
            kind = "raw-text"
            choice = rng.randrange(8)
            data = [
                b"",
                b"\xef\xbb\xbf{}",
                b"\xff\xfe\x00\x00",
                b'{"format": "ganpaint-project", "version": 1' + b"\x00" * 10,
                ("[" * 100_000).encode(),
                b'{"format":"ganpaint-project","version":' + b"9" * 5000 + b"}",
                b"\x80" * 100,
                json.dumps(valid_project(rng, 1)).encode("utf-16"),
            ][choice]
            return Case(index, kind, f"raw text #{choice}", {self.FILE: data})
        return Case(index, kind, desc, {self.FILE: text.encode("utf-8", "surrogatepass")})

    def _mutate_mask(self, rng: random.Random, mask: dict[str, Any]) -> str:
        shape = mask["shape"]
        op = rng.randrange(10)
        if op == 0:
            mask["data"] = self.bomb()
            return "zlib bomb (64 MiB) behind a small shape"
        if op == 1:
            mask["shape"], mask["data"] = [4096, 4096], self.bomb()
            return "zlib bomb (64 MiB) behind the largest shape"
        if op == 2:
            mask["data"] = mask["data"][: rng.randrange(len(mask["data"]) + 1)]
            return "truncated base64"
        if op == 3:
            raw = zlib.compress(bytes(shape[0] * shape[1]))
            mask["data"] = base64.b64encode(raw[: rng.randrange(len(raw))]).decode()
            return "truncated zlib stream"
        if op == 4:
            raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
            mask["data"] = base64.b64encode(raw).decode()
            return "not zlib data"
        if op == 5:
            raw = zlib.compress(bytes(shape[0] * shape[1])) + b"trailing"
            mask["data"] = base64.b64encode(raw).decode()
            return "zlib data with trailing bytes"
        if op == 6:
            mask["shape"] = rng.choice(
                ([0, 0], [-4, -4], [4097, 1], [1, 2, 3], [shape[1], shape[0]], ["4", "4"])
            )
            return f"shape {mask['shape']}"
        if op == 7:
            mask["encoding"] = rng.choice(("zlib", "raw", None, 7))
            return "unknown encoding"
        if op == 8:
            mask["data"] = mask["data"] + rng.choice(("!", "=", "\n", "AAA"))
            return "invalid base64"
        raw = zlib.compress(bytes(shape[0] * shape[1] - 1))
        mask["data"] = base64.b64encode(raw).decode()
        return "one byte short"

    def run(self, case: Case) -> None:
        from ganpaint.engine.document import EditDocument

        self.write(self.workdir, case)
        doc = EditDocument.load(self.workdir / self.FILE)
        check_project(doc)


def check_project(doc) -> None:
    """Invariants of a loaded document: it snapshots, saves as strict JSON and loads back
    the same."""
    from ganpaint.engine.document import EditDocument

    doc.snapshot()
    try:
        text = json.dumps(doc.to_dict(), allow_nan=False)
        back = EditDocument.from_dict(json.loads(text))
    except Exception as exc:  # noqa: BLE001 - any failure here is what we report
        raise InvariantError(f"loaded project does not save and load back: {exc!r}") from exc
    same = (back.model_id, back.layer, back.seed, len(back.strokes)) == (
        doc.model_id,
        doc.layer,
        doc.seed,
        len(doc.strokes),
    )
    for a, b in zip(doc.strokes, back.strokes, strict=False):
        same = same and (
            (a.concept, a.action, a.units, a.strength, a.quantile, a.layer, a.visible)
            == (b.concept, b.action, b.units, b.strength, b.quantile, b.layer, b.visible)
            and np.array_equal(a.mask, b.mask)
        )
    if not same:
        raise InvariantError("loaded project changes when saved and loaded again")


def tiny_generator(widths=(8, 8, 8), z_dim: int = 8, seed: int = 0):
    """A small random generator (8 px for the default widths), deterministic for a seed."""
    import torch

    from ganpaint.models.progan import ProGANGenerator

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = ProGANGenerator(list(widths), z_dim=z_dim)
        for p in gen.parameters():
            torch.nn.init.normal_(p, std=0.5)
    return gen.eval().requires_grad_(False)


class BundleTarget(Target):
    """``read_bundle_json`` (only :class:`BundleError`) and ``load_bundle`` (also
    :class:`CheckpointError`) on a bundle folder whose ``bundle.json`` or ``dissection.json``
    is mutated; a loaded bundle's edit and default layers must exist."""

    name = "bundle"
    refusals = (BundleError, CheckpointError)

    def __init__(self, workdir: Path):
        from ganpaint.models.bundle import write_bundle_json
        from ganpaint.models.checkpoint import save_generator

        super().__init__(workdir)
        self.folder = workdir / "bundle"
        self.folder.mkdir(parents=True, exist_ok=True)
        gen = tiny_generator()
        save_generator(gen, self.folder / "generator.safetensors")
        dissection = {
            "format": "ganpaint-dissection",
            "version": 1,
            "layers": {"layer4": {"units": 8, "quantiles": [0.5, 0.99], "levels": [[0.1, 1.0]]}},
        }
        (self.folder / "dissection.json").write_text(json.dumps(dissection))
        self.meta = write_bundle_json(
            self.folder,
            {
                "name": "tiny",
                "architecture": "progan",
                "widths": list(gen.widths),
                "edit_layers": ["layer4", "layer2"],
                "default_layer": "layer4",
                "concepts": ["tree", "sky"],
            },
        )
        self.originals = {
            n: (self.folder / n).read_bytes() for n in ("bundle.json", "dissection.json")
        }

    def make(self, rng: random.Random, index: int) -> Case:
        meta = json.loads(self.originals["bundle.json"])
        r = rng.random()
        raws: list[str] = []
        if r < 0.05:
            return Case(index, "valid", "the bundle as written", {})
        if r < 0.45:
            n = rng.randint(1, 3)
            for _ in range(n):
                meta = mutate_json(rng, meta, raws)
            text = dumps_with_raw(meta, raws).encode("utf-8", "surrogatepass")
            return Case(index, "structure", f"{n} mutations of bundle.json", {"bundle.json": text})
        if r < 0.6:
            name, value = self._files_entry(rng)
            meta["files"][name] = value
            text = json.dumps(meta).encode()
            desc = f"files entry {name!r}: {str(value)[:60]}"
            return Case(index, "files", desc, {"bundle.json": text})
        if r < 0.75:
            data = mutate_bytes(rng, self.originals["bundle.json"])
            return Case(index, "bytes", "byte mutations of bundle.json", {"bundle.json": data})
        if r < 0.82:
            text = json.dumps(random_json(rng)).encode()
            return Case(index, "random-json", "random JSON as bundle.json", {"bundle.json": text})
        if r < 0.88:
            raw = rng.choice(RAW_VALUES).encode()
            return Case(index, "raw-text", "raw JSON text as bundle.json", {"bundle.json": raw})
        if r < 0.9:
            return Case(index, "missing", "no bundle.json", {"bundle.json": None})
        # dissection.json: listed with its hash in bundle.json, so keep the hash in step
        if rng.random() < 0.5:
            d = json.loads(self.originals["dissection.json"])
            d = mutate_json(rng, d, raws)
            dis = dumps_with_raw(d, raws).encode("utf-8", "surrogatepass")
        else:
            dis = mutate_bytes(rng, self.originals["dissection.json"])
        import hashlib

        meta["files"]["dissection.json"] = {"sha256": hashlib.sha256(dis).hexdigest()}
        files = {"bundle.json": json.dumps(meta).encode(), "dissection.json": dis}
        return Case(index, "dissection", "a mutated dissection.json", files)

    def _files_entry(self, rng: random.Random) -> tuple[str, Any]:
        name = rng.choice(
            (
                "generator.safetensors",
                "dissection.json",
                "segmenter.safetensors",
                "../bundle/generator.safetensors",
                "/etc/passwd",
                ".hidden",
                "",
                "bundle.json",
                "a\x00b",
                "C:evil",
                "..",
                "x" * 300,
            )
        )
        value = rng.choice(
            (
                {"sha256": "0" * 64},
                {"sha256": None},
                {"sha256": 7},
                {"sha256": ["x"]},
                {},
                None,
                "sha",
                [1, 2],
                {"sha256": self.meta["files"]["generator.safetensors"]["sha256"].upper()},
            )
        )
        return name, value

    def run(self, case: Case) -> None:
        from ganpaint.models.bundle import load_bundle, read_bundle_json
        from ganpaint.models.dissection import Dissection

        for name, data in self.originals.items():
            (self.folder / name).write_bytes(data)
        self.write(self.folder, case)
        read_bundle_json(self.folder)
        bundle = load_bundle(self.folder)
        names = bundle.generator.layer_names
        if not all(layer in names for layer in bundle.edit_layers):
            raise InvariantError(f"edit layers {bundle.edit_layers} not all in the generator")
        if bundle.default_layer not in names:
            raise InvariantError(f"default layer {bundle.default_layer!r} not in the generator")
        if not all(isinstance(c, str) for c in bundle.concepts):
            raise InvariantError("concepts are not all names")
        if bundle.dissection is not None and not isinstance(bundle.dissection, Dissection):
            raise InvariantError("dissection is not an object")


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _zip_from(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


class CheckpointTarget(Target):
    """``load_generator`` on mutated checkpoints (safetensors, torch zip, torch legacy):
    only :class:`CheckpointError`; a loaded generator must run."""

    name = "checkpoint"
    refusals = (CheckpointError,)

    def __init__(self, workdir: Path):
        import torch
        from safetensors.torch import save_file

        super().__init__(workdir)
        gen = tiny_generator((8, 8), z_dim=8)
        sd = {k: v.contiguous() for k, v in gen.state_dict().items()}
        old = {}
        for k, v in sd.items():
            m = k.split(".", 1)
            if m[0].startswith("layer"):
                old[f"features.{int(m[0][5:]) - 1}.{m[1]}"] = v
            else:
                old[f"output.{m[1]}"] = v
        seeds: dict[str, bytes] = {}
        p = workdir / "seed.safetensors"
        save_file(sd, str(p))
        seeds["safetensors-f32"] = p.read_bytes()
        save_file({k: v.half() for k, v in sd.items()}, str(p))
        seeds["safetensors-f16"] = p.read_bytes()
        p = workdir / "seed.pth"
        torch.save(sd, p)
        seeds["torch-zip"] = p.read_bytes()
        torch.save({"state_dict": {"module." + k: v for k, v in old.items()}}, p)
        seeds["torch-zip-wrapped-old-names"] = p.read_bytes()
        torch.save(sd, p, _use_new_zipfile_serialization=False)
        seeds["torch-legacy"] = p.read_bytes()
        p.unlink()
        (workdir / "seed.safetensors").unlink()
        self.seeds = seeds

    def make(self, rng: random.Random, index: int) -> Case:
        seed_name = rng.choice(sorted(self.seeds))
        data = self.seeds[seed_name]
        suffix = ".safetensors" if seed_name.startswith("safetensors") else ".pth"
        r = rng.random()
        if r < 0.05:
            kind, desc = "valid", seed_name
        elif r < 0.5:
            kind, desc = "bytes", f"byte mutations of {seed_name}"
            data = mutate_bytes(rng, data, max_ops=3)
        elif r < 0.6:
            cut = rng.randrange(len(data))
            kind, desc = "truncated", f"{seed_name} cut at {cut} of {len(data)} bytes"
            data = data[:cut]
        elif suffix == ".safetensors":
            kind, desc, data = "safetensors-header", *self._mutate_header(rng, data)
        else:
            kind, desc, data = "torch-records", *self._mutate_records(rng, data, seed_name)
        if rng.random() < 0.1:
            suffix = ".pth" if suffix == ".safetensors" else ".safetensors"
            kind, desc = f"{kind}-renamed", f"{desc}, named {suffix}"
        return Case(index, kind, desc, {f"case{suffix}": data})

    def _mutate_header(self, rng: random.Random, data: bytes) -> tuple[str, bytes]:
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + n])
        body = data[8 + n :]
        raws: list[str] = []
        for _ in range(rng.randint(1, 2)):
            header = mutate_json(rng, header, raws)
        if rng.random() < 0.3 and isinstance(header, dict):  # a plausible lie
            key = rng.choice(sorted(header) or ["x"])
            header[key] = {
                "dtype": rng.choice(("F32", "F16", "I64", "BOOL", "U8", "F8_E4M3", "c64")),
                "shape": rng.choice(([10**6, 10**6], [8, 8, 3, 3], [0], [2**40], [3])),
                "data_offsets": rng.choice(([0, 4], [0, len(body) + 8], [4, 0], [0, 2**63])),
            }
        text = dumps_with_raw(header, raws).encode("utf-8", "surrogatepass")
        length = len(text)
        desc = f"header mutated ({len(raws)} raw values)"
        if rng.random() < 0.25:
            length = rng.choice((0, 1, length - 1, length + 1, 2**63, 2**64 - 1, 16 << 20))
            desc += f", header length says {length}"
        return desc, struct.pack("<Q", length) + text + body

    def _mutate_records(self, rng: random.Random, data: bytes, seed_name: str) -> tuple[str, bytes]:
        if seed_name == "torch-legacy":
            return "byte mutations of the legacy pickle", mutate_bytes(rng, data, 2)
        members = _zip_members(data)
        i = rng.randrange(len(members))
        if rng.random() < 0.6:  # the pickle is the interesting part
            i = next((j for j, (n, _) in enumerate(members) if n.endswith("data.pkl")), i)
        name, body = members[i]
        op = rng.random()
        if op < 0.7:
            members[i] = (name, mutate_bytes(rng, body, 3))
            desc = f"record {name} mutated"
        elif op < 0.85:
            del members[i]
            desc = f"record {name} removed"
        else:
            members.append((name.rsplit("/", 1)[0] + "/constants.pkl", b""))
            desc = "a TorchScript-like record added"
        return desc, _zip_from(members)

    def run(self, case: Case) -> None:
        import torch

        from ganpaint.models.checkpoint import load_generator

        for p in self.workdir.glob("case.*"):
            p.unlink()
        self.write(self.workdir, case)
        (name,) = case.files
        gen = load_generator(self.workdir / name)
        with torch.inference_mode():
            out = gen(torch.zeros(1, gen.z_dim))
        if out.shape != (1, 3, gen.resolution, gen.resolution):
            raise InvariantError(f"generator output has shape {tuple(out.shape)}")


TARGETS: dict[str, type[Target]] = {
    "project": ProjectTarget,
    "bundle": BundleTarget,
    "checkpoint": CheckpointTarget,
}


def case_rng(seed: int, target: str, index: int) -> random.Random:
    """The random stream of one case (a string seed: stable across runs and platforms)."""
    return random.Random(f"ganpaint-fuzz/{seed}/{target}/{index}")


def make_case(target: Target, seed: int, index: int) -> Case:
    """Case ``index`` of a run with ``seed``, made again alone."""
    return target.make(case_rng(seed, target.name, index), index)


def run_case(target: Target, case: Case, limit_s: float | None = 20.0) -> tuple[str, str]:
    """Run one case: ("loaded" | "refused" | "bug", error text with traceback for a bug)."""
    start = time.perf_counter()
    try:
        with time_limit(limit_s):
            target.run(case)
        outcome, text = "loaded", ""
    except target.refusals:
        outcome, text = "refused", ""
    except CaseTimeout as exc:
        outcome, text = "bug", f"hang: {exc}\n"
    except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
        outcome = "bug"
        text = f"{type(exc).__name__}: {str(exc)[:300]}\n{traceback.format_exc()}"
    elapsed = time.perf_counter() - start
    if outcome != "bug" and limit_s is not None and elapsed > limit_s:
        outcome, text = "bug", f"hang: took {elapsed:.1f} s (limit {limit_s:.0f} s)\n"
    return outcome, text


def fuzz(
    target: str,
    cases: int,
    seed: int = 0,
    workdir: str | Path | None = None,
    max_examples: int = 5,
    limit_s: float | None = 20.0,
    progress: Callable[[int, FuzzReport], None] | None = None,
    keep_failures: str | Path | None = None,
) -> FuzzReport:
    """Run ``cases`` cases against ``target`` ("project", "bundle" or "checkpoint").

    ``keep_failures``: a folder to copy each bug's input files into (case<N>-<name>).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown fuzz target {target!r} (use {', '.join(TARGETS)})")
    report = FuzzReport(target, seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"ganpaint-fuzz-{target}-") as tmp:
        base = Path(workdir) if workdir is not None else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        t = TARGETS[target](base)
        for i in range(cases):
            case = make_case(t, seed, i)
            start = time.perf_counter()
            outcome, text = run_case(t, case, limit_s)
            elapsed = time.perf_counter() - start
            if elapsed > report.slowest_s:
                report.slowest_s, report.slowest_case = elapsed, i
            report.count(case, outcome)
            if outcome == "bug":
                first, _, rest = text.partition("\n")
                if len(report.bugs) < max_examples:
                    report.bugs.append(Bug(i, case.kind, case.description, first, rest))
                if keep_failures is not None:
                    keep = Path(keep_failures)
                    keep.mkdir(parents=True, exist_ok=True)
                    for name, data in case.files.items():
                        if data is not None:
                            (keep / f"{target}-case{i}-{Path(name).name}").write_bytes(data)
            if progress is not None:
                progress(i + 1, report)
    report.seconds = time.perf_counter() - t0
    return report
