"""What ``evaluate-gan``'s precision and recall mean: ``python -m
ganpaint.devtools.recall_scale [--model PATH] [--samples 1000] [--json]``.

Renders two sets of world scenes (``evaluate-gan``'s evaluation seeds) and measures, on the
model's segmenter features, precision and recall (k = 3) against the first set of:

* the second set as it is (the floor), then softened to a half and a quarter of its
  resolution (area down, bilinear up): how far blur alone moves the features;
* the model's samples, with the share of rendered scenes they cover split by how much of
  each scene is buildings, the mean pairwise distance of the first 300 features of each set
  (how spread they are) and the median ball radius of each.

The figures are measurements, not pass/fail checks.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

BINS = ((0.0, 0.05), (0.05, 0.15), (0.15, 0.3), (0.3, 0.5), (0.5, 1.01))  # building share
SOFTEN = (2, 4)
K = 3
SPREAD_ROWS = 300


def soften(images: np.ndarray, factor: int) -> np.ndarray:
    """uint8 (N, H, W, 3) at 1/``factor`` of their resolution (area), brought back (bilinear)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    x = F.interpolate(F.interpolate(x, scale_factor=1 / factor, mode="area"),
                      size=images.shape[1:3], mode="bilinear")  # fmt: skip
    return x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def measure(model: str | None = None, samples: int = 1000) -> dict[str, Any]:
    """The figures described in the module docstring."""
    import torch

    from ganpaint.models import load_bundle
    from ganpaint.models.realism import covered, nearest_distance, precision_recall
    from ganpaint.models.segmenter import image_features
    from ganpaint.scenes.classes import BUILDING_LABELS
    from ganpaint.train.data import EVAL_SEED, render_scenes
    from ganpaint.train.quality import generate_images

    bundle = load_bundle(model)
    seg = bundle.load_segmenter()
    if seg is None:
        raise ValueError(f"{bundle.name} has no segmenter to measure with")
    res = bundle.generator.resolution
    real, labels = render_scenes(samples, res, EVAL_SEED)
    other = render_scenes(samples, res, EVAL_SEED + samples)[0]
    feats = lambda images: image_features(seg, images).numpy()  # noqa: E731
    ref = feats(real)
    rows = {"rendered (the floor)": precision_recall(feats(other), ref)}
    for f in SOFTEN:
        rows[f"rendered at 1/{f} resolution"] = precision_recall(feats(soften(other, f)), ref)
    fake = feats(generate_images(bundle.generator, range(samples), torch.device("cpu")).numpy())
    rows[bundle.name] = precision_recall(fake, ref)
    hit = covered(ref, fake, K)
    building = np.isin(np.asarray(labels), BUILDING_LABELS).reshape(samples, -1).mean(1)
    bins = []
    for lo, hi in BINS:
        inside = (building >= lo) & (building < hi)
        share = float(hit[inside].mean()) if inside.any() else None
        bins.append({"buildings": [lo, min(hi, 1.0)], "scenes": int(inside.sum()),
                     "covered": share})  # fmt: skip

    def radius(x: np.ndarray) -> float:  # a row's ball: to its K-th nearest other row
        return round(float(np.median(nearest_distance(x, x, K + 1))), 4)

    def spread(x: np.ndarray) -> float:  # over distinct pairs
        y = x[:SPREAD_ROWS]
        pair = np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1))
        return float(pair.sum() / (len(y) * (len(y) - 1)))

    return {
        "model": bundle.name, "samples": samples, "k": K,
        "rows": {name: {"precision": round(p, 4), "recall": round(r, 4)}
                 for name, (p, r) in rows.items()},
        "recall_by_buildings": bins,
        "mean_pairwise": {"rendered": round(spread(ref), 4), "generated": round(spread(fake), 4)},
        "median_radius": {"rendered": radius(ref), "generated": radius(fake)},
    }  # fmt: skip


def describe(r: dict[str, Any]) -> str:
    lines = [f"{r['model']}: {r['samples']} images a set, k = {r['k']}, against rendered scenes",
             f"{'':32s} {'precision':>9s} {'recall':>7s}"]  # fmt: skip
    lines += [
        f"{name:32s} {v['precision']:>9.3f} {v['recall']:>7.3f}" for name, v in r["rows"].items()
    ]
    for b in r["recall_by_buildings"]:
        lo, hi = b["buildings"]
        share = "-" if b["covered"] is None else f"{b['covered']:.3f}"
        lines.append(f"buildings {lo:.2f}-{hi:.2f}: {b['scenes']:4d} scenes, covered {share}")
    lines.append(f"mean pairwise distance (first {SPREAD_ROWS}): {r['mean_pairwise']}")
    lines.append(f"median ball radius: {r['median_radius']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.recall_scale",
                                description=__doc__.split("\n\n")[1])  # fmt: skip
    p.add_argument("--model", help="bundle folder (default: the bundled model)")
    p.add_argument("--samples", type=int, default=1000, help="images a set (default 1000)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.samples <= K + 1:
        print(f"recall_scale: --samples must be more than {K + 1}", file=sys.stderr)
        return 2
    try:
        r = measure(args.model, args.samples)
    except ValueError as exc:
        print(f"recall_scale: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(r) if args.json else describe(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
