"""A user's custom concepts on disk: the concept file (one small JSON file per model, which
the app reads beside the bundle's dissection, exported and imported whole or by name) and
the folder of marked masks ``ganpaint concept --masks`` reads. The scoring that makes a
concept from masks is in :mod:`ganpaint.dissect.custom`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.core.errors import GanpaintError
from ganpaint.core.files import atomic_write_text

CONCEPTS_FORMAT = "ganpaint-concepts"
CONCEPTS_VERSION = 1
NAME_PATTERN = r"[\w][\w \-]{0,39}"
"""A concept name: 1-40 letters, digits, spaces, - or _, starting with a letter, digit or _."""


def valid_concept_name(name: str | None) -> bool:
    """1-40 letters, digits, spaces, - or _, starting with a letter, digit or _."""
    return re.fullmatch(NAME_PATTERN, name or "") is not None


@dataclass
class CustomConcept:
    """A user-taught brush: its units ranked best first, with (iou, contrast) per unit."""

    name: str
    layer: str
    units: list[int]
    iou: list[float]
    contrast: list[float]
    seeds: list[int] = field(default_factory=list)
    icon: str = "mdi.brush"
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layer": self.layer,
            "icon": self.icon,
            "created": self.created,
            "seeds": list(self.seeds),
            "units": [
                [int(u), round(float(i), 6), round(float(c), 6)]
                for u, i, c in zip(self.units, self.iou, self.contrast, strict=True)
            ],
        }

    @classmethod
    def from_dict(cls, d: Any, where: str = "concept") -> CustomConcept:
        try:
            rows = d["units"]
            if not isinstance(rows, list) or not all(
                isinstance(r, list) and len(r) == 3 and isinstance(r[0], int) and r[0] >= 0
                for r in rows
            ):
                raise ValueError("'units' must be a list of [unit, iou, contrast]")
            name, layer = d["name"], d["layer"]
            if not isinstance(name, str) or not valid_concept_name(name):
                raise ValueError(f"bad concept name {name!r}")
            if not isinstance(layer, str):
                raise ValueError("'layer' must be a string")
            return cls(
                name=name,
                layer=layer,
                units=[int(r[0]) for r in rows],
                iou=[float(r[1]) for r in rows],
                contrast=[float(r[2]) for r in rows],
                seeds=[int(s) for s in d.get("seeds", [])],
                icon=str(d.get("icon", "mdi.brush")),
                created=str(d.get("created", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GanpaintError(f"{where}: malformed custom concept ({exc})") from None


def read_masks(folder: str | Path) -> tuple[list[int], list[np.ndarray]]:
    """Masks named ``seed_<n>.png`` in ``folder`` (white = the concept)."""
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise GanpaintError(f"{folder}: not a folder")
    seeds, masks = [], []
    for path in sorted(folder.glob("seed_*.png")):
        m = re.fullmatch(r"seed_(\d+)\.png", path.name)
        if not m:
            continue
        try:
            with Image.open(path) as img:
                masks.append(np.asarray(img.convert("L")))
        except OSError as exc:
            raise GanpaintError(f"{path}: not a readable image ({exc})") from None
        seeds.append(int(m.group(1)))
    if not seeds:
        raise GanpaintError(f"{folder}: no masks named seed_<n>.png")
    return seeds, masks


def concepts_path(model_name: str, folder: str | Path | None = None) -> Path:
    """The user's concept file for a model (in the user data folder unless ``folder``)."""
    from ganpaint.core.paths import user_data_dir

    safe = re.sub(r"[^\w\-.]", "_", model_name) or "model"
    return Path(folder or user_data_dir() / "concepts") / f"{safe}.json"


def load_concepts(path: str | Path) -> list[CustomConcept]:
    """Concepts from a file (none if it does not exist); malformed files raise."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GanpaintError(f"{path}: not a concept file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != CONCEPTS_FORMAT:
        raise GanpaintError(f"{path}: not a GANPaint concept file")
    if not isinstance(doc.get("version"), int) or doc["version"] > CONCEPTS_VERSION:
        raise GanpaintError(f"{path}: concept file version {doc.get('version')!r} unsupported")
    items = doc.get("concepts")
    if not isinstance(items, list):
        raise GanpaintError(f"{path}: 'concepts' must be a list")
    return [CustomConcept.from_dict(c, f"{path}: concept {i + 1}") for i, c in enumerate(items)]


def save_concepts(path: str | Path, concepts: Sequence[CustomConcept], model: str = "") -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": CONCEPTS_FORMAT,
        "version": CONCEPTS_VERSION,
        "model": model,
        "concepts": [c.to_dict() for c in concepts],
    }
    atomic_write_text(path, json.dumps(doc, indent=1) + "\n")


def add_concept(path: str | Path, concept: CustomConcept, model: str = "") -> None:
    """Add (or replace, by name) a concept in the file at ``path``."""
    existing = [c for c in load_concepts(path) if c.name != concept.name]
    save_concepts(path, [*existing, concept], model)


def export_concept(path: str | Path, name: str, output: str | Path, model: str = "") -> None:
    """Write concept ``name`` of the file at ``path`` alone to ``output``."""
    chosen = [c for c in load_concepts(path) if c.name == name]
    if not chosen:
        raise GanpaintError(f"no custom concept named {name!r} in {path}")
    save_concepts(output, chosen, model)


def import_concepts(
    path: str | Path, source: str | Path, layers: Sequence[str], model: str = ""
) -> list[CustomConcept]:
    """Add the concepts of ``source`` to the file at ``path``; every concept's layer must be
    one of ``layers`` (the model's). Returns the concepts added."""
    imported = load_concepts(source)
    if not imported:
        raise GanpaintError(f"{source}: no concepts to import")
    for c in imported:
        if c.layer not in layers:
            raise GanpaintError(f"concept {c.name!r} uses layer {c.layer}, not in this model")
        add_concept(path, c, model)
    return imported
