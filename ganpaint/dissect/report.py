"""An HTML report of a dissection: per layer, a bar chart of how many units each concept has
and the labelled units grouped by concept, each with its top-activating samples (crops
around the peak, and the same crops with a heatmap of the unit and the outline of its
thresholded region), and the units ``ganpaint artifacts`` found drawing artifacts, before and
after zeroing (``artifacts_report``). Pictures are PNGs drawn with Pillow.

The top samples per unit come from ``top_samples`` in ``dissection.json`` (kept during the
dissection); for a dissection without them they are recomputed over ``fallback_samples``.
Those samples are regenerated from their seeds, a batch at a time.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.passes import IOU_CUTOFF
from ganpaint.dissect.sampling import (
    batches,
    forward_layers,
    latents,
    ordered_layers,
    prepare_generator,
    upsample_maps,
)
from ganpaint.dissect.stats import RunningTopK
from ganpaint.models.dissection import Dissection, DissectionLayer
from ganpaint.models.progan import ProGANGenerator

TILE = 96
BAR_COLOR = (70, 110, 170)


def units_by_concept(
    layer_doc: DissectionLayer,
    cutoff: float,
    all_units: bool = False,
    max_units: int | None = None,
) -> list[tuple[str, list[tuple[int, float]]]]:
    """[(concept, [(unit, iou), ...]), ...]: groups biggest first, units by IoU."""
    groups: dict[str, list[tuple[int, float]]] = {}
    for entry in layer_doc.unit_labels:
        iou = float(entry.iou or 0.0)
        name = entry.concept if iou >= cutoff else None
        if name is None:
            if not all_units:
                continue
            name = "(unlabelled)"
        groups.setdefault(str(name), []).append((entry.unit, iou))
    out = []
    for name, units in groups.items():
        units.sort(key=lambda p: -p[1])
        out.append((name, units[:max_units] if max_units else units))
    out.sort(key=lambda g: (g[0] == "(unlabelled)", -len(g[1]), g[0]))
    return out


def bar_chart(counts: Sequence[tuple[str, int]], title: str) -> Image.Image:
    """Horizontal bars, one per concept, labelled with the count."""
    row, left, width = 18, 110, 420
    img = Image.new("RGB", (left + width + 60, 30 + row * max(1, len(counts))), "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 6), title, fill="black")
    top = max([c for _, c in counts] + [1])
    for i, (name, count) in enumerate(counts):
        y = 26 + i * row
        draw.text((8, y + 2), name[:16], fill="black")
        length = int(width * count / top)
        draw.rectangle([left, y + 2, left + max(length, 1), y + row - 4], fill=BAR_COLOR)
        draw.text((left + length + 6, y + 2), str(count), fill="black")
    return img


def _heat(a: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB floats (black, red, yellow, white)."""
    r = np.clip(a * 3, 0, 1)
    g = np.clip(a * 3 - 1, 0, 1)
    b = np.clip(a * 3 - 2, 0, 1)
    return np.stack([r, g, b], axis=-1)


