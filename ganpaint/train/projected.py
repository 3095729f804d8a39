"""The discriminator's projected heads: small trainable discriminators reading a frozen,
pretrained feature network, after Sauer et al., "Projected GANs Converge Faster" (NeurIPS
2021), who found that a discriminator on pretrained features reaches a given FID in a
fraction of the images.

The features come from the bundled scene classifier's conv trunk
(:class:`~ganpaint.models.classifier.SceneClassifier`, trained on rendered scenes only, so it
is this domain's own "pretrained network"; the segmenter is not used, since
``evaluate_gan``'s Fréchet distance is measured on its features and a discriminator trained on
them would optimise the yardstick). The picture is resized to the classifier's 128 px, run
through the trunk in eval mode with its weights frozen (batch norm on its running
statistics), and three of its layers (:data:`FEATURE_LAYERS`: 32 x 32, 16 x 16 and 8 x 8
positions) each feed a head of 1x1, 3x3 and 1x1 convolutions with spectral normalisation
(as the paper's heads have) that gives one logit per position. The trunk's batch norms are
folded into its convolutions (:func:`fold_batch_norm`).

The trunk is kept out of the module's parameters and state (its weights are the bundled
file's, named by its sha256 in :attr:`ProjectedHeads.source`), so a training state carries
only the heads; it still follows the module across devices and memory formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.core.errors import GanpaintError

FEATURE_LAYERS = ("conv3", "conv5", "conv7")
"""The classifier layers the heads read (default widths: 64, 128 and 256 units)."""
FEATURE_SIZE = 128
"""The classifier's picture size: every picture is resized to it first."""
HEAD_WIDTH = 64


def default_classifier_path() -> Path:
    """The bundled ``scenes128`` classifier, whose trunk the heads read."""
    from ganpaint.core.paths import models_dir

    return models_dir() / "scenes128" / "classifier.safetensors"


def load_trunk(
    path: str | Path | None = None,
) -> tuple[nn.Sequential, dict[str, tuple[int, int]], str]:
    """The classifier's conv trunk (frozen, eval mode, float32, CPU) cut after the last of
    :data:`FEATURE_LAYERS`, the indices of those layers' ReLUs in it with their widths, and
    the file's sha256 (``taps[name] = (index, width)``)."""
    from ganpaint.models.bundle import sha256_file
    from ganpaint.models.classifier import load_classifier

    path = Path(path) if path is not None else default_classifier_path()
    try:
        classifier = load_classifier(path)
        digest = sha256_file(path)
    except (OSError, GanpaintError) as exc:
        raise GanpaintError(f"projected discriminator: cannot load {path} ({exc})") from None
    missing = [n for n in FEATURE_LAYERS if n not in classifier.unit_layers]
    if missing:
        raise GanpaintError(f"{path}: the classifier has no layer {', '.join(missing)}")
    features = fold_batch_norm(list(classifier.vgg.features))
    taps: dict[str, int] = {}
    widths = classifier.unit_counts()
    for name in FEATURE_LAYERS:
        relu = classifier.module_for(name)
        taps[name] = next(i for i, m in enumerate(features) if m is relu)
    trunk = nn.Sequential(*features[: max(taps.values()) + 1]).eval()
    trunk.requires_grad_(False)
    return trunk, {n: (taps[n], widths[n]) for n in FEATURE_LAYERS}, digest


