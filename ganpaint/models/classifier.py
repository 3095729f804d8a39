"""The scene classifier: :class:`SceneClassifier`, a small VGG built with torchvision's
``VGG`` class (``weights=None``), and its safetensors file (:func:`save_classifier`,
:func:`load_classifier`).

Why this architecture:

* VGG is the network the dissection paper reads (VGG-16 on Places365), and its plain
  conv-ReLU stack makes every conv layer's post-ReLU output a layer of "units" with no skip
  connections mixing them, so each unit is one thing to dissect and ablate.
* Narrow and shallow for 128 px scenes and a 2-core CPU: widths ``DEFAULT_WIDTHS``
  (seven 3x3 convs, max-pools after the first three and the fifth; batch norm after each
  conv for fast training), 1.1 M weights, ~2.3 MB stored in float16. The last conv layer sees
  8 x 8 positions, each with a receptive field of about 100 px. The first layers are narrow
  (16 and 32 units) because at 128 and 64 px they cost most of the time: halving them
  doubled training speed on the 2-core CPU (measured 10 -> 19 images/s, batch 64).
* Global average pooling and one linear layer instead of VGG's three fully connected layers:
  a class logit is then ``weight[c] . mean(units) + bias[c]``, linear in the pooled last-layer
  units, so each unit's share of a class is readable from the head, and zeroing a unit is
  exactly removing its term (the per-unit ablation is exact and cheap). ``pool="max"`` takes
  each unit's spatial maximum instead (the logit stays linear in the pooled units); a unit
  then counts for a class by where it fires most, not by how much of the picture it covers.

Images come in as the generator outputs them: B x 3 x H x W in [-1, 1]; logits go out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganpaint.core.errors import CheckpointError

DEFAULT_WIDTHS: tuple[int | str, ...] = (16, "M", 32, "M", 64, "M", 128, 128, "M", 256, 256)
"""The conv widths in torchvision's VGG ``cfg`` notation ("M": a 2x2 max-pool)."""
ARCHITECTURE = "vgg-gap"
FORMAT_VERSION = 1
MAX_WIDTH = 1024
MAX_LAYERS = 24
MAX_CLASSES = 1000  # the head is widths[-1] x classes: a hostile list must not fill memory
POOLS = ("avg", "max")
"""How the last layer's units are pooled over positions for the head."""


def parse_widths(text: str) -> tuple[int | str, ...]:
    """Widths in the notation of ``DEFAULT_WIDTHS`` from a comma list ("16,M,32,M,64");
    ValueError naming the problem when it is not one."""
    tokens = [t.strip() for t in text.split(",")]
    widths: list[int | str] = []
    for tok in tokens:
        if tok.upper() == "M":
            widths.append("M")
        elif tok.isdigit() and 1 <= int(tok) <= MAX_WIDTH:
            widths.append(int(tok))
        else:
            raise ValueError(f"{tok!r} is neither a width (1 to {MAX_WIDTH}) nor M (a max-pool)")
    if not valid_widths(widths):
        raise ValueError(f"widths need 1 to {MAX_LAYERS} entries with at least one conv width")
    return tuple(widths)


def valid_widths(widths: Any) -> bool:
    """Whether ``widths`` is a list of 1 to ``MAX_LAYERS`` entries, each "M" or an int width
    of 1 to ``MAX_WIDTH``, at least one of them a width."""
    ok = isinstance(widths, (list, tuple)) and 0 < len(widths) <= MAX_LAYERS
    ok = ok and all(w == "M" or (type(w) is int and 1 <= w <= MAX_WIDTH) for w in widths)
    return ok and any(w != "M" for w in widths)


def _features(widths: Sequence[int | str]) -> nn.Sequential:
    """VGG features (conv, batch norm, ReLU; "M": max-pool), ReLUs not in place so forward
    hooks see each layer's own output tensor."""
    layers: list[nn.Module] = []
    channels = 3
    for w in widths:
        if w == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(w), 3, padding=1), nn.BatchNorm2d(int(w))]
            layers.append(nn.ReLU(inplace=False))
            channels = int(w)
    return nn.Sequential(*layers)


