"""The fuzz target for the scene classifier's and the picture encoder's bundle files:
``classifier.safetensors`` (:func:`~ganpaint.models.classifier.load_classifier`),
``encoder.safetensors`` (:func:`~ganpaint.models.encoder.load_encoder`),
``classifier_dissection.json``
(:func:`~ganpaint.models.classifier_dissection.read_classifier_dissection`) and
``classifier_attack.json`` (:func:`~ganpaint.models.classifier_attack.read_attack_file`).

Each case mutates one of the four (bytes, the safetensors header, the metadata that holds
the network's config, the JSON structure, or another bundle file in its place). A file
refused must be refused with a :class:`~ganpaint.core.errors.GanpaintError` whose message
names the file; a file read must be usable: the networks run on a 128 px picture and give
outputs of the shapes their config says, the documents write back to the same JSON and
answer what the app and the report ask of them.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganpaint.core.errors import GanpaintError
from ganpaint.robust.cases import Case, InvariantError, Target, require_file_named
from ganpaint.robust.model_targets import mutate_safetensors_header
from ganpaint.robust.mutate import (
    RAW_VALUES,
    dumps_with_raw,
    mutate_bytes,
    mutate_json,
    random_json,
)

CLASSIFIER = "classifier.safetensors"
ENCODER = "encoder.safetensors"
DISSECTION = "classifier_dissection.json"
ATTACK = "classifier_attack.json"
FILES = (CLASSIFIER, ENCODER, DISSECTION, ATTACK)
CLASSES = ("church", "forest", "street")
PICTURE_SIZE = 128  # the bundled model's frames: what the app feeds the networks


def dissection_seed() -> dict[str, Any]:
    """A small valid ``classifier_dissection.json`` document (two layers, three classes)."""

    def label(u: int, level: float) -> dict[str, Any]:
        return {"concept": ("sky", "tree")[u % 2], "iou": 0.1 * u, "level": level,
                "labelled": u % 2 == 0}  # fmt: skip

    layers = [
        {"name": f"conv{i + 1}", "count": 3,
         "units": [{"unit": u, "best": label(u, 0.9), "top1": label(u, 0.99)} for u in range(3)]}
        for i in range(2)
    ]  # fmt: skip
    ks = [1, 2]
    classes = [
        {"name": c, "ranked": [[u, 1.5 - u * 0.5] for u in range(3)],
         "remove": [[80.0 - k, 90.0, 85.0] for k in ks], "keep": [[60.0, 50.0, 55.0] for _ in ks]}
        for c in CLASSES
    ]  # fmt: skip
    return {
        "format": "ganpaint-classifier-dissection",
        "version": 1,
        "classes": list(CLASSES),
        "concepts": ["sky", "tree"],
        "iou_threshold": 0.04,
        "ablation": {"layer": "conv2", "ks": ks, "baseline": [90.0, 92.0, 88.0],
                     "classes": classes, "ranking_seeds": [0, 99], "heldout_seeds": [100, 149]},
        "layers": layers,
        "options": {"samples": 30, "split": "train", "quantiles": [0.9, 0.99]},
    }  # fmt: skip


def attack_seed() -> dict[str, Any]:
    """A small valid ``classifier_attack.json`` document (four attacks, three classes)."""
    group = {"mean": 0.02, "low": 0.01, "high": 0.03, "n": 3}
    records = [
        {"seed": 100 + i, "source": i % 3, "target": (i + 1) % 3, "success": i != 3,
         "l2": 0.5 + i, "target_prob": 0.6, "groups": None if i == 3 else [0.03, 0.02, 0.01]}
        for i in range(4)
    ]  # fmt: skip
    return {
        "format": "ganpaint-classifier-attack",
        "version": 1,
        "method": "targeted minimal-L2 PGD (DDN)",
        "classifier_sha256": "0" * 64,
        "classes": list(CLASSES),
        "layer": "conv2",
        "size": PICTURE_SIZE,
        "top": 2,
        "settings": {"steps": 40, "refine": 10},
        "seeds": {"first": 100, "last": 103, "split": "held-out"},
        "attacks": 4,
        "success": 0.75,
        "mean_l2": 1.5,
        "mean_l2_interval": [1.0, 2.0],
        "groups": {"target": group, "source": dict(group), "other": dict(group)},
        "target_vs_other": 2.0,
        "target_vs_other_interval": [1.5, 2.5],
        "records": records,
        "seconds": 12.5,
        "machine": "2-core CPU",
    }


class ClassifierFilesTarget(Target):
    """The four readers on mutated classifier and encoder files: only a
    :class:`GanpaintError` naming the file, or a usable result."""

    name = "classifier"
    refusals = (GanpaintError,)

    def __init__(self, workdir: Path):
        from ganpaint.models.classifier import SceneClassifier, save_classifier
        from ganpaint.models.encoder import PictureEncoder, save_encoder

        super().__init__(workdir)
        self.folder = workdir / "classifier-files"
        self.folder.mkdir(parents=True, exist_ok=True)
        save_classifier(SceneClassifier(CLASSES, (4, "M", 8, "M", 8)), self.folder / CLASSIFIER)
        save_encoder(PictureEncoder(8, 8, 4, "layer4"), self.folder / ENCODER)
        (self.folder / DISSECTION).write_text(json.dumps(dissection_seed()))
        (self.folder / ATTACK).write_text(json.dumps(attack_seed()))
        self.originals = {n: (self.folder / n).read_bytes() for n in FILES}

    def make(self, rng: random.Random, index: int) -> Case:
        name = rng.choice(FILES)
        data = self.originals[name]
        r = rng.random()
        if r < 0.04:
            kind, desc = "valid", "as written"
        elif r < 0.1:
            other = rng.choice([n for n in FILES if n != name])
            kind, desc, data = "swapped", f"{other} in its place", self.originals[other]
        elif r < 0.35:
            kind, desc, data = "bytes", "byte mutations", mutate_bytes(rng, data, max_ops=3)
        elif r < 0.42:
            cut = rng.randrange(len(data))
            kind, desc, data = "truncated", f"cut at {cut} of {len(data)} bytes", data[:cut]
        elif name.endswith(".safetensors"):
            if r < 0.65:
                kind, (desc, data) = "header", mutate_safetensors_header(rng, data)
            else:
                kind, (desc, data) = "metadata", mutate_metadata(rng, data)
        else:
            kind, (desc, data) = "json", mutate_document(rng, data)
        stem = name.split(".")[0].replace("classifier_", "")
        return Case(index, f"{stem}-{kind}", f"{name}: {desc}", {name: data})

    def run(self, case: Case) -> None:
        (name,) = case.files
        path = self.folder / name
        for other, data in self.originals.items():
            (self.folder / other).write_bytes(data)
        self.write(self.folder, case)
        try:
            CHECKS[name](path)
        except GanpaintError as exc:
            require_file_named(exc, path)
            raise


def mutate_metadata(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """A safetensors file whose ``__metadata__`` (format, version and the network's config as
    JSON text) is changed, the tensors left as they are: (description, bytes)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.setdefault("__metadata__", {})
    key = rng.choice(sorted(meta) + ["config", "config"])
    r = rng.random()
    if key == "config" and r < 0.6 and isinstance(meta.get("config"), str):
        raws: list[str] = []
        config = json.loads(meta["config"])
        for _ in range(rng.randint(1, 3)):
            config = mutate_json(rng, config, raws)
        meta["config"] = dumps_with_raw(config, raws)
        desc = f"config mutated ({len(raws)} raw values)"
    elif r < 0.75:
        meta[key] = random_json(rng)  # not text: safetensors itself only writes strings
        desc = f"metadata {key!r} replaced by a JSON value"
    elif r < 0.9:
        meta[key] = rng.choice(RAW_VALUES[:6] + ("", "2", "0", "ganpaint-progan", "{}", "[]"))
        desc = f"metadata {key!r} replaced by text"
    else:
        meta.pop(key, None)
        desc = f"metadata {key!r} removed"
    text = json.dumps(header).encode("utf-8", "surrogatepass")
    return desc, struct.pack("<Q", len(text)) + text + data[8 + n :]


