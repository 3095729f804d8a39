"""What the scene classifier sees in one picture: :func:`read_frame` -> :class:`FrameReading`.

A reading holds the class probabilities and the units of one unit layer (the classifier's
last by default) that drive the top class most, each with its concept label from the
classifier's dissection (when the bundle has one) and its activation map. The app's
Classifier panel shows a reading of every edited frame; it is computed on the render
worker, never on the GUI thread.

A unit's drive is its first-order contribution to the top class's *centred* logit
(its logit minus the mean of all logits): the sum over positions of activation x gradient.
For a head that pools the units and applies one linear layer (a torchvision ResNet) this is
exactly ``weight[top, unit] * pooled activation`` (the mean, or the maximum with a
max-pooling head) minus the same for the mean class, so it is
the unit's share of the logit; for deeper heads it is the usual gradient x input
attribution. The logit is centred because the softmax ignores anything that raises every
class alike: a unit that pushes all logits up does not drive the prediction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ganpaint.classify.attack import _module_name  # one lookup for both readers of units
from ganpaint.core.errors import GanpaintError
from ganpaint.engine.hooks import Trace


@dataclass(frozen=True)
class UnitLabel:
    """A unit's concept from the classifier dissection: ``concept`` with its ``iou`` at the
    unit's best quantile level."""

    concept: str
    iou: float


@dataclass(frozen=True)
class UnitReading:
    """One driving unit: ``drive`` is its contribution to the top class's centred logit
    (positive pushes towards the top class); ``heatmap`` is its activation map at the
    layer's resolution (float32 h x w) and ``peak`` its largest value; ``label`` is None
    for a unit the dissection left unlabelled, or when there is no dissection."""

    unit: int
    drive: float
    heatmap: np.ndarray
    peak: float
    label: UnitLabel | None = None

    @property
    def concept(self) -> str:
        return self.label.concept if self.label is not None else ""


@dataclass(frozen=True)
class FrameReading:
    """The classifier's reading of one picture: ``probs`` (float32, one per class, in the
    order of ``classes``), the ``top`` class index, and the ``units`` of ``layer`` that drive
    it most, strongest first. ``ms``: the time the reading took."""

    classes: tuple[str, ...]
    probs: np.ndarray
    top: int
    layer: str
    units: tuple[UnitReading, ...]
    ms: float

    @property
    def top_class(self) -> str:
        return self.classes[self.top]

    @property
    def top_prob(self) -> float:
        return float(self.probs[self.top])


def read_frame(
    classifier: nn.Module,
    image: np.ndarray,
    dissection=None,
    top: int = 6,
    *,
    layer: str | None = None,
) -> FrameReading:
    """Classify ``image`` (H x W x 3 uint8) and find the ``top`` units of ``layer`` (default
    the classifier's last unit layer) that drive the predicted class.

    ``classifier`` takes B x 3 x H x W images in [-1, 1] and returns logits; it has
    ``classes``, ``unit_layers`` and ``module_for(layer)`` (``SceneClassifier``).
    ``dissection``: the bundle's classifier dissection (labels come from it) or None.
    The classifier is used in eval mode and left in the mode it was in."""
    start = time.perf_counter()
    x = _as_input(classifier, image)
    layer = layer or classifier.unit_layers[-1]
    name = _module_name(classifier, layer)
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.enable_grad(), Trace(classifier, name, detach=False) as trace:
            logits = classifier(x)[0]
            acts = trace.output
            c = int(logits.argmax())
            centred = logits[c] - logits.mean()
            (grad,) = torch.autograd.grad(centred, acts)
    finally:
        classifier.train(was_training)
    with torch.no_grad():
        probs = logits.detach().softmax(0).float().cpu().numpy()
        acts = acts.detach()[0].float()
        drive = (acts * grad[0].float()).sum((1, 2)).cpu().numpy()
        maps = acts.cpu().numpy()
    labels = unit_labels(dissection, layer)
    order = np.argsort(-drive, kind="stable")[: max(int(top), 0)]
    units = tuple(
        UnitReading(
            int(u), float(drive[u]), maps[u].copy(), float(maps[u].max()), labels.get(int(u))
        )
        for u in order
    )
    classes = tuple(getattr(classifier, "classes", ())) or tuple(str(i) for i in range(len(probs)))
    ms = (time.perf_counter() - start) * 1000.0
    return FrameReading(classes, probs, c, layer, units, ms)


def unit_labels(dissection, layer: str) -> Mapping[int, UnitLabel]:
    """unit -> its best label in ``layer`` from a classifier dissection (None: no labels)."""
    if dissection is None:
        return {}
    found = dissection.layer(layer) if hasattr(dissection, "layer") else None
    if found is None:
        return {}
    out: dict[int, UnitLabel] = {}
    for unit in found.units:
        best = getattr(unit, "best", None)
        if best is not None and best.labelled:
            out[int(unit.unit)] = UnitLabel(best.concept, float(best.iou))
    return out


def _as_input(classifier: nn.Module, image: np.ndarray) -> torch.Tensor:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise GanpaintError(
            f"the classifier reads H x W x 3 uint8 pictures, not {a.dtype} {a.shape}"
        )
    device = next(classifier.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(a)).to(device).permute(2, 0, 1)[None].float()
    return x / 127.5 - 1.0
