"""The report's "Artifact units" section: per unit of ``artifact_units`` (and for the whole
set), the same held-out samples as generated, with that unit zeroed, and their difference
(amplified 4x), so a reader sees what each unit draws before trusting the set."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganpaint.core.images import image_grid
from ganpaint.dissect.artifacts import HELDOUT_SEED, generate
from ganpaint.models.dissection import Dissection
from ganpaint.models.progan import ProGANGenerator, without_units

SAMPLES = 4


def _strip(before: torch.Tensor, after: torch.Tensor) -> Image.Image:
    diff = ((after.float() - before.float()).abs() * 4).clamp(0, 255).to(torch.uint8)
    rows = [x.numpy() for x in (*before, *after, *diff)]
    return Image.fromarray(image_grid(np.stack(rows), len(before), fill=255))


def artifact_section(out: Path, generator: ProGANGenerator, dissection: Dissection) -> list[str]:
    """HTML parts (PNGs saved under ``out/img``); empty when the model has no set."""
    found = dissection.artifact_units()
    if not found:
        return []
    record = dict(dissection.artifacts or {})
    seeds = range(HELDOUT_SEED, HELDOUT_SEED + SAMPLES)
    with torch.no_grad():
        before = generate(generator, seeds)
        figures = ", ".join(
            f"{k} {v}" for k, v in record.items() if k.endswith(("_before", "_after", "_shift"))
        )
        parts = [
            "<h2>Artifact units</h2>",
            "<p>Zeroed by View &gt; Clean artifacts. Rows: generated, with the unit(s) "
            f"zeroed, difference x4 (seeds {seeds.start}..). Held-out figures: "
            f"{html.escape(figures or 'not recorded')}.</p><div>",
        ]
        jobs = [(f"{layer} unit {u}", {layer: [u]}) for layer, us in found.items() for u in us]
        jobs.append(("the whole set", {k: list(v) for k, v in found.items()}))
        for i, (title, units) in enumerate(jobs):
            path = f"img/artifacts-{i}.png"
            _strip(before, generate(without_units(generator, units), seeds)).save(out / path)
            parts.append(f"<div class='unit'><img src='{path}'><br>{html.escape(title)}</div>")
    parts.append("</div>")
    return parts
