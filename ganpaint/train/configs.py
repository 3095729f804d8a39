"""Named GAN training configurations (``scenes256``, ``scenes128``, ``scenes64``, ``tiny``)
as :class:`GANConfig` dataclasses.

``scenes128`` is the shipped model (one ~8 minute run on an H100); ``scenes256`` is the
official ProGAN-256 depth (7 resolutions, 14 conv layers) with narrower widths: its resumable
state (float16 weights, bfloat16 moments, about 29 MiB), the segmenter (5 MiB) and the
repository (about 23 MiB) must travel together to each short GPU window (64 MiB), and its
float16 generator (8 MB) must fit ``models/`` beside the rest.
``scenes64`` trains on a 2-core CPU at about 45 images/s; ``tiny`` is for tests and smoke
runs only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ganpaint.core.errors import GanpaintError


@dataclass(frozen=True)
class GANConfig:
    """Everything that defines a GAN training run (architecture, optimiser, data, schedule).

    ``d_widths[i]`` is the discriminator width at ``resolution / 2**i``; its last entry is
    the 4x4 stage. ``r1_every`` > 1 makes R1 lazy (StyleGAN2): the penalty is applied every
    ``r1_every`` steps, scaled by ``r1_every``. The EMA generator's half-life is counted in
    images and ramps up with the images seen (``ema_rampup`` x images so far, at most).

    ``channels_last``, ``compile`` and ``graphs`` change only speed, not the model or the
    state files: G and D train in channels-last memory format; (on CUDA only) the training
    step's G and D calls go through ``torch.compile`` (R1, a gradient of a gradient, stays
    eager); (on CUDA, one process) the steps are replayed from CUDA graphs, each checked
    against eager steps first (:mod:`ganpaint.train.graphs`).
    ``python -m ganpaint.devtools.train_speed`` measures them.

    ``d_spectral`` gives the discriminator its spectral branch
    (:class:`~ganpaint.train.discriminator.SpectralBranch`); a state trained without it
    resumes with the branch added (starting at zero), but not the other way round.

    ``d_projected`` > 0 gives the discriminator projected heads on the bundled scene
    classifier's frozen features (:mod:`ganpaint.train.projected`), their logistic loss
    added to D's and G's with this weight; like the spectral branch, they can be added to a
    state trained without them (fresh heads), not dropped from one that has them.

    ``d_highpass`` > 0 gives the discriminator its high-pass head
    (:mod:`ganpaint.train.highpass`: the picture's fine texture at full resolution, no R1),
    its logistic loss added to D's and G's with this weight; added and kept like the
    projected heads.
    """

    name: str
    resolution: int
    g_widths: tuple[int, ...]
    z_dim: int
    d_widths: tuple[int, ...]
    batch: int
    lr: float = 0.002
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 0.1
    r1_every: int = 16
    ema_half_life_images: int = 10_000
    ema_rampup: float = 0.05
    mbstd_group: int = 4
    dataset_size: int = 30_000
    max_steps: int = 100_000
    time_budget_s: float | None = None
    sample_every: int = 1000
    checkpoint_every_s: float = 300.0
    seed: int = 0
    channels_last: bool = False
    compile: bool = False
    graphs: bool = False
    d_spectral: bool = False
    d_projected: float = 0.0
    d_highpass: float = 0.0

    def __post_init__(self) -> None:
        stages = len(self.g_widths)
        if 4 * 2 ** (stages - 1) != self.resolution:
            raise ValueError(
                f"{self.name}: {stages} generator stages do not make {self.resolution} px"
            )
        if 4 * 2 ** (len(self.d_widths) - 1) != self.resolution:
            raise ValueError(f"{self.name}: d_widths must have one entry per resolution down to 4")
        for field in ("d_projected", "d_highpass"):
            if not getattr(self, field) >= 0:
                raise ValueError(f"{self.name}: {field} must be 0 (off) or a positive weight")
        if self.batch < 1 or self.r1_every < 1:
            raise ValueError(f"{self.name}: batch and r1_every must be positive")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (lists for tuples)."""
        out = dataclasses.asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GANConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for k in ("g_widths", "d_widths", "betas"):
            if k in kwargs:
                kwargs[k] = tuple(kwargs[k])
        return cls(**kwargs)

    def ema_half_life_at(self, images_seen: float) -> float:
        """The EMA's half-life in images once ``images_seen`` images are seen: the
        configured one, or less while the ramp-up (``ema_rampup`` x the images) is below it."""
        half_life = float(self.ema_half_life_images)
        if self.ema_rampup:
            half_life = min(half_life, images_seen * self.ema_rampup)
        return half_life

    def replace(self, **changes: Any) -> GANConfig:
        return dataclasses.replace(self, **changes)


CONFIGS: dict[str, GANConfig] = {
    "scenes256": GANConfig(
        name="scenes256",
        resolution=256,
        # Official ProGAN-256: 512, 512, 512, 512, 256, 128, 64.
        g_widths=(192, 192, 192, 128, 128, 64, 32),
        z_dim=512,
        d_widths=(16, 32, 64, 128, 128, 128, 128),
        batch=32,
        r1_gamma=0.2,
        ema_half_life_images=10_000,
        dataset_size=20_000,
        max_steps=1_000_000,
        sample_every=2000,
        checkpoint_every_s=240.0,
    ),
    "scenes128": GANConfig(
        name="scenes128",
        resolution=128,
        g_widths=(256, 256, 256, 128, 64, 32),
        z_dim=512,
        d_widths=(32, 64, 128, 256, 256, 256),
        batch=64,
        r1_gamma=0.1,
        ema_half_life_images=10_000,
        dataset_size=30_000,
        max_steps=200_000,
        sample_every=1000,
        checkpoint_every_s=300.0,
    ),
    "scenes64": GANConfig(
        name="scenes64",
        resolution=64,
        g_widths=(128, 128, 64, 32, 16),
        z_dim=512,
        d_widths=(16, 32, 64, 128, 128),
        batch=32,
        r1_gamma=0.05,
        ema_half_life_images=5_000,
        dataset_size=20_000,
        max_steps=100_000,
        sample_every=500,
        checkpoint_every_s=120.0,
    ),
    "tiny": GANConfig(
        name="tiny",
        resolution=32,
        g_widths=(32, 32, 16, 8),
        z_dim=32,
        d_widths=(8, 16, 32, 32),
        batch=8,
        r1_gamma=0.05,
        r1_every=4,
        ema_half_life_images=200,
        dataset_size=256,
        max_steps=40,
        sample_every=20,
        checkpoint_every_s=60.0,
    ),
}


def get_config(name: str | GANConfig) -> GANConfig:
    """The named config (a :class:`GANConfig` passes through)."""
    if isinstance(name, GANConfig):
        return name
    try:
        return CONFIGS[name]
    except KeyError:
        known = ", ".join(sorted(CONFIGS))
        raise GanpaintError(f"unknown training config {name!r} (known: {known})") from None


PROJECTED_WEIGHT = 0.25
"""The projected heads' loss weight chosen on ``scenes64`` runs ("Projected discriminator
heads" in docs/TRAINING.md): the GPU A/B's ``d_projected`` arm, ``compare_candidates``'
"projected D x0.25" and ``train_speed``'s ``projected`` variant use it, and so the
``scenes256`` run since 2026-11-28."""

HIGHPASS_WEIGHT = 0.25
"""The high-pass head's loss weight tried first (as the projected heads' weight):
``compare_candidates``' "high-pass x0.25" and the GPU A/B's ``d_highpass`` arm."""

SPEED_OPTIONS = ("channels_last", "compile", "graphs")
"""The config fields that change only speed (see :class:`GANConfig`)."""


def speed_spec(options: Iterable[str]) -> str:
    """The inverse of :func:`parse_speed`: the speed options among ``options`` joined in
    :data:`SPEED_OPTIONS` order (``"channels_last+compile"``), ``"base"`` for none."""
    chosen = set(options)
    return "+".join(n for n in SPEED_OPTIONS if n in chosen) or "base"


def parse_speed(spec: str) -> dict[str, bool]:
    """``"channels_last+compile"`` -> ``{"channels_last": True, "compile": True}``; ``"base"``
    (or ``""``) -> both False. Unknown names are refused with the known ones."""
    names = [n.strip() for n in spec.replace(",", "+").split("+") if n.strip()]
    out = dict.fromkeys(SPEED_OPTIONS, False)
    for name in names:
        if name == "base":
            continue
        if name not in out:
            raise GanpaintError(
                f"unknown speed option {name!r} (known: base, {', '.join(SPEED_OPTIONS)})"
            )
        out[name] = True
    return out
