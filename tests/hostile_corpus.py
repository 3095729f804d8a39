"""A corpus of hostile generator checkpoints, built by code into a folder (no blobs in git).

:func:`build_corpus` writes every case and returns them by name. A case with a ``marker``
carries a code payload that would create that file if it ever ran; a case with ``huge`` set
declares far more memory than its size (the test measures peak RSS around its load).

Families:

* code payloads (``os.system``, ``posix.system`` and ``os.system`` reached through
  ``builtins.getattr(importlib.import_module(...))``, ``exec``, ``eval``,
  ``subprocess.Popen``, ``functools.partial(os.system)``), each placed at the top, as a
  state-dict value, nested in lists and dicts, as the ``state_dict`` wrapper value and as
  a key, in torch's zip format, torch's legacy format, a bare pickle and a legacy tar;
* archives that are not state dicts: TorchScript, legacy tar, truncated zips, empty and
  random files;
* safetensors with an oversized header length, a header that lies (offsets beyond the
  file, shape x dtype not the byte range), is not JSON, nests too deeply or holds a huge
  number; int64, bool and uint8 tensors; NaN/Inf weights; missing and extra keys;
  10^12 declared elements;
* torch files whose storage metadata lies (10^12 elements on a 16 byte record, in zip and
  legacy format), stride-0 views of 10^12 elements, a generator of 4000-wide layers made of
  stride-0 views (about 4 GB from 6 KB), a compressed record that inflates to 256 MiB, and
  float8, complex, sparse and meta tensors.
"""

from __future__ import annotations

import collections
import functools
import importlib
import io
import json
import math
import os
import pickle
import struct
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from tests.helpers import official_state_dict

WIDTHS = [8, 8]  # an 8 px generator: layer1..layer4 and output_8x8
Z_DIM = 8


@dataclass(frozen=True)
class Hostile:
    name: str
    path: Path
    marker: Path | None = None  # a payload creates this file if it runs
    huge: bool = False  # declares an absurd amount of memory


# -- code payloads ---------------------------------------------------------------------------


class _Call:
    """Pickles as ``func(*args)``: a call the unpickler would make. Callable only so that
    pickle accepts an instance as the function of another call (a chain)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __call__(self, *args):  # pragma: no cover - never called
        raise AssertionError("not meant to be called")

    def __reduce__(self):
        return (self.func, self.args)


def _touch(marker: Path) -> str:
    return f"touch {marker}"


def _write(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


PAYLOADS: dict[str, Callable[[Path], object]] = {
    "os-system": lambda m: _Call(os.system, _touch(m)),
    "posix-system": lambda m: _Call(
        _Call(getattr, _Call(importlib.import_module, "posix"), "system"), _touch(m)
    ),
    "exec": lambda m: _Call(exec, _write(m)),
    "eval": lambda m: _Call(eval, _write(m)),
    "builtins-getattr": lambda m: _Call(
        _Call(getattr, _Call(importlib.import_module, "os"), "system"), _touch(m)
    ),
    "subprocess-popen": lambda m: _Call(subprocess.Popen, ["touch", str(m)]),
    "functools-partial": lambda m: _Call(functools.partial(os.system, _touch(m))),
}


def _place(payload: object, where: str) -> object:
    sd = official_state_dict(WIDTHS, z_dim=Z_DIM)
    if where == "top":
        return payload
    if where == "value":
        sd["layer1.conv.weight"] = payload
        return sd
    if where == "nested":
        sd["layer3.wscale.b"] = [{"deep": (1, [payload])}]
        return sd
    if where == "wrapper":
        return {"state_dict": payload}
    if where == "key":
        sd[payload] = torch.zeros(1)
        return sd
    raise ValueError(where)


PLACES = ("top", "value", "nested", "wrapper", "key")


def _legacy_tar(pickled: bytes) -> bytes:
    """A tar in the layout of torch's oldest format (sys_info, pickle, tensors, storages)."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    members = {
        "sys_info": pickle.dumps(sys_info, protocol=2),
        "storages": pickle.dumps(0, protocol=2),
        "tensors": pickle.dumps(0, protocol=2),
        "pickle": pickled,
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _save_payload(obj: object, path: Path, fmt: str) -> None:
    if fmt == "zip":
        torch.save(obj, path)
    elif fmt == "legacy":
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    elif fmt == "pickle":
        path.write_bytes(pickle.dumps(obj, protocol=2))
    elif fmt == "tar":
        path.write_bytes(_legacy_tar(pickle.dumps(obj, protocol=2)))
    else:
        raise ValueError(fmt)


