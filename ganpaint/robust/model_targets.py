"""The fuzz targets for model files: a bundle folder whose ``bundle.json`` or
``dissection.json`` is mutated, and generator checkpoints (safetensors, torch zip, torch
legacy) mutated in their bytes, headers and records."""

from __future__ import annotations

import hashlib
import io
import json
import random
import struct
import zipfile
from pathlib import Path
from typing import Any

from ganpaint.core.errors import BundleError, CheckpointError
from ganpaint.models.progan import ProGANGenerator, seeded_generator
from ganpaint.robust.cases import Case, InvariantError, Target
from ganpaint.robust.mutate import (
    RAW_VALUES,
    dumps_with_raw,
    mutate_bytes,
    mutate_json,
    random_json,
)


def tiny_generator(
    widths: tuple[int, ...] = (8, 8, 8), z_dim: int = 8, seed: int = 0
) -> ProGANGenerator:
    """A small random generator (8 px for the default widths), deterministic for a seed;
    weights drawn wide (std 0.5) so its output is far from zero."""
    return seeded_generator(widths, z_dim, seed, init_std=0.5)


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
        meta["files"]["dissection.json"] = {"sha256": hashlib.sha256(dis).hexdigest()}
        files = {"bundle.json": json.dumps(meta).encode(), "dissection.json": dis}
        return Case(index, "dissection", "a mutated dissection.json", files)

    def _files_entry(self, rng: random.Random) -> tuple[str, Any]:
        name = rng.choice(
            (
                "generator.safetensors",
                "dissection.json",
                "segmenter.safetensors",
                "classifier.safetensors",  # optional: listed, missing, a problem not a refusal
                "encoder.safetensors",
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
        _check_problems(bundle)


def _check_problems(bundle: Any) -> None:
    """Only optional files may be problems, and their loaders must raise them."""
    from ganpaint.models.bundle import OPTIONAL_FILES

    loaders = {"classifier.safetensors": bundle.load_classifier,
               "encoder.safetensors": bundle.load_encoder}  # fmt: skip
    for name, problem in bundle.problems.items():
        if name not in OPTIONAL_FILES or not problem:
            raise InvariantError(f"{name!r} is a problem, not a refusal: {problem!r}")
        if name in loaders:
            try:
                loaders[name]()
            except BundleError as exc:
                if str(exc) != problem:
                    raise InvariantError(f"{name} loads with another error: {exc}") from None
            else:
                raise InvariantError(f"{name} loads despite its problem {problem!r}")


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _zip_from(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def mutate_safetensors_header(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """A safetensors file whose JSON header is mutated (entries, metadata, a plausible lie
    about one tensor), sometimes with a header length that lies: (description, bytes)."""
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
            kind, desc, data = "safetensors-header", *mutate_safetensors_header(rng, data)
        else:
            kind, desc, data = "torch-records", *self._mutate_records(rng, data, seed_name)
        if rng.random() < 0.1:
            suffix = ".pth" if suffix == ".safetensors" else ".safetensors"
            kind, desc = f"{kind}-renamed", f"{desc}, named {suffix}"
        return Case(index, kind, desc, {f"case{suffix}": data})

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
