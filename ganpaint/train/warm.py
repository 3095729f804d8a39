"""Warm start: a GAN run whose generator starts from a model bundle's generator, for when the
run's resumable state is gone.

A run's state (:mod:`ganpaint.train.state`) lives in a git-ignored folder, and a session
whose checkout is fresh has lost it (the 256 px run of 2026-11-27 was lost so). What
survives is a committed bundle: its EMA generator and its training card. A warm start goes
on from those:

* G and its EMA copy both take the bundle's generator (its float16 weights, in float32);
* the step, images seen, windows and events come from the card, so the EMA's ramp-up and
  the card's list of windows go on where they were;
* the discriminator, both optimisers, the data order and the latents start fresh, and the
  card gets an event saying so. Unlike a resume, this is not the run that stopped.

A fresh discriminator's gradients say nothing yet, and Adam, which divides each gradient by
its own running size, would turn them into full-size steps of the generator. So G is held
still (not updated) for the first ``d_warmup_images`` images, while D learns to tell its
pictures from the scenes; the EMA copy, following G, stays as it was too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.train.parallel import rank_seed

if TYPE_CHECKING:
    from ganpaint.train.gan import GANTrainer

DEFAULT_D_WARMUP_IMAGES = 8192
"""Images the fresh discriminator trains on before the generator moves again."""


@dataclass(frozen=True)
class WarmStart:
    """Start a trainer from ``bundle`` (a bundle folder or a bare generator file) instead of
    from scratch: pass it as ``resume`` to :class:`~ganpaint.train.gan.GANTrainer`."""

    bundle: Path
    d_warmup_images: int = DEFAULT_D_WARMUP_IMAGES

    def __post_init__(self) -> None:
        if self.d_warmup_images < 0:
            raise GanpaintError("the discriminator's warm-up must be 0 or more images")

    @classmethod
    def of(cls, bundle: Path, d_warmup_images: int | None = None) -> WarmStart:
        """A warm start from ``bundle`` with the warm-up asked for, or the default where
        none was (an option left out is None, so callers can tell it from 0)."""
        images = DEFAULT_D_WARMUP_IMAGES if d_warmup_images is None else d_warmup_images
        return cls(Path(bundle), images)

    @torch.no_grad()
    def apply(self, trainer: GANTrainer) -> None:
        """Load the generator into ``trainer`` and carry the card over (module docstring)."""
        from ganpaint.models.bundle import load_bundle, sha256_file

        try:  # a damaged or foreign bundle raises a GanpaintError naming the file
            bundle = load_bundle(self.bundle)
        except OSError as exc:
            raise GanpaintError(f"{self.bundle}: cannot warm-start from it ({exc})") from None
        gen, cfg = bundle.generator, trainer.cfg
        mine = (cfg.resolution, tuple(cfg.g_widths), cfg.z_dim)
        theirs = (gen.resolution, tuple(gen.widths), gen.z_dim)
        if mine != theirs:
            raise GanpaintError(
                f"{self.bundle}: its generator is {_arch(theirs)}, the config {cfg.name!r} "
                f"trains {_arch(mine)}; warm-start it with a config of its shape"
            )
        weights = gen.state_dict()
        for module in (trainer.G, trainer.G_ema):
            for key, value in module.state_dict().items():
                value.copy_(weights[key])
        source = self.bundle if self.bundle.is_file() else self.bundle / "generator.safetensors"
        card = bundle.meta.get("training") if isinstance(bundle.meta, dict) else None
        if not isinstance(card, dict):  # a bare generator file: what its metadata says
            card = _file_counts(source)
        trainer.step = _count(card.get("steps"))
        trainer.images_seen = _count(card.get("images_seen"))
        trainer.windows = [w for w in _list(card.get("windows")) if isinstance(w, dict)]
        trainer.events = [str(e) for e in _list(card.get("events"))]
        warmup_steps = math.ceil(self.d_warmup_images / cfg.batch)
        trainer.g_frozen_until = trainer.step + warmup_steps
        trainer.events.append(
            f"step {trainer.step}: warm start from {self.bundle.name} (generator sha256 "
            f"{sha256_file(source)[:12]}): G and its EMA from that generator; the "
            f"discriminator, optimisers, data order and latents fresh; G held still for "
            f"{warmup_steps} steps while D learns"
        )
        # Latents other than a fresh run's first ones (the data order starts as a fresh
        # run's, which the scene stream renders ahead of it).
        torch.manual_seed(rank_seed(cfg.seed + trainer.step, trainer.dist))


def _arch(shape: tuple[int, tuple[int, ...], int]) -> str:
    resolution, widths, z_dim = shape
    return f"{resolution} px, widths {list(widths)}, z {z_dim}"


def _file_counts(path: Path) -> dict[str, Any]:
    """``steps`` and ``images_seen`` from a generator file's metadata (this project writes
    them as text); none for a file without them, such as an official checkpoint."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:  # noqa: BLE001 - a .pth or unreadable header: no counts
        return {}
    out: dict[str, Any] = {}
    for key, name in (("step", "steps"), ("images_seen", "images_seen")):
        text = str(meta.get(key, ""))
        if text.isdigit():
            out[name] = int(text)
    return out


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
