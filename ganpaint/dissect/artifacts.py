"""Finding the units that draw artifacts, and the set whose zeroing cleans the images most.

GAN Dissection found ProGAN units whose zeroing removes visible artifacts. ``ganpaint
artifacts`` looks for them in three steps, all on the *screen* seeds
(:data:`SCREEN_SEED` ..), never on the held-out seeds the figures are reported on:

1. **screen**, two ways, each naming candidates per layer:

   * *zeroed*: the features up to the layer are computed once for the screen seeds; each
     unit is zeroed in turn and only the tail runs (the seeds batched). The cheap score is
     the high-pass residual inside a fixed region of the unedited images: eroded sky as the
     segmenter sees it, or flat regions found by colour when there is no segmenter. The
     best ``candidates`` units of each layer go on.
   * *top activations* (GAN Dissection's own screen, which ranked units by the FID of the
     images where each fires most): over ``top_seeds`` other screen seeds, each unit's
     ``top_k`` images by spatial-max activation, and the Fréchet distance of their segmenter
     features to rendered scenes; the ``fd_candidates`` units with the highest go on. This
     needs a segmenter. The stripes are spread over many units, so zeroing one changes the
     sky residual by a few percent at most, and the residual screen alone never named a unit
     whose zeroing lowered the Fréchet distance; this one does (docs in the README).
2. **measure**: each candidate gets the full measure on ``measure_seeds`` screen seeds: the
   Fréchet distance of segmenter features to rendered scenes, the sky noise, and the largest
   change of any concept's pixel share (points). Without a segmenter: the flat-region noise
   and, in place of the shares, the percentage of pixels whose blurred colour changes.
3. **greedy**: in order of the summed relative changes of both measures, a unit joins the
   set when it lowers that sum further, raises neither measure and keeps every share within
   ``max_share_shift`` points and every concept of at least ``MIN_SHARE`` within
   ``max_relative_change`` percent of its share (a rare concept, a dome at 0.3 % of the
   pixels, could vanish inside a 1-point bound; the first stored set lost 27 % of the
   mountain pixels that way).

:func:`evaluate_set` reports the set on held-out seeds with the measures of ``ganpaint
evaluate-gan`` (:mod:`ganpaint.models.realism`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ganpaint.core.seeds import zs_from_seeds
from ganpaint.engine.incremental import images_to_uint8
from ganpaint.models.progan import ProGANGenerator, without_units
from ganpaint.models.realism import (
    changed_percent,
    eroded_mask,
    flat_mask,
    frechet_distance,
    highpass_residual,
    pixel_share,
)
from ganpaint.models.segmenter import Segmenter, image_features, segment_features

SCREEN_SEED = 30_000_000  # z seeds the set is chosen on
TOP_SEED = SCREEN_SEED + 1_000_000  # the top-activation screen's seeds (also screen seeds)
HELDOUT_SEED = 40_000_000  # z seeds it is reported on
REAL_SEED = 20_000_000  # rendered scenes (``evaluate-gan``'s evaluation scenes)
MIN_SHARE = 0.002  # concepts rarer than this are too noisy for a relative bound

Log = Callable[[str], None]


@dataclass(frozen=True)
class ArtifactOptions:
    """How the search runs. The defaults were chosen on the screen seeds for the CPU:
    a 256-unit layer screens in about 1.5 minutes on 2 cores at 128 px; the full measure
    takes about 13 s a candidate at ``measure_seeds`` 256 (a Fréchet distance of 32 images
    cannot see the 1-3 % a unit changes)."""

    layers: tuple[str, ...] = ("layer4", "layer6")
    screen_seeds: int = 32  # the zeroed screen's seeds
    real: int = 512  # rendered scenes the Fréchet distances are measured against
    candidates: int = 24  # per layer, from the zeroed screen: units given the full measure
    fd_candidates: int = 24  # per layer, from the top-activation screen (0: skip it)
    top_seeds: int = 2000
    top_k: int = 200
    measure_seeds: int = 256
    max_units: int = 16
    max_share_shift: float = 1.0  # points
    max_relative_change: float = 15.0  # percent of a concept's own share (MIN_SHARE and up)
    heldout: int = 200
    heldout_start: int = HELDOUT_SEED  # another start gives a fresh held-out range
    batch: int = 16


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float (N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3) on the CPU."""
    return images_to_uint8(images).cpu()


