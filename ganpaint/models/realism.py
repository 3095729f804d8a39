"""Realism measures shared by ``ganpaint evaluate-gan`` (``train``), ``ganpaint artifacts``
and the scene index of ``learn-defaults`` (``dissect``), siblings that may not import each
other.

* :func:`frechet_distance` between Gaussians fitted to two feature sets;
* :func:`nearest_distance`: per image, how far its features lie from the k-th nearest of a
  reference set (the per-image view of realism behind k-NN precision, Kynkäänniemi et al.
  2019), for ranking single images; :func:`precision_recall`, that paper's two measures;
* :func:`pixel_share`: each label's share of the pixels;
* :func:`highpass_residual` (image minus its 5x5 box blur) and :func:`sky_noise`, that
  residual inside eroded sky, generated over rendered;
* :func:`flat_noise`: a segmenter-free stand-in, the residual inside flat regions found by
  colour alone (for checkpoints that come with no segmenter);
* :func:`sky_patch_spectrum`, :func:`compare_spectra` and :func:`sky_lines`: where in
  frequency the sky's high-pass texture lies (lines across the whole width or height of a
  patch are the stripes a generator with nearest upsampling draws).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets a (N, D) and b (M, D):
    |mu_a - mu_b|^2 + tr(Ca + Cb - 2 (Ca^1/2 Cb Ca^1/2)^1/2), in float64."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance needs two (N>=2, D) feature arrays of equal D")
    mu = a.mean(0) - b.mean(0)
    ca = np.cov(a, rowvar=False)
    cb = np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root_a @ cb @ root_a
    eig = np.linalg.eigvalsh((middle + middle.T) * 0.5)
    cross = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(max(mu @ mu + np.trace(ca) + np.trace(cb) - 2.0 * cross, 0.0))


def nearest_distance(feats: np.ndarray, reference: np.ndarray, k: int = 3) -> np.ndarray:
    """Per row of ``feats`` (N, D): the Euclidean distance to its ``k``-th nearest row of
    ``reference`` (M, D), float64 (N,). Small: the image looks like some of the reference
    images; large: like none of them."""
    a, b = _features(feats, reference, "nearest_distance")
    if not 1 <= k <= len(b):
        raise ValueError(f"nearest_distance: k must be 1..{len(b)} (the reference size), not {k}")
    return np.concatenate(
        [np.partition(d, k - 1, axis=1)[:, k - 1] for d in _distance_blocks(a, b)]
    )


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) of feature sets (N, D):
    precision, the share of ``fake`` rows inside the ball of some ``real`` row whose radius
    is that row's distance to its ``k``-th nearest other real row (how many generated images
    look like some real one); recall, the same with the sets swapped (how much of the real
    variety the generated images cover)."""
    return float(covered(fake, real, k).mean()), float(covered(real, fake, k).mean())


def covered(feats: np.ndarray, reference: np.ndarray, k: int = 3) -> np.ndarray:
    """Per row of ``feats``: whether it lies inside the ball of some ``reference`` row whose
    radius is that row's distance to its ``k``-th nearest other reference row, bool (N,)
    (:func:`precision_recall` is its mean, each way)."""
    a, b = _features(feats, reference, "precision_recall")
    if min(len(a), len(b)) <= k:
        raise ValueError(f"precision_recall needs more than k={k} rows in each set")
    radius = nearest_distance(b, b, k + 1)  # the nearest row is the row itself
    return np.concatenate([(d <= radius[None, :]).any(1) for d in _distance_blocks(a, b)])


def _features(a: Any, b: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"{who} needs two (N, D) feature arrays of equal D")
    return a, b


def _distance_blocks(a: np.ndarray, b: np.ndarray, rows: int = 1024) -> Iterator[np.ndarray]:
    """Euclidean distances from a's rows to b's, ``rows`` of a at a time (float64 blocks of
    at most rows x M, so 10,000 images need 80 MB, not 800)."""
    bb = (b * b).sum(1)[None, :]
    for i in range(0, len(a), rows):
        x = a[i : i + rows]
        yield np.sqrt(np.clip((x * x).sum(1)[:, None] + bb - 2.0 * x @ b.T, 0.0, None))


