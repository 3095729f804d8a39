"""Training the scene classifier (``ganpaint classifier train``) and its card.

:func:`train_classifier` trains a :class:`~ganpaint.models.classifier.SceneClassifier` on
rendered training scenes (classes from :func:`ganpaint.scenes.scene_class`), with random
horizontal flips (the class rule is mirror-symmetric), AdamW and a cosine learning rate.
Dropout (``dropout``, 0.5) on the pooled units before the head, as VGG has before its
classifier layers, so no prediction needs every unit present. Then the head is refitted on
the frozen units of training scenes (:func:`refit_head`) with an L1 penalty on its weights
(``head_l1``) and the same dropout: each class reads a few strongly weighted units rather
than a little of every unit (what the paper finds in trained classifiers and what the
per-class ablation measures; it also keeps the head readable). The L1 is applied in a refit
rather than in joint training because with batch norm the network can scale its units up
and the head's weights down, which makes a penalty on those weights nearly free there.
``head_l1`` and ``dropout`` were chosen on the choosing scenes (README).

The card and the runs on a bundle (``train_bundle``, ``refit_bundle``) are in
:mod:`ganpaint.classify.card`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganpaint.classify.data import (
    CHOOSE_START,
    DEFAULT_CACHE,
    TRAIN_START,
    load_scenes,
    random_zoom,
    to_input,
)
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.models.classifier import DEFAULT_WIDTHS, SceneClassifier
from ganpaint.scenes import SCENE_CLASSES

ClassRule = tuple[tuple[str, ...], Callable[[np.ndarray], np.ndarray]]
"""Another class rule for experiments: class names, and a function from N x H x W label
maps to their class indices (``ganpaint.devtools.classifier_probe``)."""


@dataclass(frozen=True)
class TrainSettings:
    """What a training run uses; chosen on the choosing scenes (see README)."""

    n_train: int = 12000
    epochs: int = 3
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    dropout: float = 0.5
    head_l1: float = 3e-3
    refit_scenes: int = 3000
    head_units: int = 0
    refit_steps: int = 600
    finetune_epochs: int = 0
    finetune_lr: float = 5e-4
    n_choose: int = 1000
    n_heldout: int = 2000
    n_gan: int = 500
    size: int = 128
    seed: int = 0
    widths: tuple[int | str, ...] = DEFAULT_WIDTHS
    pool: str = "avg"
    precision: str = "auto"
    zoom: float = 1.0
    act_l1: float = 0.0  # weight of the pooled units' mean (an L1 penalty: sparser units)


def predict(model: nn.Module, images: np.ndarray, batch: int = 128) -> np.ndarray:
    """Class indices for uint8 N x H x W x 3 pictures (eval mode, no grad)."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append(model(to_input(images[i : i + batch]).to(device)).argmax(1).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, np.int64)


PRECISIONS = ("auto", "bf16", "fp32")
"""Training precisions: ``bf16`` runs the forward and backward passes under bfloat16
autocast (weights, optimiser state and batch-norm statistics stay float32) with the pictures
in channels-last memory order; ``fp32`` is plain float32; ``auto`` (the default) is ``bf16``
where the device computes in bfloat16 natively (:func:`~ganpaint.core.devices.native_bf16`)
and ``fp32`` elsewhere. On a 2-core AMD EPYC with AVX-512 BF16 a training pass ran 282.5
images/s in ``bf16`` against 185.6 in ``fp32`` (README, "Scene classifier"); on one with
AVX2 alone, 6.4 against 57."""


def resolve_precision(s: TrainSettings, device: torch.device) -> TrainSettings:
    """``s`` with ``auto`` precision made ``bf16`` or ``fp32`` for ``device``; an unknown
    precision is refused."""
    from ganpaint.core.devices import native_bf16

    if s.precision not in PRECISIONS:
        raise GanpaintError(f"precision {s.precision!r}: use one of {', '.join(PRECISIONS)}")
    if s.precision != "auto":
        return s
    return replace(s, precision="bf16" if native_bf16(device) else "fp32")


def _loss(model: SceneClassifier, x: torch.Tensor, y: torch.Tensor, s: TrainSettings):
    bf16 = s.precision == "bf16" and x.device.type in ("cpu", "cuda")  # not on mps
    with torch.autocast(x.device.type, torch.bfloat16, enabled=bf16):
        units = model.pooled(x)
        logits = model.head(nn.functional.dropout(units, s.dropout, training=True))
    loss = nn.functional.cross_entropy(logits.float(), y)
    return loss + s.act_l1 * units.float().abs().mean() if s.act_l1 else loss


