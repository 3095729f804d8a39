"""How fast the GAN trains with each speed option, measured on this machine's device:
``python -m ganpaint.devtools.train_speed --config scenes256 --device cuda --variants
base,channels_last,compile,channels_last+compile,batch64 --seconds 10 [--json PATH]``.

Each variant is a fresh :class:`~ganpaint.train.gan.GANTrainer` (same seed, no state, no
files kept) training on random uint8 pictures already on the device, so the figure is the
training step alone, without scenes to wait for. A variant joins names with ``+``:
``channels_last``, ``compile`` and ``graphs`` (the config's speed-only fields, see
:class:`~ganpaint.train.configs.GANConfig`), ``batchN`` (another batch size: a different
training recipe, measured for its images/s only), ``fp32`` (no bf16 autocast) and
``projected`` (the discriminator's projected heads, as the ``scenes256`` run has them since
2026-11-28; ``--speed auto`` then compares only the variants that have them) and
``highpass`` (its high-pass head, likewise). It first
runs ``--warmup`` steps (at least two R1 steps, so cuDNN's autotuning and compilation are
done; their seconds are reported, since every window pays them again), then times whole
R1 periods for at least ``--seconds``. The device is started before the first variant
(:func:`start_device`), so the first one's warm-up does not include it. Printed per
variant: warm-up seconds, steps timed, images/s, the ratio to the first variant, the
largest GPU memory allocated, and whether the last losses were finite; with ``--ops``, also
one step's host operations and FLOPs per image (:func:`count_ops`; with ``graphs`` a
replayed step is one host call, so count without it). A variant that cannot run here
(``compile`` or ``graphs`` off CUDA) is reported as skipped, and one that fails as failed
with its error (``graphs`` also where its check against eager steps turned it off), and
the others go on. ``--json PATH`` is rewritten after every variant (emptied first), so a
process that dies in a variant (a CUDA error that leaves the device unusable) keeps the
rows before it; ``--variant-limit S`` ends the process where one variant runs over S
seconds (a GPU window's probe then leaves its remaining time to the training).
"""

from __future__ import annotations

import argparse
import faulthandler
import functools
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganpaint.core.errors import GanpaintError

DATA_IMAGES = 256  # random pictures the trainer draws batches from


def parse_variant(spec: str) -> dict[str, Any]:
    """``"channels_last+batch64"`` -> config changes plus ``fp32``; refuses unknown names."""
    from ganpaint.train.configs import (
        HIGHPASS_WEIGHT,
        PROJECTED_WEIGHT,
        SPEED_OPTIONS,
        parse_speed,
    )

    speed_names, changes, fp32 = [], {}, False
    for name in (n.strip() for n in spec.split("+")):
        if name.startswith("batch") and name[5:].isdigit():
            if int(name[5:]) < 1:
                raise GanpaintError(f"variant {spec!r}: batch must be positive")
            changes["batch"] = int(name[5:])
        elif name == "fp32":
            fp32 = True
        elif name == "projected":  # the recipe's heads: their cost is paid in every step
            changes["d_projected"] = PROJECTED_WEIGHT
        elif name == "highpass":  # the high-pass head, likewise
            changes["d_highpass"] = HIGHPASS_WEIGHT
        elif name in (*SPEED_OPTIONS, "base"):
            speed_names.append(name)
        else:
            known = ", ".join(("base", *SPEED_OPTIONS, "batchN", "fp32", "projected", "highpass"))
            raise GanpaintError(f"variant {spec!r}: unknown name {name!r} (known: {known})")
    changes.update(parse_speed("+".join(speed_names)))
    return {"name": spec, "changes": changes, "fp32": fp32}


