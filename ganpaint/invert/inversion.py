"""One picture into the generator: :func:`invert_picture`.

Three stages, after the recipe of GANPaint Studio (Bau et al., SIGGRAPH 2019), cut down to
a CPU budget of a few hundred steps:

1. **Start**: z from the bundle's encoder (``models/encoder.py``) when it has one, else the
   best of a few seeds by pixel loss.
2. **Residuals**: z and a residual on the output of ``residual_layer`` (the first edit
   layer, so every edit layer sees it and the units stay editable) are optimised with Adam
   against a pixel loss plus a feature loss (the bundle's segmenter's encoder activations:
   nothing downloaded).
3. **Adaptation**: the convolution weights of the blocks after the residual layer become
   ``W * (1 + d)``; d (per weight) is optimised with the residual, with a penalty on d so the
   units keep their meaning.

The result is a :class:`~ganpaint.engine.picture.PictureBase` (residual and d stored as
float16, as the project file keeps them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.core.devices import pick_device
from ganpaint.core.errors import GanpaintError, InversionCancelled
from ganpaint.core.seeds import zs_from_seeds
from ganpaint.engine.picture import FEATHER, PictureBase
from ganpaint.models.bundle import ModelBundle
from ganpaint.models.progan import ProGANGenerator

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class InvertConfig:
    """The inversion's knobs (chosen on training seeds, see README "Own pictures")."""

    steps: int = 200
    residual_share: float = 0.4  # of the steps spent before the adaptation starts
    lr_z: float = 0.03
    lr_residual: float = 0.03
    lr_adapt: float = 0.003
    adapt_penalty: float = 1.0  # weight of mean(d^2)
    feature_weight: float = 0.1  # weight of the segmenter feature loss (0: pixels only)
    adapt: str = "weight"  # "weight" (one d per weight), "channel" (per output channel), "none"
    residual: bool = True
    encoder: str = "features"  # start from the encoder's "features" (z and residual), "z", "none"
    start_seeds: int = 16  # seeds tried when there is no encoder
    extra: dict = field(default_factory=dict)


def config_with(settings: list[str]) -> InvertConfig:
    """The default config with ``KEY=VALUE`` overrides (values parsed as JSON, else text);
    GanpaintError naming an unknown key or a value of the wrong type."""
    import json

    base = asdict(InvertConfig())
    for item in settings:
        key, sep, text = item.partition("=")
        if not sep or key not in base or key == "extra":
            raise GanpaintError(f"--set {item!r}: not KEY=VALUE with KEY one of {sorted(base)}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if type(value) is not type(base[key]) and not (
            isinstance(base[key], float) and type(value) is int
        ):
            raise GanpaintError(f"--set {item!r}: {key} takes a {type(base[key]).__name__}")
        base[key] = value
    return InvertConfig(**base)


def invert_picture(
    bundle: ModelBundle,
    pixels: np.ndarray,
    *,
    steps: int | None = None,
    device: str | torch.device | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    config: InvertConfig | None = None,
) -> PictureBase:
    """Invert ``pixels`` (H x W x 3 uint8 at the model's resolution) into ``bundle``'s
    generator. ``progress(done, total)`` is called after each step; when ``cancelled()``
    returns True the work stops and :class:`InversionCancelled` is raised."""
    cfg = config or InvertConfig()
    if steps is not None:
        if steps < 1:
            raise GanpaintError(f"--steps must be at least 1, got {steps}")
        cfg = InvertConfig(**{**asdict(cfg), "steps": int(steps)})
    gen = bundle.generator
    pixels = np.asarray(pixels)
    res = gen.resolution
    if pixels.dtype != np.uint8 or pixels.shape != (res, res, 3):
        raise GanpaintError(
            f"the picture must be {res}x{res}x3 uint8 for this model, got "
            f"{pixels.shape} {pixels.dtype}"
        )
    run = _Inversion(bundle, pixels, cfg, pick_device(str(device) if device else None))
    return run.solve(progress or (lambda done, total: None), cancelled or (lambda: False))


def features_network(bundle: ModelBundle, device: torch.device):
    """The feature loss's network: the bundle's segmenter (frozen), or None without one."""
    seg = bundle.load_segmenter()
    if seg is None:
        return None
    return seg.to(device).eval().requires_grad_(False)


def segmenter_features(seg, x: torch.Tensor) -> list[torch.Tensor]:
    """The segmenter encoder's first three activation maps for images in [-1, 1]."""
    x, _, _ = seg._pad(x)
    return seg._encode(x)[:3]


def run_generator(
    gen: ProGANGenerator,
    z: torch.Tensor,
    residuals: dict[str, torch.Tensor],
    adaptation: dict[str, torch.Tensor],
) -> torch.Tensor:
    """``gen``'s image for ``z`` with residuals added to block outputs and weights scaled by
    ``1 + d`` (d per weight or per output channel), differentiable in all of them."""
    x = z.view(z.shape[0], z.shape[1], 1, 1)
    for name in gen.block_names():
        block = getattr(gen, name)
        x = block.norm(x)
        if block.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        weight = block.conv.weight
        d = adaptation.get(name)
        if d is not None:
            weight = weight * (1 + (d.view(-1, 1, 1, 1) if d.dim() == 1 else d))
        x = block.wscale(F.conv2d(x, weight, padding=block.conv.padding))
        if block.activation:
            x = F.leaky_relu(x, 0.2)
        if name in residuals:
            x = x + residuals[name]
    return x


