"""The one-shot training pipeline: render, train the segmenter and the GAN, evaluate, export
a complete model bundle, all inside one time budget.

    PYTHONPATH=. python -m ganpaint.train.pipeline --config scenes128 --out DIR --time-budget 480

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

With CUDA the segmenter trains in a separate process (``python -m ganpaint.train.segmenter``)
that renders its own scenes on a share of the cores while the GAN's are rendered, and
touches the GPU only once the GAN has taken its first steps (cuDNN autotuning undisturbed);
while both train, the GAN runs at about half speed (measured on an H100), so the segmenter
gets a short, fixed time. Elsewhere it trains first, in-process. If the job fails or is
overdue, the GAN stops early and the segmenter trains in-process on GAN training scenes.
Late failures are recorded in the training card; the bundle is written whenever a
generator exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.devices import pick_device
from ganpaint.core.errors import GanpaintError
from ganpaint.models.progan import ProGANGenerator, progan_flops
from ganpaint.models.segmenter import DEFAULT_DECODER, DEFAULT_ENCODER, Segmenter
from ganpaint.train.configs import CONFIGS, GANConfig, get_config
from ganpaint.train.data import (
    EVAL_SEED,
    GAN_TRAIN_SEED,
    HELDOUT_SEED,
    SEGMENTER_TRAIN_SEED,
    concepts,
    render_scenes,
)
from ganpaint.train.gan import GANTrainer

MAX_BUNDLE_FILE_BYTES = 16 * 1024 * 1024
EDIT_LAYERS = ("layer4", "layer6")


# -- time and logging ----------------------------------------------------------------------


def process_age_s() -> float:
    """Seconds since this process started (interpreter start-up and imports included)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        return age if 0 <= age < 3600 else 0.0
    except (OSError, ValueError, IndexError):
        return 0.0


class Clock:
    """The pipeline's budget: seconds since the process started and seconds left."""

    def __init__(self, budget_s: float, from_process_start: bool = True):
        self.budget_s = float(budget_s)
        self.t0 = time.perf_counter() - (process_age_s() if from_process_start else 0.0)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.budget_s - self.elapsed()

    def at(self, seconds_from_start: float) -> float:
        """The ``time.perf_counter()`` value of a point in the budget."""
        return self.t0 + seconds_from_start


