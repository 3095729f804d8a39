"""Measure the time from launching the app to its first image:
``python -m ganpaint.devtools.startup_time [--model PATH] [--runs N]``.

Each run starts a fresh process ``run_app(model, startup_time=True)`` (offscreen unless a
display is set), which quits at its first rendered frame; the wall time from spawning the
process to that frame (the wall clock the child prints at the frame, less the time of the
spawn: the child's exit, which tears torch down, is not part of start-up) is reported, with
the app's own split (window shown, model loaded, first frame, measured from ``run_app``) and
the time until the process had exited. Without ``--model`` it uses the bundled model,
else a random-weight 128 px bundle of the default model's shape.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = (
    "import sys; from ganpaint.app import run_app; "
    "sys.exit(run_app(sys.argv[1], startup_time=True))"
)


def _load() -> str:
    """The 1-minute load average (a start-up time means little on a busy machine)."""
    try:
        return f"load average {os.getloadavg()[0]:.2f}"
    except OSError:  # not available on this platform
        return "load average unknown"


def measure(model: Path, runs: int = 3) -> list[float]:
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["GANPAINT_RESTORE"] = "no"
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    totals = []
    with tempfile.TemporaryDirectory() as data:
        env["GANPAINT_DATA_DIR"] = data
        env["XDG_CONFIG_HOME"] = data  # keep the user's QSettings out of it
        for _ in range(runs):
            start, spawned = time.perf_counter(), time.time()
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(model)],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            exited = time.perf_counter() - start
            line = next((x for x in out.stdout.splitlines() if x.startswith("startup:")), None)
            if line is None:
                raise RuntimeError(f"no frame: {out.stdout}{out.stderr}")
            total = float(line.rsplit("wall clock ", 1)[1].rstrip(")")) - spawned
            print(f"process start to first image {total:.2f} s   ({line}; exited after "
                  f"{exited:.2f} s; {_load()})", flush=True)  # fmt: skip
            totals.append(total)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganpaint.devtools.startup_time")
    parser.add_argument("--model", help="model bundle or generator file")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        if args.model:
            model = Path(args.model)
        else:
            from ganpaint.models.bundle import default_bundle_path

            model = default_bundle_path()
            if not (model / "bundle.json").is_file():
                from ganpaint.devtools.demo_bundle import make_demo_bundle

                model = make_demo_bundle(Path(work) / "demo128", (256, 256, 256, 128, 64, 32), 512)
        totals = measure(model, args.runs)
    median = sorted(totals)[len(totals) // 2]
    print(
        f"median {median:.2f} s over {len(totals)} runs ({model}; {_load()}, {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
