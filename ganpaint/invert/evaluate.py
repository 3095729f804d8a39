"""``ganpaint invert --evaluate N``: how well pictures invert and how well they then edit.

On N rendered scenes of the scene world (seeds :data:`EVAL_SEEDS` on: never used to train the
GAN (0..29999), the segmenter (1,000,000 on, held out 10,000,000 on), the encoder
(40,000,000 on) or to choose the inversion's settings (:data:`TUNING_SEEDS`)), each picture
is inverted and measured:

* ``psnr``: of the generator's reconstruction (before any composite) against the picture,
  the mean of the per-picture dB;
* ``miou``: the bundle's segmenter on the reconstruction against the segmenter on the
  picture, IoU per concept over all pictures (``dissect.stats.IoUCounter``), averaged over
  the concepts the pictures show;
* ``insertion_ratio``: a tree stroke (the tree brush's units at the default layer, a square
  a quarter of the image wide where the picture shows the least tree) adds tree pixels
  inside the stroke; the mean share added on the inverted pictures over the mean share the
  same strokes add on generated scenes (z of the same seeds);
* ``outside_max_levels``: the largest change of any pixel outside the brush's reach (the
  stroke dilated by ``2 * feather`` pixels, ``engine.picture_net.reach_mask``) between the
  picture and the rendered (composited) edit, in uint8 levels;
* ``seconds_per_image``: the mean wall time of :func:`invert_picture` (time to an editable
  picture), on the device used.

With ``rows`` (a JSON-lines file) each picture's figures are appended as soon as they are
measured and pictures already there are skipped, so a long evaluation can stop and go on;
the summary is over the rows of the requested seeds.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganpaint.core.devices import describe_device, pick_device
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.dissect.evaluate import insertion_units
from ganpaint.dissect.stats import IoUCounter
from ganpaint.engine.document import EditDocument, Stroke
from ganpaint.engine.picture_net import reach_mask
from ganpaint.engine.renderer import Renderer
from ganpaint.invert.inversion import InvertConfig, invert_picture
from ganpaint.models.bundle import ModelBundle
from ganpaint.models.segmenter import segment

EVAL_SEEDS = 20_000_000
TUNING_SEEDS = 21_000_000
TREE_UNITS = 15  # the brush's default unit count (app.state.tool.BrushSettings)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(255.0**2 / max(mse, 1e-10))


def tree_stroke(bundle: ModelBundle, labels: np.ndarray, tree: int) -> Stroke:
    """A quarter-image square where ``labels`` show the least tree, in the lower-middle band
    where trees stand, cell-aligned at 8 px; ties go to the centre."""
    size = labels.shape[0]
    side, step = size // 4, max(1, size // 16)
    best = None
    for y in range(3 * size // 8, size - side + 1, step):
        for x in range(0, size - side + 1, step):
            count = int((labels[y : y + side, x : x + side] == tree).sum())
            key = (count, abs(x + side / 2 - size / 2) + abs(y + side / 2 - size / 2))
            if best is None or key < best[0]:
                best = (key, y, x)
    mask = np.zeros((size, size), np.uint8)
    _, y, x = best
    mask[y : y + side, x : x + side] = 255
    layer = bundle.default_layer
    units = insertion_units(bundle.dissection, layer, "tree")[:TREE_UNITS]
    return Stroke("tree", "draw", tuple(units), 1.0, 0.99, layer, mask)


def _gain(seg, before: np.ndarray, after: np.ndarray, mask: np.ndarray, tree: int) -> float:
    labels = segment(seg, np.stack([before, after])).numpy()
    inside = mask > 0
    return float(((labels[1] == tree) & inside).sum() - ((labels[0] == tree) & inside).sum()) / (
        float(inside.sum())
    )


def evaluate_inversion(
    bundle: ModelBundle,
    n: int,
    *,
    seed_base: int = EVAL_SEEDS,
    steps: int | None = None,
    config: InvertConfig | None = None,
    device: str | None = None,
    progress: ProgressFactory = no_progress,
    rows: str | Path | None = None,
) -> dict[str, Any]:
    """The figures of the module docstring on ``n`` scenes from ``seed_base``."""
    if n < 1:
        raise GanpaintError("--evaluate needs at least 1 picture")
    seg = bundle.load_segmenter()
    if seg is None or bundle.dissection is None or "tree" not in bundle.concepts:
        raise GanpaintError(f"{bundle.path}: evaluation needs a segmenter, a dissection, a tree")
    cfg = config or InvertConfig()
    if steps is not None:
        cfg = replace(cfg, steps=int(steps))
    dev = pick_device(device)
    renderer = Renderer(bundle.generator, dev, bundle.dissection, incremental=False)
    seeds = range(seed_base, seed_base + n)
    done = _read_rows(rows, seeds)
    bar = progress("inverting", n)
    bar.update(len(done))
    for seed in seeds:
        if seed in done:
            continue
        done[seed] = _measure(bundle, renderer, seg, seed, cfg, dev)
        if rows is not None:
            with open(rows, "a", encoding="utf-8") as f:
                f.write(json.dumps(done[seed]) + "\n")
        bar.update(1)
    bar.close()
    return _summary([done[s] for s in seeds], bundle, cfg, seed_base, dev)


def _read_rows(rows: str | Path | None, seeds: range) -> dict[int, dict[str, Any]]:
    """The rows already measured for ``seeds`` in the file ``rows`` (none when absent)."""
    if rows is None or not Path(rows).is_file():
        return {}
    out = {}
    for line in Path(rows).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut short when a run was stopped
        if isinstance(row, dict) and row.get("seed") in seeds:
            out[row["seed"]] = row
    return out


def _measure(bundle: ModelBundle, renderer: Renderer, seg, seed: int, cfg, dev) -> dict:
    """One picture's figures (its IoU counts kept, so any set of rows can be summarised)."""
    from ganpaint.scenes import render_scene

    res, k = bundle.generator.resolution, len(bundle.concepts)
    tree = bundle.concepts.index("tree")
    picture, _ = render_scene(seed, res)
    start = time.perf_counter()
    base = invert_picture(bundle, picture, device=dev, config=cfg)
    seconds = time.perf_counter() - start
    doc = EditDocument(bundle.name, bundle.default_layer, seed=seed, picture=base)
    raw = renderer.render(doc.snapshot(), raw=True).image
    labels = segment(seg, np.stack([picture, raw]))
    ious = IoUCounter(k, k)
    ious.add(torch.nn.functional.one_hot(labels[1:], k).permute(0, 3, 1, 2).bool(), labels[:1])
    stroke = tree_stroke(bundle, labels[0].numpy(), tree)
    doc.add_stroke(stroke)
    edited = renderer.render(doc.snapshot()).image
    outside = ~reach_mask([stroke], res, base.feather)
    diff = np.abs(edited.astype(np.int16) - picture.astype(np.int16)).max(axis=2)
    scene = EditDocument(bundle.name, bundle.default_layer, seed=seed)
    plain = renderer.render(scene.snapshot()).image
    scene.add_stroke(stroke)
    drawn = renderer.render(scene.snapshot()).image
    inter = ious.intersection.diagonal()
    return {
        "seed": seed,
        "psnr": psnr(raw, picture),
        "seconds": seconds,
        "insertion": _gain(seg, picture, edited, stroke.mask, tree),
        "insertion_generated": _gain(seg, plain, drawn, stroke.mask, tree),
        "outside_max_levels": int(diff[outside].max()) if outside.any() else 0,
        "float16_max_levels": base.info.get("float16_max_levels", 0),
        "intersection": inter.tolist(),
        "union": (ious.unit_area + ious.concept_area - inter).tolist(),
        "shown": ious.concept_area.tolist(),
    }