class SceneClassifier(nn.Module):
    """A VGG (torchvision's class, custom ``cfg``) with a global pool (mean or max) + linear head.

    ``classes``: the class names, logit ``i`` is ``classes[i]``. ``unit_layers``: the conv
    layers ("conv1", ... shallow to deep) whose post-ReLU outputs are units; ``module_for``
    gives the module whose forward output holds a layer's units (for forward hooks).
    ``pool``: ``"avg"`` (the mean of each unit over positions) or ``"max"`` (its maximum)."""

    def __init__(
        self,
        classes: Sequence[str],
        widths: Sequence[int | str] = DEFAULT_WIDTHS,
        pool: str = "avg",
    ) -> None:
        super().__init__()
        from torchvision.models import VGG

        self.classes: tuple[str, ...] = tuple(str(c) for c in classes)
        self.widths: tuple[int | str, ...] = tuple(widths)
        convs = [w for w in self.widths if w != "M"]
        if not self.classes or not convs:
            raise ValueError("a classifier needs classes and at least one conv layer")
        if pool not in POOLS:
            raise ValueError(f"pool {pool!r}: use one of {', '.join(POOLS)}")
        self.pool = pool
        self.vgg = VGG(_features(self.widths), num_classes=len(self.classes), init_weights=True)
        self.vgg.avgpool = nn.AdaptiveMaxPool2d(1) if pool == "max" else nn.AdaptiveAvgPool2d(1)
        self.vgg.classifier = nn.Linear(int(convs[-1]), len(self.classes))
        relus = [m for m in self.vgg.features if isinstance(m, nn.ReLU)]
        self.unit_layers: tuple[str, ...] = tuple(f"conv{i + 1}" for i in range(len(relus)))
        self._relus = dict(zip(self.unit_layers, relus, strict=True))

    @property
    def head(self) -> nn.Linear:
        """The linear layer reading the pooled units of the last unit layer."""
        return self.vgg.classifier

    def module_for(self, layer: str) -> nn.Module:
        """The module whose output is ``layer``'s units (post-ReLU)."""
        try:
            return self._relus[layer]
        except KeyError:
            known = ", ".join(self.unit_layers)
            raise KeyError(f"{layer!r} is not a unit layer (layers: {known})") from None

    def unit_counts(self) -> dict[str, int]:
        """Units per unit layer."""
        convs = [int(w) for w in self.widths if w != "M"]
        return dict(zip(self.unit_layers, convs, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vgg(x)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's units pooled over positions (B x units): the head's input."""
        return torch.flatten(self.vgg.avgpool(self.vgg.features(x)), 1)

    def config(self) -> dict[str, Any]:
        cfg = {"architecture": ARCHITECTURE, "classes": list(self.classes),
               "widths": list(self.widths)}  # fmt: skip
        if self.pool != "avg":  # files from before the option stay as they were
            cfg["pool"] = self.pool
        return cfg


def save_classifier(model: SceneClassifier, path: str | Path) -> None:
    """Write weights (float16; batch-norm statistics float32) and config to safetensors."""
    from safetensors.torch import save

    from ganpaint.core.files import atomic_write_bytes

    state = {}
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        v = v.detach().cpu()
        state[k] = (v.half() if "running" not in k else v.float()).contiguous()
    meta = {"format": "ganpaint-classifier", "version": str(FORMAT_VERSION),
            "config": json.dumps(model.config())}  # fmt: skip
    # atomically: an interrupted save leaves the bundle's previous classifier whole
    atomic_write_bytes(path, save(state, metadata=meta))


def _config(path: Path, header: dict) -> dict[str, Any]:
    from ganpaint.models.checkpoint import network_config

    meta, cfg = network_config(path, header, "ganpaint-classifier", "classifier")
    if meta.get("version") != str(FORMAT_VERSION):
        version = meta.get("version", "")[:20]
        raise CheckpointError(f"{path}: classifier version {version!r} not supported")
    if cfg.get("architecture") != ARCHITECTURE:
        raise CheckpointError(f"{path}: classifier architecture must be {ARCHITECTURE!r}")
    classes, widths = cfg.get("classes"), cfg.get("widths")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise CheckpointError(f"{path}: classifier config 'classes' must be a list of names")
    if len(classes) > MAX_CLASSES:
        raise CheckpointError(f"{path}: classifier config lists {len(classes)} classes")
    if not isinstance(widths, list) or not valid_widths(widths):
        raise CheckpointError(f"{path}: classifier config 'widths' must be a list of widths")
    if cfg.get("pool", "avg") not in POOLS:
        raise CheckpointError(f"{path}: classifier config 'pool' must be one of {', '.join(POOLS)}")
    # before the network is built: a config of 24 layers of 1024 units is 0.9 GB of weights
    declared = _stored_values(len(classes), widths)
    held = sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    if declared != held:
        raise CheckpointError(
            f"{path}: its config describes {declared} stored values, the file holds {held}"
        )
    return cfg


def _stored_values(n_classes: int, widths: Sequence[int | str]) -> int:
    """How many values :func:`save_classifier` stores for this config: per conv its weight
    and bias and its batch norm's weight, bias, running mean and variance; the head."""
    total, channels = 0, 3
    for w in widths:
        if w != "M":
            total += channels * int(w) * 9 + 5 * int(w)
            channels = int(w)
    return total + channels * n_classes + n_classes


def read_classifier_config(path: str | Path) -> dict[str, Any]:
    """The classes and widths a classifier file declares, checked with its header (no
    weights read): a quick test that the file is whole and ours."""
    from ganpaint.models.checkpoint import check_safetensors_header

    path = Path(path)
    return _config(path, check_safetensors_header(path))


def load_classifier(path: str | Path) -> SceneClassifier:
    """Open a classifier written by :func:`save_classifier` (eval mode, CPU, float32)."""
    from ganpaint.models.checkpoint import load_checked_state

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such classifier file")
    cfg = read_classifier_config(path)
    model = SceneClassifier(cfg["classes"], cfg["widths"], cfg.get("pool", "avg"))
    return load_checked_state(path, model, "classifier")
