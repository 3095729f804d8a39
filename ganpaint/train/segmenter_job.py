"""The segmenter trained in a separate process while the GAN trains (the pipeline's
concurrent mode): the parent's side (start the job, watch it, collect its result, stop it)
and the job's own entry point, ``python -m ganpaint.train.segmenter_job`` (``--help`` lists
its options)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganpaint.core.files import atomic_write_text
from ganpaint.models.segmenter import DEFAULT_DECODER, DEFAULT_ENCODER
from ganpaint.train.runlog import Logger


class SegmenterJob:
    """``python -m ganpaint.train.segmenter_job`` in its own process (own GIL, own CUDA context)."""

    def __init__(self, work: Path, args: list[str], log: Logger):
        self.work = work
        self.out = work / "segmenter.safetensors"
        self.result = work / "segmenter.json"
        self.log_path = work / "segmenter.log"
        root = Path(__file__).resolve().parents[2]
        env = os.environ.copy()
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [sys.executable, "-m", "ganpaint.train.segmenter_job", "--out", str(self.out)]
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


def segmenter_job_args(
    plan: dict[str, Any], size: int, budget_s: float, go_file: Path, device: str, workers: int
) -> list[str]:
    """``python -m ganpaint.train.segmenter_job`` options for the plan: the job waits for
    ``go_file`` before it touches the GPU."""
    args = [
        "--size",
        str(size),
        "--time-budget",
        f"{budget_s:.1f}",
        "--train-seconds",
        f"{plan['seg_seconds']:.1f}",
        "--wait-for",
        str(go_file),
        "--device",
        device,
        "--n-train",
        str(plan["seg_train_scenes"]),
        "--n-heldout",
        str(plan["heldout_scenes"]),
        "--workers",
        str(workers),
        "--threads",
        "2",
        "--encoder",
        ",".join(map(str, plan["seg_arch"]["encoder"])),
        "--decoder",
        ",".join(map(str, plan["seg_arch"]["decoder"])),
    ]
    if plan["seg_steps"]:
        args += ["--steps", str(plan["seg_steps"])]
    return args


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of widths: {text!r}"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Train one segmenter and write its metrics as JSON (``--result``)."""
    p = argparse.ArgumentParser(
        prog="python -m ganpaint.train.segmenter_job",
        description="Train the scene segmenter on rendered scenes (one job).",
    )
    p.add_argument("--size", type=int, default=128, help="image size in pixels (default 128)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: time-bound)")
    p.add_argument("--time-budget", type=float, default=None, help="seconds for the whole job")
    p.add_argument("--train-seconds", type=float, default=None, help="seconds for training alone")
    p.add_argument("--out", required=True, help="segmenter .safetensors to write")
    p.add_argument("--result", help="JSON file for the metrics")
    p.add_argument("--device", default=None, help="cpu or cuda (default: best available)")
    p.add_argument("--n-train", type=int, default=5000, help="training scenes (default 5000)")
    p.add_argument("--n-heldout", type=int, default=500, help="held-out scenes (default 500)")
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--workers", type=int, default=None, help="rendering processes")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--wait-for", default=None, help="touch the device only once this file exists")
    p.add_argument("--encoder", type=_widths, default=DEFAULT_ENCODER, help="e.g. 16,32,64,128,256")
    p.add_argument("--decoder", type=_widths, default=DEFAULT_DECODER, help="e.g. 16,32,64,96")
    args = p.parse_args(argv)
    import torch

    from ganpaint.train.segmenter import train_segmenter

    if args.threads:
        torch.set_num_threads(args.threads)
    result = train_segmenter(
        size=args.size,
        steps=args.steps,
        time_budget_s=args.time_budget,
        out_path=args.out,
        device=args.device,
        n_train=args.n_train,
        n_heldout=args.n_heldout,
        batch=args.batch,
        workers=args.workers,
        encoder=args.encoder,
        decoder=args.decoder,
        train_seconds=args.train_seconds,
        wait_for=args.wait_for,
    )
    if args.result:
        atomic_write_text(args.result, json.dumps(result.metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
