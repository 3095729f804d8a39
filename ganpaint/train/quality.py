"""How close a generator's images are to the scene world, measured with the segmenter.

:func:`evaluate_gan` generates ``n`` images (z for sample i from seed i) and renders ``n``
scenes (seeds from ``EVAL_SEED``), then compares

* the share of pixels of each concept: segmented generated images vs the renderer's true
  labels and vs the segmented rendered images (the like-for-like comparison);
* a Fréchet distance between :meth:`Segmenter.features` of generated and rendered images,
  next to the same distance between two disjoint rendered sets (the floor: what a perfect
  generator would score with this many samples) and their ratio;
* improved precision and recall (Kynkäänniemi et al., 2019) on the same features, k = 3:
  the share of generated images inside the real images' k-NN balls (each looks like some
  real scene) and the share of real images inside the generated ones' (the world's variety
  covered), with the same two figures for the two rendered sets as their floor;
* the sky noise ratio: the high-pass residual (image minus its 5x5 box blur, mean absolute
  value over channels) averaged inside sky pixels eroded by 3 px, generated over rendered.
  Sky is where the segmenter sees it in both sets (like for like); stripes and speckle in a
  generated sky raise the ratio above 1;
* the sky line ratio: how much of that residual's power lies on lines across whole patches
  (1/8 of the side) of eroded sky, generated over rendered (:func:`realism.sky_lines`):
  the stripes alone, which the sky noise mixes with every other texture.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.core.devices import describe_device, pick_device
from ganpaint.core.seeds import zs_from_seeds
from ganpaint.models.progan import ProGANGenerator
from ganpaint.models.realism import (
    frechet_distance,
    pixel_share,
    precision_recall,
    sky_lines,
    sky_noise,
)
from ganpaint.models.segmenter import Segmenter, image_features, segment_features
from ganpaint.train.data import EVAL_SEED, concepts, float_to_uint8, render_scenes
from ganpaint.train.runlog import Log
from ganpaint.train.segmenter import confusion_matrix, iou_from_confusion

PR_K = 3  # neighbours for precision and recall, the paper's choice
PR_KEYS = ("precision", "recall", "precision_floor", "recall_floor")


def resized(images: Any, labels: Any, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """uint8 images (N, H, W, 3) resized to ``size`` (bilinear, antialiased) and their
    labels (N, H, W) (nearest), for a segmenter trained at another resolution."""
    x = torch.as_tensor(np.asarray(images)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    out = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    if labels is None:
        return out, None
    lab = torch.as_tensor(np.asarray(labels))[:, None].float()
    lab = F.interpolate(lab, size=(size, size), mode="nearest")[:, 0].to(torch.uint8)
    return out, lab


@torch.no_grad()
def generate_images(
    generator: ProGANGenerator, seeds: range | list[int], device: torch.device, batch: int = 50
) -> torch.Tensor:
    """uint8 (N, R, R, 3) on the CPU: the generator's images for z from each seed."""
    z = zs_from_seeds(seeds, generator.z_dim)
    out = []
    for i in range(0, len(z), batch):
        out.append(float_to_uint8(generator(z[i : i + batch].to(device))).cpu())
    if not out:
        r = generator.resolution
        return torch.zeros((0, r, r, 3), dtype=torch.uint8)
    return torch.cat(out)


