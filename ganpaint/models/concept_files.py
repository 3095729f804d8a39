"""A user's custom concepts on disk: the concept file (one small JSON file per model, which
the app reads beside the bundle's dissection, exported and imported whole or by name), the
one rule for which concepts fit a model (:class:`ModelFit`, used by the app and the CLI
alike: on import the concepts that fit are added and each one that does not is named with
why) and the folder of marked masks ``ganpaint concept --masks`` reads. The scoring that makes a
concept from masks is in :mod:`ganpaint.dissect.custom`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
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
                isinstance(r, list) and len(r) == 3 and _count(r[0]) for r in rows
            ):
                raise ValueError("'units' must be a list of [unit, iou, contrast]")
            name, layer = d["name"], d["layer"]
            if not isinstance(name, str) or not valid_concept_name(name):
                raise ValueError(f"bad concept name {name!r}")
            if not isinstance(layer, str):
                raise ValueError("'layer' must be a string")
            seeds = d.get("seeds", [])
            if not isinstance(seeds, list) or not all(_count(s) for s in seeds):
                raise ValueError("'seeds' must be a list of seeds (whole numbers from 0)")
            iou, contrast = [_score(r[1]) for r in rows], [_score(r[2]) for r in rows]
            return cls(
                name=name,
                layer=layer,
                units=[int(r[0]) for r in rows],
                iou=iou,
                contrast=contrast,
                seeds=[int(s) for s in seeds],
                icon=str(d.get("icon", "mdi.brush")),
                created=str(d.get("created", "")),
            )
        except KeyError as exc:
            raise GanpaintError(f"{where}: malformed custom concept (no {exc})") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise GanpaintError(f"{where}: malformed custom concept ({exc})") from None


def _count(v: Any) -> bool:
    """A unit index or seed: a whole number from 0 (not a JSON true or false)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _score(v: Any) -> float:
    """An IoU or contrast: a finite number."""
    try:
        f = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan
    except OverflowError:  # an integer of hundreds of digits
        f = math.inf
    if not math.isfinite(f):
        raise ValueError(f"a unit's score must be a finite number, not {str(v)[:20]}")
    return f


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
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, huge ints
        raise GanpaintError(f"{path}: not a concept file ({exc})") from None
    except RecursionError:
        raise GanpaintError(f"{path}: not a concept file (nested too deeply)") from None
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


RESERVED_NAMES = frozenset({"units"})
"""Names no custom concept may take on any layer: the app's brush of hand-picked units."""


@dataclass(frozen=True)
class ModelFit:
    """What a custom concept must fit to be used with a model: its edit layers with their
    unit counts, and per layer the names its own concepts already take. The one rule for
    the app (which skips a concept that does not fit when it reads the file) and for
    importing (app and ``ganpaint concept --import``)."""

    model: str
    channels: Mapping[str, int]  # edit layer -> its number of units
    taken: Mapping[str, frozenset[str]] = field(default_factory=dict)  # layer -> names

    @classmethod
    def of(cls, bundle: Any) -> ModelFit:
        """The fit for a :class:`~ganpaint.models.ModelBundle`: its edit layers, and the
        concepts its dissection found units for on each."""
        channels = {str(n): int(bundle.generator.layer_channels(n)) for n in bundle.edit_layers}
        return cls(
            bundle.name, channels, {n: builtin_names(bundle.dissection, n) for n in channels}
        )

    def problem(self, concept: CustomConcept) -> str | None:
        """Why ``concept`` cannot be used with the model (None when it can)."""
        layer = concept.layer
        if layer not in self.channels:
            return f"its layer {layer} is not an edit layer of {self.model}"
        count = self.channels[layer]
        if not concept.units or any(u >= count for u in concept.units):
            return f"its units do not fit the {count} units of {layer}"
        if concept.name in RESERVED_NAMES or concept.name in self.taken.get(layer, ()):
            return f"“{concept.name}” is already a concept of {self.model}"
        return None


def builtin_names(dissection: Any, layer: str) -> frozenset[str]:
    """The concepts the dissection found units for on ``layer`` (ranked by IoU or by
    causal effect): the names a brush of the model already has there."""
    info = dissection.layer(layer) if dissection is not None else None
    concepts = info.concepts if info is not None else {}
    return frozenset(name for name, c in concepts.items() if c.iou or c.causal)


@dataclass
class ImportReport:
    """What importing a concept file did: the names added (those replacing a concept of the
    same name in the user's file also in ``replaced``) and each one skipped, with why."""

    source: str
    model: str = ""
    found: int = 0
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why)

    def skipped_lines(self) -> list[str]:
        """One line per skipped concept: "name: why"."""
        return [f"{name}: {why}" for name, why in self.skipped]

    def nothing_imported(self) -> str:
        """The message when none of the file's concepts fits (the caller's error)."""
        return (
            f"{self.source}: none of its {self.found} concept(s) fits {self.model}: "
            + "; ".join(self.skipped_lines())
        )


def import_concepts(path: str | Path, source: str | Path, fit: ModelFit) -> ImportReport:
    """Add the concepts of ``source`` that fit the model (``fit``) to the user's file at
    ``path``, in one write; each one that does not is skipped with why. A concept named as
    one already in the user's file replaces it; of two with one name in ``source`` the
    later wins. A file that cannot be read, is not a concept file, has a malformed concept
    or holds none is refused whole (:class:`GanpaintError` naming the problem); the caller
    treats a report with nothing added as a failure (:meth:`ImportReport.nothing_imported`).
    """
    if not Path(source).is_file():
        raise GanpaintError(f"{source}: no such file")
    found = load_concepts(source)
    if not found:
        raise GanpaintError(f"{source}: no concepts in the file")
    report = ImportReport(str(source), fit.model, len(found))
    fitting: dict[str, CustomConcept] = {}
    for i, concept in enumerate(found):
        problem = fit.problem(concept)
        later = any(c.name == concept.name for c in found[i + 1 :])
        if problem is None and later:
            problem = "a later concept in the file has the same name"
        if problem is not None:
            report.skipped.append((concept.name, problem))
        else:
            fitting[concept.name] = concept
    if fitting:
        existing = load_concepts(path)
        report.replaced = [c.name for c in existing if c.name in fitting]
        kept = [c for c in existing if c.name not in fitting]
        save_concepts(path, [*kept, *fitting.values()], fit.model)
        report.added = list(fitting)
    return report
