"""``ganpaint bench``: edit-to-frame latency of the naive and the optimised path."""

from __future__ import annotations

import argparse
import json

from ganpaint.cli.options import check_at_least


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure edit-to-frame latency (naive, optimised, incremental) and the ceiling",
        description="Render a scripted drag (a default-size brush moved across the image in "
        "small steps) through the naive per-request path, the app's optimised full path and "
        "the incremental path in one run; print p50/p95 latency, their ratios, the mean "
        "fraction of the work the incremental path recomputes and its largest difference "
        "from the full frames, the measured crossover where full frames are as fast, GFLOP "
        "per frame, achieved GFLOP/s, a matrix-multiply ceiling and the FLOP floor, and the "
        "dissection throughput. Figures are measurements, not pass/fail checks.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", help="bundle folder or checkpoint (default: the bundled model)")
    which.add_argument(
        "--arch", choices=["progan256"], help="random weights with the official LSUN widths"
    )
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--frames", type=int, default=30, help="frames per path (default 30)")
    p.add_argument("--layer", default=None, help="edit layer (default: the model's default)")
    p.add_argument(
        "--precision",
        choices=["fp32", "fp16", "bf16"],
        default=None,
        help="optimised path precision (default: fp16 on CUDA, fp32 on CPU)",
    )
    p.add_argument("--no-cuda-graphs", action="store_true", help="disable CUDA graph replay")
    p.add_argument(
        "--channels-last",
        choices=["on", "off"],
        default=None,
        help="channels_last memory format (default: on for the CPU, off for CUDA)",
    )
    p.add_argument(
        "--dissect-samples",
        type=int,
        default=64,
        help="samples for the dissection throughput figure (0 to skip)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch (default: what the app uses, see render_threads())",
    )
    p.add_argument(
        "--zero",
        default=None,
        help="units zeroed in every frame, as View > Clean artifacts does: 'stored' (the "
        "bundle's artifact_units) or LAYER:U,U[/LAYER:U,...]",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_bench)


def _zeroed(spec: str | None, dissection) -> dict[str, list[int]] | None:
    from ganpaint.core.errors import GanpaintError

    if spec is None:
        return None
    if spec == "stored":
        found = dissection.artifact_units() if dissection is not None else {}
        if not found:
            raise GanpaintError("--zero stored: the model's dissection has no artifact_units")
        return {k: list(v) for k, v in found.items()}
    try:
        pairs = [part.split(":", 1) for part in spec.split("/")]
        return {layer.strip(): [int(u) for u in units.split(",")] for layer, units in pairs}
    except ValueError:
        raise GanpaintError(
            f"--zero: expected 'stored' or LAYER:U,U[/LAYER:...], got {spec!r}"
        ) from None


def _check_ranges(args: argparse.Namespace) -> None:
    from ganpaint.core.errors import GanpaintError

    if not 1 <= args.frames <= 100_000:
        raise GanpaintError(f"--frames must be in 1..100000, got {args.frames}")
    if args.threads is not None and not 1 <= args.threads <= 1024:
        raise GanpaintError(f"--threads must be in 1..1024, got {args.threads}")
    check_at_least(dissect_samples=(args.dissect_samples, 0))


def _bench_model(args: argparse.Namespace):
    """(generator, name, dissection, layer, bundle) for ``--arch`` or ``--model``."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.engine.bench import random_progan256
    from ganpaint.models import load_bundle

    if args.arch == "progan256":
        gen, name, dissection, layer, bundle = (
            random_progan256(),
            "progan256-random",
            None,
            None,
            None,
        )
    else:
        bundle = load_bundle(args.model)
        gen, name, dissection = bundle.generator, bundle.name, bundle.dissection
        layer = bundle.default_layer
    layer = args.layer or layer
    if layer is not None and layer not in gen.layer_names:
        raise GanpaintError(f"--layer {layer!r} is not a layer of {name}")
    return gen, name, dissection, layer, bundle


def _bench(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.engine.bench import run_bench

    _check_ranges(args)
    import torch

    from ganpaint.core.threads import render_threads

    torch.set_num_threads(args.threads or render_threads())
    gen, name, dissection, layer, bundle = _bench_model(args)
    options = {
        "precision": args.precision,
        "cuda_graphs": not args.no_cuda_graphs,
        "channels_last": None if args.channels_last is None else args.channels_last == "on",
    }
    dissect_fn = None
    if args.dissect_samples > 0:
        from ganpaint.dissect.throughput import dissect_throughput

        def dissect_fn(device):
            return dissect_throughput(gen, bundle, device, args.dissect_samples)

    try:
        zeroed = _zeroed(args.zero, dissection)
        result = run_bench(
            gen, name, args.device, args.frames, layer, dissection, options, dissect_fn, zeroed
        )
        result["zeroed"] = zeroed
    except ValueError as exc:
        raise GanpaintError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_result(result)
    return 0


def _print_result(result: dict) -> None:
    print(f"model      {result['model']}  layer {result['layer']}")
    print(
        f"device     {result['device']}  precision {result['precision']}"
        f"{'  cuda graphs' if result['cuda_graphs'] else ''}"
    )
    print(
        f"work       {result['gflop_per_frame']:.2f} GFLOP per frame "
        f"({result['gflop_full_forward']:.2f} for a full forward)"
    )
    print(
        f"ceiling    {result['ceiling_gflops']:.0f} GFLOP/s (matmul, same run) -> floor "
        f"{result['floor_ms']:.2f} ms"
    )
    for key in ("naive", "optimised"):
        r = result[key]
        print(f"{key:<10} p50 {r['p50_ms']:8.2f} ms   p95 {r['p95_ms']:8.2f} ms")
    inc = result["incremental"]
    print(
        f"incremental p50 {inc['p50_ms']:7.2f} ms   p95 {inc['p95_ms']:8.2f} ms   "
        f"= {inc['over_optimised']:.2f}x optimised, {inc['over_floor']:.2f}x floor"
    )
    print(
        f"            recomputes {inc['dirty_fraction']:.1%} of the work per step on average "
        f"({inc['full_frames']} full frames), max {inc['max_diff_levels']} levels from the full "
        f"path over every frame, {inc['state_mb']:.1f} MiB kept"
    )
    print(
        f"            full frames are as fast from {inc['crossover']['work_fraction']:.0%} of "
        f"the work (measured); the renderer switches above {inc['full_above']:.0%}"
    )
    print(
        f"speedup    {result['speedup']:.2f}x   optimised = {result['optimised_over_floor']:.2f}x "
        f"floor, {result['achieved_gflops']:.0f} GFLOP/s achieved"
    )
    d = result["image_diff"]
    print(
        f"agreement  last frame differs from naive by {d['mean']:.3f} levels mean, "
        f"{d['max']} max (of 255)"
    )
    if result["dissect_samples_per_s"] is not None:
        print(f"dissection {result['dissect_samples_per_s']:.1f} samples/s")
