"""The segmenter's stages of a pipeline run (:class:`~ganpaint.train.pipeline.PipelineRun`):
the separate segmenter job started with its share of the cores (concurrent mode, CUDA), or
the segmenter trained in this process before the GAN (sequential mode), or one reused from
an earlier window; watching the job while the GAN trains, collecting its result, and the
fallback that trains the segmenter here on GAN training scenes when the job failed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ganpaint.models.segmenter import Segmenter
from ganpaint.train.configs import GANConfig
from ganpaint.train.runlog import Clock, Logger
from ganpaint.train.segmenter_job import SegmenterJob, segmenter_job_args
from ganpaint.train.stream import SceneStream, spare_cores

Scenes = tuple[np.ndarray, np.ndarray]


class SegmenterStages:
    """The segmenter's stages, as a base of :class:`~ganpaint.train.pipeline.PipelineRun`,
    which sets every attribute below in its ``__init__`` and provides :meth:`record` and
    :meth:`scenes`."""

    cfg: GANConfig
    plan: dict[str, Any]
    clock: Clock
    log: Logger
    work: Path
    device: str
    cores: int
    parent_workers: int
    segmenter_mode: str
    go_file: Path
    stream: SceneStream | None
    heldout: Scenes | None
    errors: list[str]
    job: SegmenterJob | None
    job_end: float
    seg_model: Segmenter | None
    seg_metrics: dict[str, Any]
    tail: float
    fallback_s: float
    fallback_needed: bool

    def record(self, stage: str, exc: BaseException) -> None:
        raise NotImplementedError

    def scenes(self, name: str, timeout: float) -> Scenes | None:
        raise NotImplementedError

    def _reuse_segmenter(self, path: Path) -> None:
        from ganpaint.models.segmenter import load_segmenter

        self.seg_model = load_segmenter(path)
        self.seg_metrics = {"mode": f"reused ({Path(path).name})"}
        self.log(f"reusing the segmenter {path}")

    def start_segmenter_job(self) -> None:
        """Concurrent mode: start the segmenter process with its share of the cores."""
        plan, cores = self.plan, self.cores
        total_scenes = plan["gan_scenes"] + 2 * plan["eval_samples"]
        seg_scenes = plan["seg_train_scenes"] + plan["heldout_scenes"]
        job_workers = max(1, math.ceil(cores * seg_scenes / (seg_scenes + total_scenes)))
        if self.segmenter_mode != "concurrent":
            return
        self.parent_workers = max(1, cores - job_workers - 1)
        job_budget = plan["render_cap_s"] * 0.8 + plan["seg_seconds"] + 15.0
        args = segmenter_job_args(
            plan, self.cfg.resolution, job_budget, self.go_file, self.device, job_workers
        )
        try:
            self.job = SegmenterJob(self.work, args, self.log)
            self.job_end = self.clock.elapsed() + job_budget + 10.0
        except Exception as exc:  # noqa: BLE001 - fall back to training it here
            self.record("segmenter job start", exc)
            self.segmenter_mode = "sequential"
            self.parent_workers = spare_cores(cores)

    def segmenter_first(self) -> None:
        """Sequential mode: the segmenter trains here before the GAN."""
        if self.segmenter_mode != "sequential":
            return
        seg_data = self.scenes("segmenter", self.clock.left() - self.tail)
        self.heldout = self.scenes("heldout", 5.0)
        if seg_data is not None:
            seconds = min(self.plan["seg_seconds"], max(self.clock.left() * 0.25, 3.0))
            self.train_segmenter_here(seconds, seg_data, "sequential mode")

    def train_segmenter_here(self, seconds: float, data: Scenes, why: str) -> None:
        """Train the segmenter in this process for up to ``seconds``."""
        from ganpaint.train.segmenter import train_segmenter

        plan = self.plan
        self.log(f"training the segmenter in this process for up to {seconds:.0f}s ({why})")
        try:
            result = train_segmenter(
                size=self.cfg.resolution,
                steps=plan["seg_steps"],
                time_budget_s=seconds,
                out_path=self.work / "segmenter_local.safetensors",
                device=self.device,
                data=data,
                heldout=self.heldout,
                n_heldout=plan["heldout_scenes"],
                log=self.log,
                encoder=plan["seg_arch"]["encoder"],
                decoder=plan["seg_arch"]["decoder"],
            )
            self.seg_model, self.seg_metrics = result.model, result.metrics
        except Exception as exc:  # noqa: BLE001
            self.record("segmenter training", exc)

    def _check_job(self, job: SegmenterJob, now: float) -> None:
        overdue = now > self.job_end and job.proc.poll() is None
        if overdue:
            job.kill()
        if overdue or job.failed():
            self.fallback_needed = True
            why = "is overdue (killed)" if overdue else "failed"
            self.log(f"segmenter job {why}; the GAN will stop early to train it here")
            self.errors.append(
                f"segmenter job {why} (exit code {job.proc.returncode}); "
                "trained in-process on GAN training scenes instead"
            )

    def collect_segmenter(self) -> None:
        """The segmenter job's result, or a segmenter trained here when the job failed."""
        job = self.job
        if job is None:
            if self.seg_metrics:
                self.seg_metrics.setdefault("mode", "sequential in-process")
            return
        if not self.fallback_needed:
            self._load_job_result(job)
        job.close()
        self.log.append_file("segmenter job output", job.log_path)
        if self.seg_model is None and self.stream is not None and "gan" in self.stream.sets:
            self._train_segmenter_fallback()

    def _load_job_result(self, job: SegmenterJob) -> None:
        clock = self.clock
        wait_s = min(
            self.job_end - clock.elapsed(), clock.left() - self.tail + self.plan["export_s"]
        )
        if not job.wait(max(wait_s, 1.0)):
            self.errors.append(f"segmenter job failed (exit code {job.proc.returncode}), no result")
            self.log(f"ERROR segmenter job failed (exit code {job.proc.returncode})")
            return
        try:
            from ganpaint.models.segmenter import load_segmenter

            self.seg_model = load_segmenter(job.out)
            self.seg_metrics = json.loads(job.result.read_text(encoding="utf-8"))
            self.seg_metrics["mode"] = "concurrent process"
        except Exception as exc:  # noqa: BLE001
            self.record("loading the segmenter job's result", exc)

    def _train_segmenter_fallback(self) -> None:
        seconds = min(self.fallback_s, self.clock.left() - self.tail)
        if seconds < min(5.0, 0.5 * self.fallback_s):
            return
        stream = self.stream
        n = min(self.plan["seg_train_scenes"], stream.sets["gan"].n)
        labels = stream.labels("gan")
        try:
            if labels is None or not stream.wait("gan", np.arange(n), timeout=seconds / 4):
                return
        except Exception as exc:  # noqa: BLE001
            self.record("rendering GAN scenes for the fallback segmenter", exc)
            return
        self.heldout = self.heldout or self.scenes("heldout", 1.0)
        data = (stream.images("gan")[:n], labels[:n])
        self.train_segmenter_here(seconds, data, "fallback, on GAN training scenes")
        self.seg_metrics["mode"] = "fallback in-process (GAN training seeds)"