def unit_strip(
    images: Sequence[np.ndarray], maps: Sequence[np.ndarray], threshold: float
) -> Image.Image:
    """Two rows of tiles: crops around each map's peak, and the same with the heatmap."""
    n = max(1, len(images))
    strip = Image.new("RGB", (n * (TILE + 2), 2 * (TILE + 2)), "white")
    for i, (img, m) in enumerate(zip(images, maps, strict=True)):
        size = img.shape[0]
        crop = max(8, size // 2)
        y, x = np.unravel_index(int(np.argmax(m)), m.shape)
        y0 = int(np.clip(y - crop // 2, 0, size - crop))
        x0 = int(np.clip(x - crop // 2, 0, size - crop))
        part = img[y0 : y0 + crop, x0 : x0 + crop].astype(np.float32) / 255.0
        act = m[y0 : y0 + crop, x0 : x0 + crop]
        scale = max(float(threshold), 1e-6)
        heat = _heat(np.clip(act / scale, 0, 1.2) / 1.2)
        inside = (act > threshold)[..., None]
        over = np.where(inside, 0.55 * part + 0.45 * heat, 0.35 * part + 0.35 * heat)
        plain = Image.fromarray((part * 255).round().astype(np.uint8)).resize((TILE, TILE))
        over_img = Image.fromarray((over * 255).round().astype(np.uint8)).resize((TILE, TILE))
        over_img = _outline(over_img, inside[..., 0])
        strip.paste(plain, (i * (TILE + 2), 0))
        strip.paste(over_img, (i * (TILE + 2), TILE + 2))
    return strip


def _outline(tile: Image.Image, region: np.ndarray) -> Image.Image:
    """``tile`` with the border of ``region`` (a boolean map, scaled to the tile) in white."""
    mask = np.asarray(Image.fromarray(region.astype(np.uint8) * 255).resize(tile.size)) > 127
    pad = np.pad(mask, 1, mode="edge")
    interior = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    pixels = np.array(tile)
    pixels[mask & ~interior] = 255
    return Image.fromarray(pixels)


def _top_samples(
    generator: ProGANGenerator,
    layers: list[str],
    seed_base: int,
    samples: int,
    k: int,
    batch_size: int,
    device: torch.device,
) -> dict[str, list[list[int]]]:
    tops = {layer: RunningTopK(k) for layer in layers}
    with torch.inference_mode():
        for block in batches(range(samples), batch_size):
            z = latents(seed_base, block, generator.z_dim, device)
            feats, _ = forward_layers(generator, z, layers, to_image=False)
            idx = torch.as_tensor(list(block), device=device)
            for layer, h in feats.items():
                tops[layer].add(h.float().amax(dim=(2, 3)), idx)
    return {layer: t.result()[1].tolist() for layer, t in tops.items()}


def _render_samples(
    generator: ProGANGenerator,
    layers: list[str],
    wanted: dict[int, list[tuple[str, int]]],
    seed_base: int,
    batch_size: int,
    device: torch.device,
    progress: ProgressFactory,
) -> tuple[dict[int, np.ndarray], dict[tuple[str, int, int], np.ndarray]]:
    """The images of the ``wanted`` samples and, per (layer, unit, sample) wanted, the unit's
    map upsampled to the image."""
    samples = sorted(wanted)
    images: dict[int, np.ndarray] = {}
    maps: dict[tuple[str, int, int], np.ndarray] = {}
    bar = progress("report samples", len(samples))
    try:
        with torch.inference_mode():
            for i in range(0, len(samples), batch_size):
                block = samples[i : i + batch_size]
                z = latents(seed_base, block, generator.z_dim, device)
                feats, image = forward_layers(generator, z, layers, to_image=True)
                size = tuple(image.shape[-2:])
                pix = ((image.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
                pix = pix.permute(0, 2, 3, 1).cpu().numpy()
                for row, s in enumerate(block):
                    images[s] = pix[row]
                    for layer, u in wanted[s]:
                        m = feats[layer][row : row + 1, u : u + 1].float()
                        maps[(layer, u, s)] = upsample_maps(m, size)[0, 0].cpu().numpy()
                bar.update(len(block))
    finally:
        bar.close()
    return images, maps


def _layer_html(
    out: Path,
    layer: str,
    doc: DissectionLayer,
    groups: list[tuple[str, list[tuple[int, float]]]],
    top: Sequence[Sequence[int]],
    per_unit: int,
    cutoff: float,
    images: dict[int, np.ndarray],
    maps: dict[tuple[str, int, int], np.ndarray],
) -> list[str]:
    """One layer's section: its bar chart and its units grouped by concept (PNGs saved)."""
    thresholds = doc.thresholds
    counts = [(name, len(units)) for name, units in groups if name != "(unlabelled)"]
    chart = f"img/{layer}-concepts.png"
    bar_chart(counts, f"{layer}: units per concept (IoU >= {cutoff})").save(out / chart)
    parts = [f"<h2>{html.escape(layer)}</h2><img src='{chart}'>"]
    for name, units in groups:
        entry = doc.concept(name)
        unit_set = entry.causal_set if entry is not None else None
        causal = list(unit_set.units) if unit_set is not None else []
        parts.append(f"<h3>{html.escape(name)} ({len(units)} units)</h3><div>")
        for u, iou in units:
            shown = [int(s) for s in top[u][:per_unit]]
            strip = unit_strip(
                [images[s] for s in shown],
                [maps[(layer, u, s)] for s in shown],
                float(thresholds[u]),
            )
            path = f"img/{layer}-unit{u}.png"
            strip.save(out / path)
            note = f" · causal #{causal.index(u) + 1}" if u in causal else ""
            parts.append(
                f"<div class='unit'><img src='{path}'><br>unit {u} · IoU {iou:.3f}{note}</div>"
            )
        parts.append("</div>")
    return parts


def write_report(
    generator: ProGANGenerator,
    dissection: Dissection,
    out_dir: str | Path,
    layers: Sequence[str] | None = None,
    per_unit: int = 4,
    max_units: int | None = None,
    all_units: bool = False,
    fallback_samples: int = 1000,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    progress: ProgressFactory = no_progress,
) -> Path:
    """Write ``out_dir/index.html`` and its PNGs; returns the HTML path."""
    out = Path(out_dir)
    (out / "img").mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    generator = prepare_generator(generator, device)
    docs = dissection.layers
    layers = ordered_layers(generator, [x for x in (layers or list(docs)) if x in docs])
    cutoff = float(IOU_CUTOFF if dissection.iou_cutoff is None else dissection.iou_cutoff)
    seed_base = dissection.seed_base or 0
    groups = {
        layer: units_by_concept(docs[layer], cutoff, all_units, max_units) for layer in layers
    }
    missing = [layer for layer in layers if docs[layer].top_samples is None]
    top = {layer: docs[layer].top_samples for layer in layers}
    if missing:
        top.update(
            _top_samples(
                generator, missing, seed_base, fallback_samples, per_unit, batch_size, device
            )
        )
    # Which (layer, unit) maps are needed from which sample.
    wanted: dict[int, list[tuple[str, int]]] = {}
    for layer in layers:
        for _, units in groups[layer]:
            for u, _ in units:
                for s in top[layer][u][:per_unit]:
                    wanted.setdefault(int(s), []).append((layer, u))
    images, maps = _render_samples(
        generator, layers, wanted, seed_base, batch_size, device, progress
    )
    model = html.escape(dissection.model or "")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Dissection of {model}</title>",
        "<style>body{font-family:sans-serif;margin:2em}h3{margin-bottom:.2em}"
        ".unit{display:inline-block;margin:6px;vertical-align:top;font-size:12px}</style>",
        "</head><body>",
        f"<h1>Dissection of {model}</h1>",
        f"<p>{dissection.samples or 0} samples, threshold quantile "
        f"{dissection.threshold_quantile}, IoU cut-off {cutoff}.</p>",
    ]
    for layer in layers:
        parts += _layer_html(
            out, layer, docs[layer], groups[layer], top[layer], per_unit, cutoff, images, maps
        )
    from ganpaint.dissect.artifacts_report import artifact_section

    parts += artifact_section(out, generator, dissection)
    parts.append("</body></html>")
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