def measure(
    config: str, variant: dict[str, Any], device: str | None, seconds: float, warmup: int,
    ops: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """One variant's row (see the module docstring)."""
    import torch

    from ganpaint.core.devices import pick_device
    from ganpaint.train.configs import get_config
    from ganpaint.train.gan import GANTrainer

    dev = pick_device(device)
    cfg = get_config(config).replace(**variant["changes"])
    row: dict[str, Any] = {"variant": variant["name"], "batch": cfg.batch}
    for option in ("compile", "graphs"):
        if getattr(cfg, option) and dev.type != "cuda":
            return {**row, "skipped": f"{option} is used on CUDA only"}
    tmp = Path(tempfile.mkdtemp(prefix="ganpaint-train-speed-"))
    try:
        trainer = GANTrainer(cfg, tmp, device=dev, resume=False)
        if variant["fp32"]:
            trainer.use_bf16 = False
        gen = torch.Generator().manual_seed(0)
        r = cfg.resolution
        trainer.set_data(torch.randint(0, 256, (DATA_IMAGES, r, r, 3), generator=gen,
                                       dtype=torch.uint8))  # fmt: skip
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        row.update(_time_steps(trainer, seconds, warmup))
        if cfg.graphs:
            row.update(_graphs_row(trainer))
        if ops:
            row.update(count_ops(trainer))
        row["bf16"] = bool(trainer.use_bf16)
        if dev.type == "cuda":
            row["peak_memory_gb"] = round(torch.cuda.max_memory_allocated(dev) / 2**30, 2)
        del trainer
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _graphs_row(trainer) -> dict[str, Any]:
    """A ``graphs`` row's figures: its replays, and whether the R1 steps' graph was dropped.
    Raises where the plain steps' graph was (``train/graphs.py`` checks them): then eager
    steps were timed, not graphs."""
    graphs = trainer.graphs
    if graphs is None or not graphs.plain.active:
        why = graphs.plain.disabled if graphs is not None else "not available here"
        raise GanpaintError(f"graphs turned off: {why}")
    row: dict[str, Any] = {"graph_replays": graphs.replays}
    if not graphs.with_r1.active:  # the plain steps' graph alone was timed
        row["r1_graph_off"] = graphs.with_r1.disabled
    return row


def _time_steps(trainer, seconds: float, warmup: int) -> dict[str, Any]:
    """Warm up, then time whole R1 periods (so every variant pays R1 alike) for at least
    ``seconds``, the device synchronised at both ends."""
    from ganpaint.core.devices import synchronize

    dev, period = trainer.device, trainer.cfg.r1_every
    t0 = time.perf_counter()
    out = {}
    for _ in range(max(warmup, 2 * period)):
        out = trainer.train_step()
    synchronize(dev)
    warmup_s = time.perf_counter() - t0
    steps = 0
    t0 = time.perf_counter()
    while True:
        for _ in range(period):
            out = trainer.train_step()
        steps += period
        if time.perf_counter() - t0 >= seconds:
            synchronize(dev)
            if time.perf_counter() - t0 >= seconds:
                break
    took = time.perf_counter() - t0
    return {
        "warmup_s": round(warmup_s, 2),
        "steps": steps,
        "seconds": round(took, 2),
        "images_per_s": round(steps * trainer.cfg.batch / took, 1),
        "finite": all(math.isfinite(float(v)) for v in out.values()),
    }


def count_ops(trainer) -> dict[str, Any]:
    """What one training step without R1 asks of the host and of the arithmetic: the
    profiler's host events (operations, nested ones counted: where a GPU step at a small
    batch waits on the host issuing kernels, these, not the FLOPs, set its time) and
    ``torch.utils.flop_counter``'s FLOPs per image, each over a step of its own. The events
    under the optimisers' ``step`` are also given alone (``optimizer_ops``): off CUDA Adam
    runs tensor by tensor, while on CUDA it is fused into a few kernels, so there the other
    events are the closer count of what the host issues."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    def next_is_plain() -> None:
        while trainer.step % trainer.cfg.r1_every == 0:
            trainer.train_step()

    next_is_plain()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        trainer.train_step()
    next_is_plain()
    with FlopCounterMode(display=False) as flops:
        trainer.train_step()
    per_image = flops.get_total_flops() / 1e9 / trainer.cfg.batch

    def under_optimizer(e: Any) -> bool:
        while e.cpu_parent is not None:
            e = e.cpu_parent
        return e.name.startswith("Optimizer.step")

    events = prof.events()
    return {
        "ops_per_step": len(events),
        "optimizer_ops": sum(1 for e in events if under_optimizer(e)),
        "gflop_per_image": round(per_image, 3),
    }


def run(
    config: str, variants: list[str], device: str | None, seconds: float, warmup: int,
    log=print, ops: bool = False, on_row: Callable[[list[dict[str, Any]]], None] | None = None,
    variant_limit: float | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every variant's row, with ``vs_first``: its images/s over the first timed variant's.

    ``on_row`` gets the rows so far after each variant (``--json`` writes them then, so a
    process that dies in a later variant keeps the earlier rows). ``variant_limit``: where a
    variant runs longer than this many seconds (a hung CUDA graph capture, a compile that
    does not end), the process prints every thread's stack and exits with code 1, since a
    hung device cannot be interrupted from Python; the rows already given to ``on_row``
    stay."""
    parsed = [parse_variant(v) for v in variants]  # all refused before any is timed
    log(f"device started in {start_device(device):.1f} s (paid before the first variant)")
    rows: list[dict[str, Any]] = []
    for v in parsed:
        if variant_limit is not None:
            faulthandler.dump_traceback_later(variant_limit, exit=True)
        try:
            row = measure(config, v, device, seconds, warmup, ops)
        except Exception as exc:  # noqa: BLE001 - one variant failing must not lose the others
            row = {"variant": v["name"], "batch": "", "failed": f"{type(exc).__name__}: {exc}"}
        finally:
            if variant_limit is not None:
                faulthandler.cancel_dump_traceback_later()
        rows.append(row)
        _set_vs_first(rows)
        log(json.dumps(row))
        if on_row is not None:
            on_row(rows)
    return rows


def _set_vs_first(rows: list[dict[str, Any]]) -> None:
    timed = [r for r in rows if "images_per_s" in r]
    for r in timed:
        r["vs_first"] = round(r["images_per_s"] / timed[0]["images_per_s"], 3)


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the rows as JSON through a temporary file, so that a reader (or a process
    killed mid-write) never leaves half a file. The folder is made where it is missing: on
    a fresh GPU machine with no state carried, the plan's ``.gpu/`` does not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rows, indent=1))
    tmp.replace(path)


def start_device(device: str | None) -> float:
    """Start the device (its context, cuDNN, a bf16 convolution forward and backward) and
    return the seconds it took, so that no variant's warm-up includes it: a window pays
    it whatever its speed options, and ``window_speed.pick_speed`` compares warm-ups."""
    import torch

    from ganpaint.core.devices import pick_device, synchronize

    dev = pick_device(device)
    t0 = time.perf_counter()
    x = torch.randn(4, 8, 16, 16, device=dev, requires_grad=True)
    conv = torch.nn.Conv2d(8, 8, 3, padding=1).to(dev)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        y = conv(x)
    y.float().square().mean().backward()
    synchronize(dev)
    return time.perf_counter() - t0


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    cols = ("variant", "batch", "warmup_s", "steps", "images_per_s", "vs_first",
            "peak_memory_gb", "finite")  # fmt: skip
    if any("ops_per_step" in r for r in rows):
        cols += ("ops_per_step", "optimizer_ops", "gflop_per_image")
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    for r in rows:
        if "skipped" in r or "failed" in r:
            why = f"skipped: {r['skipped']}" if "skipped" in r else f"failed: {r['failed']}"
            lines.append(f"| {r['variant']} | {r['batch']} | {why[:200]} |")
        else:
            lines.append("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.train_speed",
                                description=__doc__.split("\n\n")[0])  # fmt: skip
    p.add_argument("--config", default="scenes256")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: best)")
    p.add_argument("--variants", default="base,channels_last",
                   help="comma list, each names joined by + (module docstring)")  # fmt: skip
    p.add_argument("--seconds", type=float, default=10.0, help="timed seconds per variant")
    p.add_argument("--warmup", type=int, default=0, help="warm-up steps (at least 2 R1 periods)")
    p.add_argument("--json", default=None, help="also write the rows to this file")
    p.add_argument("--ops", action="store_true",
                   help="also count one step's host operations and FLOPs per image")  # fmt: skip
    p.add_argument("--variant-limit", type=float, default=None, metavar="S",
                   help="exit (code 1, stacks printed) where one variant runs over S seconds; "
                   "the rows written to --json before it stay")  # fmt: skip
    args = p.parse_args(argv)
    try:
        if args.seconds <= 0 or args.warmup < 0:
            raise GanpaintError("--seconds must be positive and --warmup at least 0")
        if args.variant_limit is not None and args.variant_limit <= 0:
            raise GanpaintError("--variant-limit must be positive")
        names = [v.strip() for v in args.variants.split(",") if v.strip()]
        if not names:
            raise GanpaintError("--variants names no variant")
        from ganpaint.train.configs import get_config

        get_config(args.config)
        on_row = None
        if args.json:
            write_rows(Path(args.json), [])  # no rows of an earlier probe stay
            on_row = functools.partial(write_rows, Path(args.json))
        rows = run(args.config, names, args.device, args.seconds, args.warmup, ops=args.ops,
                   on_row=on_row, variant_limit=args.variant_limit)  # fmt: skip
    except GanpaintError as exc:
        print(f"train_speed: error: {exc}", file=sys.stderr)
        return 2
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