class Logger:
    """Print with flush and append every line to a log file (closed on every write, so
    nothing is lost if the process is killed)."""

    def __init__(self, path: Path, clock: Clock):
        self.path = path
        self.clock = clock

    def __call__(self, msg: str) -> None:
        line = f"[{self.clock.elapsed():6.1f}s] {msg}"
        print(line, flush=True)
        try:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError:
            pass

    def append_file(self, title: str, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        with self.path.open("a", encoding="utf-8") as f:
            f.write(f"----- {title} -----\n{text}\n----- end of {title} -----\n")
        tail = "\n".join(text.strip().splitlines()[-12:])
        print(f"----- {title} (last lines) -----\n{tail}\n-----", flush=True)


# -- the plan --------------------------------------------------------------------------------


def make_plan(cfg: GANConfig, budget_s: float, device_type: str, cores: int) -> dict[str, Any]:
    """How many scenes and seconds each stage gets for this config, budget and device."""
    res = cfg.resolution
    small = cfg.name == "tiny" or res <= 32
    gpu = device_type == "cuda"
    seg_arch = {"encoder": list(DEFAULT_ENCODER), "decoder": list(DEFAULT_DECODER)}
    if small:
        seg_train, heldout, eval_n, seg_steps = 128, 32, 32, 40
        seg_arch = {"encoder": [8, 16, 32, 32], "decoder": [8, 16, 32]}
    elif res <= 64:
        seg_train, heldout, eval_n, seg_steps = 3000, 500, 500, None
    else:
        seg_train, heldout, eval_n, seg_steps = 5000, 500, 1000, None
    # On an H100 the segmenter reached mIoU 0.96 in 110 s sharing the GPU with the GAN
    # (whose speed it halves meanwhile); 50 s is enough for >0.9 and costs the GAN ~25 s.
    if gpu:
        seg_seconds = min(50.0, max(5.0, 0.12 * budget_s))
    else:
        seg_seconds = min(600.0, max(5.0, 0.17 * budget_s))
    # Per-image costs for the evaluation estimate (seconds).
    scale = (res / 128) ** 2
    seg_image_s = (0.0006 if gpu else 0.015) * scale
    gen_image_s = 0.0003 if gpu else progan_flops(cfg.g_widths, cfg.z_dim) / 15e9
    return {
        "gan_scenes": cfg.dataset_size,
        "seg_arch": seg_arch,
        "seg_train_scenes": seg_train,
        "heldout_scenes": heldout,
        "eval_samples": eval_n,
        "seg_steps": seg_steps,
        "seg_seconds": seg_seconds,
        "render_cap_s": 0.22 * budget_s,
        "seg_image_s": seg_image_s,
        "gen_image_s": gen_image_s,
        "export_s": 3.0 if not small else 1.0,
        "margin_s": 2.0 + 0.01 * budget_s,
        "cores": cores,
    }


def eval_seconds(plan: dict[str, Any], n: int) -> float:
    """Seconds :func:`evaluate_gan` is expected to need for ``n`` samples (generous: 1,000
    took 1.9 s on an H100)."""
    return 3.0 + n * (3 * plan["seg_image_s"] + plan["gen_image_s"]) * 1.5


# -- export ------------------------------------------------------------------------------------


def save_generator_half(gen: ProGANGenerator, path: Path, metadata: dict | None = None) -> str:
    """Write generator weights as float16 safetensors (official key layout); float32 when
    a value would not survive the conversion. Returns the dtype written."""
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu", torch.float32) for k, v in gen.state_dict().items()}
    half = {k: v.to(torch.float16).contiguous() for k, v in state.items()}
    dtype = "float16"
    if not all(bool(torch.isfinite(v).all()) for v in half.values()):
        half, dtype = {k: v.contiguous() for k, v in state.items()}, "float32"
    meta = {"format": "ganpaint-progan", "widths": json.dumps(list(gen.widths)), "dtype": dtype}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    save_file(half, str(path), metadata=meta)
    return dtype


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    return str(obj)


# -- the segmenter job ------------------------------------------------------------------------


class SegmenterJob:
    """``python -m ganpaint.train.segmenter`` in its own process (own GIL, own CUDA context)."""

    def __init__(self, work: Path, args: list[str], log: Logger):
        self.work = work
        self.out = work / "segmenter.safetensors"
        self.result = work / "segmenter.json"
        self.log_path = work / "segmenter.log"
        root = Path(__file__).resolve().parents[2]
        env = os.environ.copy()
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [sys.executable, "-m", "ganpaint.train.segmenter", "--out", str(self.out)]
        cmd += ["--result", str(self.result), *args]
        self._log_file = self.log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env, cwd=str(root)
        )
        log(f"segmenter job started (pid {self.proc.pid}): {' '.join(cmd[1:])}")

    def failed(self) -> bool:
        code = self.proc.poll()
        return code is not None and (code != 0 or not self.result.is_file())

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; True when the job finished and left its result."""
        try:
            self.proc.wait(timeout=max(timeout_s, 0.0))
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        finally:
            self._log_file.flush()
        return self.proc.returncode == 0 and self.result.is_file() and self.out.is_file()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def close(self) -> None:
        self.kill()
        self._log_file.close()


# -- the pipeline ----------------------------------------------------------------------------


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
) -> dict[str, Any]:
    """Run every stage within ``time_budget_s`` and write the bundle to ``out/bundle``.

    The budget counts from this call, or from the start of the process (interpreter start-up
    and imports included) with ``from_process_start``, as the command line does. Returns the
    summary (also written to ``out/summary.json``)."""
    clock = Clock(time_budget_s, from_process_start)
    cfg = get_config(config)
    out = Path(out)
    bundle_dir = out / "bundle"
    bundle_dir.mkdir(parents=True, exist_ok=True)
    work = Path(work) if work else Path(tempfile.mkdtemp(prefix="ganpaint_pipeline_"))
    work.mkdir(parents=True, exist_ok=True)
    log = Logger(out / "pipeline.log", clock)
    cores = int(workers or os.cpu_count() or 1)
    device = str(pick_device(device))
    dev_type = torch.device(device).type
    plan = make_plan(cfg, time_budget_s, dev_type, cores)
    if eval_samples is not None:
        plan["eval_samples"] = int(eval_samples)
    if gan_scenes is not None:
        plan["gan_scenes"] = int(gan_scenes)
    if segmenter_mode == "auto":
        segmenter_mode = "concurrent" if dev_type == "cuda" else "sequential"
    errors: list[str] = []
    log(
        f"pipeline: config {cfg.name}, budget {time_budget_s:.0f}s, device {device}, "
        f"{cores} cores, segmenter {segmenter_mode}, work {work}, out {out}"
    )
    log(f"plan: {json.dumps(_jsonable(plan))}")

    def record(stage: str, exc: BaseException) -> None:
        msg = f"{stage}: {type(exc).__name__}: {exc}"
        errors.append(msg)
        log(f"ERROR {msg}")
        with (out / "pipeline.log").open("a", encoding="utf-8") as f:
            f.write(traceback.format_exc() + "\n")

    res = cfg.resolution
    job: SegmenterJob | None = None
    job_end = math.inf
    seg_model = None
    seg_metrics: dict[str, Any] = {}

    # 1. Segmenter job (concurrent mode) renders its own scenes on a share of the cores.
    total_scenes = plan["gan_scenes"] + 2 * plan["eval_samples"]
    seg_scenes = plan["seg_train_scenes"] + plan["heldout_scenes"]
    job_workers = max(1, math.ceil(cores * seg_scenes / (seg_scenes + total_scenes)))
    parent_workers = cores
    if segmenter_mode == "concurrent":
        parent_workers = max(1, cores - job_workers)
        job_budget = plan["render_cap_s"] * 0.8 + plan["seg_seconds"] + 15.0
        args = [
            "--size",
            str(res),
            "--time-budget",
            f"{job_budget:.1f}",
            "--train-seconds",
            f"{plan['seg_seconds']:.1f}",
            "--wait-for",
            str(work / "gan_started"),
            "--device",
            device,
            "--n-train",
            str(plan["seg_train_scenes"]),
            "--n-heldout",
            str(plan["heldout_scenes"]),
            "--workers",
            str(job_workers),
            "--threads",
            "2",
            "--encoder",
            ",".join(map(str, plan["seg_arch"]["encoder"])),
            "--decoder",
            ",".join(map(str, plan["seg_arch"]["decoder"])),
        ]
        if plan["seg_steps"]:
            args += ["--steps", str(plan["seg_steps"])]
        try:
            job = SegmenterJob(work, args, log)
            job_end = clock.elapsed() + job_budget + 10.0
        except Exception as exc:  # noqa: BLE001 - fall back to training it here
            record("segmenter job start", exc)
            segmenter_mode = "sequential"
            parent_workers = cores

    # 2. Render (before CUDA is touched here: the render pool forks this process).
    eval_sets = None
    seg_data = heldout = None
    gan_images = gan_labels = None
    try:
        n_eval = plan["eval_samples"]
        real_a = render_scenes(
            n_eval, res, EVAL_SEED, parent_workers, log=log, what="eval scenes A"
        )
        real_b = render_scenes(
            n_eval, res, EVAL_SEED + n_eval, parent_workers, log=log, what="eval scenes B"
        )
        eval_sets = (real_a, real_b)
        heldout = render_scenes(
            plan["heldout_scenes"],
            res,
            HELDOUT_SEED,
            parent_workers,
            log=log,
            what="held-out scenes",
        )
        if segmenter_mode == "sequential":
            seg_data = render_scenes(
                plan["seg_train_scenes"],
                res,
                SEGMENTER_TRAIN_SEED,
                parent_workers,
                log=log,
                what="segmenter training scenes",
            )
    except Exception as exc:  # noqa: BLE001
        record("rendering evaluation/segmenter scenes", exc)
    try:
        limit = max(plan["render_cap_s"] - clock.elapsed(), 5.0)
        gan_images, gan_labels = render_scenes(
            plan["gan_scenes"],
            res,
            GAN_TRAIN_SEED,
            parent_workers,
            time_limit_s=limit,
            min_n=min(plan["gan_scenes"], 8 * cfg.batch),
            log=log,
            what="GAN training scenes",
        )
    except Exception as exc:  # noqa: BLE001 - without training data there is nothing to do
        record("rendering GAN training scenes", exc)

    def train_segmenter_here(seconds: float, data, why: str) -> None:
        nonlocal seg_model, seg_metrics
        from ganpaint.train.segmenter import train_segmenter

        log(f"training the segmenter in this process for up to {seconds:.0f}s ({why})")
        try:
            result = train_segmenter(
                size=res,
                steps=plan["seg_steps"],
                time_budget_s=seconds,
                out_path=work / "segmenter_local.safetensors",
                device=device,
                data=data,
                heldout=heldout,
                n_heldout=plan["heldout_scenes"],
                log=log,
                encoder=plan["seg_arch"]["encoder"],
                decoder=plan["seg_arch"]["decoder"],
            )
            seg_model, seg_metrics = result.model, result.metrics
        except Exception as exc:  # noqa: BLE001
            record("segmenter training", exc)

    # 3. Sequential mode: the segmenter first.
    if segmenter_mode == "sequential" and seg_data is not None:
        seconds = min(plan["seg_seconds"], max(clock.left() * 0.25, 3.0))
        train_segmenter_here(seconds, seg_data, "sequential mode")

    # 4. The GAN, until what the later stages need is all that is left.
    trainer = None
    gan_summary: dict[str, Any] = {}
    # Evaluation adapts its sample count to the time left, so it never gets more than 10%.
    eval_s = min(eval_seconds(plan, plan["eval_samples"]), 0.1 * time_budget_s)
    tail = plan["margin_s"] + plan["export_s"] + eval_s
    gan_end = time_budget_s - tail
    fallback_s = min(plan["seg_seconds"], 0.15 * time_budget_s)
    fallback = {"needed": False}

    go_file = work / "gan_started"

    def stop_check() -> bool:
        now = clock.elapsed()
        if trainer is not None and trainer.step >= 3 and not go_file.exists():
            # The GAN has picked its kernels (cuDNN autotuning) undisturbed; now the
            # segmenter job may share the GPU.
            go_file.touch()
        if job is not None and not fallback["needed"]:
            overdue = now > job_end and job.proc.poll() is None
            if overdue:
                job.kill()
            if overdue or job.failed():
                fallback["needed"] = True
                why = "is overdue (killed)" if overdue else "failed"
                log(f"segmenter job {why}; the GAN will stop early to train it here")
                errors.append(
                    f"segmenter job {why} (exit code {job.proc.returncode}); "
                    "trained in-process on GAN training scenes instead"
                )
        if fallback["needed"]:
            return now >= gan_end - fallback_s
        return False

    if gan_images is not None and len(gan_images):
        try:
            trainer = GANTrainer(cfg, work / "gan", device=device, resume=False, log=log)
            trainer.set_data(gan_images)
            gan_summary = trainer.train(
                deadline=clock.at(gan_end),
                stop_check=stop_check,
                write_checkpoint=False,
                export=False,
            )
            go_file.touch()
        except Exception as exc:  # noqa: BLE001 - keep whatever the generator has learnt
            go_file.touch()
            record("GAN training", exc)
            if trainer is not None:
                gan_summary = {
                    "steps": trainer.step,
                    "images_seen": trainer.images_seen,
                    "device": str(device),
                    "stop_reason": "error",
                }
    else:
        go_file.touch()
        errors.append("GAN training: no training scenes")

    # 5. The segmenter: collect the job, or train here if it failed.
    if job is not None:
        if not fallback["needed"]:
            wait_s = min(job_end - clock.elapsed(), clock.left() - tail + plan["export_s"])
            if job.wait(max(wait_s, 1.0)):
                try:
                    from ganpaint.models.segmenter import load_segmenter

                    seg_model = load_segmenter(job.out)
                    seg_metrics = json.loads(job.result.read_text(encoding="utf-8"))
                    seg_metrics["mode"] = "concurrent process"
                except Exception as exc:  # noqa: BLE001
                    record("loading the segmenter job's result", exc)
            else:
                errors.append(f"segmenter job failed (exit code {job.proc.returncode}), no result")
                log(f"ERROR segmenter job failed (exit code {job.proc.returncode})")
        job.close()
        log.append_file("segmenter job output", job.log_path)
        if seg_model is None and gan_labels is not None:
            seconds = min(fallback_s, clock.left() - tail)
            if seconds >= min(5.0, 0.5 * fallback_s):
                n = min(plan["seg_train_scenes"], len(gan_images))
                train_segmenter_here(
                    seconds, (gan_images[:n], gan_labels[:n]), "fallback, on GAN training scenes"
                )
                seg_metrics["mode"] = "fallback in-process (GAN training seeds)"
    elif seg_metrics:
        seg_metrics["mode"] = "sequential in-process"
    del gan_labels

    # 6. Evaluation (errors are recorded, never fatal).
    evaluation: dict[str, Any] = {}
    if trainer is not None and seg_model is not None and eval_sets is not None:
        left = clock.left() - plan["margin_s"] - plan["export_s"]
        per = eval_seconds(plan, 1) - 3.0
        n = min(plan["eval_samples"], int((left - 2.0) / per)) if per > 0 else plan["eval_samples"]
        if n >= 8:
            try:
                from ganpaint.train.quality import evaluate_gan, format_report

                (ia, la), (ib, lb) = eval_sets
                evaluation = evaluate_gan(
                    trainer.G_ema,
                    seg_model,
                    n=n,
                    device=device,
                    real=(ia[:n], la[:n]),
                    real_b=(ib[:n], lb[:n]),
                    log=log,
                )
                log("evaluation:\n" + format_report(evaluation))
            except Exception as exc:  # noqa: BLE001
                record("evaluation", exc)
                evaluation = {"error": errors[-1]}
        else:
            evaluation = {"error": f"skipped: {left:.0f}s left is too little"}
    else:
        evaluation = {"error": "skipped: no generator or no segmenter"}

    # 7. Export the bundle.
    summary: dict[str, Any] = {"bundle": None}
    if trainer is not None:
        try:
            summary = export_bundle(
                trainer,
                seg_model,
                seg_metrics,
                gan_summary,
                evaluation,
                errors,
                cfg,
                plan,
                bundle_dir,
                clock,
                device,
                segmenter_mode,
                len(gan_images),
                log,
            )
        except Exception as exc:  # noqa: BLE001
            record("export", exc)
        try:
            if (
                trainer.last_sample is None
                or trainer.last_sample.stem != f"samples_{trainer.step:06d}"
            ):
                trainer.save_samples()
            shutil.copyfile(trainer.last_sample, out / "samples.png")
            if trainer.metrics_path.is_file():
                shutil.copyfile(trainer.metrics_path, out / "metrics.jsonl")
        except Exception as exc:  # noqa: BLE001
            record("copying samples and metrics", exc)
    summary["errors"] = errors
    summary["pipeline_s"] = round(clock.elapsed(), 1)
    summary["time_budget_s"] = time_budget_s
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
    print_summary(summary, log)
    if (
        work
        and not os.environ.get("GANPAINT_KEEP_WORK")
        and str(work).startswith(tempfile.gettempdir())
    ):
        shutil.rmtree(work, ignore_errors=True)
    return summary


def export_bundle(
    trainer: GANTrainer,
    seg_model: Segmenter | None,
    seg_metrics: dict[str, Any],
    gan_summary: dict[str, Any],
    evaluation: dict[str, Any],
    errors: list[str],
    cfg: GANConfig,
    plan: dict[str, Any],
    bundle_dir: Path,
    clock: Clock,
    device: str,
    segmenter_mode: str,
    n_gan_scenes: int,
    log: Logger,
) -> dict[str, Any]:
    """Write generator.safetensors (float16), segmenter.safetensors and bundle.json with
    the training card; reopen the bundle to check it. Returns the summary fields."""
    from ganpaint.core.devices import describe_device
    from ganpaint.models.bundle import load_bundle, write_bundle_json
    from ganpaint.models.segmenter import save_segmenter

    gen = trainer.export_generator()
    gen_path = bundle_dir / "generator.safetensors"
    meta_w = {"config": cfg.name, "step": trainer.step, "images_seen": trainer.images_seen}
    dtype = save_generator_half(gen, gen_path, meta_w)
    seg_path = bundle_dir / "segmenter.safetensors"
    seg_config = None
    if seg_model is not None:
        save_segmenter(seg_model, seg_path, {"miou": seg_metrics.get("miou")})
        seg_config = dict(seg_model.config())
        seg_config["resolution"] = cfg.resolution
        seg_config["miou"] = seg_metrics.get("miou")
    elif seg_path.exists():
        seg_path.unlink()
    hardware = describe_device(device, hardware=True)
    card = {
        "config": cfg.to_dict(),
        "steps": trainer.step,
        "images_seen": trainer.images_seen,
        "hardware": hardware,
        "cpu_cores": os.cpu_count(),
        "wall_s": gan_summary.get("wall_s"),
        "img_s": gan_summary.get("img_s"),
        "bf16": gan_summary.get("bf16"),
        "stop_reason": gan_summary.get("stop_reason"),
        "events": list(trainer.events),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataset": {
            "world": "ganpaint.scenes",
            "gan_scenes": n_gan_scenes,
            "gan_seeds": [GAN_TRAIN_SEED, GAN_TRAIN_SEED + n_gan_scenes - 1],
        },
        "pipeline": {
            "time_budget_s": clock.budget_s,
            "elapsed_at_export_s": round(clock.elapsed(), 1),
            "segmenter_mode": segmenter_mode,
        },
        "generator_dtype": dtype,
        "segmenter": seg_metrics or None,
        "evaluation": evaluation,
        "errors": list(errors),
    }
    layers = [name for name in EDIT_LAYERS if name in gen.layer_names] or [gen.layer_names[0]]
    meta = {
        "name": cfg.name,
        "architecture": "progan",
        "widths": list(gen.widths),
        "z_dim": gen.z_dim,
        "resolution": gen.resolution,
        "edit_layers": layers,
        "default_layer": layers[0],
        "concepts": list(concepts()),
        "segmenter": seg_config,
        "training": card,
    }
    write_bundle_json(bundle_dir, _jsonable(meta))
    sizes = {p.name: p.stat().st_size for p in bundle_dir.iterdir() if p.is_file()}
    for name, size in sizes.items():
        if size > MAX_BUNDLE_FILE_BYTES:
            errors.append(f"export: {name} is {size} bytes, over 16 MB")
    verified = False
    try:
        bundle = load_bundle(bundle_dir)
        z = torch.randn(2, gen.z_dim)
        with torch.no_grad():
            ref = gen(z)
            got = bundle.generator(z)
        verified = float((ref - got).abs().max()) < 0.1
        if seg_model is not None:
            verified = verified and bundle.load_segmenter() is not None
    except Exception as exc:  # noqa: BLE001
        errors.append(f"verifying the bundle: {type(exc).__name__}: {exc}")
    log(f"bundle written to {bundle_dir} ({sizes}); reopened and checked: {verified}")
    return {
        "bundle": str(bundle_dir),
        "bundle_files": sizes,
        "bundle_verified": verified,
        "config": cfg.name,
        "steps": trainer.step,
        "images_seen": trainer.images_seen,
        "gan_wall_s": gan_summary.get("wall_s"),
        "gan_img_s": gan_summary.get("img_s"),
        "hardware": hardware,
        "segmenter_miou": seg_metrics.get("miou") if seg_metrics else None,
        "segmenter_iou": seg_metrics.get("iou") if seg_metrics else None,
        "fd": evaluation.get("fd"),
        "fd_real_floor": evaluation.get("fd_real_floor"),
        "share_distance": evaluation.get("share_distance"),
    }


def print_summary(summary: dict[str, Any], log: Logger) -> None:
    """The end-of-run summary block, to stdout and the log."""
    lines = ["", "=" * 72, "GANPaint training pipeline: summary"]
    for key in (
        "bundle",
        "bundle_verified",
        "config",
        "steps",
        "images_seen",
        "gan_wall_s",
        "gan_img_s",
        "hardware",
        "segmenter_miou",
        "fd",
        "fd_real_floor",
        "share_distance",
        "pipeline_s",
        "time_budget_s",
    ):
        if key in summary:
            lines.append(f"  {key:<16} {summary[key]}")
    if summary.get("segmenter_iou"):
        iou = summary["segmenter_iou"]
        lines.append("  segmenter IoU    " + ", ".join(f"{k} {v}" for k, v in iou.items()))
    if summary.get("errors"):
        lines.append("  errors:")
        lines += [f"    - {e}" for e in summary["errors"]]
    else:
        lines.append("  errors           none")
    lines.append("=" * 72)
    log("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """``python -m ganpaint.train.pipeline``; exit code 0 when the bundle was written."""
    p = argparse.ArgumentParser(
        prog="python -m ganpaint.train.pipeline",
        description="Render scenes, train the segmenter and the GAN, evaluate and export a "
        "model bundle to OUT/bundle, all within one time budget (counted from process start).",
    )
    p.add_argument("--config", default="scenes128", choices=sorted(CONFIGS), help="GAN config")
    p.add_argument("--out", required=True, help="output folder (bundle/, samples, metrics, log)")
    p.add_argument("--time-budget", type=float, default=480.0, help="seconds for everything")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument(
        "--segmenter-mode",
        choices=("auto", "concurrent", "sequential"),
        default="auto",
        help="train the segmenter in a parallel process (default on CUDA) or first, here",
    )
    p.add_argument("--workers", type=int, default=None, help="CPU cores to use for rendering")
    p.add_argument("--eval-samples", type=int, default=None, help="samples for evaluate_gan")
    p.add_argument("--gan-scenes", type=int, default=None, help="GAN training scenes")
    args = p.parse_args(argv)
    if args.time_budget <= 0:
        p.error("--time-budget must be positive")
    try:
        summary = run_pipeline(
            args.config,
            args.out,
            args.time_budget,
            device=args.device,
            work=args.work,
            segmenter_mode=args.segmenter_mode,
            workers=args.workers,
            eval_samples=args.eval_samples,
            gan_scenes=args.gan_scenes,
            from_process_start=True,
        )
    except GanpaintError as exc:
        print(f"pipeline: error: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0 if summary.get("bundle") else 1


if __name__ == "__main__":
    sys.exit(main())
