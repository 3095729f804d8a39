"""The GAN's training loop: steps until a limit (step count, deadline or a stop check), the
losses averaged over each log interval into ``metrics.jsonl`` and a progress line, periodic
sample grids, snapshots and checkpoints, and the return to the last good state when a loss
turns non-finite. Under torchrun, rank 0 decides before each step whether to stop, close the
interval, snapshot or checkpoint, and every rank follows (:func:`parallel.agree`); losses are
averaged over the ranks when an interval closes, so all ranks see the same row."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ganpaint.core.devices import synchronize
from ganpaint.train.parallel import agree

if TYPE_CHECKING:
    from ganpaint.train.gan import GANTrainer

LOSS_KEYS = ("loss_d", "loss_g", "r1", "d_real", "d_fake", "loss_d_projected", "loss_g_projected",
             "loss_d_highpass", "loss_g_highpass")  # fmt: skip
# A snapshot to return to is kept at most this often (it copies models and optimisers).
SNAPSHOT_EVERY_S = 60.0
# Why the loop stopped, by the code rank 0 broadcasts (0: go on).
STOP_REASONS = ("", "max_steps", "time budget", "stopped")
# The first steps' times are logged (autotuning makes them slow on a GPU).
WARMUP_STEPS = 5


def end_reserve(trainer: GANTrainer, write_checkpoint: bool) -> float:
    """Seconds to keep for one more step, the final sample grid, checkpoint and export."""
    sample_s = trainer._sample_seconds
    if trainer.last_sample is None:  # not measured yet: 64 generator passes ~ a few steps
        sample_s = max(sample_s, trainer.step_seconds * 64 / trainer.cfg.batch / 2)
    reserve = 0.5 + 1.5 * trainer.step_seconds + 1.5 * sample_s
    if write_checkpoint:
        if trainer._checkpoint_seconds is None:
            n = sum(p.numel() for m in (trainer.G, trainer.D) for p in m.parameters())
            reserve += 1.0 + n * 4 * 5 / 200e6  # G, D, EMA, 2 Adam moments at ~200 MB/s
        else:
            reserve += 1.5 * trainer._checkpoint_seconds
    return reserve


@dataclass
class LoopLimits:
    """When the loop stops and how often it logs, samples and checkpoints."""

    deadline: float | None
    max_steps: int
    stop_check: Callable[[], bool] | None
    log_every_s: float
    sample_every: int | None
    checkpoint_every_s: float | None
    write_checkpoint: bool


@dataclass
class LoopOutcome:
    """Why the loop stopped, its seconds, and the last metrics row with finite losses."""

    stop_reason: str
    seconds: float
    last_metrics: dict[str, Any] = field(default_factory=dict)


class LossAverages:
    """Per-interval loss sums kept on the device (no synchronisation per step), written as
    one ``metrics.jsonl`` row each time the interval closes."""

    def __init__(self, trainer: GANTrainer, t_start: float):
        dev = trainer.device
        self.trainer = trainer
        self.sums = {k: torch.zeros((), device=dev) for k in LOSS_KEYS}
        self.counts = dict.fromkeys(LOSS_KEYS, 0)
        self.t_start = self.last_row = t_start
        self.row_images = trainer.images_seen
        self.file = (
            trainer.metrics_path.open("a", encoding="utf-8") if trainer.dist.is_main else None
        )

    def add(self, out: dict[str, torch.Tensor]) -> None:
        # one call, not one addition a loss: with CUDA graphs a step is a few launches
        torch._foreach_add_([self.sums[k] for k in out], list(out.values()))
        for k in out:
            self.counts[k] += 1

    @property
    def pending(self) -> bool:
        """Whether steps were taken since the last row."""
        return bool(self.counts["loss_d"])

    def write_row(self) -> dict[str, Any]:
        """The interval's mean losses and speed, appended to the file; the sums restart."""
        trainer = self.trainer
        synchronize(trainer.device)
        now = time.perf_counter()
        row: dict[str, Any] = {"step": trainer.step, "images_seen": trainer.images_seen}
        if trainer.dist.active:
            sums = torch.stack([self.sums[k] for k in LOSS_KEYS])
            trainer.dist.all_reduce_sum_(sums).div_(trainer.dist.world)
            for k, v in zip(LOSS_KEYS, sums, strict=True):
                self.sums[k].copy_(v)
        for k in LOSS_KEYS:
            row[k] = round(self.sums[k].item() / self.counts[k], 5) if self.counts[k] else None
            self.sums[k].zero_()
            self.counts[k] = 0
        span = max(now - self.last_row, 1e-9)
        row["img_s"] = round((trainer.images_seen - self.row_images) / span, 2)
        row["elapsed_s"] = round(now - self.t_start, 2)
        row["bf16"] = trainer.use_bf16
        if self.file is not None:
            self.file.write(json.dumps(row) + "\n")
            self.file.flush()
        self.row_images, self.last_row = trainer.images_seen, now
        return row

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def finite_losses(row: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return all(row[k] is None or math.isfinite(row[k]) for k in keys)


class TrainingLoop:
    """One call of :meth:`GANTrainer.train`: the steps and what happens between them."""

    def __init__(self, trainer: GANTrainer, limits: LoopLimits):
        self.trainer = trainer
        self.limits = limits
        self.start_step = trainer.step
        self.last_metrics: dict[str, Any] = {}
        self.first_steps: list[float] = []

    def run(self) -> LoopOutcome:
        trainer = self.trainer
        t_start = time.perf_counter()
        self.last_ckpt = self.last_snap = t_start
        trainer.take_snapshot()
        self.metrics = LossAverages(trainer, t_start)
        try:
            stop_reason = self._steps()
            synchronize(trainer.device)
            seconds = time.perf_counter() - t_start
            trainer.train_seconds += seconds
            if self.metrics.pending:
                row = self.metrics.write_row()
                if finite_losses(row, ("loss_d", "loss_g")):
                    self.last_metrics = row
                else:
                    trainer.recover("non-finite loss at the end")
        finally:
            self.metrics.close()
        return LoopOutcome(stop_reason, seconds, self.last_metrics)

    def _steps(self) -> str:
        """Train step after step; returns why it stopped."""
        trainer = self.trainer
        while True:
            now = time.perf_counter()
            stop, close, snap, ckpt = agree(self._decide(now), trainer.dist, trainer.device)
            if stop:
                return STOP_REASONS[stop]
            waited = trainer.data_wait_s
            if trainer.streaming and not trainer.wait_for_batch(self._wait_limit()):
                return "time budget"  # the scenes of the next batch did not come in time
            out = trainer.train_step()
            waited = trainer.data_wait_s - waited
            self._note_step_time(time.perf_counter() - now - waited)
            self.metrics.add(out)
            every = self.limits.sample_every
            if every and trainer.step % every == 0:
                trainer.save_samples()
            if close:
                self._close_interval(snap)
            if ckpt:
                self.trainer.save_checkpoint()
                self.last_ckpt = time.perf_counter()

    def _decide(self, now: float) -> list[int]:
        """[stop reason code, close the interval after this step, snapshot then, checkpoint
        after this step]; only rank 0's decision counts."""
        limits = self.limits
        reason = self._stop_reason(now)
        close = (
            now - self.metrics.last_row >= limits.log_every_s
            or self.trainer.step == self.start_step
        )
        snap = close and now - self.last_snap >= SNAPSHOT_EVERY_S
        every = limits.checkpoint_every_s
        ckpt = bool(limits.write_checkpoint and every and now - self.last_ckpt >= every)
        return [STOP_REASONS.index(reason) if reason else 0, int(close), int(snap), int(ckpt)]

    def _stop_reason(self, now: float) -> str | None:
        limits, trainer = self.limits, self.trainer
        if trainer.step >= limits.max_steps:
            return "max_steps"
        reserve = end_reserve(trainer, limits.write_checkpoint)
        if limits.deadline is not None and now + reserve >= limits.deadline:
            return "time budget"
        if limits.stop_check is not None and limits.stop_check():
            return "stopped"
        return None

    def _wait_limit(self) -> float | None:
        """How long the next batch's scenes may be waited for: until the deadline less the
        time kept for the end; without limit under torchrun (a rank that stopped alone would
        leave the others waiting in the next all-reduce)."""
        deadline, trainer = self.limits.deadline, self.trainer
        if deadline is None or trainer.dist.active:
            return None
        reserve = end_reserve(trainer, self.limits.write_checkpoint)
        return max(deadline - reserve - time.perf_counter(), 0.0)

    def _note_step_time(self, took: float) -> None:
        """A running average of the step time, skipping the warm-up (autotuning) steps."""
        trainer = self.trainer
        done = trainer.step - self.start_step
        if done <= WARMUP_STEPS:
            self.first_steps.append(took)
            if done == WARMUP_STEPS:  # where a window's first seconds go (cuDNN search, R1)
                times = ", ".join(f"{t:.2f}" for t in self.first_steps)
                trainer.log(
                    f"[gan] first {done} steps took {times} s (host time, without "
                    f"{trainer.data_wait_s:.1f}s waiting for scenes so far)"
                )
        if done == 3:
            trainer.step_seconds = took
        elif done > 3:
            trainer.step_seconds = 0.8 * trainer.step_seconds + 0.2 * took

    def _close_interval(self, snapshot: bool) -> None:
        """Write the interval's row; go back to the last good state on a non-finite loss,
        else keep a new snapshot when told to; print the progress line."""
        trainer = self.trainer
        row = self.metrics.write_row()
        if not finite_losses(row, ("loss_d", "loss_g", "r1")):
            trainer.recover("non-finite loss")
        else:
            self.last_metrics = row
            if snapshot:
                trainer.take_snapshot()
                self.last_snap = time.perf_counter()
        trainer.log(progress_line(row, self.limits.max_steps, self.limits.deadline))


def progress_line(row: dict[str, Any], max_steps: int, deadline: float | None) -> str:
    """``[gan] step 40/1000 images 2560 812.3 img/s D 1.234 G 0.987 R1 - elapsed 3s``."""

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    left = ""
    if deadline is not None:
        left = f" time left {max(deadline - time.perf_counter(), 0):.0f}s"
    return (
        f"[gan] step {row['step']}/{max_steps} images {row['images_seen']} "
        f"{row['img_s']:.1f} img/s D {fmt(row['loss_d'])} G {fmt(row['loss_g'])} "
        f"R1 {fmt(row['r1'])} elapsed {row['elapsed_s']:.0f}s{left}"
    )
