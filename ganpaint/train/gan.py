"""GAN training on the scene world: ProGAN generator (equalized LR, no progressive growing),
the residual-free discriminator of :mod:`ganpaint.train.discriminator`, non-saturating
logistic loss, lazy R1 on reals, Adam, an EMA copy of the generator with ramp-up, bf16
autocast on CUDA (float32 elsewhere).

The training set is kept on the device as uint8, and may still be rendering beside the
training (:mod:`ganpaint.train.batches`, :mod:`ganpaint.train.stream`); batches are drawn by
epoch-wise permutation with random horizontal flips. :class:`GANTrainer` owns the models and
the loop; :func:`ganpaint.train.run_gan.train_gan` is the one-call entry point (render,
resume, train, export).

Files in ``out_dir``: ``state/`` (the resumable state, :mod:`ganpaint.train.state`: safetensors
shards and ``state.json``, written beside the old one and renamed into place),
``samples_XXXXXX.png`` (8x8 grid from the EMA generator at fixed seeds), ``metrics.jsonl`` and
``generator_ema.safetensors``. Each call of :meth:`GANTrainer.train` is one *window* (hardware,
images, wall time, the figures at its end), kept in the state and the bundle's training card.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.core.devices import describe_device, pick_device
from ganpaint.core.distributed import Dist
from ganpaint.core.errors import GanpaintError
from ganpaint.core.images import image_grid
from ganpaint.core.seeds import zs_from_seeds
from ganpaint.models.checkpoint import save_generator
from ganpaint.models.progan import ProGANGenerator
from ganpaint.train.batches import DataOrder
from ganpaint.train.configs import GANConfig, get_config, speed_spec
from ganpaint.train.data import float_to_uint8
from ganpaint.train.device import autocast, bf16_autocast_works, setup_backend
from ganpaint.train.discriminator import Discriminator
from ganpaint.train.gan_loop import LoopLimits, LoopOutcome, TrainingLoop
from ganpaint.train.graphs import StepGraphs
from ganpaint.train.highpass import HighpassHead
from ganpaint.train.optim import load_optimizer, make_adam, to_cpu
from ganpaint.train.parallel import (
    broadcast_params,
    check_in_sync,
    mean_grads,
    per_rank_batch,
    rank_seed,
)
from ganpaint.train.projected import ProjectedHeads, projected_loss
from ganpaint.train.runlog import Log
from ganpaint.train.state import load_state, save_state, window_record
from ganpaint.train.warm import WarmStart

SAMPLE_SEEDS = range(64)


class GANTrainer(DataOrder):
    """Models, optimisers, data and the training loop of one GAN run in ``out_dir``."""

    def __init__(
        self,
        config: str | GANConfig,
        out_dir: str | Path,
        device: str | torch.device | None = None,
        resume: bool | str | Path | WarmStart = True,
        log: Log | None = None,
        dist: Dist | None = None,
    ):
        """``resume``: True resumes from ``out_dir/state`` when it exists, a path resumes
        from that state folder (another run's, another machine's), False starts over, a
        :class:`~ganpaint.train.warm.WarmStart` starts from a bundle's generator.
        ``dist``: this process's place under torchrun (see :mod:`ganpaint.train.parallel`)."""
        self.cfg = cfg = get_config(config)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log: Log = log or (lambda msg: None)
        self.dist = dist or Dist()
        self.device = dev = pick_device(device)
        self.rank_batch = per_rank_batch(cfg.batch, self.dist)
        setup_backend(dev)
        torch.manual_seed(cfg.seed)
        self.G = ProGANGenerator(cfg.g_widths, z_dim=cfg.z_dim).to(dev).train()
        projected = None
        if cfg.d_projected > 0:
            projected = ProjectedHeads()
        highpass = HighpassHead() if cfg.d_highpass > 0 else None
        self.D = Discriminator(
            cfg.resolution, cfg.d_widths, cfg.mbstd_group, cfg.d_spectral, projected, highpass
        )
        self.D = self.D.to(dev).train()
        broadcast_params((self.G, self.D), self.dist)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        if cfg.channels_last:  # the EMA copy stays contiguous: it only samples and exports
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
            # Except the first block's weight: its input is z as a 1x1 picture, for which
            # cuDNN returns a contiguous weight gradient while torch.compile's shape rules
            # expect a channels-last one (the H100 probe of 2026-11-27 failed on exactly
            # this assertion); contiguous, both agree, and a 1x1 input gains nothing anyway.
            self.G.get_submodule(self.G.layer_names[0]).to(memory_format=torch.contiguous_format)
        # What the training step calls: the modules, or (CUDA) their compiled forms, which
        # share the modules' parameters, so states, snapshots and the EMA see no difference.
        self._g_step, self._d_step = self.G, self.D
        if cfg.compile and dev.type == "cuda":
            self._g_step, self._d_step = torch.compile(self.G), torch.compile(self.D)
        if self.dist.active:  # each rank its own latents and flips
            torch.manual_seed(rank_seed(cfg.seed, self.dist))
        # The data order comes from its own generator: the same on every rank.
        self.data_rng = torch.Generator().manual_seed(cfg.seed)
        c = cfg.r1_every / (cfg.r1_every + 1)  # lazy-regularisation correction (StyleGAN2)
        # CUDA graphs (one process): the steps replayed from recorded graphs
        self.graphs: StepGraphs | None = None
        if cfg.graphs and dev.type == "cuda" and not self.dist.active:
            self.graphs = StepGraphs(self)
        capturable = self.graphs is not None
        self.opt_G = make_adam(self.G.parameters(), cfg.lr, tuple(cfg.betas), dev, capturable)
        d_betas = (cfg.betas[0] ** c, cfg.betas[1] ** c)
        self.opt_D = make_adam(self.D.parameters(), cfg.lr * c, d_betas, dev, capturable)
        self.step = 0
        self.images_seen = 0
        self.train_seconds = 0.0
        self.events: list[str] = []
        self.windows: list[dict[str, Any]] = []
        self.fixed_z = zs_from_seeds(SAMPLE_SEEDS, cfg.z_dim)
        self.use_bf16 = bf16_autocast_works(dev)
        self._init_data()
        self._snapshot: dict | None = None
        self._ema_cpu: tuple[int, dict] | None = None
        self._sample_seconds = 0.5
        self.step_seconds = 0.0
        self._checkpoint_seconds: float | None = None
        self.last_sample: Path | None = None
        self.resumed_from_step: int | None = None
        self.g_frozen_until = 0  # G is not updated before this step (a warm start's D warm-up)
        if isinstance(resume, WarmStart):
            resume.apply(self)
        elif isinstance(resume, (str, Path)):
            self.load_checkpoint(resume)
        elif resume and (self.checkpoint_path / "state.json").is_file():
            self.load_checkpoint(self.checkpoint_path)

    # -- files -------------------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        """The state folder this run writes (and resumes from by default)."""
        return self.out_dir / "state"

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / "metrics.jsonl"

    @property
    def generator_path(self) -> Path:
        return self.out_dir / "generator_ema.safetensors"

    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        """Write the resumable state folder (default ``out_dir/state``)."""
        start = time.perf_counter()
        path = save_state(self, path if path is not None else self.checkpoint_path)
        self._checkpoint_seconds = time.perf_counter() - start
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Resume from a state folder written by :meth:`save_checkpoint`."""
        load_state(self, path)
        self.resumed_from_step = self.step
        self.log(f"[gan] resumed from {path} at step {self.step}")

    # -- one step ----------------------------------------------------------------------

    def train_step(self) -> dict[str, torch.Tensor]:
        """One discriminator step (with R1 every ``r1_every`` steps), one generator step
        (none before ``g_frozen_until``), one EMA update. Returns detached device
        scalars (no synchronisation), valid until the next step."""
        cfg, dev = self.cfg, self.device
        b = self.rank_batch
        reals = self._next_batch()
        z_d = torch.randn(b, cfg.z_dim, device=dev)
        train_g = self.step >= self.g_frozen_until
        z_g = torch.randn(b, cfg.z_dim, device=dev) if train_g else None
        r1 = self.step % cfg.r1_every == 0
        if self.graphs is not None and self.graphs.takes(r1, train_g):
            out = self.graphs.step(reals, z_d, z_g, r1)
        else:
            out = self.step_body(reals, z_d, z_g, r1)
        self.step += 1
        self.images_seen += cfg.batch
        self._update_ema()
        return out

    def step_body(
        self,
        reals: torch.Tensor,
        z_d: torch.Tensor,
        z_g: torch.Tensor | None,
        r1: bool,
        autocast_cache: bool = True,
    ) -> dict[str, torch.Tensor]:
        """The arithmetic of one step on given inputs: D's step on ``reals`` and fakes from
        ``z_d`` (R1 on the reals when ``r1``), then G's step from ``z_g`` (none when None).
        No random numbers are drawn here, so :mod:`ganpaint.train.graphs` can record it;
        ``autocast_cache`` False is what a CUDA graph capture asks of autocast."""
        cfg, dev, bf16 = self.cfg, self.device, self.use_bf16
        with torch.no_grad(), autocast(dev, bf16, autocast_cache):
            fakes = self._g_step(z_d)
        with autocast(dev, bf16, autocast_cache):
            d_fake = self._d_step(fakes).float()
            d_real = self._d_step(reals).float()
        loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        out: dict[str, torch.Tensor] = {}
        for name, weight, loss in self._head_losses(fakes, reals, autocast_cache):
            loss_d = loss_d + weight * loss
            out[f"loss_d_{name}"] = loss.detach()
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        out.update(loss_d=loss_d.detach(), d_real=d_real.mean().detach())
        out["d_fake"] = d_fake.mean().detach()
        if r1:
            # R1 in float32: the penalty is a gradient of a gradient, bf16 is too coarse.
            x = reals.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.D(x).sum(), x, create_graph=True)
            r1_value = grad.square().sum(dim=(1, 2, 3)).mean()
            (r1_value * (0.5 * cfg.r1_gamma * cfg.r1_every)).backward()
            out["r1"] = r1_value.detach()
        mean_grads(self.D.parameters(), self.dist)
        self.opt_D.step()
        if z_g is not None:
            self._generator_step(z_g, out, autocast_cache)
        return out

    def _generator_step(
        self, z: torch.Tensor, out: dict[str, torch.Tensor], autocast_cache: bool
    ) -> None:
        dev, bf16 = self.device, self.use_bf16
        self.D.requires_grad_(False)
        with autocast(dev, bf16, autocast_cache):
            gen = self._g_step(z)
            d_gen = self._d_step(gen).float()
        loss_g = F.softplus(-d_gen).mean()
        for name, weight, loss in self._head_losses(gen, None, autocast_cache):
            loss_g = loss_g + weight * loss
            out[f"loss_g_{name}"] = loss.detach()
        self.opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        mean_grads(self.G.parameters(), self.dist)
        self.opt_G.step()
        self.D.requires_grad_(True)
        out["loss_g"] = loss_g.detach()

    def _head_losses(
        self, pictures: torch.Tensor, reals: torch.Tensor | None, autocast_cache: bool
    ) -> list[tuple[str, float, torch.Tensor]]:
        """The extra heads' logistic losses with their names and weights: the projected
        heads on frozen classifier features (train/projected.py, under autocast) and the
        high-pass head (train/highpass.py); on fakes and ``reals`` for D's step, on G's
        pictures alone (``reals`` None) for G's."""
        cfg, dev, bf16 = self.cfg, self.device, self.use_bf16
        both = [x for x in (pictures, reals) if x is not None]
        out = []
        if cfg.d_projected > 0:
            with autocast(dev, bf16, autocast_cache):
                # two passes, not one on fakes and reals together: that saves operations
                # but gave a worse FD on two of two CPU seeds (docs/TRAINING.md, "Is a step
                # bound by its operations?")
                out.append(("projected", cfg.d_projected,
                            projected_loss(*[self.D.project(x) for x in both])))  # fmt: skip
        if cfg.d_highpass > 0:
            out.append(("highpass", cfg.d_highpass,
                        projected_loss(*[self.D.texture(x) for x in both])))  # fmt: skip
        return out

    @torch.no_grad()
    def _update_ema(self) -> None:
        half_life = self.cfg.ema_half_life_at(self.images_seen)
        beta = 0.5 ** (self.cfg.batch / max(half_life, 1e-8))
        ema, live = list(self.G_ema.parameters()), [p.detach() for p in self.G.parameters()]
        # fused into a few kernels on CUDA where both share a memory layout (not with
        # channels-last training: torch then goes tensor by tensor, as before)
        torch._foreach_lerp_(ema, live, 1.0 - beta)

    # -- samples and safety --------------------------------------------------------------

    @torch.no_grad()
    def sample_images(self, z: torch.Tensor | None = None, batch: int = 32) -> np.ndarray:
        """uint8 (N, R, R, 3) from the EMA generator (float32) for ``z`` (default: fixed)."""
        z = self.fixed_z if z is None else z
        out = []
        for i in range(0, len(z), batch):
            out.append(float_to_uint8(self.G_ema(z[i : i + batch].to(self.device))).cpu())
        return torch.cat(out).numpy()

    def save_samples(self) -> Path:
        from PIL import Image

        start = time.perf_counter()
        path = self.out_dir / f"samples_{self.step:06d}.png"
        if self.dist.is_main:
            Image.fromarray(image_grid(self.sample_images(), cols=8)).save(path)
        self.last_sample = path
        self._sample_seconds = time.perf_counter() - start
        return path

    def take_snapshot(self) -> None:
        # A CPU copy of the EMA weights survives even a broken device (see export_generator).
        self._ema_cpu = (self.step, to_cpu(self.G_ema.state_dict()))
        self._snapshot = {
            "G": copy.deepcopy(self.G.state_dict()),
            "D": copy.deepcopy(self.D.state_dict()),
            "G_ema": copy.deepcopy(self.G_ema.state_dict()),
            "opt_G": copy.deepcopy(self.opt_G.state_dict()),
            "opt_D": copy.deepcopy(self.opt_D.state_dict()),
            "step": self.step,
            "images_seen": self.images_seen,
        }

    def recover(self, why: str) -> None:
        """Non-finite losses: go back to the last good snapshot; drop bf16 first, then
        halve the learning rates."""
        snap = self._snapshot
        if snap is None:
            raise GanpaintError(f"training diverged ({why}) before any good state was kept")
        self.G.load_state_dict(snap["G"])
        self.D.load_state_dict(snap["D"])
        self.G_ema.load_state_dict(snap["G_ema"])
        load_optimizer(self.opt_G, copy.deepcopy(snap["opt_G"]))
        load_optimizer(self.opt_D, copy.deepcopy(snap["opt_D"]))
        lost = self.step - snap["step"]
        self.step, self.images_seen = snap["step"], snap["images_seen"]
        if self.graphs is not None:  # new optimiser state, and precision or rates change
            self.graphs.reset()
        if self.use_bf16:
            self.use_bf16 = False
            action = "switched to float32"
        else:
            for opt in (self.opt_G, self.opt_D):
                for group in opt.param_groups:
                    group["lr"] *= 0.5
            action = "halved the learning rates"
        event = (
            f"step {self.step}: {why}; restored the last good state ({lost} steps lost), {action}"
        )
        self.events.append(event)
        self.log(f"[gan] WARNING {event}")

    @property
    def speed_options(self) -> str:
        """The speed-only options in effect, as ``--speed`` names them (``"base"``, or e.g.
        ``"channels_last+compile"``; compile and graphs only where they apply, on CUDA, and
        graphs only while no check has turned them off)."""
        used = ["channels_last"] if self.cfg.channels_last else []
        used += ["compile"] if self._g_step is not self.G else []
        used += ["graphs"] if self.graphs is not None and self.graphs.active else []
        return speed_spec(used)

    # -- the loop ------------------------------------------------------------------------

    def train(
        self,
        deadline: float | None = None,
        max_steps: int | None = None,
        stop_check: Callable[[], bool] | None = None,
        log_every_s: float = 10.0,
        sample_every: int | None = None,
        checkpoint_every_s: float | None = None,
        write_checkpoint: bool = True,
        export: bool = True,
    ) -> dict[str, Any]:
        """Train until ``max_steps`` (total, counting resumed steps), the ``deadline``
        (a ``time.perf_counter()`` value, checked every step, with time kept for the
        final writes) or ``stop_check()`` returns True. Then write the last sample grid,
        metrics, checkpoint and ``generator_ema.safetensors``. Returns a summary."""
        cfg = self.cfg
        if self.data is None:
            raise GanpaintError("no training data: call set_data() first")
        limits = LoopLimits(
            deadline=deadline,
            max_steps=cfg.max_steps if max_steps is None else int(max_steps),
            stop_check=stop_check,
            log_every_s=log_every_s,
            sample_every=cfg.sample_every if sample_every is None else sample_every,
            checkpoint_every_s=(
                cfg.checkpoint_every_s if checkpoint_every_s is None else checkpoint_every_s
            ),
            write_checkpoint=write_checkpoint,
        )
        start_step, start_images, start_wait = self.step, self.images_seen, self.data_wait_s
        precision = "bf16 autocast" if self.use_bf16 else "float32"
        streamed = " (rendering beside training)" if self.streaming else ""
        self.log(
            f"[gan] {cfg.name}: {cfg.resolution} px, batch {cfg.batch}, "
            f"{len(self.data)} training scenes{streamed}, device {describe_device(self.device)}, "
            f"{precision}, speed options {self.speed_options}, step {self.step}/{limits.max_steps}"
        )
        outcome = TrainingLoop(self, limits).run()
        check_in_sync({"G": self.G, "G_ema": self.G_ema, "D": self.D}, self.dist)
        summary = self._summary(outcome, self.step - start_step, self.images_seen - start_images)
        summary["data_wait_s"] = round(self.data_wait_s - start_wait, 2)
        self.windows.append(window_record(summary, start_step, start_images))
        summary["windows"] = list(self.windows)
        self._final_writes(write_checkpoint, export)
        self.log(
            f"[gan] stopped ({outcome.stop_reason}) at step {self.step}: "
            f"{summary['steps_this_run']} steps, {self.images_seen - start_images} images "
            f"in {outcome.seconds:.1f}s = {summary['img_s']:.1f} img/s{self._graphs_note()}"
        )
        return summary

    def _graphs_note(self) -> str:
        """``", 1234 steps replayed from CUDA graphs"`` for the log, or ``""``."""
        return (
            ""
            if self.graphs is None
            else f", {self.graphs.replays} steps replayed from CUDA graphs"
        )

    def _final_writes(self, write_checkpoint: bool, export: bool) -> None:
        if self.last_sample is None or self.last_sample.stem != f"samples_{self.step:06d}":
            self.save_samples()
        if write_checkpoint:
            self.save_checkpoint()  # every rank: the live tensors are rounded alike
        if export and self.dist.is_main:
            self.export(self.generator_path)

    def _summary(self, outcome: LoopOutcome, steps: int, images: int) -> dict[str, Any]:
        seconds = outcome.seconds
        return {
            "config": self.cfg.name,
            "steps": self.step,
            "steps_this_run": steps,
            "images_seen": self.images_seen,
            "wall_s": round(seconds, 2),
            "train_seconds_total": round(self.train_seconds, 2),
            "img_s": round(images / seconds, 2) if seconds > 0 else 0.0,
            "device": describe_device(self.device, hardware=True),
            "bf16": self.use_bf16,
            "speed": self.speed_options,
            "stop_reason": outcome.stop_reason,
            "dataset_size": len(self.data),
            "resumed_from_step": self.resumed_from_step,
            "last_metrics": outcome.last_metrics,
            "events": list(self.events),
            "samples": str(self.last_sample) if self.last_sample else None,
        }

    def export_generator(self) -> ProGANGenerator:
        """A CPU copy of the EMA generator to export; when the device copy is unusable (a
        device error, non-finite weights), the last CPU snapshot instead (noted in
        ``events``)."""
        try:
            gen = copy.deepcopy(self.G_ema).to("cpu").eval()
            if all(bool(torch.isfinite(p).all()) for p in gen.parameters()):
                return gen
            problem = "the EMA generator holds non-finite weights"
        except Exception as exc:  # noqa: BLE001 - fall back to the CPU snapshot
            problem = f"cannot copy the EMA generator ({type(exc).__name__}: {exc})"
        if self._ema_cpu is None:
            raise GanpaintError(f"{problem}, and no snapshot was kept")
        step, state = self._ema_cpu
        gen = ProGANGenerator(self.cfg.g_widths, z_dim=self.cfg.z_dim)
        gen.load_state_dict(state)
        self.events.append(f"exported the EMA snapshot of step {step}: {problem}")
        self.log(f"[gan] WARNING {self.events[-1]}")
        return gen.eval().requires_grad_(False)

    def export(self, path: str | Path, metadata: dict | None = None) -> Path:
        """Write the EMA generator (float32) with :func:`save_generator`."""
        meta = {"config": self.cfg.name, "step": self.step, "images_seen": self.images_seen}
        meta.update(metadata or {})
        save_generator(self.G_ema, path, meta)
        return Path(path)
