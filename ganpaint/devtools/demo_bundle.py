"""A random-weight model bundle with a made-up dissection, for tests and UI screenshots.

The weights are untrained and the labels are synthetic (units dealt out to concepts), so
the images mean nothing; the bundle only has the right shape for every panel of the app.
Real screenshots use the trained ``models/scenes128`` bundle when it exists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from ganpaint.dissect.passes import DEFAULT_QUANTILES
from ganpaint.engine.levels import UnitLevels
from ganpaint.models import ProGANGenerator, save_generator, write_bundle_json
from ganpaint.scenes.concepts import CONCEPTS


def synthetic_dissection(
    gen: ProGANGenerator, layers: Sequence[str], concepts: Sequence[str], seed: int = 0
) -> dict:
    """A dissection.json dict (docs/FORMATS.md) whose labels are dealt out at random."""
    rng = torch.Generator().manual_seed(seed)
    out = {
        "format": "ganpaint-dissection",
        "version": 1,
        "model": "demo",
        "samples": 64,
        "seed_base": 1_000_000_000,
        "concepts": list(concepts),
        "threshold_quantile": 0.995,
        "iou_cutoff": 0.05,
        "layers": {},
    }
    for layer in layers:
        units = gen.layer_channels(layer)
        levels = UnitLevels.estimate(gen, layer, DEFAULT_QUANTILES, samples=32)
        order = torch.randperm(units, generator=rng).tolist()
        labels, per_concept = [], {}
        for rank, unit in enumerate(order):
            concept = concepts[rank % len(concepts)]
            iou = round(0.02 + 0.3 * float(torch.rand(1, generator=rng)), 4)
            labels.append({"unit": unit, "concept": concept, "iou": iou})
            per_concept.setdefault(concept, []).append([unit, iou])
        labels.sort(key=lambda d: d["unit"])
        info = {}
        for concept, pairs in per_concept.items():
            pairs.sort(key=lambda p: -p[1])
            causal = [[u, round(s * 0.8 + 0.05 * (i % 3), 4)] for i, (u, s) in enumerate(pairs)]
            causal.sort(key=lambda p: -p[1])
            info[concept] = {
                "iou": pairs[:50],
                "causal": causal[:50],
                "causal_set": {"units": [u for u, _ in causal[:5]], "removal": 0.4},
                # an ACE drawing set that differs from the removal order
                "insert_set": {"units": [u for u, _ in causal[2::-1]], "insertion": 0.3},
            }
        out["layers"][layer] = {
            "units": units,
            "resolution": gen.layer_resolution(layer),
            "quantiles": list(DEFAULT_QUANTILES),
            "levels": levels.levels.tolist(),
            "thresholds": levels.at(0.995).tolist(),
            "unit_labels": labels,
            "concepts": info,
        }
    return out


def make_demo_bundle(
    folder: str | Path,
    widths: Sequence[int] = (32, 32, 16, 16, 8),
    z_dim: int = 32,
    concepts: Sequence[str] = CONCEPTS,
    layers: Sequence[str] = ("layer4", "layer6"),
    dissection: bool = True,
    seed: int = 0,
    name: str = "demo",
) -> Path:
    """Write a bundle folder with random weights (and a synthetic dissection); returns it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    gen = ProGANGenerator(list(widths), z_dim=z_dim).eval()
    save_generator(gen, folder / "generator.safetensors")
    if dissection:
        d = synthetic_dissection(gen, layers, concepts, seed)
        (folder / "dissection.json").write_text(json.dumps(d), encoding="utf-8")
    meta = {
        "name": name,
        "architecture": "progan",
        "widths": list(widths),
        "z_dim": z_dim,
        "resolution": gen.resolution,
        "edit_layers": list(layers),
        "default_layer": layers[0],
        "concepts": list(concepts),
        "training": {
            "config": {"note": "random weights, synthetic dissection (UI demo only)"},
            "steps": 0,
            "images_seen": 0,
            "hardware": "none",
            "wall_s": 0,
        },
    }
    write_bundle_json(folder, meta)
    return folder