class Measure:
    """The realism measures of one image set against a fixed reference set."""

    def __init__(self, segmenter: Segmenter | None, real: np.ndarray | None, sky: int):
        self.segmenter = segmenter
        self.sky = sky
        self.real_feats = None
        if segmenter is not None and real is not None:
            self.real_feats = image_features(segmenter, real).numpy()

    def __call__(self, images: torch.Tensor, base: Mapping[str, Any] | None = None) -> dict:
        """``fd``, ``noise``, ``shares`` (or None), and ``shift`` (points) against ``base``."""
        if self.segmenter is None:
            mask = flat_mask(images) if base is None else base["mask"]
            out = {"fd": None, "noise": _residual(images, mask), "mask": mask, "shares": None}
            if base is not None:
                out["shift"] = changed_percent(images, base["images"])
            out["images"] = images
            return out
        labels, feats = segment_features(self.segmenter, images)
        k = self.segmenter.num_classes
        out = {
            "fd": frechet_distance(feats.numpy(), self.real_feats)
            if self.real_feats is not None
            else None,
            "noise": _residual(images, eroded_mask(labels, self.sky)),
            "shares": pixel_share(labels, k),
            "mask": eroded_mask(labels, self.sky),
        }
        if base is not None:
            out["shift"] = 100.0 * float(np.abs(out["shares"] - base["shares"]).max())
            out["relative"] = relative_change(out["shares"], base["shares"])
        return out


def relative_change(shares: np.ndarray, base: np.ndarray) -> float:
    """The largest change of a concept's pixel share, in percent of its share in ``base``,
    over concepts of at least :data:`MIN_SHARE` there."""
    common = base >= MIN_SHARE
    if not common.any():
        return 0.0
    return 100.0 * float((np.abs(shares[common] / base[common] - 1.0)).max())


def _residual(images: torch.Tensor, mask: torch.Tensor) -> float:
    count = int(mask.sum())
    return float(highpass_residual(images)[mask].sum()) / count if count else 0.0


def score(m: Mapping[str, Any], base: Mapping[str, Any]) -> float:
    """Summed relative change of the measures against ``base`` (negative: cleaner)."""
    total = m["noise"] / base["noise"] - 1.0 if base["noise"] else 0.0
    if m.get("fd") is not None and base.get("fd"):
        total += m["fd"] / base["fd"] - 1.0
    return total


@torch.no_grad()
def _tail_images(gen: ProGANGenerator, h: torch.Tensor, layer: str, batch: int) -> torch.Tensor:
    parts = [to_uint8(gen.run(h[i : i + batch], after=layer)) for i in range(0, len(h), batch)]
    return torch.cat(parts)


@torch.no_grad()
def generate(gen: ProGANGenerator, seeds: Sequence[int], batch: int = 16) -> torch.Tensor:
    """uint8 (N, R, R, 3): the generator's images for z from each seed."""
    z = zs_from_seeds(seeds, gen.z_dim).to(next(gen.parameters()).device)
    return torch.cat([to_uint8(gen(z[i : i + batch])) for i in range(0, len(z), batch)])