PAYLOAD_FORMATS = ("zip", "legacy", "pickle", "tar")


# -- hand-made torch files -------------------------------------------------------------------


class _Storage:
    """Stands for a storage record; pickled as a persistent id with a declared size."""

    def __init__(self, key: str, numel: int):
        self.key, self.numel = key, numel


class _Tensor:
    """Pickles as torch's own tensor rebuild over a :class:`_Storage`, any size and stride."""

    def __init__(self, storage: _Storage, size: tuple[int, ...], stride: tuple[int, ...]):
        self.args = (storage, 0, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class _ZipPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel, None)
        return None


def _torch_zip(obj: object, records: dict[str, bytes], compress: bool = False) -> bytes:
    """A torch zip archive: data.pkl from ``obj`` plus the storage ``records``."""
    pkl = io.BytesIO()
    _ZipPickler(pkl, protocol=2).dump(obj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pkl.getvalue())
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
        for key, data in records.items():
            kind = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            zf.writestr(f"archive/data/{key}", data, compress_type=kind)
    return buf.getvalue()


def _torch_legacy(obj: object, records: dict[str, tuple[int, bytes]]) -> bytes:
    """torch's legacy (non-zip) format: magic, protocol, sys info, the object, storages."""
    buf = io.BytesIO()
    pickle.dump(0x1950A86A20F9469CFC6C, buf, protocol=2)
    pickle.dump(1001, buf, protocol=2)
    sys_info = {"protocol_version": 1001, "little_endian": True}
    sys_info["type_sizes"] = {"short": 2, "int": 4, "long": 4}
    pickle.dump(sys_info, buf, protocol=2)
    _LegacyPickler(buf, protocol=2).dump(obj)
    pickle.dump(sorted(records), buf, protocol=2)
    for key in sorted(records):
        numel, data = records[key]
        buf.write(struct.pack("<q", numel))
        buf.write(data)
    return buf.getvalue()


def _stride0_generator(width: int) -> dict[str, _Tensor]:
    """A full 32 px generator whose every weight is a stride-0 view of one float."""
    one = _Storage("0", 1)

    def view(*shape: int) -> _Tensor:
        return _Tensor(one, shape, (0,) * len(shape))

    sd = {"layer1.conv.weight": view(width, 512, 4, 4), "layer1.wscale.b": view(width)}
    for i in range(2, 9):
        sd[f"layer{i}.conv.weight"] = view(width, width, 3, 3)
        sd[f"layer{i}.wscale.b"] = view(width)
    sd["output_32x32.conv.weight"] = view(3, width, 1, 1)
    sd["output_32x32.wscale.b"] = view(3)
    return sd


def _zip_bomb(path: Path, numel: int) -> None:
    """A torch zip whose one float storage of ``numel`` zeros is deflated (streamed)."""
    pkl = io.BytesIO()
    st = _Storage("0", numel)
    _ZipPickler(pkl, protocol=2).dump({"layer1.conv.weight": _Tensor(st, (numel,), (1,))})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pkl.getvalue())
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
        info = zipfile.ZipInfo("archive/data/0")
        info.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(1 << 22)
        with zf.open(info, "w", force_zip64=True) as f:
            for _ in range(numel * 4 // len(chunk)):
                f.write(chunk)


# -- safetensors -----------------------------------------------------------------------------


def _safetensors_raw(header: bytes | dict, body: bytes = b"", length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + body


def _valid_safetensors(path: Path, sd: dict[str, torch.Tensor]) -> None:
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))


def _header_of(sd: dict[str, torch.Tensor]) -> tuple[dict, bytes]:
    """The header and body safetensors would write for a float32 ``sd``."""
    header, body, offset = {}, io.BytesIO(), 0
    for key, t in sd.items():
        data = t.contiguous().numpy().tobytes()
        header[key] = {
            "dtype": "F32",
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        body.write(data)
        offset += len(data)
    return header, body.getvalue()


# -- the corpus ------------------------------------------------------------------------------


def _sd(**changes) -> dict[str, torch.Tensor]:
    sd = official_state_dict(WIDTHS, z_dim=Z_DIM)
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            del sd[key]
        else:
            sd[key] = value
    return sd


def _torchscript(path: Path) -> None:
    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(Tiny()), str(path))


@dataclass(frozen=True)
class _Spec:
    suffix: str
    write: Callable[[Path, Path], None]  # (path, marker) -> writes the file
    payload: bool = False
    huge: bool = False