class _Inversion:
    def __init__(self, bundle: ModelBundle, pixels: np.ndarray, cfg: InvertConfig, device):
        self.cfg, self.device, self.pixels = cfg, device, pixels
        self.gen = bundle.generator.to(device).eval().requires_grad_(False)
        self.layer = bundle.edit_layers[0]
        self.target = torch.from_numpy(pixels.copy()).to(device).permute(2, 0, 1)[None].float()
        self.target = self.target / 127.5 - 1.0
        self.seg = features_network(bundle, device) if cfg.feature_weight > 0 else None
        self.target_feats = None
        if self.seg is not None:
            with torch.no_grad():
                self.target_feats = segmenter_features(self.seg, self.target)
        self.encoder = bundle.load_encoder()
        names = self.gen.block_names()
        self.adapted = list(names[names.index(self.layer) + 1 :]) if cfg.adapt != "none" else []

    def start(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, residual) to start from: the encoder's z, and its predicted features as the
        residual's start (the features minus what z gives); without an encoder the best of
        a few seeds and no residual."""
        c, side = self.gen.layer_channels(self.layer), self.gen.layer_resolution(self.layer)
        r = torch.zeros(1, c, side, side, device=self.device)
        usable = self.encoder is not None and self.encoder.layer == self.layer
        if usable and self.cfg.encoder != "none":
            z, h = self.encoder.to(self.device).predict(self.target)
            if self.cfg.residual and self.cfg.encoder == "features":
                with torch.no_grad():
                    r = h - self.gen.run(z, until=self.layer)
            return z, r
        zs = zs_from_seeds(range(self.cfg.start_seeds), self.gen.z_dim).to(self.device)
        with torch.no_grad():
            losses = [F.mse_loss(self.gen(z[None]), self.target).item() for z in zs]
        return zs[int(np.argmin(losses))][None].clone(), r

    def loss(self, image: torch.Tensor) -> torch.Tensor:
        loss = F.mse_loss(image, self.target) + F.l1_loss(image, self.target)
        if self.seg is not None:
            feats = segmenter_features(self.seg, image)
            loss = loss + self.cfg.feature_weight * sum(
                F.mse_loss(f, t) for f, t in zip(feats, self.target_feats, strict=True)
            )
        return loss

    def solve(self, progress: Progress, cancelled: Cancelled) -> PictureBase:
        cfg = self.cfg
        z, r = self.start()
        z.requires_grad_(True)
        r.requires_grad_(cfg.residual)
        adaptation = {n: self._zero_d(n) for n in self.adapted}
        groups = [{"params": [z], "lr": cfg.lr_z}]
        if cfg.residual:
            groups.append({"params": [r], "lr": cfg.lr_residual})
        opt = torch.optim.Adam(groups)
        adapt_opt = (
            torch.optim.Adam(list(adaptation.values()), lr=cfg.lr_adapt) if adaptation else None
        )
        first_adapt = int(math.ceil(cfg.steps * cfg.residual_share)) if adaptation else cfg.steps
        for step in range(cfg.steps):
            if cancelled():
                raise InversionCancelled("the inversion was cancelled")
            adapting = step >= first_adapt
            image = run_generator(self.gen, z, {self.layer: r}, adaptation if adapting else {})
            loss = self.loss(image)
            if adapting:
                penalty = sum(d.pow(2).mean() for d in adaptation.values()) / len(adaptation)
                loss = loss + cfg.adapt_penalty * penalty
            opt.zero_grad(set_to_none=True)
            if adapt_opt is not None:
                adapt_opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if adapting:
                adapt_opt.step()
            progress(step + 1, cfg.steps)
        if cancelled():
            raise InversionCancelled("the inversion was cancelled")
        return self._result(z, r, adaptation if first_adapt < cfg.steps else {})

    def _zero_d(self, name: str) -> torch.Tensor:
        weight = getattr(self.gen, name).conv.weight
        shape = weight.shape if self.cfg.adapt == "weight" else weight.shape[:1]
        return torch.zeros(shape, device=self.device, requires_grad=True)

    def _result(self, z, r, adaptation) -> PictureBase:
        residuals = {self.layer: r.detach()} if self.cfg.residual else {}
        adaptation = {n: d.detach() for n, d in adaptation.items()}
        half = {n: v.half().float() for n, v in residuals.items()}
        half_d = {n: v.half().float() for n, v in adaptation.items()}
        with torch.no_grad():  # what float16 storage changes, in levels of the uint8 image
            exact = _levels(run_generator(self.gen, z, residuals, adaptation))
            stored = _levels(run_generator(self.gen, z, half, half_d))
        return PictureBase(
            pixels=self.pixels,
            z=z.detach()[0].cpu().numpy(),
            residuals={n: v[0].cpu().numpy() for n, v in residuals.items()},
            adaptation={n: d.cpu().numpy() for n, d in adaptation.items()},
            feather=FEATHER,
            info={
                "steps": self.cfg.steps,
                "adapt": self.cfg.adapt if adaptation else "none",
                "encoder": self.encoder is not None and self.cfg.encoder != "none",
                "float16_max_levels": int((exact - stored).abs().max()),
            },
        )


def _levels(image: torch.Tensor) -> torch.Tensor:
    return ((image.clamp(-1, 1) + 1) * 127.5).round().to(torch.int16)