@torch.no_grad()
def screen_layer(
    gen: ProGANGenerator,
    layer: str,
    seeds: Sequence[int],
    base_images: torch.Tensor,
    mask: torch.Tensor,
    batch: int = 16,
    log: Log | None = None,
) -> list[tuple[int, float]]:
    """Per unit of ``layer``: the residual inside ``mask`` (of the unedited images) with the
    unit zeroed, over the residual without; best (lowest) first."""
    z = zs_from_seeds(seeds, gen.z_dim).to(next(gen.parameters()).device)
    h = torch.cat([gen.run(z[i : i + batch], until=layer) for i in range(0, len(z), batch)])
    base = _residual(base_images, mask) or 1.0
    out = []
    start = time.perf_counter()
    for u in range(h.shape[1]):
        saved = h[:, u].clone()
        h[:, u] = 0
        out.append((u, _residual(_tail_images(gen, h, layer, batch), mask) / base))
        h[:, u] = saved
        if log is not None and (u + 1) % 64 == 0:
            log(f"{layer}: {u + 1}/{h.shape[1]} units screened, {time.perf_counter() - start:.0f}s")
    return sorted(out, key=lambda p: p[1])


@torch.no_grad()
def screen_top_activations(
    gen: ProGANGenerator,
    layers: Sequence[str],
    seeds: Sequence[int],
    measure: Measure,
    k: int,
    batch: int = 16,
) -> dict[str, list[tuple[int, float]]]:
    """Per layer, per unit: the Fréchet distance to the rendered scenes of the ``k`` images
    (of ``seeds``) where the unit's spatial maximum is highest; highest first."""
    if measure.segmenter is None or measure.real_feats is None:
        raise ValueError("the top-activation screen needs a segmenter and rendered scenes")
    order = [layer for layer in gen.layer_names if layer in set(layers)]
    device = next(gen.parameters()).device
    maxima: dict[str, list[torch.Tensor]] = {layer: [] for layer in order}
    feats = []
    for i in range(0, len(seeds), batch):
        h = zs_from_seeds(seeds[i : i + batch], gen.z_dim).to(device)
        prev = None
        for layer in order:
            h = gen.run(h, after=prev, until=layer)
            maxima[layer].append(h.amax(dim=(2, 3)).float().cpu())
            prev = layer
        feats.append(image_features(measure.segmenter, to_uint8(gen.run(h, after=prev))))
    all_feats = torch.cat(feats).numpy()
    out = {}
    for layer in order:
        m = torch.cat(maxima[layer])
        top = torch.topk(m, min(k, len(m)), dim=0).indices.numpy()  # (k, units)
        scores = [
            (u, frechet_distance(all_feats[top[:, u]], measure.real_feats))
            for u in range(m.shape[1])
        ]
        out[layer] = sorted(scores, key=lambda p: -p[1])
    return out


