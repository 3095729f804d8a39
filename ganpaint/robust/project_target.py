"""The fuzz target for ``.ganpaint`` project files: valid projects with random strokes and
masks (and sometimes an inverted picture), their mutations (structure, masks and picture
arrays, bytes, raw text), and the invariants a loaded project must keep."""

from __future__ import annotations

import base64
import json
import random
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.core.errors import ProjectFileError
from ganpaint.robust.cases import Case, InvariantError, Target
from ganpaint.robust.mutate import dumps_with_raw, mutate_bytes, mutate_json, random_json


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


def random_picture(rng: random.Random) -> dict[str, Any]:
    """A small well-formed ``picture`` section (engine/picture.py), random values."""
    from ganpaint.engine.picture import PictureBase

    gen = np.random.default_rng(rng.randrange(2**32))
    side = rng.choice((4, 8))
    return PictureBase(
        pixels=gen.integers(0, 256, (side, side, 3), dtype=np.uint8),
        z=gen.standard_normal(rng.randint(1, 8)),
        residuals={"layer4": gen.standard_normal((2, 2, 2))} if rng.random() < 0.7 else {},
        adaptation={"layer5": gen.normal(0, 0.01, rng.choice(((3,), (3, 2, 3, 3))))},
        feather=rng.randint(0, 4),
        info={"steps": rng.randint(0, 9)},
    ).to_dict()


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
    d = {
        "format": "ganpaint-project",
        "version": 1,
        "model": {"id": rng.choice(("scenes128", "m", ""))},
        "layer": "layer4",
        "seed": rng.choice((0, 1, 2**32 - 1, rng.randrange(2**32))),
        "strokes": out,
    }
    if rng.random() < 0.3:
        d["version"], d["picture"] = 2, random_picture(rng)
    return d


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
            target = d["strokes"][-1]["mask"]
            if "picture" in d and rng.random() < 0.5:  # a picture array: the same attacks
                target = d["picture"][rng.choice(("pixels", "z"))]
            kind, desc = "mask", self._mutate_mask(rng, target)
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
            raw = zlib.compress(bytes(int(np.prod(shape))))
            mask["data"] = base64.b64encode(raw[: rng.randrange(len(raw))]).decode()
            return "truncated zlib stream"
        if op == 4:
            raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
            mask["data"] = base64.b64encode(raw).decode()
            return "not zlib data"
        if op == 5:
            raw = zlib.compress(bytes(int(np.prod(shape)))) + b"trailing"
            mask["data"] = base64.b64encode(raw).decode()
            return "zlib data with trailing bytes"
        if op == 6:
            mask["shape"] = rng.choice(
                ([0, 0], [-4, -4], [4097, 1], [1, 2, 3], shape[::-1], ["4", "4"])
            )
            return f"shape {mask['shape']}"
        if op == 7:
            mask["encoding"] = rng.choice(("zlib", "raw", None, 7))
            return "unknown encoding"
        if op == 8:
            mask["data"] = mask["data"] + rng.choice(("!", "=", "\n", "AAA"))
            return "invalid base64"
        raw = zlib.compress(bytes(int(np.prod(shape)) - 1))
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
    if doc.picture is not None:
        same = same and back.picture is not None and back.picture.to_dict() == doc.picture.to_dict()
    if not same:
        raise InvariantError("loaded project changes when saved and loaded again")
