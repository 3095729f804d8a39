"""Training the scene segmenter (:class:`ganpaint.models.segmenter.Segmenter`) on rendered
scenes, and measuring it on held-out scenes.

The segmenter must also read GAN output, which is softer, noisier and slightly off in colour
compared with the renderer's images, so training batches are augmented on the device:
flips, colour jitter (saturation, contrast, brightness, white balance), per-sample Gaussian
blur, down-then-up sampling, smooth colour fields and pixel noise. The loss is
cross-entropy with class weights ~ frequency^-1/2 so doors and windows count.

Training scenes come from their own seed range (``SEGMENTER_TRAIN_SEED``), held-out
evaluation from ``HELDOUT_SEED`` (see :mod:`ganpaint.train.data`).

The pipeline runs the same training in a separate process through
:mod:`ganpaint.train.segmenter_job`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.core.devices import describe_device, pick_device, synchronize
from ganpaint.models.segmenter import (
    DEFAULT_DECODER,
    DEFAULT_ENCODER,
    Segmenter,
    save_segmenter,
)
from ganpaint.train.data import (
    HELDOUT_SEED,
    SEGMENTER_TRAIN_SEED,
    concepts,
    random_flip,
    render_scenes,
)
from ganpaint.train.device import (
    autocast,
    bf16_autocast_works,
    setup_backend,
)
from ganpaint.train.runlog import Log, print_log


@dataclass
class SegmenterResult:
    """A trained segmenter (CPU, eval mode) and its training/evaluation numbers."""

    model: Segmenter
    metrics: dict[str, Any] = field(default_factory=dict)


# -- augmentation --------------------------------------------------------------------------


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Blur each sample of (N, C, H, W) with its own sigma (N,); sigma 0 leaves it as is."""
    n, c, h, w = x.shape
    k = torch.arange(-radius, radius + 1, device=x.device, dtype=torch.float32)
    s = sigma.to(x.device, torch.float32).clamp_min(1e-3).view(n, 1)
    kernel = torch.exp(-(k**2) / (2 * s**2))
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)
    mode = "reflect" if radius < min(h, w) else "replicate"
    v = x.reshape(1, n * c, h, w)
    v = F.conv2d(
        F.pad(v, (radius, radius, 0, 0), mode=mode), kernel.view(n * c, 1, 1, -1), groups=n * c
    )
    v = F.conv2d(
        F.pad(v, (0, 0, radius, radius), mode=mode), kernel.view(n * c, 1, -1, 1), groups=n * c
    )
    return v.view(n, c, h, w)