def mutate_document(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """A JSON document changed in its structure, or replaced by other JSON or raw text."""
    r = rng.random()
    if r < 0.8:
        raws: list[str] = []
        doc = json.loads(data)
        n = rng.randint(1, 3)
        for _ in range(n):
            doc = mutate_json(rng, doc, raws)
        return f"{n} structural mutations", dumps_with_raw(doc, raws).encode(
            "utf-8", "surrogatepass"
        )
    if r < 0.9:
        return "random JSON", json.dumps(random_json(rng)).encode()
    return "raw JSON text", rng.choice(RAW_VALUES).encode()


# -- what a file that was read must offer ----------------------------------------------------


def _check_classifier(path: Path) -> None:
    import torch

    from ganpaint.models.classifier import load_classifier

    model = load_classifier(path)
    with torch.inference_mode():
        logits = model(torch.zeros(1, 3, PICTURE_SIZE, PICTURE_SIZE))
    if tuple(logits.shape) != (1, len(model.classes)):
        raise InvariantError(f"logits of shape {tuple(logits.shape)} for {len(model.classes)}")
    counts = model.unit_counts()
    if list(counts) != list(model.unit_layers) or not all(c > 0 for c in counts.values()):
        raise InvariantError(f"unit layers {model.unit_layers} and counts {counts} disagree")


def _check_encoder(path: Path) -> None:
    import torch

    from ganpaint.models.encoder import load_encoder

    model = load_encoder(path)
    z, h = model.predict(torch.zeros(1, 3, PICTURE_SIZE, PICTURE_SIZE))
    side = model.side
    if tuple(z.shape) != (1, model.z_dim) or tuple(h.shape) != (1, model.channels, side, side):
        raise InvariantError(f"encoder outputs {tuple(z.shape)} and {tuple(h.shape)}")


def _check_dissection(path: Path) -> None:
    from ganpaint.models.classifier_dissection import (
        ClassifierDissection,
        read_classifier_dissection,
    )

    doc = read_classifier_dissection(path)
    again = ClassifierDissection.from_dict(json.loads(json.dumps(doc.to_dict())))
    if again != doc:
        raise InvariantError("the document does not write back to the same JSON")
    for layer in doc.layers:
        if not 0 <= layer.labelled_fraction() <= 1 or not 0 <= layer.labelled_fraction(True) <= 1:
            raise InvariantError(f"layer {layer.name!r}: labelled fraction outside 0..1")
        layer.concepts_detected()
    doc.class_rankings()
    if doc.ablation is not None:
        for k in doc.ablation.ks:
            doc.ablation.figures(k)


def _check_attack(path: Path) -> None:
    from ganpaint.models.classifier_attack import GROUPS, read_attack_file

    doc = read_attack_file(path)
    if tuple(doc.groups) != GROUPS:
        raise InvariantError(f"groups {tuple(doc.groups)}")
    n = len(doc.classes)
    for r in doc.records:
        if not (0 <= r.source < n and 0 <= r.target < n):
            raise InvariantError(f"record {r} names a class outside 0..{n - 1}")
        if r.groups is not None and len(r.groups) != 3:
            raise InvariantError(f"record {r} has {len(r.groups)} group means")
    figures = [doc.success, doc.mean_l2, doc.target_vs_other, doc.seconds]
    if not all(isinstance(x, float | int) for x in figures) or not 0 <= doc.success <= 1:
        raise InvariantError(f"figures {figures}")


CHECKS: dict[str, Callable[[Path], None]] = {
    CLASSIFIER: _check_classifier,
    ENCODER: _check_encoder,
    DISSECTION: _check_dissection,
    ATTACK: _check_attack,
}