def pixel_share(labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Fraction of all pixels carrying each label, (K,) float64."""
    counts = torch.bincount(labels.reshape(-1).long().cpu(), minlength=num_classes)[:num_classes]
    return (counts.double() / max(int(counts.sum()), 1)).numpy()


SKY_ERODE_PX = 3
HIGHPASS_BOX = 5


def highpass(images: torch.Tensor) -> torch.Tensor:
    """image - 5x5 box blur, signed, per channel: float (N, 3, H, W) in 0..255 units for
    uint8 (N, H, W, 3) images (the blur pads by replicating the border)."""
    x = images.permute(0, 3, 1, 2).float()
    pad = HIGHPASS_BOX // 2
    return x - F.avg_pool2d(F.pad(x, (pad,) * 4, mode="replicate"), HIGHPASS_BOX, stride=1)


def highpass_residual(images: torch.Tensor) -> torch.Tensor:
    """|:func:`highpass`|, averaged over channels: float (N, H, W)."""
    return highpass(images).abs().mean(dim=1)


def eroded_mask(labels: torch.Tensor, value: int, px: int = SKY_ERODE_PX) -> torch.Tensor:
    """Pixels labelled ``value`` whose whole (2px+1)^2 neighbourhood is too, bool (N, H, W);
    the image border counts as outside."""
    m = (labels == value).float().unsqueeze(1)
    inside = -F.max_pool2d(F.pad(-m, (px,) * 4, value=0.0), 2 * px + 1, stride=1)
    return inside.squeeze(1) > 0.5


def masked_residual(images: torch.Tensor, labels: torch.Tensor, value: int) -> float | None:
    """Mean high-pass residual inside the eroded ``value`` region; None when it is empty."""
    mask = eroded_mask(labels.to(images.device), value)
    count = int(mask.sum())
    if count == 0:
        return None
    return float(highpass_residual(images)[mask].sum()) / count


def sky_noise(
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    real: torch.Tensor,
    real_labels: torch.Tensor,
    sky: int,
    batch: int = 200,
) -> dict[str, float | None]:
    """Residual inside eroded sky for generated and rendered images, and their ratio."""
    out: dict[str, float | None] = {}
    for key, images, labels in (("generated", fake, fake_labels), ("rendered", real, real_labels)):
        total, count = 0.0, 0
        for i in range(0, len(images), batch):
            mask = eroded_mask(labels[i : i + batch].cpu(), sky)
            res = highpass_residual(images[i : i + batch].cpu())
            total += float(res[mask].sum())
            count += int(mask.sum())
        out[key] = round(total / count, 4) if count else None
    gen, ren = out["generated"], out["rendered"]
    out["ratio"] = round(gen / ren, 4) if gen is not None and ren else None
    return out


FLAT_BOX = 9
FLAT_STD = 6.0  # 0..255 units: a region whose smoothed colour varies less than this is flat


def lowpass(images: torch.Tensor) -> torch.Tensor:
    """The 4x4 box blur of uint8 (N, H, W, 3) images, float (N, 3, H, W): what an image
    shows with stripes of period 2 and 4 cancelled."""
    x = images.permute(0, 3, 1, 2).float()
    return F.avg_pool2d(F.pad(x, (1, 2, 1, 2), mode="replicate"), 4, stride=1)


def changed_percent(a: torch.Tensor, b: torch.Tensor, level: float = 24.0) -> float:
    """Percentage of pixels whose blurred colour (:func:`lowpass`, mean over channels)
    differs by more than ``level`` (0..255) between image sets ``a`` and ``b``: the
    segmenter-free stand-in for a change of the concepts' pixel shares, blind to removed
    stripes."""
    diff = (lowpass(a) - lowpass(b)).abs().mean(dim=1)
    return 100.0 * float((diff > level).float().mean())


def flat_mask(images: torch.Tensor, box: int = FLAT_BOX, max_std: float = FLAT_STD) -> torch.Tensor:
    """Pixels in flat regions found by colour alone, bool (N, H, W): where the local
    standard deviation of the 4x4-blurred image over a ``box`` window, averaged over
    channels, is under ``max_std``. The even 4x4 blur cancels stripes of period 2 and 4,
    so the artifacts being measured do not decide what counts as flat."""
    x = lowpass(images)
    pad = box // 2
    xp = F.pad(x, (pad,) * 4, mode="replicate")
    mean = F.avg_pool2d(xp, box, stride=1)
    var = F.avg_pool2d(xp * xp, box, stride=1) - mean * mean
    return var.clamp_min(0).sqrt().mean(dim=1) < max_std


def flat_noise(images: torch.Tensor) -> float | None:
    """Mean high-pass residual inside :func:`flat_mask`; None when nothing is flat."""
    mask = flat_mask(images)
    count = int(mask.sum())
    if count == 0:
        return None
    return float(highpass_residual(images)[mask].sum()) / count


def sky_patch_spectrum(
    images: torch.Tensor, labels: torch.Tensor, sky: int, patch: int = 32
) -> tuple[torch.Tensor, int]:
    """Mean power spectrum (patch x patch, ``torch.fft`` order) of the signed high-pass
    residual (:func:`highpass`, averaged over channels) in the patches of uint8 (N, H, W, 3)
    ``images``, on a grid from the top left, that lie wholly inside eroded ``sky`` of
    (N, H, W) ``labels``; and how many patches there were."""
    mask = eroded_mask(labels.cpu(), sky)
    residual = highpass(images.cpu()).mean(dim=1)
    n, h, w = residual.shape
    gh, gw = h // patch, w // patch
    if gh == 0 or gw == 0:
        return torch.zeros(patch, patch), 0

    def tiles(t: torch.Tensor) -> torch.Tensor:
        t = t[:, : gh * patch, : gw * patch].reshape(n, gh, patch, gw, patch)
        return t.permute(0, 1, 3, 2, 4).reshape(-1, patch, patch)

    keep = tiles(mask).flatten(1).all(1)
    chosen = tiles(residual)[keep]
    if len(chosen) == 0:
        return torch.zeros(patch, patch), 0
    chosen = chosen - chosen.mean(dim=(1, 2), keepdim=True)
    power = torch.fft.fft2(chosen).abs().square().mean(0)
    return power, int(keep.sum())


def spectrum_bands(patch: int) -> dict[str, torch.Tensor]:
    """The frequency sets :func:`compare_spectra` reports, as boolean patch x patch masks."""
    f = torch.fft.fftfreq(patch).abs()
    fy, fx = torch.meshgrid(f, f, indexing="ij")
    return {
        "fx=0 (horizontal lines)": fx == 0,
        "fy=0 (vertical lines)": fy == 0,
        "fy=1/2 (rows, period 2)": fy == 0.5,
        "fx=1/2 (columns, period 2)": fx == 0.5,
        "fy=1/4 (rows, period 4)": fy == 0.25,
        "fx=1/4 (columns, period 4)": fx == 0.25,
    }


def _ratio(a: torch.Tensor, b: torch.Tensor) -> float | None:
    return round(float(a / b), 4) if float(b) > 0 else None


def compare_spectra(gen: torch.Tensor, real: torch.Tensor, top: int = 8) -> dict:
    """Generated against rendered mean spectra: the total power ratio; per band of
    :func:`spectrum_bands` each side's share of its power there and the power ratio; and the
    ``top`` strongest generated bins (one of each conjugate pair)."""
    patch = gen.shape[0]
    out: dict = {"power_ratio": _ratio(gen.sum(), real.sum()), "bands": {}}
    for name, sel in spectrum_bands(patch).items():
        out["bands"][name] = {
            "generated_share": _ratio(gen[sel].sum(), gen.sum()),
            "rendered_share": _ratio(real[sel].sum(), real.sum()),
            "ratio": _ratio(gen[sel].sum(), real[sel].sum()),
        }
    f = torch.fft.fftfreq(patch)
    order = [divmod(int(k), patch) for k in torch.argsort(gen.flatten(), descending=True)]
    upper = [(y, x) for y, x in order if (y, x) <= ((patch - y) % patch, (patch - x) % patch)]
    out["strongest"] = [
        {"fy": round(float(f[y]), 4), "fx": round(float(f[x]), 4),
         "generated": round(float(gen[y, x]), 2), "rendered": round(float(real[y, x]), 2)}
        for y, x in upper[:top]
    ]  # fmt: skip
    return out


def sky_lines(
    fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor,
    sky: int, patch: int,
) -> dict:  # fmt: skip
    """The sky's stripes in one figure: the high-pass power on lines across a whole patch
    (``fx = 0`` or ``fy = 0``), generated over rendered, with each side's share of its sky
    power there and the patch counts."""
    gen, n_gen = sky_patch_spectrum(fake, fake_labels, sky, patch)
    ren, n_ren = sky_patch_spectrum(real, real_labels, sky, patch)
    bands = spectrum_bands(patch)
    lines = bands["fx=0 (horizontal lines)"] | bands["fy=0 (vertical lines)"]
    return {
        "ratio": _ratio(gen[lines].sum(), ren[lines].sum()),
        "generated_share": _ratio(gen[lines].sum(), gen.sum()),
        "rendered_share": _ratio(ren[lines].sum(), ren.sum()),
        "patch": patch,
        "patches": [n_gen, n_ren],
    }