def augment(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment images (N, 3, H, W) in [-1, 1] and their labels (N, H, W) for training."""
    n, _, h, w = x.shape
    dev = x.device

    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return torch.empty(n, *shape, device=dev).uniform_(lo, hi)

    def some(p: float) -> torch.Tensor:
        return (torch.rand(n, 1, 1, 1, device=dev) < p).float()

    x, y = random_flip(x, y)
    u = (x + 1.0) * 0.5
    gray = u.mean(dim=1, keepdim=True)
    u = gray + (u - gray) * uniform(0.6, 1.4, 1, 1, 1)
    mean = u.mean(dim=(1, 2, 3), keepdim=True)
    u = mean + (u - mean) * uniform(0.7, 1.3, 1, 1, 1)
    u = u + uniform(-0.12, 0.12, 1, 1, 1)
    u = u * uniform(0.9, 1.1, 3, 1, 1)
    sigma = torch.empty(n, device=dev).uniform_(0.0, 1.4) * (torch.rand(n, device=dev) < 0.6)
    u = gaussian_blur(u, sigma)
    if h >= 16 and torch.rand(()) < 0.5:
        factor = float(np.random.choice([0.5, 0.625, 0.75]))
        small = F.interpolate(
            u, size=(max(int(h * factor), 1), max(int(w * factor), 1)), mode="area"
        )
        soft = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        pick = some(0.5)
        u = soft * pick + u * (1 - pick)
    field_ = torch.randn(n, 3, 4, 4, device=dev) * uniform(0.0, 0.05, 1, 1, 1)
    u = u + F.interpolate(field_, size=(h, w), mode="bilinear", align_corners=False) * some(0.5)
    u = u + torch.randn_like(u) * uniform(0.0, 0.05, 1, 1, 1) * some(0.7)
    return u.clamp_(0.0, 1.0).mul_(2.0).sub_(1.0), y


# -- metrics -------------------------------------------------------------------------------


def class_weights(labels: torch.Tensor, num_classes: int, max_ratio: float = 10.0) -> torch.Tensor:
    """Cross-entropy weights ~ frequency^-1/2, normalised to mean 1 over pixels, capped."""
    counts = torch.bincount(labels.reshape(-1).long().cpu(), minlength=num_classes)[:num_classes]
    freq = counts.double() / max(int(counts.sum()), 1)
    w = (freq + 1e-4).rsqrt()
    w = w / (freq * w).sum().clamp_min(1e-12)
    w = w.clamp(max=max_ratio * float(w[freq > 0].min()) if bool((freq > 0).any()) else 1.0)
    return w.float()


def confusion_matrix(pred: torch.Tensor, true: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K, K) int64 counts, rows = true label, columns = predicted."""
    k = num_classes
    idx = true.reshape(-1).long() * k + pred.reshape(-1).long()
    return torch.bincount(idx, minlength=k * k)[: k * k].view(k, k).cpu()


def iou_from_confusion(conf: torch.Tensor) -> np.ndarray:
    """Per-class IoU (NaN where the class appears in neither truth nor prediction)."""
    conf = conf.double()
    inter = conf.diag()
    union = conf.sum(0) + conf.sum(1) - inter
    iou = torch.where(union > 0, inter / union.clamp_min(1), torch.full_like(inter, float("nan")))
    return iou.numpy()


@torch.no_grad()
def evaluate_segmenter(
    model: Segmenter,
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    names: Sequence[str] | None = None,
    batch: int = 64,
) -> dict[str, Any]:
    """mIoU (over concepts present in the truth), per-concept IoU and pixel accuracy."""
    from ganpaint.models.segmenter import segment

    k = model.num_classes
    names = list(names) if names is not None else [str(i) for i in range(k)]
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    conf = torch.zeros((k, k), dtype=torch.int64)
    for i in range(0, len(images), batch):
        pred = segment(model, images[i : i + batch], batch_size=batch)
        conf += confusion_matrix(pred, labels[i : i + batch].to(pred.device), k)
    iou = iou_from_confusion(conf)
    present = conf.sum(1).numpy() > 0
    miou = float(np.nanmean(iou[present])) if present.any() else float("nan")
    acc = float(conf.diag().sum()) / max(int(conf.sum()), 1)
    return {
        "miou": round(miou, 4),
        "iou": {
            names[i]: (None if math.isnan(iou[i]) else round(float(iou[i]), 4)) for i in range(k)
        },
        "pixel_accuracy": round(acc, 4),
        "n": len(images),
    }


# -- training ------------------------------------------------------------------------------


def train_segmenter(
    size: int = 128,
    steps: int | None = 3000,
    time_budget_s: float | None = None,
    out_path: str | Path | None = None,
    device: str | torch.device | None = None,
    n_train: int = 5000,
    n_heldout: int = 500,
    batch: int = 32,
    lr: float = 2e-3,
    workers: int | None = None,
    data: tuple[np.ndarray, np.ndarray] | None = None,
    heldout: tuple[np.ndarray, np.ndarray] | None = None,
    encoder: Sequence[int] = DEFAULT_ENCODER,
    decoder: Sequence[int] = DEFAULT_DECODER,
    seed: int = 0,
    progress: bool = True,
    log: Log | None = None,
    train_seconds: float | None = None,
    wait_for: str | Path | None = None,
    wait_timeout_s: float = 120.0,
) -> SegmenterResult:
    """Train a :class:`Segmenter` on ``n_train`` rendered scenes of ``size`` px.

    Stops after ``steps`` steps or when ``time_budget_s`` (the whole call: rendering,
    training, evaluation) runs out, whichever is first; the learning rate follows a cosine
    over whichever bound is nearer; ``train_seconds`` also bounds the training loop alone.
    Evaluates on ``n_heldout`` held-out scenes; saves to ``out_path`` when given.
    ``data``/``heldout`` (uint8 images, labels) skip rendering. With ``wait_for``, the
    device is not touched before that file exists (or ``wait_timeout_s`` passed): the
    pipeline lets the GAN take the GPU first.
    """
    t0 = time.perf_counter()
    log = log or print_log(progress)
    if steps is None and time_budget_s is None and train_seconds is None:
        steps = 3000
    names = concepts()
    if data is None:
        limit = 0.35 * time_budget_s if time_budget_s else None
        data = render_scenes(
            n_train,
            size,
            SEGMENTER_TRAIN_SEED,
            workers,
            limit,
            min_n=min(n_train, 4 * batch),
            log=log,
            what="segmenter training scenes",
        )
    if heldout is None and n_heldout > 0:
        heldout = render_scenes(
            n_heldout, size, HELDOUT_SEED, workers, log=log, what="held-out scenes"
        )
    if wait_for is not None:
        _wait_for_file(Path(wait_for), wait_timeout_s, log)
    dev = pick_device(device)
    setup_backend(dev)
    torch.manual_seed(seed)
    model = Segmenter(len(names), encoder, decoder, concepts=names).to(dev)
    model = model.to(memory_format=torch.channels_last).train()
    loop = SegmenterLoop(model, data, batch, lr, dev, log, t0)
    loop.deadline = t0 + time_budget_s if time_budget_s else None
    if train_seconds:
        end = loop.t_train + train_seconds
        loop.deadline = min(loop.deadline, end) if loop.deadline is not None else end
    loop.run(steps, None if heldout is None else len(heldout[0]))
    model.eval()
    metrics = loop.metrics()
    if heldout is not None:
        metrics.update(_heldout_metrics(model, heldout, names, log))
    model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    if out_path is not None:
        save_segmenter(model, out_path, {"miou": metrics.get("miou"), "steps": loop.step})
        metrics["path"] = str(out_path)
    metrics["wall_s"] = round(time.perf_counter() - t0, 2)
    return SegmenterResult(model=model, metrics=metrics)


def _wait_for_file(path: Path, timeout_s: float, log: Log) -> None:
    """Sleep until ``path`` exists or ``timeout_s`` passed (the GAN takes the GPU first)."""
    waited = time.perf_counter()
    give_up = waited + timeout_s
    while not path.exists() and time.perf_counter() < give_up:
        time.sleep(0.2)
    log(f"[seg] waited {time.perf_counter() - waited:.1f}s for the GAN to start")


def _heldout_metrics(
    model: Segmenter, heldout: tuple[np.ndarray, np.ndarray], names: Sequence[str], log: Log
) -> dict[str, Any]:
    ev = evaluate_segmenter(model, heldout[0], heldout[1], names)
    log(
        f"[seg] held-out mIoU {ev['miou']:.4f} on {ev['n']} scenes; "
        + ", ".join(f"{c} {v:.3f}" if v is not None else f"{c} -" for c, v in ev["iou"].items())
    )
    return {
        "miou": ev["miou"],
        "iou": ev["iou"],
        "pixel_accuracy": ev["pixel_accuracy"],
        "heldout_scenes": ev["n"],
    }


class SegmenterLoop:
    """The segmenter's steps on device-resident scenes: augmented batches, a cosine learning
    rate over whichever bound (steps or ``deadline``) is nearer, a loss line every 10 s."""

    def __init__(
        self,
        model: Segmenter,
        data: tuple[np.ndarray, np.ndarray],
        batch: int,
        lr: float,
        dev: torch.device,
        log: Log,
        t0: float,
    ):
        self.images = torch.from_numpy(np.ascontiguousarray(data[0])).to(dev)
        self.labels = torch.from_numpy(np.ascontiguousarray(data[1])).to(dev)
        if self.images.shape[1:3] != self.labels.shape[1:3]:
            raise ValueError("segmenter training images and labels differ in size")
        self.model, self.batch, self.lr, self.dev, self.log, self.t0 = (
            model,
            batch,
            lr,
            dev,
            log,
            t0,
        )
        self.weights = class_weights(self.labels, model.num_classes).to(dev)
        self.opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        self.use_bf16 = bf16_autocast_works(dev)
        self.n = n = len(self.images)
        log(
            f"[seg] training on {n} scenes at {self.images.shape[1]} px, batch {batch}, device "
            f"{describe_device(dev)}, {'bf16' if self.use_bf16 else 'float32'}, "
            f"{sum(p.numel() for p in model.parameters())} parameters"
        )
        self.t_train = time.perf_counter()
        self.deadline: float | None = None
        self.eval_reserve = 1.0
        self.step, self.seen = 0, 0
        self.loss_sum, self.loss_count = torch.zeros((), device=dev), 0
        self.last_log = self.t_train
        self.perm, self.pos = torch.randperm(n, device=dev), 0
        self.last_loss = float("nan")
        self.train_s = 0.0

    def run(self, steps: int | None, n_heldout: int | None) -> None:
        """Train until ``steps`` or the deadline (less the time held-out evaluation needs)."""
        while True:
            now = time.perf_counter()
            if steps is not None and self.step >= steps:
                break
            if self.deadline is not None and now + self.eval_reserve >= self.deadline:
                break
            self._set_lr(steps, now)
            self._train_step()
            if self.step == 5 or time.perf_counter() - self.last_log >= 10.0:
                self._log_interval(n_heldout)
        synchronize(self.dev)
        self.train_s = time.perf_counter() - self.t_train
        if self.loss_count:
            self.last_loss = self.loss_sum.item() / self.loss_count

    def _set_lr(self, steps: int | None, now: float) -> None:
        frac = self.step / steps if steps else 0.0
        if self.deadline is not None:
            span = max(self.deadline - self.eval_reserve - self.t_train, 1e-6)
            frac = max(frac, (now - self.t_train) / span)
        warm = min(1.0, (self.step + 1) / 50)
        cosine = 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        for group in self.opt.param_groups:
            group["lr"] = self.lr * warm * cosine

    def _train_step(self) -> None:
        n, batch, dev = self.n, self.batch, self.dev
        if self.pos + batch > n:
            self.perm, self.pos = torch.randperm(n, device=dev), 0
        if n >= batch:
            idx = self.perm[self.pos : self.pos + batch]
        else:
            idx = torch.randint(n, (batch,), device=dev)
        self.pos += batch
        x = self.images[idx].permute(0, 3, 1, 2).float().mul_(1.0 / 127.5).sub_(1.0)
        x, y = augment(x, self.labels[idx].long())
        x = x.contiguous(memory_format=torch.channels_last)
        with autocast(dev, self.use_bf16):
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y, weight=self.weights)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.loss_sum += loss.detach()
        self.loss_count += 1
        self.step += 1
        self.seen += batch

    def _log_interval(self, n_heldout: int | None) -> None:
        synchronize(self.dev)
        now = time.perf_counter()
        self.last_loss = self.loss_sum.item() / self.loss_count
        self.loss_sum.zero_()
        self.loss_count = 0
        if self.step == 5 and n_heldout is not None:
            # Inference costs about a third of a training step per image.
            per_image = (now - self.t_train) / self.seen / 3
            self.eval_reserve = 2.0 + 1.5 * per_image * n_heldout
        rate = self.seen / (now - self.t_train)
        self.log(
            f"[seg] step {self.step} loss {self.last_loss:.4f} {rate:.0f} img/s "
            f"elapsed {now - self.t0:.0f}s"
        )
        self.last_log = now
        if not math.isfinite(self.last_loss):
            raise FloatingPointError(f"segmenter loss became {self.last_loss} at step {self.step}")

    def metrics(self) -> dict[str, Any]:
        """What the training did: steps, images, speed, the last loss, device, seeds."""
        train_s, last_loss = self.train_s, self.last_loss
        return {
            "steps": self.step,
            "images_seen": self.seen,
            "train_scenes": self.n,
            "resolution": int(self.images.shape[1]),
            "train_s": round(train_s, 2),
            "img_s": round(self.seen / train_s, 1) if train_s > 0 else 0.0,
            "final_loss": round(last_loss, 5) if math.isfinite(last_loss) else None,
            "device": describe_device(self.dev, hardware=True),
            "bf16": self.use_bf16,
            "seeds": {"train_start": SEGMENTER_TRAIN_SEED, "heldout_start": HELDOUT_SEED},
        }
