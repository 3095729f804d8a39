"""Targeted adversarial attacks on the scene classifier, read through its units.

:func:`attack_batch` (and :func:`attack_image` for one picture) runs a minimal-L2 targeted
attack in the style of DDN (Rony et al., CVPR 2019: "Decoupled Direction and Norm"), which is
projected gradient descent with an L2 budget that adapts per image: each step moves along the
normalised gradient of the target's cross-entropy, then the perturbation is projected onto the
L2 sphere of the image's current budget, which shrinks by ``gamma`` while the image is
adversarial and grows while it is not. The smallest adversarial perturbation seen is kept.

Images live in [0, 1] pixel space, clipped there, and every forward pass sees the image
quantised to uint8 (rounded, with a straight-through gradient), so the success the attack
records is the success of the uint8 picture the app shows; the result is checked once more by
a plain forward pass of that picture. ``l2`` is the Euclidean norm of (adversarial - original)
over all H x W x 3 values in [0, 1] pixel units (a change of one uint8 level in every value of
a 128 px picture is 0.87).

The unit reading follows Bau et al. (PNAS 2020): per unit of a layer (the classifier's last
unit layer by default), the absolute change of its spatial-max activation, and a heatmap of
where the units' activations changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.core.errors import GanpaintError
from ganpaint.engine.hooks import Trace


@dataclass(frozen=True)
class AttackSettings:
    """The attack's knobs. ``steps``: gradient steps per image; ``alpha``: first L2 step size
    (cosine-annealed to 1 % of it); ``gamma``: relative budget change per step; ``init_eps``:
    first L2 budget; ``margin``: the target logit must beat every other by this much
    (on the quantised picture) for a step to count as adversarial; ``refine``: steps spent
    shrinking a picture's perturbation after it first became adversarial: a batch stops once
    every picture has had them (or after ``steps``)."""

    steps: int = 60
    alpha: float = 2.0
    gamma: float = 0.05
    init_eps: float = 1.0
    margin: float = 0.05
    refine: int = 20

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise GanpaintError(f"attack steps must be at least 1, not {self.steps}")
        if not (self.alpha > 0 and 0 < self.gamma < 1 and self.init_eps > 0):
            raise GanpaintError(
                "attack alpha and init_eps must be positive and gamma in (0, 1); got "
                f"alpha={self.alpha}, gamma={self.gamma}, init_eps={self.init_eps}"
            )
        if self.refine < 1:
            raise GanpaintError(f"attack refine steps must be at least 1, not {self.refine}")
        if self.margin < 0:
            raise GanpaintError(f"attack margin must be 0 or more, not {self.margin}")


@dataclass(frozen=True)
class AttackResult:
    """One attacked picture.

    ``adversarial``: H x W x 3 uint8; ``success``: the classifier's top class on that uint8
    picture is ``target``; ``l2``: ||adversarial - original|| in [0, 1] pixel units over all
    values (0 where the attack found nothing, then ``adversarial`` is the original);
    ``probs_before`` / ``probs_after``: class probabilities of the original and adversarial
    pictures; ``unit_change``: per unit of ``layer``, |max_xy a(adv) - max_xy a(orig)|;
    ``heatmap``: H x W, the mean |a(adv) - a(orig)| over the heatmap's units, upsampled;
    ``amplified``: uint8, mid-grey plus the perturbation times ``gain``."""

    adversarial: np.ndarray
    success: bool
    l2: float
    probs_before: np.ndarray
    probs_after: np.ndarray
    unit_change: np.ndarray
    heatmap: np.ndarray
    amplified: np.ndarray
    source: int
    target: int
    layer: str
    gain: float


def attack_image(
    classifier: nn.Module,
    image: np.ndarray,
    target: int,
    *,
    layer: str | None = None,
    settings: AttackSettings | None = None,
    heatmap_units: Sequence[int] | None = None,
    gain: float | None = None,
) -> AttackResult:
    """Attack one H x W x 3 uint8 picture towards class ``target``; see :func:`attack_batch`."""
    return attack_batch(
        classifier,
        np.asarray(image)[None],
        [target],
        layer=layer,
        settings=settings,
        heatmap_units=[heatmap_units] if heatmap_units is not None else None,
        gain=gain,
    )[0]


def attack_batch(
    classifier: nn.Module,
    images: np.ndarray,
    targets: Sequence[int],
    *,
    layer: str | None = None,
    settings: AttackSettings | None = None,
    heatmap_units: Sequence[Sequence[int] | None] | None = None,
    gain: float | None = None,
) -> list[AttackResult]:
    """Attack B x H x W x 3 uint8 pictures, each towards its own target class.

    ``classifier`` takes B x 3 x H x W images in [-1, 1] and returns logits; it has
    ``unit_layers`` and ``module_for(layer)`` (``SceneClassifier``). ``layer`` (default the
    last unit layer) is the one whose units are read. ``heatmap_units``: per picture, the units
    whose change the heatmap shows (None: all units). ``gain`` amplifies the perturbation for
    display; None picks, per picture, the gain that maps its largest change to half the range.
    The classifier is used in eval mode and left in the mode it was in."""
    settings = settings or AttackSettings()
    x0, target = _check_inputs(classifier, images, targets)
    layer = layer or classifier.unit_layers[-1]
    module_name = _module_name(classifier, layer)
    was_training = classifier.training
    classifier.eval()
    try:
        adv = _ddn(classifier, x0, target, settings)
        with torch.no_grad():
            before, acts0 = _read(classifier, module_name, x0)
            after, acts1 = _read(classifier, module_name, adv)
    finally:
        classifier.train(was_training)
    return _results(x0, adv, target, before, after, acts0, acts1, layer, heatmap_units, gain)


def change_heatmap(
    classifier: nn.Module,
    original: np.ndarray,
    changed: np.ndarray,
    *,
    layer: str | None = None,
    units: Sequence[int] | None = None,
) -> np.ndarray:
    """H x W: the mean |a(changed) - a(original)| over ``units`` (None: all) of ``layer``,
    upsampled to the picture, for two H x W x 3 uint8 pictures (as ``AttackResult.heatmap``)."""
    x, _ = _check_inputs(classifier, np.stack([original, changed]), [0, 0])
    layer = layer or classifier.unit_layers[-1]
    module_name = _module_name(classifier, layer)
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.no_grad():
            _, acts = _read(classifier, module_name, x)
    finally:
        classifier.train(was_training)
    return _heatmap(acts[1] - acts[0], units, tuple(x.shape[-2:]))


def unit_activations(
    classifier: nn.Module, images: np.ndarray, layer: str | None = None, batch: int = 50
) -> np.ndarray:
    """N x U x h x w: the units of ``layer`` (default the last unit layer) on N x H x W x 3
    uint8 pictures."""
    layer = layer or classifier.unit_layers[-1]
    module_name = _module_name(classifier, layer)
    out = []
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(images), batch):
                part = images[i : i + batch]
                x, _ = _check_inputs(classifier, part, [0] * len(part))
                out.append(_read(classifier, module_name, x)[1].cpu().numpy())
    finally:
        classifier.train(was_training)
    return np.concatenate(out)


def _heatmap(diff: torch.Tensor, units: Sequence[int] | None, size: tuple[int, int]) -> np.ndarray:
    d = diff.abs() if units is None else diff[list(units)].abs()
    return F.interpolate(d.mean(0)[None, None], size=size, mode="bilinear")[0, 0].cpu().numpy()


def _check_inputs(
    classifier: nn.Module, images: np.ndarray, targets: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise GanpaintError(
            f"attack needs B x H x W x 3 uint8 pictures, not {images.dtype} {images.shape}"
        )
    if len(targets) != len(images):
        raise GanpaintError(f"{len(images)} pictures but {len(targets)} target classes")
    n_classes = len(getattr(classifier, "classes", ())) or None
    for t in targets:
        if t < 0 or (n_classes is not None and t >= n_classes):
            raise GanpaintError(f"target class {t} is not one of the {n_classes} classes")
    device = next(classifier.parameters()).device
    x0 = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float() / 255.0
    return x0, torch.as_tensor(list(targets), dtype=torch.long, device=device)


def _module_name(classifier: nn.Module, layer: str) -> str:
    if layer not in classifier.unit_layers:
        known = ", ".join(classifier.unit_layers)
        raise GanpaintError(f"the classifier has no unit layer {layer!r}; it has {known}")
    module = classifier.module_for(layer)
    for name, m in classifier.named_modules():
        if m is module:
            return name
    raise GanpaintError(f"the module of unit layer {layer!r} is not inside the classifier")


def _quantised(x: torch.Tensor) -> torch.Tensor:
    """x rounded to uint8 levels in value, with the identity's gradient (straight-through)."""
    return x + (torch.round(x * 255.0) / 255.0 - x).detach()