def fold_batch_norm(layers: list[nn.Module]) -> list[nn.Module]:
    """``layers`` with each batch norm folded into the convolution before it (torch's
    ``fuse_conv_bn_eval``: a copy of the conv whose weight and bias give the pair's eval-mode
    output within float rounding; no random numbers drawn), the other modules kept as they
    are. The frozen trunk then runs 18 modules instead of 25 (the default widths), for a step
    whose time on a GPU at batch 32 seems bound more by the count of small operations than
    by their arithmetic (docs/TRAINING.md)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    out: list[nn.Module] = []
    for layer in layers:
        if isinstance(layer, nn.BatchNorm2d) and out and isinstance(out[-1], nn.Conv2d):
            out[-1] = fuse_conv_bn_eval(out[-1].eval(), layer.eval())
        else:
            out.append(layer)
    return out


def spectral_head(width: int) -> nn.Sequential:
    """``width`` channels -> one logit per position: 1x1, 3x3 and 1x1 convolutions
    (``HEAD_WIDTH`` wide) with spectral normalisation and leaky ReLUs between."""
    sn = nn.utils.parametrizations.spectral_norm
    return nn.Sequential(
        sn(nn.Conv2d(width, HEAD_WIDTH, 1)),
        nn.LeakyReLU(0.2),
        sn(nn.Conv2d(HEAD_WIDTH, HEAD_WIDTH, 3, padding=1)),
        nn.LeakyReLU(0.2),
        sn(nn.Conv2d(HEAD_WIDTH, 1, 1)),
    )


class ProjectedHeads(nn.Module):
    """Picture (N, 3, R, R) in [-1, 1] -> one (N, h, w) map of logits per feature layer.
    The trunk's weights are frozen and are not parameters of this module."""

    def __init__(self, classifier_path: str | Path | None = None, seed: int = 0):
        super().__init__()
        # Their own seed (loading the classifier draws random numbers too): adding the heads
        # leaves the caller's random stream, and so the rest of the discriminator, as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            trunk, taps, digest = load_trunk(classifier_path)
            self.heads = nn.ModuleDict({n: spectral_head(w) for n, (_, w) in taps.items()})
        self._trunk = [trunk]  # a list: not registered, so not in parameters() or state
        self._taps = {index: name for name, (index, _) in taps.items()}
        self.source = {"classifier_sha256": digest, "layers": list(FEATURE_LAYERS)}

    @property
    def trunk(self) -> nn.Sequential:
        return self._trunk[0]

    def _apply(self, fn: Any, recurse: bool = True) -> ProjectedHeads:
        # .to(device), .to(memory_format=...), .float(): the trunk goes along.
        super()._apply(fn, recurse)
        self._trunk[0]._apply(fn, recurse)
        return self

    def train(self, mode: bool = True) -> ProjectedHeads:
        super().train(mode)
        self.trunk.eval()  # batch norm on its running statistics, always
        return self

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The trunk's outputs at :data:`FEATURE_LAYERS` for pictures in [-1, 1]."""
        if x.shape[-1] != FEATURE_SIZE or x.shape[-2] != FEATURE_SIZE:
            # in float32: pictures made under bf16 autocast arrive in bf16, and the
            # antialiased resize need not have a bf16 kernel on every device
            x = x.float()
            down = x.shape[-1] > FEATURE_SIZE
            x = F.interpolate(x, size=(FEATURE_SIZE, FEATURE_SIZE), mode="bilinear",
                              align_corners=False, antialias=down)  # fmt: skip
        out = {}
        for i, layer in enumerate(self.trunk):
            x = layer(x)
            if i in self._taps:
                out[self._taps[i]] = x
        return out

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = self.features(x)  # the trunk under the caller's autocast, if any
        # The heads are small: float32, so spectral normalisation's power iteration keeps
        # its vectors in float32 whatever the autocast.
        with torch.autocast(x.device.type, enabled=False):
            return [self.heads[n](feats[n].float()).squeeze(1) for n in FEATURE_LAYERS]


def projected_loss(
    fake: list[torch.Tensor], real: list[torch.Tensor] | None = None
) -> torch.Tensor:
    """The heads' logistic loss, each head's averaged over its positions, summed over heads:
    with ``real``, the discriminator's (``fake`` judged fake, ``real`` real); without, the
    generator's (``fake`` judged real)."""
    if real is None:
        return sum(F.softplus(-m.float()).mean() for m in fake)  # type: ignore[return-value]
    terms = [F.softplus(f.float()).mean() + F.softplus(-r.float()).mean()
             for f, r in zip(fake, real, strict=True)]  # fmt: skip
    return sum(terms)  # type: ignore[return-value]