def _summary(rows: list[dict], bundle, cfg, seed_base: int, dev) -> dict[str, Any]:
    inter = np.sum([r["intersection"] for r in rows], axis=0).astype(np.float64)
    union = np.sum([r["union"] for r in rows], axis=0).astype(np.float64)
    shown = np.sum([r["shown"] for r in rows], axis=0) > 0
    per = {
        c: round(float(inter[i] / union[i]), 4) for i, c in enumerate(bundle.concepts) if shown[i]
    }
    mean = lambda key: float(np.mean([r[key] for r in rows]))  # noqa: E731
    generated = mean("insertion_generated")
    return {
        "n": len(rows),
        "seeds": [seed_base, seed_base + len(rows) - 1],
        "psnr": round(mean("psnr"), 2),
        "psnr_min": round(min(r["psnr"] for r in rows), 2),
        "miou": round(float(np.mean(list(per.values()))), 4),
        "iou": per,
        "insertion_ratio": round(mean("insertion") / generated, 3) if generated > 0 else None,
        "insertion_picture": round(mean("insertion"), 4),
        "insertion_generated": round(generated, 4),
        "outside_max_levels": max(r["outside_max_levels"] for r in rows),
        "seconds_per_image": round(mean("seconds"), 2),
        "float16_max_levels": max(r["float16_max_levels"] for r in rows),
        "steps": cfg.steps,
        "config": {k: v for k, v in vars(cfg).items() if k != "extra"},
        "device": describe_device(dev, hardware=True),
        "encoder": bundle.encoder_path is not None,
    }