def refit_head(model: SceneClassifier, feats: torch.Tensor, classes: np.ndarray, s) -> None:
    """Refit the head on the pooled units of training scenes with an L1 penalty on its
    weights (units standardised, so the penalty weighs every unit alike) and dropout on the
    units: each class then leans on a few units, and not on all of them being there. With
    ``s.head_units`` = k > 0 each class then keeps only its k units of largest standardised
    weight and the others' weights become exactly 0 (pruning; :func:`finetune_trunk` then
    lets the conv layers adapt to the pruned head, as a pruned network is fine-tuned)."""
    gen = torch.Generator().manual_seed(s.seed)
    sd = feats.std(0) + 1e-6
    x0 = feats / sd
    y = torch.from_numpy(classes)
    w = torch.zeros(len(model.classes), feats.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(model.classes), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.05)
    # the rate falls to 0 (cosine) so the weights settle instead of ending on one noisy
    # step of the dropout and L1 subgradient (with a constant rate, neighbouring penalties
    # gave ablation figures 10-20 points apart on the choosing scenes)
    sched = _cosine(opt, s.refit_steps)
    for _ in range(s.refit_steps):
        keep = (torch.rand(x0.shape, generator=gen, dtype=torch.float64) >= s.dropout).double()
        x = x0 * keep / (1 - s.dropout)
        loss = nn.functional.cross_entropy(x @ w.T + b, y) + s.head_l1 * w.abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    head = model.head
    with torch.no_grad():
        if s.head_units > 0:
            w = w * _strongest(w.abs(), s.head_units)
        head.weight.copy_((w / sd).to(head.weight))
        head.bias.copy_(b.to(head.bias))


def _strongest(weight: torch.Tensor, k: int) -> torch.Tensor:
    """0/1 mask (classes x units) of each class's ``k`` largest entries of ``weight``."""
    keep = torch.zeros_like(weight)
    return keep.scatter_(1, weight.topk(min(k, weight.shape[1]), 1).indices, 1.0)


def accuracy(model: nn.Module, scenes) -> float:
    """The share of ``scenes`` (a ``SceneSet``) whose class ``model`` predicts."""
    return float((predict(model, scenes.images) == scenes.classes).mean())


def _cosine_adamw(params, lr: float, s: TrainSettings, passes: int, n: int):
    """AdamW with a cosine learning rate from ``lr`` to 0 over ``passes`` passes of ``n``
    scenes in batches of ``s.batch``."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=s.weight_decay)
    return opt, _cosine(opt, max(1, passes * (n // s.batch)))


def _cosine(opt: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A schedule taking ``opt``'s rate from its value to 0 along a cosine over ``steps``."""
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps))
    )


def _passes(
    model, opt, sched, train, choose, s: TrainSettings, passes: int, gen, name: str, progress, log
) -> list[dict[str, float]]:
    """``passes`` passes over ``train``; after each, its mean loss and the accuracy on the
    choosing scenes (logged as ``name``)."""
    out = []
    for e in range(passes):
        bar = progress(f"{name} {e + 1}/{passes}", len(train.images))
        loss = _epoch(model, opt, sched, train.images, train.classes, s, gen, bar)
        bar.close()
        acc = accuracy(model, choose)
        out.append({"loss": round(loss, 4), "choose_accuracy": round(acc, 4)})
        log(f"{name} {e + 1}: loss {loss:.3f}, accuracy on the choosing scenes {acc:.3f}")
    return out


def finetune_trunk(
    model: SceneClassifier,
    train,
    choose,
    s: TrainSettings,
    progress: ProgressFactory = no_progress,
    log: Callable[[str], None] = lambda msg: None,
) -> list[dict[str, float]]:
    """Train the conv layers again under the refitted head for ``s.finetune_epochs`` passes
    (cosine from ``s.finetune_lr``, no dropout on the units).

    The refit makes each class read few units but costs accuracy, since the units were
    trained for a head that read all of them; here the units adapt to the sparse head, as a
    network is fine-tuned after pruning. No dropout: the head's few units per class are
    meant to be needed. An unpruned head stays frozen: trained, it would spread again, and
    with batch norm the trunk could scale up units under its near-zero weights. A pruned head
    (``s.head_units`` > 0) trains its kept weights with the trunk; its zeros stay exactly 0
    (their gradient is masked), so each class still reads only its units. Returns the loss
    and choosing accuracy of each pass."""
    weight = model.head.weight
    pruned = s.head_units > 0
    hook = None
    if pruned:
        mask = (weight.detach() != 0).to(weight.dtype)
        hook = weight.register_hook(lambda g: g * mask)
    else:
        for q in model.head.parameters():
            q.requires_grad_(False)
    params = [q for q in model.parameters() if q.requires_grad]
    opt, sched = _cosine_adamw(params, s.finetune_lr, s, s.finetune_epochs, len(train.images))
    gen = torch.Generator().manual_seed(s.seed + 1)
    plain = replace(s, dropout=0.0)
    try:
        n = s.finetune_epochs
        return _passes(model, opt, sched, train, choose, plain, n, gen, "fine-tune", progress, log)
    finally:
        if hook is not None:
            hook.remove()
        for q in model.head.parameters():
            q.requires_grad_(True)