def evaluate_gan(
    bundle_or_generator: Any,
    segmenter: Segmenter | None = None,
    n: int = 1000,
    device: str | torch.device | None = None,
    real: tuple[np.ndarray, np.ndarray] | None = None,
    real_b: tuple[np.ndarray, np.ndarray] | None = None,
    workers: int | None = None,
    batch: int = 50,
    log: Log | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    """Compare ``n`` generated images with ``n`` rendered scenes (see the module docstring).

    ``bundle_or_generator`` is a :class:`~ganpaint.models.ModelBundle` (its segmenter is
    used when ``segmenter`` is None) or a :class:`ProGANGenerator`. ``real``/``real_b``
    (uint8 images, labels) are the two rendered sets; they are rendered when not given
    (seeds ``EVAL_SEED ..`` and ``EVAL_SEED + n ..``). ``size``: compare at this
    resolution instead (both sets resized), for a segmenter trained at another one.
    """
    start = time.perf_counter()
    log = log or (lambda msg: None)
    gen = getattr(bundle_or_generator, "generator", bundle_or_generator)
    if not isinstance(gen, ProGANGenerator):
        raise TypeError("evaluate_gan needs a ModelBundle or a ProGANGenerator")
    if segmenter is None and hasattr(bundle_or_generator, "load_segmenter"):
        segmenter = bundle_or_generator.load_segmenter()
    if segmenter is None:
        raise ValueError("evaluate_gan needs a segmenter (the bundle has none)")
    n = int(n)
    if n < 2:
        raise ValueError("evaluate_gan needs n >= 2 samples")
    dev = pick_device(device)
    res = gen.resolution
    if real is None:
        real = render_scenes(n, res, EVAL_SEED, workers, log=log, what="evaluation scenes")
    if real_b is None:
        real_b = render_scenes(
            n, res, EVAL_SEED + n, workers, log=log, what="evaluation scenes (B)"
        )
    n = min(n, len(real[0]), len(real_b[0]))
    names = list(concepts())
    k = segmenter.num_classes
    if segmenter.concepts is not None:
        names = list(segmenter.concepts)
    gen = copy.deepcopy(gen).to(dev).eval()
    seg = copy.deepcopy(segmenter).to(dev).eval()

    fake = generate_images(gen, range(n), dev, batch)
    if size is not None and size != res:
        fake, _ = resized(fake, None, size)
        real = tuple(x.numpy() for x in resized(real[0][:n], real[1][:n], size))
        real_b = tuple(x.numpy() for x in resized(real_b[0][:n], real_b[1][:n], size))
    fake_labels, fake_feats = segment_features(seg, fake, batch)
    real_labels, real_feats = segment_features(seg, real[0][:n], batch)
    real_b_feats = image_features(seg, real_b[0][:n], batch)
    true_labels = torch.from_numpy(np.ascontiguousarray(real[1][:n]))

    share_gen = pixel_share(fake_labels, k)
    share_seg = pixel_share(real_labels, k)
    share_true = pixel_share(true_labels, k)
    conf = confusion_matrix(real_labels.cpu(), true_labels, k)
    iou = iou_from_confusion(conf)
    present = conf.sum(1).numpy() > 0
    fake_f, real_f, real_b_f = (x.cpu().numpy() for x in (fake_feats, real_feats, real_b_feats))
    fd = frechet_distance(fake_f, real_f)
    floor = frechet_distance(real_b_f, real_f)
    sky = names.index("sky") if "sky" in names else 0
    real_images = torch.from_numpy(real[0][:n])
    noise = sky_noise(fake, fake_labels, real_images, real_labels, sky)
    lines = sky_lines(fake, fake_labels, real_images, real_labels, sky,
                      patch=max(8, int(fake.shape[1]) // 8))  # fmt: skip
    result = {
        "n": n,
        "resolution": res,
        "compared_at": size or res,
        "device": describe_device(dev, hardware=True),
        "concepts": names,
        "pixel_share": {
            names[i]: {
                "generated": round(float(share_gen[i]), 5),
                "real_segmented": round(float(share_seg[i]), 5),
                "real_true": round(float(share_true[i]), 5),
            }
            for i in range(k)
        },
        "share_distance": round(0.5 * float(np.abs(share_gen - share_seg).sum()), 5),
        "share_gap_points": {
            names[i]: round(100 * float(share_gen[i] - share_true[i]), 3) for i in range(k)
        },
        "max_share_gap_points": round(100 * float(np.abs(share_gen - share_true).max()), 3),
        "fd": round(fd, 4),
        "fd_floor": round(floor, 4),
        "fd_real_floor": round(floor, 4),
        "fd_ratio": round(fd / floor, 3) if floor > 0 else None,
        **_precision_recall(fake_f, real_f, real_b_f),
        "pr_k": PR_K,
        "sky_noise": {"generated": noise["generated"], "rendered": noise["rendered"]},
        "sky_noise_ratio": noise["ratio"],
        "sky_line_ratio": lines["ratio"],
        "sky_lines": lines,
        "segmenter_miou_on_real": round(float(np.nanmean(iou[present])), 4)
        if present.any()
        else None,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if not all(math.isfinite(v) for v in (fd, floor)):
        raise FloatingPointError("evaluate_gan produced a non-finite distance")
    return result


def _precision_recall(fake: np.ndarray, real: np.ndarray, real_b: np.ndarray) -> dict:
    """:data:`PR_KEYS`: generated against rendered, then the second rendered set against the
    first (the floor); None where there are too few images for balls of :data:`PR_K`."""
    if len(fake) <= PR_K or len(real_b) <= PR_K:
        return dict.fromkeys(PR_KEYS)
    values = (*precision_recall(fake, real, PR_K), *precision_recall(real_b, real, PR_K))
    return {key: round(v, 4) for key, v in zip(PR_KEYS, values, strict=True)}


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`evaluate_gan`'s result."""
    at = result.get("compared_at", result["resolution"])
    where = f"{result['resolution']} px" + (
        f", compared at {at} px" if at != result["resolution"] else ""
    )
    lines = [
        f"{result['n']} generated vs {result['n']} rendered scenes at {where} "
        f"({result['device']}, {result['seconds']:.1f}s)",
        "",
        f"{'concept':<10} {'generated':>10} {'real (seg)':>11} {'real (true)':>12}",
    ]
    for name, share in result["pixel_share"].items():
        lines.append(
            f"{name:<10} {100 * share['generated']:>9.2f}% {100 * share['real_segmented']:>10.2f}% "
            f"{100 * share['real_true']:>11.2f}%"
        )
    lines += [
        "",
        f"pixel-share distance (generated vs real, both segmented): {result['share_distance']:.4f}",
        f"Fréchet distance on segmenter features: generated vs real {result['fd']:.3f}; "
        f"real vs real (floor) {result['fd_floor']:.3f}; ratio {result['fd_ratio']}",
        f"precision / recall (k={result.get('pr_k')}, segmenter features): generated "
        f"{result.get('precision')} / {result.get('recall')}; real vs real (what a perfect "
        f"generator scores) {result.get('precision_floor')} / {result.get('recall_floor')}",
        f"sky noise (high-pass residual in eroded sky): generated "
        f"{result['sky_noise']['generated']}, rendered {result['sky_noise']['rendered']}; "
        f"ratio {result['sky_noise_ratio']}",
        f"sky stripes (that residual's power on lines across whole "
        f"{(result.get('sky_lines') or {}).get('patch', '?')} px patches), "
        f"generated / rendered: {result.get('sky_line_ratio')}",
    ]
    if result.get("segmenter_miou_on_real") is not None:
        lines.append(f"segmenter mIoU on the rendered set: {result['segmenter_miou_on_real']:.4f}")
    return "\n".join(lines)
