"""The one-shot training pipeline: render, train the segmenter and the GAN, evaluate, export
a complete model bundle, all inside one time budget.

    ganpaint train-pipeline --config scenes128 --out DIR --time-budget 480

Writes (at most 7 files, each well under 16 MB)::

    DIR/bundle/generator.safetensors   EMA generator, float16
    DIR/bundle/segmenter.safetensors   the scene segmenter, float32
    DIR/bundle/bundle.json             architecture, concepts, hashes, training card
    DIR/samples.png                    the last 8x8 sample grid (EMA generator, fixed seeds)
    DIR/metrics.jsonl                  GAN training metrics
    DIR/pipeline.log                   everything printed, the segmenter job's output too
    DIR/summary.json                   the summary printed at the end

Scratch files (all sample grids, the segmenter job's files; no GAN checkpoint is written)
go to ``--work`` (default: a temporary folder, removed at the end), never to DIR. Nothing on
this path imports Qt, the app or the engine: it runs on a bare GPU box with torch, numpy,
pillow and safetensors only.

Scenes render on worker processes beside the run (:mod:`ganpaint.train.stream`): the GAN
starts at its first batch and waits for scenes when rendering is behind (the batches do not
depend on it); evaluation waits for its scenes at the end. The workers stop with the run.

With CUDA the segmenter trains in a separate process
(``python -m ganpaint.train.segmenter_job``) that renders its own scenes on a share of the
cores, and touches the GPU only once the GAN has taken its first steps (cuDNN autotuning
undisturbed); while both train, the GAN runs at about half speed (measured on an H100), so
the segmenter gets a short, fixed time. Elsewhere it trains first, in-process. If the job
fails or is overdue, the GAN stops early and the segmenter trains in-process on GAN
training scenes (those stages are :mod:`ganpaint.train.pipeline_segmenter`). Late failures
are recorded in the training card; the bundle is written whenever a generator exists.

A run can be one window of a longer one (:class:`Carry`): it resumes the GAN from a state
folder, reuses a segmenter trained before (no segmenter stage), and writes the GAN's state
at its end for the next window (``ganpaint.devtools.gpu_window`` drives this).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.devices import pick_device
from ganpaint.models.segmenter import Segmenter
from ganpaint.train.configs import GANConfig, get_config
from ganpaint.train.export import export_bundle, jsonable, print_summary
from ganpaint.train.gan import GANTrainer
from ganpaint.train.pipeline_segmenter import Scenes, SegmenterStages
from ganpaint.train.plan import eval_seconds, make_plan
from ganpaint.train.runlog import Clock, Logger
from ganpaint.train.segmenter_job import SegmenterJob
from ganpaint.train.state import note_window_figures, set_windows
from ganpaint.train.stream import SceneStream, pipeline_sets, spare_cores
from ganpaint.train.warm import WarmStart


@dataclass(frozen=True)
class Carry:
    """What a window takes from the one before and leaves for the next: the GAN state to
    resume (None: start, or ``warm_start``, :mod:`ganpaint.train.warm`), a segmenter file to
    reuse (None: train one), and the folder the GAN state is written to (None: none)."""

    resume_state: Path | None = None
    segmenter: Path | None = None
    state_out: Path | None = None
    warm_start: WarmStart | None = None


def run_pipeline(
    config: str | GANConfig,
    out: str | Path,
    time_budget_s: float = 480.0,
    device: str | None = None,
    work: str | Path | None = None,
    segmenter_mode: str = "auto",
    workers: int | None = None,
    eval_samples: int | None = None,
    gan_scenes: int | None = None,
    from_process_start: bool = False,
    carry: Carry | None = None,
) -> dict[str, Any]:
    """Run every stage within ``time_budget_s`` and write the bundle to ``out/bundle``.

    The budget counts from this call, or from the start of the process (interpreter start-up
    and imports included) with ``from_process_start``, as the command line does. Returns the
    summary (also written to ``out/summary.json``)."""
    run = PipelineRun(
        config, out, time_budget_s, device, work, segmenter_mode, workers, eval_samples,
        gan_scenes, from_process_start, carry or Carry(),
    )  # fmt: skip
    try:
        run.start_segmenter_job()  # 1. concurrent mode: renders its own scenes on a share of cores
        run.render()  # 2. before CUDA is touched here: the render workers fork this process
        run.segmenter_first()  # 3. sequential mode (the GAN's scenes render meanwhile)
        run.train_gan()  # 4. until what the later stages need is all that is left
        run.collect_segmenter()  # 5. the job's result, or train it here if the job failed
        run.evaluate()  # 6. errors are recorded, never fatal
        return run.finish()  # 7. the bundle, samples, metrics and summary
    finally:
        run.close()  # the render workers and the segmenter job end with the run, always


class PipelineRun(SegmenterStages):
    """One pipeline run: its budget, plan, files and what each stage has produced so far."""

    def __init__(
        self,
        config: str | GANConfig,
        out: str | Path,
        time_budget_s: float,
        device: str | None,
        work: str | Path | None,
        segmenter_mode: str,
        workers: int | None,
        eval_samples: int | None,
        gan_scenes: int | None,
        from_process_start: bool,
        carry: Carry,
    ):
        self.carry = carry
        self.clock = Clock(time_budget_s, from_process_start)
        self.time_budget_s = time_budget_s
        self.cfg = cfg = get_config(config)
        self.out = out = Path(out)
        self.bundle_dir = out / "bundle"
        self.bundle_dir.mkdir(parents=True, exist_ok=True)
        self.work = work = (
            Path(work) if work else Path(tempfile.mkdtemp(prefix="ganpaint_pipeline_"))
        )
        work.mkdir(parents=True, exist_ok=True)
        self.log = log = Logger(out / "pipeline.log", self.clock)
        self.cores = cores = int(workers or os.cpu_count() or 1)
        self.device = device = str(pick_device(device))
        dev_type = torch.device(device).type
        self.plan = plan = make_plan(cfg, time_budget_s, dev_type, cores)
        if eval_samples is not None:
            plan["eval_samples"] = int(eval_samples)
        if gan_scenes is not None:
            plan["gan_scenes"] = int(gan_scenes)
        if segmenter_mode == "auto":
            segmenter_mode = "concurrent" if dev_type == "cuda" else "sequential"
        if carry.segmenter is not None:
            segmenter_mode = "reused"
        self.segmenter_mode = segmenter_mode
        self.errors: list[str] = []
        log(
            f"pipeline: config {cfg.name}, budget {time_budget_s:.0f}s, device {device}, "
            f"{cores} cores, segmenter {segmenter_mode}, work {work}, out {out}"
        )
        log(f"plan: {json.dumps(jsonable(plan))}")
        self.job: SegmenterJob | None = None
        self.job_end = math.inf
        self.parent_workers = spare_cores(cores)  # one core for the training loop
        self.seg_model: Segmenter | None = None
        self.seg_metrics: dict[str, Any] = {}
        self.stream: SceneStream | None = None
        self.heldout: Scenes | None = None
        self.trainer: GANTrainer | None = None
        self.gan_summary: dict[str, Any] = {}
        self.evaluation: dict[str, Any] = {}
        # Evaluation adapts its sample count to the time left, so it never gets more than 10%.
        eval_s = min(eval_seconds(plan, plan["eval_samples"]), 0.1 * time_budget_s)
        self.tail = plan["margin_s"] + plan["export_s"] + eval_s
        self.gan_end = time_budget_s - self.tail
        self.fallback_s = min(plan["seg_seconds"], 0.15 * time_budget_s)
        self.fallback_needed = False
        self.go_file = work / "gan_started"
        if carry.segmenter is not None:
            self._reuse_segmenter(carry.segmenter)

    def record(self, stage: str, exc: BaseException) -> None:
        """Note a failed stage in the errors and the log (with its traceback) and go on."""
        msg = f"{stage}: {type(exc).__name__}: {exc}"
        self.errors.append(msg)
        self.log(f"ERROR {msg}")
        with (self.out / "pipeline.log").open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc() + "\n")

    # -- stages ------------------------------------------------------------------------

    def render(self) -> None:
        """Start rendering every scene set on worker processes (:func:`pipeline_sets`)."""
        try:
            sets = pipeline_sets(self.cfg, self.plan, self.segmenter_mode, self.carry.resume_state)
            workers = self.parent_workers
            self.stream = SceneStream(sets, self.cfg.resolution, workers, self.log).start()
        except Exception as exc:  # noqa: BLE001 - without training data there is nothing to do
            self.record("starting to render scenes", exc)
            return
        what = ", ".join(f"{s.n} {s.name}" for s in sets)
        self.log(f"rendering scenes ({what}) on {workers} processes beside the run")

    def scenes(self, name: str, timeout: float) -> Scenes | None:
        """The rendered set ``name``, waiting up to ``timeout`` seconds; None (and an error
        noted) when it is not there in time or rendering failed."""
        stream = self.stream
        if stream is None or name not in stream.sets:
            return None
        try:
            if stream.wait(name, timeout=max(timeout, 0.0)):
                return stream.images(name), stream.labels(name)
        except Exception as exc:  # noqa: BLE001
            self.record(f"rendering {name} scenes", exc)
            return None
        self.errors.append(f"the {name} scenes were not rendered in time")
        self.log(f"ERROR {self.errors[-1]}")
        return None

    def stop_check(self) -> bool:
        """Called every GAN step: lets the segmenter job onto the GPU once the GAN has
        started, and stops the GAN early when the job failed so it can train here."""
        now = self.clock.elapsed()
        trainer, job = self.trainer, self.job
        if trainer is not None and trainer.step >= 3 and not self.go_file.exists():
            # The GAN has picked its kernels (cuDNN autotuning) undisturbed; now the
            # segmenter job may share the GPU.
            self.go_file.touch()
        if job is not None and not self.fallback_needed:
            self._check_job(job, now)
        if self.fallback_needed:
            return now >= self.gan_end - self.fallback_s
        return False

    def train_gan(self) -> None:
        """The GAN, until the time the later stages need is all that is left."""
        if self.stream is None or "gan" not in self.stream.sets:
            self.go_file.touch()
            self.errors.append("GAN training: no training scenes")
            return
        try:
            resume = self.carry.resume_state or self.carry.warm_start or False
            self.trainer = GANTrainer(
                self.cfg, self.work / "gan", device=self.device, resume=resume, log=self.log
            )
            self.trainer.set_streamed_data(self.stream, "gan")
            keep_state = self.carry.state_out is not None
            self.gan_summary = self.trainer.train(
                deadline=self.clock.at(self.gan_end),
                stop_check=self.stop_check,
                write_checkpoint=keep_state,
                export=False,
            )
            self.go_file.touch()
            if self.stream is not None:  # what is left to render is for the later stages
                gan = ["gan"] if self.job is not None else []  # a fallback segmenter's
                self.stream.keep_only(["eval_a", "eval_b", "heldout", *gan])
            if keep_state:
                shutil.rmtree(self.carry.state_out, ignore_errors=True)
                shutil.copytree(self.trainer.checkpoint_path, self.carry.state_out)
        except Exception as exc:  # noqa: BLE001 - keep whatever the generator has learnt
            self.go_file.touch()
            self.record("GAN training", exc)
            if self.trainer is not None:
                self.gan_summary = {
                    "steps": self.trainer.step,
                    "images_seen": self.trainer.images_seen,
                    "device": str(self.device),
                    "stop_reason": "error",
                }

    def evaluate(self) -> None:
        """Evaluate the generator with as many samples as the time left allows."""
        if self.trainer is None or self.seg_model is None:
            self.evaluation = {"error": "skipped: no generator or no segmenter"}
            return
        plan = self.plan
        keep = plan["margin_s"] + plan["export_s"] + eval_seconds(plan, 8)
        real = [self.scenes(k, self.clock.left() - keep) for k in ("eval_a", "eval_b")]
        if real[0] is None or real[1] is None:
            self.evaluation = {"error": "skipped: the evaluation scenes are not there"}
            return
        left = self.clock.left() - plan["margin_s"] - plan["export_s"]
        per = eval_seconds(plan, 1) - 3.0
        n = min(plan["eval_samples"], int((left - 2.0) / per)) if per > 0 else plan["eval_samples"]
        if n < 8:
            self.evaluation = {"error": f"skipped: {left:.0f}s left is too little"}
            return
        try:
            from ganpaint.train.quality import evaluate_gan, format_report

            (ia, la), (ib, lb) = real
            self.evaluation = evaluate_gan(
                self.trainer.G_ema,
                self.seg_model,
                n=n,
                device=self.device,
                real=(ia[:n], la[:n]),
                real_b=(ib[:n], lb[:n]),
                log=self.log,
            )
            self.log("evaluation:\n" + format_report(self.evaluation))
        except Exception as exc:  # noqa: BLE001
            self.record("evaluation", exc)
            self.evaluation = {"error": self.errors[-1]}

    def finish(self) -> dict[str, Any]:
        """Export the bundle, copy samples and metrics, write and print the summary."""
        summary: dict[str, Any] = {"bundle": None}
        if self.trainer is not None:
            note_window_figures(self.trainer.windows, self.evaluation)
            summary = self._export(self.trainer) or summary
            if self.carry.state_out is not None and self.trainer.windows:
                try:
                    set_windows(self.carry.state_out, self.trainer.windows)
                except Exception as exc:  # noqa: BLE001
                    self.record("noting the window's figures in the state", exc)
            self._copy_samples_and_metrics(self.trainer)
        summary["errors"] = self.errors
        summary["pipeline_s"] = round(self.clock.elapsed(), 1)
        summary["time_budget_s"] = self.time_budget_s
        (self.out / "summary.json").write_text(json.dumps(jsonable(summary), indent=2) + "\n")
        print_summary(summary, self.log)
        work = self.work
        if (
            work
            and not os.environ.get("GANPAINT_KEEP_WORK")
            and str(work).startswith(tempfile.gettempdir())
        ):
            shutil.rmtree(work, ignore_errors=True)
        return summary

    def close(self) -> None:
        """Stop the render workers and the segmenter job (idempotent)."""
        if self.stream is not None:
            self.stream.close()
        if self.job is not None:
            self.job.close()

    def _export(self, trainer: GANTrainer) -> dict[str, Any] | None:
        try:
            return export_bundle(
                trainer,
                self.seg_model,
                self.seg_metrics,
                self.gan_summary,
                self.evaluation,
                self.errors,
                self.cfg,
                self.plan,
                self.bundle_dir,
                self.clock,
                self.device,
                self.segmenter_mode,
                self.plan["gan_scenes"],
                self.log,
            )
        except Exception as exc:  # noqa: BLE001
            self.record("export", exc)
            return None

    def _copy_samples_and_metrics(self, trainer: GANTrainer) -> None:
        try:
            if (
                trainer.last_sample is None
                or trainer.last_sample.stem != f"samples_{trainer.step:06d}"
            ):
                trainer.save_samples()
            shutil.copyfile(trainer.last_sample, self.out / "samples.png")
            if trainer.metrics_path.is_file():
                shutil.copyfile(trainer.metrics_path, self.out / "metrics.jsonl")
        except Exception as exc:  # noqa: BLE001
            self.record("copying samples and metrics", exc)