def _epoch(model, opt, sched, images, classes, s: TrainSettings, gen, bar) -> float:
    """One pass over the training scenes in a random order; returns the mean loss."""
    device = next(model.parameters()).device
    model.train()
    order = torch.randperm(len(images), generator=gen).numpy()
    total = 0.0
    for i in range(0, len(order) - s.batch + 1, s.batch):
        idx = np.sort(order[i : i + s.batch])
        x = to_input(images[idx])
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x[flip] = x[flip].flip(-1)
        x = random_zoom(x, s.zoom, gen)
        x, y = x.to(device), torch.from_numpy(classes[idx]).to(device)
        if s.precision == "bf16":
            x = x.contiguous(memory_format=torch.channels_last)
        loss = _loss(model, x, y, s)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss.detach()) * len(idx)
        bar.update(len(idx))
    return total / max(1, len(order) - len(order) % s.batch)


def train_classifier(
    settings: TrainSettings,
    device: torch.device,
    *,
    cache: Path | None = DEFAULT_CACHE,
    progress: ProgressFactory = no_progress,
    log: Callable[[str], None] = lambda msg: None,
    rule: ClassRule | None = None,
) -> tuple[SceneClassifier, dict[str, Any]]:
    """Train on scenes ``TRAIN_START..+n_train``; returns the model (eval mode) and figures
    of the run (time, speed, loss and choosing accuracy per epoch). ``rule`` replaces the
    shipped class rule (experiments only; the commands always use the shipped one)."""
    s = resolve_precision(settings, device)
    torch.manual_seed(s.seed)
    gen = torch.Generator().manual_seed(s.seed)
    train = load_scenes(TRAIN_START, s.n_train, s.size, cache)
    choose = load_scenes(CHOOSE_START, s.n_choose, s.size, cache)
    names = SCENE_CLASSES
    if rule is not None:
        names, classify = rule
        train = replace(train, classes=np.asarray(classify(train.labels), np.int64))
        choose = replace(choose, classes=np.asarray(classify(choose.labels), np.int64))
    model = SceneClassifier(names, s.widths, s.pool).to(device)
    if s.precision == "bf16":
        model = model.to(memory_format=torch.channels_last)
    opt, sched = _cosine_adamw(model.parameters(), s.lr, s, s.epochs, s.n_train)
    start = time.perf_counter()
    epochs = _passes(model, opt, sched, train, choose, s, s.epochs, gen, "epoch", progress, log)
    seconds = time.perf_counter() - start
    acc_joint = epochs[-1]["choose_accuracy"]
    from ganpaint.classify.ablate import pooled_features

    n_refit = min(s.refit_scenes, s.n_train)
    refit_head(model, pooled_features(model, train.images[:n_refit]), train.classes[:n_refit], s)
    acc = accuracy(model, choose)
    log(f"head refitted: accuracy on the choosing scenes {acc_joint:.3f} -> {acc:.3f}")
    refit_s = time.perf_counter() - start - seconds
    finetune = finetune_trunk(model, train, choose, s, progress, log) if s.finetune_epochs else []
    run = {
        "refit_seconds": round(refit_s, 1),
        "refit_choose_accuracy": round(acc, 4),
        "finetune": finetune,
        "finetune_seconds": round(time.perf_counter() - start - seconds - refit_s, 1),
        "train_seconds": round(seconds, 1),
        "train_images_per_s": round(s.epochs * s.n_train / seconds, 1),
        "epochs": epochs,
        "class_frequencies_train": class_frequencies(train.classes, names),
    }
    return model.to(memory_format=torch.contiguous_format).eval(), run


def class_frequencies(
    classes: np.ndarray, names: tuple[str, ...] = SCENE_CLASSES
) -> dict[str, float]:
    """Each class's share of ``classes`` (indices into ``names``), rounded to 4 places."""
    counts = np.bincount(classes, minlength=len(names)) / max(1, len(classes))
    return {c: round(float(f), 4) for c, f in zip(names, counts, strict=True)}