def _norms(d: torch.Tensor) -> torch.Tensor:
    return d.flatten(1).norm(dim=1)


def _ddn(
    classifier: nn.Module, x0: torch.Tensor, target: torch.Tensor, s: AttackSettings
) -> torch.Tensor:
    """The smallest quantised adversarial image found per picture (the original where none)."""
    b = len(x0)
    delta = torch.zeros_like(x0, requires_grad=True)
    eps = torch.full((b,), s.init_eps, device=x0.device)
    best = x0.clone()
    best_l2 = torch.full((b,), float("inf"), device=x0.device)
    rows = torch.arange(b, device=x0.device)
    first = torch.full((b,), -1, device=x0.device)
    for i in range(s.steps):
        alpha = s.alpha * (0.01 + 0.99 * (1 + np.cos(np.pi * i / s.steps)) / 2)
        q = _quantised((x0 + delta).clamp(0, 1))
        logits = classifier(q * 2 - 1)
        others = logits.detach().clone()
        others[rows, target] = -float("inf")
        is_adv = logits.detach()[rows, target] - others.max(1).values > s.margin
        l2 = _norms(q.detach() - x0)
        better = is_adv & (l2 < best_l2)
        best_l2 = torch.where(better, l2, best_l2)
        best[better] = q.detach()[better]
        first = torch.where(is_adv & (first < 0), i, first)
        if bool((first >= 0).all()) and i - int(first.max()) >= s.refine:
            break
        loss = F.cross_entropy(logits, target, reduction="sum")
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            step = -grad / _norms(grad).clamp_min(1e-12).view(-1, 1, 1, 1)
            delta += alpha * step
            eps = torch.where(is_adv, eps * (1 - s.gamma), eps * (1 + s.gamma))
            delta *= (eps / _norms(delta).clamp_min(1e-12)).view(-1, 1, 1, 1)
            delta.copy_((x0 + delta).clamp(0, 1) - x0)
    return best