SPECS: dict[str, _Spec] = {}


def _case(name: str, suffix: str, write, payload: bool = False, huge: bool = False) -> None:
    """Register a case; ``write`` is bytes, ``f(path)`` or, for payloads, ``f(path, marker)``."""
    if isinstance(write, bytes | Callable) and not payload:
        data = write

        def write(path: Path, marker: Path) -> None:
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                data(path)

    assert name not in SPECS, name
    SPECS[name] = _Spec(suffix, write, payload, huge)


def build_corpus(folder: Path, names: list[str] | None = None) -> dict[str, Hostile]:
    """Write every hostile case (or those ``names``) into ``folder``; returns them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    markers = folder / "markers"
    markers.mkdir(exist_ok=True)
    out: dict[str, Hostile] = {}
    for name in names or list(SPECS):
        spec = SPECS[name]
        path, marker = folder / f"{name}{spec.suffix}", markers / name
        spec.write(path, marker)
        out[name] = Hostile(name, path, marker if spec.payload else None, spec.huge)
    return out


def _register_payloads() -> None:
    for kind, make in PAYLOADS.items():
        for place in PLACES:
            for fmt in PAYLOAD_FORMATS:

                def write(path: Path, marker: Path, make=make, place=place, fmt=fmt) -> None:
                    _save_payload(_place(make(marker), place), path, fmt)

                _case(f"payload-{kind}-{place}-{fmt}", ".pth", write, payload=True)


def _full_zip() -> bytes:
    buf = io.BytesIO()
    torch.save(_sd(), buf)
    return buf.getvalue()


def _full_legacy() -> bytes:
    buf = io.BytesIO()
    torch.save(_sd(), buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def _register_archives() -> None:
    _case("torchscript", ".pt", _torchscript)
    _case("torchscript-named-safetensors", ".safetensors", _torchscript)
    _case("legacy-tar-plain", ".pth", lambda p: p.write_bytes(_legacy_tar(pickle.dumps(_sd()))))
    _case(
        "truncated-zip-half", ".pth", lambda p: p.write_bytes(_full_zip()[: len(_full_zip()) // 2])
    )
    _case("truncated-zip-tail", ".pth", lambda p: p.write_bytes(_full_zip()[:-30]))
    _case("truncated-zip-head", ".pth", lambda p: p.write_bytes(_full_zip()[:10]))
    _case("truncated-legacy-half", ".pth", lambda p: p.write_bytes(_full_legacy()[:600]))
    _case("empty", ".pth", b"")
    _case("empty-safetensors", ".safetensors", b"")
    _case("random-bytes", ".pth", bytes((i * 73 + 41) % 256 for i in range(4096)))
    _case("text", ".pth", b"hello, this is not a model\n")
    _case("list-of-tensors", ".pth", lambda p: torch.save(list(_sd().values()), p))
    _case("wrapper-not-a-dict", ".pth", lambda p: torch.save({"state_dict": [1, 2]}, p))
    _case("nested-wrapper", ".pth", lambda p: torch.save({"state_dict": {"state_dict": _sd()}}, p))


def _header_lie(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        header, body = _header_of(_sd())
        change(header)
        path.write_bytes(_safetensors_raw(header, body))

    return write


def _set(key: str, field: str, value) -> Callable[[dict], None]:
    def change(header: dict) -> None:
        header[key][field] = value(header) if callable(value) else value

    return change


def _safetensors_of(**changes) -> Callable[[Path], None]:
    return lambda p: _valid_safetensors(p, _sd(**changes))


def _register_safetensors() -> None:
    def with_length(length: Callable[[int, int], int]) -> Callable[[Path], None]:
        def write(path: Path) -> None:
            header, body = _header_of(_sd())
            text = json.dumps(header).encode()
            path.write_bytes(_safetensors_raw(text, body, length(len(text), len(body))))

        return write

    _case("st-header-length-2^63", ".safetensors", with_length(lambda h, b: 2**63))
    _case("st-header-length-17MB", ".safetensors", with_length(lambda h, b: 17 << 20))
    _case("st-header-length-past-end", ".safetensors", with_length(lambda h, b: h + b + 1))
    _case("st-header-length-short", ".safetensors", with_length(lambda h, b: h - 1))
    lies = {
        "st-offsets-beyond-file": _set("layer2.conv.weight", "data_offsets", [0, 10**9]),
        "st-shape-not-byte-range": _set("layer2.wscale.b", "shape", [16]),
        "st-dtype-not-byte-range": _set("layer2.wscale.b", "dtype", "F64"),
        "st-dtype-unhashable": _set("layer1.conv.weight", "dtype", ["F32"]),
        "st-dtype-int64": _set("layer2.wscale.b", "dtype", "I64"),
        "st-offsets-reversed": _set(
            "layer1.conv.weight",
            "data_offsets",
            lambda h: h["layer1.conv.weight"]["data_offsets"][::-1],
        ),
        "st-offsets-overlap": _set(
            "layer2.wscale.b", "data_offsets", lambda h: h["layer1.wscale.b"]["data_offsets"]
        ),
        "st-negative-shape": _set("layer2.wscale.b", "shape", [-8]),
    }
    for name, change in lies.items():
        _case(name, ".safetensors", _header_lie(change))
    body = bytes(64)
    _case("st-header-not-json", ".safetensors", _safetensors_raw(b"{not json at all}", body))
    _case("st-header-array", ".safetensors", _safetensors_raw(b"[1, 2, 3]", body))
    _case("st-header-not-utf8", ".safetensors", _safetensors_raw(b'{"\xff\xfe": 1}', body))
    _case("st-header-deep", ".safetensors", _safetensors_raw(b"[" * 100_000 + b"]" * 100_000))
    _case("st-header-huge-int", ".safetensors", _safetensors_raw(b'{"a": ' + b"7" * 5000 + b"}"))
    entry = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    _case(
        "st-digit-bomb-key",
        ".safetensors",
        _safetensors_raw({"layer" + "9" * 5000 + ".conv.weight": entry}, bytes(4)),
    )
    for dtype in (torch.int64, torch.bool, torch.uint8):
        name = f"st-{str(dtype).split('.')[-1]}-weights"
        _case(name, ".safetensors", _safetensors_of(layer2__wscale__b=torch.ones(8, dtype=dtype)))
    _case("st-nan-weights", ".safetensors", _safetensors_of(layer3__wscale__b=_with(3, math.nan)))
    _case("st-inf-weights", ".safetensors", _safetensors_of(layer3__wscale__b=_with(5, math.inf)))
    _case("st-missing-key", ".safetensors", _safetensors_of(layer4__wscale__b=None))
    _case("st-extra-key", ".safetensors", _safetensors_of(layer2__noise__weight=torch.zeros(3)))
    _case(
        "st-bad-shape",
        ".safetensors",
        _safetensors_of(layer3__conv__weight=torch.zeros(8, 7, 3, 3)),
    )
    _case(
        "st-zero-z", ".safetensors", _safetensors_of(layer1__conv__weight=torch.zeros(8, 0, 4, 4))
    )
    big = {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4]}
    _case(
        "st-10^12-elements",
        ".safetensors",
        _safetensors_raw({"layer1.conv.weight": big}, bytes(4)),
        huge=True,
    )
    big = {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}
    _case(
        "st-10^12-elements-consistent",
        ".safetensors",
        _safetensors_raw({"layer1.conv.weight": big}, bytes(4)),
        huge=True,
    )


def _with(index: int, value: float) -> torch.Tensor:
    t = torch.zeros(8)
    t[index] = value
    return t


def _register_lying_torch_files() -> None:
    def tensor(numel: int, size, stride) -> dict[str, _Tensor]:
        return {"layer1.conv.weight": _Tensor(_Storage("0", numel), tuple(size), tuple(stride))}

    _case(
        "zip-storage-10^12-on-16-bytes",
        ".pth",
        _torch_zip(tensor(10**12, (10**6, 10**6), (10**6, 1)), {"0": bytes(16)}),
        huge=True,
    )
    _case(
        "zip-stride0-10^12",
        ".pth",
        _torch_zip(tensor(1, (10**6, 10**6), (0, 0)), {"0": bytes(4)}),
        huge=True,
    )
    _case("zip-view-past-storage", ".pth", _torch_zip(tensor(1, (1000,), (1,)), {"0": bytes(4)}))
    _case(
        "zip-stride0-generator-4GB",
        ".pth",
        _torch_zip(_stride0_generator(4000), {"0": bytes(4)}),
        huge=True,
    )
    _case("zip-deflate-bomb-256MiB", ".pth", lambda p: _zip_bomb(p, 64 << 20), huge=True)
    _case(
        "legacy-storage-10^12",
        ".pth",
        _torch_legacy(tensor(10**12, (4,), (1,)), {"0": (4, bytes(16))}),
        huge=True,
    )
    _case(
        "legacy-storage-8GB",
        ".pth",
        _torch_legacy(tensor(2 * 10**9, (4,), (1,)), {"0": (4, bytes(16))}),
        huge=True,
    )
    _case(
        "legacy-record-size-lies",
        ".pth",
        _torch_legacy(tensor(4, (4,), (1,)), {"0": (2**40, bytes(16))}),
        huge=True,
    )
    _case(
        "legacy-stride0-generator-4GB",
        ".pth",
        _torch_legacy(_stride0_generator(4000), {"0": (1, bytes(4))}),
        huge=True,
    )


def _register_odd_tensors() -> None:
    def saved(**changes) -> Callable[[Path], None]:
        return lambda p: torch.save(_sd(**changes), p)

    b = "layer2__wscale__b"
    _case("zip-int64-weights", ".pth", saved(**{b: torch.zeros(8, dtype=torch.int64)}))
    _case("zip-bool-weights", ".pth", saved(**{b: torch.zeros(8, dtype=torch.bool)}))
    _case("zip-uint8-weights", ".pth", saved(**{b: torch.zeros(8, dtype=torch.uint8)}))
    _case(
        "zip-float8-weights",
        ".pth",
        lambda p: torch.save(_sd(**{b: torch.zeros(8).to(torch.float8_e4m3fn)}), p),
    )
    _case("zip-complex-weights", ".pth", saved(**{b: torch.zeros(8, dtype=torch.complex64)}))
    _case(
        "zip-quantized-weights",
        ".pth",
        lambda p: torch.save(
            _sd(**{b: torch.quantize_per_tensor(torch.zeros(8), 0.1, 0, torch.qint8)}), p
        ),
    )
    _case(
        "zip-sparse-weights",
        ".pth",
        lambda p: torch.save(_sd(layer2__conv__weight=torch.ones(8, 8, 3, 3).to_sparse()), p),
    )
    _case(
        "zip-meta-weights",
        ".pth",
        lambda p: torch.save(_sd(**{b: torch.empty(8, device="meta")}), p),
    )
    _case("zip-nan-weights", ".pth", saved(**{b: torch.full((8,), math.nan)}))
    _case("zip-inf-weights", ".pth", saved(**{b: torch.full((8,), -math.inf)}))
    _case("zip-missing-key", ".pth", saved(output_8x8__wscale__b=None))
    _case("zip-extra-key", ".pth", saved(layer9__conv__weight=torch.zeros(1)))
    _case("zip-expanded-bias", ".pth", saved(**{b: torch.zeros(1).expand(8)}))


_register_payloads()
_register_archives()
_register_safetensors()
_register_lying_torch_files()
_register_odd_tensors()
PAYLOAD_NAMES = sorted(n for n, s in SPECS.items() if s.payload)
OTHER_NAMES = sorted(n for n, s in SPECS.items() if not s.payload)
HUGE_NAMES = sorted(n for n, s in SPECS.items() if s.huge)


def valid_files(folder: Path) -> dict[str, Path]:
    """The same builders without the hostile part: files that must load (a control group)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    sd = _sd()
    p = folder / "zip.pth"
    torch.save(sd, p)
    out["zip"] = p
    p = folder / "legacy.pth"
    torch.save(sd, p, _use_new_zipfile_serialization=False)
    out["legacy"] = p
    p = folder / "wrapped.pth"
    torch.save({"state_dict": sd}, p)
    out["wrapped"] = p
    p = folder / "g.safetensors"
    _valid_safetensors(p, sd)
    out["safetensors"] = p
    header, body = _header_of(sd)
    p = folder / "handmade.safetensors"
    p.write_bytes(_safetensors_raw(header, body))
    out["handmade-safetensors"] = p
    # the hand-made torch formats, honest: storages as big as they say
    records, tensors = {}, {}
    for i, (key, t) in enumerate(sd.items()):
        st = _Storage(str(i), t.numel())
        tensors[key] = _Tensor(st, tuple(t.shape), tuple(t.stride()))
        records[str(i)] = t.contiguous().numpy().tobytes()
    p = folder / "handmade-zip.pth"
    p.write_bytes(_torch_zip(tensors, records))
    out["handmade-zip"] = p
    p = folder / "handmade-legacy.pth"
    legacy_records = {k: (len(v) // 4, v) for k, v in records.items()}
    p.write_bytes(_torch_legacy(tensors, legacy_records))
    out["handmade-legacy"] = p
    return out
