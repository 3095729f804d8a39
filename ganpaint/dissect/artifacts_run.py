"""``ganpaint artifacts`` on a bundle: find the set (:mod:`ganpaint.dissect.artifacts`),
report it on held-out seeds, and store it in ``dissection.json`` where it helps there.

The held-out report uses the measures of ``ganpaint evaluate-gan``: ``fd_ratio`` (Fréchet
distance of segmenter features, generated vs rendered scenes, over the same distance
between two rendered sets) and ``sky_noise_ratio`` (high-pass residual in eroded sky,
generated over rendered), before and after zeroing the set, and ``max_share_shift``, the
largest change of a concept's pixel share (points). A bundle with no segmenter is reported
with the flat-colour residual (``flat_noise_*``) and the changed-pixel percentage instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.core.errors import GanpaintError
from ganpaint.dissect.artifacts import (
    HELDOUT_SEED,
    REAL_SEED,
    ArtifactOptions,
    Log,
    find_artifact_units,
    generate,
    relative_change,
)
from ganpaint.models.progan import ProGANGenerator, without_units
from ganpaint.models.realism import (
    changed_percent,
    flat_noise,
    frechet_distance,
    pixel_share,
    sky_noise,
)
from ganpaint.models.segmenter import Segmenter, image_features, segment_features


def _scenes(n: int, size: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    from ganpaint.scenes import render_dataset

    return render_dataset(n, size, start_seed=start)


def evaluate_set(
    gen: ProGANGenerator,
    segmenter: Segmenter | None,
    units: dict[str, list[int]],
    sky: int,
    n: int = 200,
    batch: int = 16,
    start: int = HELDOUT_SEED,
) -> dict[str, Any]:
    """Before/after figures of zeroing ``units`` on ``n`` held-out seeds from ``start``
    (module docstring)."""
    seeds = range(start, start + n)
    before = generate(gen, seeds, batch)
    after = generate(without_units(gen, units), seeds, batch)
    out: dict[str, Any] = {"heldout_seeds": [seeds.start, seeds.stop]}
    if segmenter is None:
        real, _ = _scenes(n, gen.resolution, REAL_SEED)
        ref = flat_noise(torch_from(real)) or 1.0
        return out | {
            "flat_noise_before": round((flat_noise(before) or 0.0) / ref, 4),
            "flat_noise_after": round((flat_noise(after) or 0.0) / ref, 4),
            "changed_pixels_percent": round(changed_percent(after, before), 3),
        }
    real_a, _ = _scenes(n, gen.resolution, REAL_SEED)
    real_b, _ = _scenes(n, gen.resolution, REAL_SEED + n)
    a_labels, a_feats = segment_features(segmenter, real_a)
    floor = frechet_distance(image_features(segmenter, real_b).numpy(), a_feats.numpy())
    k = segmenter.num_classes
    figures = {}
    for key, images in (("before", before), ("after", after)):
        labels, feats = segment_features(segmenter, images)
        fd = frechet_distance(feats.numpy(), a_feats.numpy())
        noise = sky_noise(images, labels, torch_from(real_a), a_labels, sky)
        figures[key] = (fd, noise["ratio"], pixel_share(labels, k))
    shift = np.abs(figures["after"][2] - figures["before"][2]).max()
    relative = relative_change(figures["after"][2], figures["before"][2])
    return out | {
        "fd_floor": round(floor, 4),
        "fd_ratio_before": round(figures["before"][0] / floor, 3),
        "fd_ratio_after": round(figures["after"][0] / floor, 3),
        "sky_noise_before": figures["before"][1],
        "sky_noise_after": figures["after"][1],
        "max_share_shift": round(100 * float(shift), 3),
        "max_relative_change": round(relative, 2),
    }


def torch_from(a: np.ndarray):  # noqa: ANN201 - torch is imported lazily by callers
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def helps(
    figures: dict[str, Any], max_share_shift: float = 1.0, max_relative_change: float = 15.0
) -> bool:
    """Whether the held-out figures show the set cleaner on every measure with the shares
    kept, in points and relative to each concept's share where measured (the rule for
    storing it and for turning Clean artifacts on by default)."""
    if "fd_ratio_before" in figures:
        pairs = [("fd_ratio", "fd_ratio"), ("sky_noise", "sky_noise")]
        shift = figures["max_share_shift"]
    else:
        pairs = [("flat_noise", "flat_noise")]
        shift = figures["changed_pixels_percent"]
    lower = all(
        figures[f"{a}_after"] is not None
        and figures[f"{b}_before"] is not None
        and figures[f"{a}_after"] < figures[f"{b}_before"]
        for a, b in pairs
    )
    relative = figures.get("max_relative_change") or 0.0
    return lower and shift <= max_share_shift and relative <= max_relative_change


def artifacts_for_bundle(
    bundle_path: str | Path | None,
    options: ArtifactOptions = ArtifactOptions(),  # noqa: B008 - frozen defaults
    evaluate: bool = False,
    write: bool = False,
    log: Log | None = None,
) -> dict[str, Any]:
    """Find the set for the bundle's generator; with ``evaluate`` add the held-out figures;
    with ``write`` (needs ``evaluate``) store it in ``dissection.json`` if it helps there."""
    import torch

    from ganpaint.models import load_bundle

    if write and not evaluate:
        raise GanpaintError("--write needs --evaluate: a set is stored only where it helps")
    bundle = load_bundle(bundle_path)
    gen = bundle.generator.eval()
    missing = [layer for layer in options.layers if layer not in gen.layer_names]
    if missing:
        raise GanpaintError(
            f"the generator has no layer {', '.join(missing)} (it has {', '.join(gen.layer_names)})"
        )
    segmenter = bundle.load_segmenter()
    if segmenter is not None:
        segmenter = segmenter.eval()
    names = list(getattr(segmenter, "concepts", None) or bundle.meta.get("concepts") or [])
    sky = names.index("sky") if "sky" in names else 0
    with torch.no_grad():  # scoped: a caller's autograd state is left as it was
        real = None
        if segmenter is not None:
            real = _scenes(options.real, gen.resolution, REAL_SEED + 2 * options.heldout)[0]
        result = find_artifact_units(gen, segmenter, real, sky, options, log)
        result["model"] = bundle.meta.get("name")
        if evaluate:
            start = time.perf_counter()
            units, n, first = result["units"], options.heldout, options.heldout_start
            result.update(evaluate_set(gen, segmenter, units, sky, n, start=first))
            result["helps"] = helps(result, options.max_share_shift, options.max_relative_change)
            result["evaluate_seconds"] = round(time.perf_counter() - start, 1)
    if write:
        result["stored"] = bool(result["helps"]) and store_set(bundle, result)
    return result


def store_set(bundle: Any, result: dict[str, Any]) -> bool:
    """Write ``artifact_units`` per layer (and the figures, ``artifacts``) into the bundle's
    ``dissection.json``; True when written."""
    from ganpaint.dissect.pipeline import write_dissection
    from ganpaint.models.dissection import DISSECTION_FORMAT, DISSECTION_VERSION

    doc = bundle.dissection.to_dict() if bundle.dissection is not None else {}
    doc.setdefault("format", DISSECTION_FORMAT)
    doc.setdefault("version", DISSECTION_VERSION)
    layers = doc.setdefault("layers", {})
    for layer, units in result["units"].items():
        layers.setdefault(layer, {})["artifact_units"] = list(units)
    keep = ("measure", "screen_seeds", "measure_seeds", "top_seeds", "heldout_seeds", "helps")
    ends = ("_before", "_after", "_shift", "_change")
    figures = {k: v for k, v in result.items() if k.endswith(ends)}
    doc["artifacts"] = {k: result[k] for k in keep if k in result} | figures
    write_dissection(bundle, doc)
    return True