def find_artifact_units(
    gen: ProGANGenerator,
    segmenter: Segmenter | None,
    real: np.ndarray | None,
    sky: int,
    options: ArtifactOptions = ArtifactOptions(),  # noqa: B008 - frozen defaults
    log: Log | None = None,
) -> dict[str, Any]:
    """Screen, measure and choose (see the module docstring); a JSON-ready result with the
    set as ``units`` (layer -> unit list) and every measured unit under ``screen``."""
    log = log or (lambda msg: None)
    start = time.perf_counter()
    gen = gen.eval()
    seeds = range(SCREEN_SEED, SCREEN_SEED + options.screen_seeds)
    measure_seeds = range(SCREEN_SEED, SCREEN_SEED + options.measure_seeds)
    measure = Measure(segmenter, real, sky)
    # Both ranges start at SCREEN_SEED: one generation serves the two.
    images = generate(gen, range(SCREEN_SEED, SCREEN_SEED + max(len(seeds), len(measure_seeds))),
                      options.batch)  # fmt: skip
    base_images = images[: len(seeds)]
    mask = measure(base_images)["mask"]
    base = measure(images[: len(measure_seeds)])
    top: dict[str, list[tuple[int, float]]] = {}
    if options.fd_candidates > 0 and measure.real_feats is not None:
        top_seeds = range(TOP_SEED, TOP_SEED + options.top_seeds)
        top = screen_top_activations(gen, options.layers, top_seeds, measure, options.top_k,
                                     options.batch)  # fmt: skip
        log(f"top-activation screen in {time.perf_counter() - start:.0f}s")
    measured: list[dict[str, Any]] = []
    for layer in options.layers:
        ranked = screen_layer(gen, layer, seeds, base_images, mask, options.batch, log)
        cheap = dict(ranked)
        top_fd = dict(top.get(layer, []))
        picks = [u for u, _ in ranked[: options.candidates]]
        picks += [u for u, _ in top.get(layer, [])[: options.fd_candidates] if u not in picks]
        for unit in picks:
            gen_u = without_units(gen, {layer: [unit]})
            m = measure(generate(gen_u, measure_seeds, options.batch), base)
            measured.append(_entry(layer, unit, cheap[unit], top_fd.get(unit), m, base))
        log(f"{layer}: {len(picks)} candidates measured, {time.perf_counter() - start:.0f}s")
    chosen, best = _greedy(gen, measured, measure, base, measure_seeds, options)
    return {
        "measure": "segmenter" if segmenter is not None else "flat-colour",
        "layers": list(options.layers),
        "screen_seeds": [seeds.start, seeds.stop],
        "measure_seeds": [measure_seeds.start, measure_seeds.stop],
        "top_seeds": [TOP_SEED, TOP_SEED + options.top_seeds] if top else None,
        "units": {
            layer: sorted(u for lay, u in chosen if lay == layer) for layer in options.layers
        },
        "screen_score": round(best, 4),
        "screen": sorted(measured, key=lambda e: e["score"]),
        "seconds": round(time.perf_counter() - start, 1),
    }


def _entry(
    layer: str, unit: int, cheap: float, top_fd: float | None, m: Mapping, base: Mapping
) -> dict[str, Any]:
    return {
        "layer": layer,
        "unit": unit,
        "residual_ratio": round(cheap, 4),
        "top_fd": None if top_fd is None else round(top_fd, 4),
        "fd_change": None if m["fd"] is None else round(m["fd"] / base["fd"] - 1.0, 4),
        "noise_change": round(m["noise"] / base["noise"] - 1.0, 4) if base["noise"] else None,
        "share_shift": round(m["shift"], 3),
        "score": round(score(m, base), 4),
    }


def _greedy(
    gen: ProGANGenerator,
    measured: list[dict[str, Any]],
    measure: Measure,
    base: Mapping[str, Any],
    seeds: Sequence[int],
    options: ArtifactOptions,
) -> tuple[list[tuple[str, int]], float]:
    """Add units in score order while each lowers the set's score, raises neither measure
    and keeps the shares (a unit that trades a worse Fréchet distance for less noise, or
    the reverse, stays out: the first full run on the bundled model let such trades in, and
    its set raised the held-out ``fd_ratio``)."""
    order = [
        e
        for e in sorted(measured, key=lambda e: e["score"])
        if e["score"] < 0 and e["share_shift"] <= options.max_share_shift
    ]
    chosen: list[tuple[str, int]] = []
    best, current = 0.0, base
    for e in order:
        if len(chosen) >= options.max_units:
            break
        trial = chosen + [(e["layer"], e["unit"])]
        m = measure(generate(without_units(gen, _by_layer(trial)), seeds, options.batch), base)
        s = score(m, base)
        kept = m["shift"] <= options.max_share_shift
        kept = kept and m.get("relative", 0.0) <= options.max_relative_change
        if s < best and kept and _no_worse(m, current):
            chosen, best, current = trial, s, m
    return chosen, best


def _no_worse(m: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    fd_ok = m["fd"] is None or current["fd"] is None or m["fd"] <= current["fd"]
    return fd_ok and m["noise"] <= current["noise"]


def _by_layer(units: Sequence[tuple[str, int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for layer, unit in units:
        out.setdefault(layer, []).append(unit)
    return out
