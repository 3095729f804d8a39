"""A person's own picture inverted into the generator, and how it is rendered.

:class:`PictureBase` is what ``ganpaint invert`` (``ganpaint.invert``) finds for one picture:
the picture itself (uint8, the model's resolution), a latent ``z``, residuals added to the
output of early layers (``residuals``: layer -> (C, h, w)) and the image-specific adaptation
of later layers (``adaptation``: block -> d, the block's convolution weights become
``W * (1 + d)``, d of the weight's shape or one value per output channel). The arrays are
kept in the precision the project file stores (residuals and adaptation float16), so a saved
and reopened picture renders bit for bit the same.

The picture never changes once made, so its arrays are encoded for the project file once
(:meth:`PictureBase.encoded`; zlib of a few MB takes about half a second) and every save and
autosave reuses that: the app encodes a fresh inversion on the render worker, and a picture
read from a file keeps the records it was read from.

Numpy only (the window's start-up imports the document, which imports this, without torch);
how a picture is drawn and composited is in ``engine/composite.py``.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganpaint.core.errors import ProjectFileError

# Pixels the soft mask spreads beyond a stroke's painted pixels: dilated by FEATHER, then
# blurred over 2 * FEATHER + 1, so the brush's reach is the stroke dilated by 2 * FEATHER.
FEATHER = 3
MAX_ARRAY_ELEMENTS = 1 << 24
MAX_NDIM = 4
_DTYPES = {"uint8": np.uint8, "float16": np.float16, "float32": np.float32}


def _frozen(a: np.ndarray, dtype: type) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True, order="C")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class PictureBase:
    """A picture and where it sits in the generator (see the module docstring)."""

    pixels: np.ndarray  # uint8 (R, R, 3)
    z: np.ndarray  # float32 (z_dim,)
    residuals: Mapping[str, np.ndarray] = field(default_factory=dict)  # float16 (C, h, w)
    adaptation: Mapping[str, np.ndarray] = field(default_factory=dict)  # float16 d
    feather: int = FEATHER
    info: Mapping[str, Any] = field(default_factory=dict)  # how it was made (JSON values)
    # the arrays' project records, made once (see encoded); not part of the picture's value
    _records: dict[str, Any] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        px = np.asarray(self.pixels)
        if px.dtype != np.uint8 or px.ndim != 3 or px.shape[2] != 3 or px.shape[0] != px.shape[1]:
            raise ValueError("picture pixels must be a square uint8 array (R, R, 3)")
        object.__setattr__(self, "pixels", _frozen(px, np.uint8))
        z = np.asarray(self.z)
        if z.ndim != 1 or not np.isfinite(z).all():
            raise ValueError("picture z must be a finite 1-D array")
        object.__setattr__(self, "z", _frozen(z, np.float32))
        for name in ("residuals", "adaptation"):
            arrays = {str(k): _frozen(v, np.float16) for k, v in dict(getattr(self, name)).items()}
            if not all(np.isfinite(v).all() for v in arrays.values()):
                raise ValueError(f"picture {name} must be finite (float16 range)")
            object.__setattr__(self, name, arrays)
        if not 0 <= int(self.feather) <= 64:
            raise ValueError("picture feather must be 0..64 pixels")
        object.__setattr__(self, "feather", int(self.feather))
        object.__setattr__(self, "info", dict(self.info))

    @property
    def resolution(self) -> int:
        return int(self.pixels.shape[0])

    def encoded(self) -> dict[str, Any]:
        """The arrays' records for the project file (``pixels``, ``z``, ``residuals``,
        ``adaptation``), encoded on the first call and kept: the arrays are read-only. Safe
        from any thread (two first calls at once both encode, to the same records)."""
        records = self._records
        if records is None:
            records = {
                "pixels": _pack(self.pixels),
                "z": _pack(self.z),
                "residuals": {k: _pack(v) for k, v in self.residuals.items()},
                "adaptation": {k: _pack(v) for k, v in self.adaptation.items()},
            }
            object.__setattr__(self, "_records", records)
        return records

    @property
    def is_encoded(self) -> bool:
        """Whether a save would reuse records made before (and encode nothing)."""
        return self._records is not None

    def to_dict(self) -> dict[str, Any]:
        """The picture's project section (new dicts each call: changing one leaves the kept
        records alone; the encoded strings are shared, being immutable)."""
        r = self.encoded()
        return {
            "pixels": dict(r["pixels"]),
            "z": dict(r["z"]),
            "residuals": {k: dict(v) for k, v in r["residuals"].items()},
            "adaptation": {k: dict(v) for k, v in r["adaptation"].items()},
            "feather": self.feather,
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, d: Any, where: str = "picture") -> PictureBase:
        """The picture a project file holds; :class:`ProjectFileError` naming the field."""
        if not isinstance(d, dict):
            raise ProjectFileError(f"{where}: must be an object")
        records: dict[str, Any] = {}
        pixels = _unpack(d.get("pixels"), f"{where}.pixels", "uint8", records, "pixels")
        if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.shape[0] != pixels.shape[1]:
            raise ProjectFileError(f"{where}.pixels: must have shape (R, R, 3)")
        z = _unpack(d.get("z"), f"{where}.z", "float32", records, "z")
        if z.ndim != 1:
            raise ProjectFileError(f"{where}.z: must be one-dimensional")
        maps = {}
        for name in ("residuals", "adaptation"):
            m = d.get(name)
            if not isinstance(m, dict) or len(m) > 64:
                raise ProjectFileError(f"{where}.{name}: must be an object of layer names")
            kept = records.setdefault(name, {})
            maps[name] = {
                k: _unpack(v, f"{where}.{name}.{k}", "float16", kept, k) for k, v in m.items()
            }
        feather, info = d.get("feather"), d.get("info", {})
        if not isinstance(feather, int) or isinstance(feather, bool) or not 0 <= feather <= 64:
            raise ProjectFileError(f"{where}.feather: must be an integer 0..64")
        if not isinstance(info, dict):
            raise ProjectFileError(f"{where}.info: must be an object")
        try:
            picture = cls(pixels, z, maps["residuals"], maps["adaptation"], feather, info)
        except ValueError as exc:
            raise ProjectFileError(f"{where}: {exc}") from None
        # the records just read decode to exactly these arrays: a save writes them again
        object.__setattr__(picture, "_records", records)
        return picture


def _pack(a: np.ndarray) -> dict[str, Any]:
    data = base64.b64encode(zlib.compress(a.tobytes(), 6)).decode("ascii")
    return {"shape": list(a.shape), "dtype": a.dtype.name, "encoding": "zlib-base64", "data": data}


def _unpack(m: Any, where: str, dtype: str, keep: dict[str, Any], name: str) -> np.ndarray:
    """An array from its ``{"shape", "dtype", "encoding", "data"}`` record, of ``dtype``;
    inflated no further than the shape allows (a zlib bomb stops there). The record, once
    checked, goes into ``keep[name]`` (only its four keys)."""
    if not isinstance(m, dict):
        raise ProjectFileError(f"{where}: must be an array record")
    shape = m.get("shape")
    if not (
        isinstance(shape, list)
        and 1 <= len(shape) <= MAX_NDIM
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)
    ):
        raise ProjectFileError(f"{where}: 'shape' must be 1..{MAX_NDIM} positive integers")
    if m.get("dtype") != dtype:
        raise ProjectFileError(f"{where}: 'dtype' must be {dtype!r}, not {m.get('dtype')!r}")
    if m.get("encoding") != "zlib-base64":
        raise ProjectFileError(f"{where}: unknown encoding {m.get('encoding')!r}")
    count = int(np.prod(shape))
    if count > MAX_ARRAY_ELEMENTS:
        raise ProjectFileError(f"{where}: shape {shape} is too large")
    expected = count * np.dtype(_DTYPES[dtype]).itemsize
    if not isinstance(m.get("data"), str):
        raise ProjectFileError(f"{where}: 'data' must be a base64 string")
    try:
        raw = zlib.decompressobj().decompress(
            base64.b64decode(m.get("data"), validate=True), expected + 1
        )
    except (TypeError, ValueError, zlib.error) as exc:
        raise ProjectFileError(f"{where}: 'data' is not valid ({exc})") from None
    if len(raw) != expected:
        raise ProjectFileError(f"{where}: 'data' does not match shape {shape}")
    a = np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(shape)
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ProjectFileError(f"{where}: holds values that are not finite")
    keep[name] = {"shape": list(shape), "dtype": dtype, "encoding": "zlib-base64",
                  "data": m["data"]}  # fmt: skip
    return a