def _read(
    classifier: nn.Module, module_name: str, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    with Trace(classifier, module_name) as trace:
        logits = classifier(x * 2 - 1)
    return logits.softmax(1), trace.output


def _results(
    x0: torch.Tensor,
    adv: torch.Tensor,
    target: torch.Tensor,
    before: torch.Tensor,
    after: torch.Tensor,
    acts0: torch.Tensor,
    acts1: torch.Tensor,
    layer: str,
    heatmap_units: Sequence[Sequence[int] | None] | None,
    gain: float | None,
) -> list[AttackResult]:
    h, w = x0.shape[-2:]
    change = (acts1.amax((2, 3)) - acts0.amax((2, 3))).abs()
    out = []
    for i in range(len(x0)):
        units = heatmap_units[i] if heatmap_units is not None else None
        heat = _heatmap(acts1[i] - acts0[i], units, (h, w))
        orig = _to_uint8(x0[i])
        adv_img = _to_uint8(adv[i])
        pert = adv_img.astype(np.float32) - orig.astype(np.float32)
        g = gain if gain is not None else 127.5 / max(float(np.abs(pert).max()), 1.0)
        success = int(after[i].argmax()) == int(target[i])
        out.append(
            AttackResult(
                adversarial=adv_img,
                success=success,
                l2=float(np.sqrt(((pert / 255.0) ** 2).sum())),
                probs_before=before[i].cpu().numpy(),
                probs_after=after[i].cpu().numpy(),
                unit_change=change[i].cpu().numpy(),
                heatmap=heat,
                amplified=np.clip(128.0 + g * pert, 0, 255).round().astype(np.uint8),
                source=int(before[i].argmax()),
                target=int(target[i]),
                layer=layer,
                gain=float(g),
            )
        )
    return out


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.permute(1, 2, 0) * 255.0).round().clamp(0, 255).byte().cpu().numpy()
