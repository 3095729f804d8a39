"""The one-call entry point of GAN training, :func:`train_gan` (``ganpaint train-gan``):
the training scenes rendered beside the trainer or first, data-parallel set-up from the
environment (``torchrun``), one :class:`~ganpaint.train.gan.GANTrainer` window, and the
workers and process group closed on every exit path."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganpaint.core.devices import pick_device
from ganpaint.core.distributed import init_from_env, local_device
from ganpaint.train.configs import GANConfig, get_config
from ganpaint.train.data import GAN_TRAIN_SEED, render_scenes
from ganpaint.train.gan import GANTrainer
from ganpaint.train.runlog import Log, print_log
from ganpaint.train.stream import (
    SceneStream,
    gan_scene_set,
    resume_folder,
    spare_cores,
    streaming_supported,
)
from ganpaint.train.warm import WarmStart


def train_gan(
    config: str | GANConfig,
    out_dir: str | Path,
    device: str | torch.device | None = None,
    resume: bool | str | Path | WarmStart = True,
    time_budget_s: float | None = None,
    progress: bool = True,
    max_steps: int | None = None,
    data: np.ndarray | torch.Tensor | None = None,
    workers: int | None = None,
    stop_check: Callable[[], bool] | None = None,
    log: Log | None = None,
    stream: bool = True,
) -> dict[str, Any]:
    """Train (or resume) a GAN in ``out_dir`` and export ``generator_ema.safetensors``.

    The training set (``config.dataset_size`` scenes from seed 0) is rendered on ``workers``
    processes (default: all cores but one) while the GAN trains, each step waiting for its
    batch's scenes (:mod:`ganpaint.train.stream`; the batches are those of a set rendered
    first), or first, on all cores, with ``stream=False``; ``data`` (uint8 (N, R, R, 3))
    skips rendering. ``time_budget_s`` (default: the config's) bounds the whole call,
    rendering included; ``max_steps`` (default: the config's) counts resumed steps too;
    ``resume`` as in :class:`GANTrainer`. Returns the summary of :meth:`GANTrainer.train`.
    """
    t0 = time.perf_counter()
    cfg = get_config(config)
    dist = init_from_env(pick_device(device))
    device = local_device(pick_device(device), dist)
    log = log or print_log(progress)
    if not dist.is_main:
        log = print_log(False)
    elif dist.active:
        log(f"[gan] data-parallel over {dist.world} processes")
    if dist.active:  # every rank renders the same scenes on its share of the cores
        workers = workers or spare_cores(max(1, (os.cpu_count() or 1) // dist.world))
    budget = time_budget_s if time_budget_s is not None else cfg.time_budget_s
    deadline = t0 + budget if budget else None
    scenes = None
    if data is None and stream and streaming_supported():
        # Workers forked before the trainer touches the GPU; one core left for training.
        state = resume_folder(out_dir, resume)
        sets = [gan_scene_set(cfg, cfg.dataset_size, state, labels=False)]
        scenes = SceneStream(sets, cfg.resolution, workers or spare_cores(), log).start()
    elif data is None:
        limit = 0.4 * budget if budget else None
        data, _ = render_scenes(
            cfg.dataset_size,
            cfg.resolution,
            GAN_TRAIN_SEED,
            workers=workers,
            time_limit_s=limit,
            min_n=min(cfg.dataset_size, 4 * cfg.batch),
            log=log,
            what="GAN training scenes",
        )
    clean = False
    try:
        trainer = GANTrainer(cfg, out_dir, device=device, resume=resume, log=log, dist=dist)
        if scenes is not None:
            trainer.set_streamed_data(scenes, "gan")
        else:
            trainer.set_data(data)
        summary = trainer.train(deadline=deadline, max_steps=max_steps, stop_check=stop_check)
        clean = True
    finally:
        if scenes is not None:
            scenes.close()
        dist.close(clean)  # a failed rank must not wait at the barrier for absent peers
    summary["generator"] = str(trainer.generator_path)
    summary["total_s"] = round(time.perf_counter() - t0, 2)
    summary["processes"] = dist.world
    return summary
