"""The segmenter trained in a separate process while the GAN trains (the pipeline's
concurrent mode): starting the job, watching it, collecting its result, stopping it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ganpaint.train.runlog import Logger


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


def segmenter_job_args(
    plan: dict[str, Any], size: int, budget_s: float, go_file: Path, device: str, workers: int
) -> list[str]:
    """``python -m ganpaint.train.segmenter`` options for the plan: the job waits for
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
