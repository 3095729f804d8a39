"""Custom concepts: find the units that draw what a user marked on a few samples.

The user paints masks (the concept's region) on 3–10 generated samples. Each unit of the
edit layer is scored the way dissection scores it against a segmenter: its map, upsampled
bilinearly to the image and thresholded at its levels at a few quantiles (0.9 … 0.995), is
compared with the marked masks by IoU over all samples, keeping the best threshold; a
second score, the contrast of its mean activation inside versus outside the marks (in units
of its overall standard deviation), orders units the thresholded maps do not separate.
Concepts are saved in a small JSON file per model, which the app reads beside the bundle's
dissection, and can be exported and imported.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.core.files import atomic_write_text
from ganpaint.core.seeds import zs_from_seeds
from ganpaint.dissect.sampling import upsample_maps
from ganpaint.engine.levels import UnitLevels
from ganpaint.models.bundle import ModelBundle
from ganpaint.models.progan import ProGANGenerator

CONCEPTS_FORMAT = "ganpaint-concepts"
CONCEPTS_VERSION = 1
# Candidate thresholds, as in the dissection: each unit is judged at its best one.
THRESHOLD_QUANTILES = (0.9, 0.95, 0.99, 0.995)
MAX_UNITS_KEPT = 50
_NAME = re.compile(r"^[\w][\w \-]{0,39}$")


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
            if not isinstance(name, str) or not _NAME.match(name):
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


def unit_thresholds(bundle: ModelBundle, layer: str) -> torch.Tensor:
    """Each unit's levels (units, T) at :data:`THRESHOLD_QUANTILES`: from the dissection,
    else estimated from samples."""
    levels = UnitLevels.from_dissection(bundle.dissection, layer)
    if levels is None:
        levels = UnitLevels.estimate(bundle.generator, layer, samples=128)
    return torch.stack([levels.at(q).double() for q in THRESHOLD_QUANTILES], dim=1)


def score_units(
    generator: ProGANGenerator,
    layer: str,
    seeds: Sequence[int],
    masks: Sequence[np.ndarray],
    thresholds: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(iou, contrast) per unit of ``layer`` against ``masks`` (bool/uint8 HxW per seed).

    ``thresholds`` is (units,) or (units, T); with several, each unit keeps its best IoU.
    """
    if len(seeds) != len(masks) or not seeds:
        raise GanpaintError("give one mask per sample, and at least one sample")
    size = (generator.resolution, generator.resolution)
    marks = []
    for seed, m in zip(seeds, masks, strict=True):
        m = np.asarray(m)
        if m.shape != size:
            raise GanpaintError(f"the mask for seed {seed} is {m.shape}, expected {size}")
        marks.append(torch.from_numpy(m > (127 if m.dtype == np.uint8 else 0.5)))
    target = torch.stack(marks)  # (N, H, W)
    if not target.any():
        raise GanpaintError("the masks mark nothing")
    z = zs_from_seeds(seeds, generator.z_dim)
    with torch.inference_mode():
        feats = upsample_maps(generator.run(z, until=layer).double(), size)  # (N, U, H, W)
    t = target[:, None]
    levels = thresholds.double().reshape(thresholds.shape[0], -1)
    iou = torch.zeros(feats.shape[1], dtype=torch.float64)
    for k in range(levels.shape[1]):
        active = feats > levels[:, k].view(1, -1, 1, 1)
        inter = (active & t).sum(dim=(0, 2, 3)).double()
        union = (active | t).sum(dim=(0, 2, 3)).double()
        iou = torch.maximum(iou, torch.where(union > 0, inter / union.clamp(min=1), 0.0))
    inside = (feats * t).sum(dim=(0, 2, 3)) / t.sum()
    outside = (feats * ~t).sum(dim=(0, 2, 3)) / (~t).sum().clamp(min=1)
    spread = feats.transpose(0, 1).reshape(feats.shape[1], -1).std(dim=1).clamp(min=1e-6)
    return iou, (inside - outside) / spread


def find_concept(
    bundle: ModelBundle,
    name: str,
    seeds: Sequence[int],
    masks: Sequence[np.ndarray],
    layer: str | None = None,
    keep: int = MAX_UNITS_KEPT,
    thresholds: torch.Tensor | None = None,
) -> CustomConcept:
    """Rank the units of ``layer`` (default: the bundle's) for the marked concept;
    ``thresholds`` (from :func:`unit_thresholds`) saves working them out again."""
    if not _NAME.match(name or ""):
        raise GanpaintError(f"concept name {name!r}: use 1-40 letters, digits, spaces, - or _")
    layer = layer or bundle.default_layer
    if layer not in bundle.generator.layer_names:
        raise GanpaintError(f"{layer!r} is not a layer of {bundle.name}")
    if thresholds is None:
        thresholds = unit_thresholds(bundle, layer)
    iou, contrast = score_units(bundle.generator, layer, list(seeds), list(masks), thresholds)
    # IoU first; contrast orders the units whose thresholded maps never touch the marks.
    order = sorted(range(len(iou)), key=lambda u: (-float(iou[u]), -float(contrast[u])))[:keep]
    return CustomConcept(
        name=name,
        layer=layer,
        units=order,
        iou=[float(iou[u]) for u in order],
        contrast=[float(contrast[u]) for u in order],
        seeds=[int(s) for s in seeds],
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


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


# -- concept files -------------------------------------------------------------------------


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
