"""``ganpaint samples``: a sheet of generated samples (seeds from a start, or the best drawn
indexed scenes) beside rendered scenes of the world."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "samples",
        help="write a PNG of generated samples beside rendered scenes",
        description="Generate --count samples (z from seeds --start-seed...) with a model and "
        "render as many scenes of the procedural world at the model's resolution; write both "
        "grids side by side (generated left, rendered right) into one PNG.",
    )
    p.add_argument("--model", default=None, help="bundle folder or checkpoint (default: bundled)")
    p.add_argument("--count", type=int, default=64, help="images per side (a square number)")
    p.add_argument("--start-seed", type=int, default=0, help="first seed of both sides")
    p.add_argument(
        "--best",
        action="store_true",
        help="the model's best drawn indexed scenes, best first, instead of seeds from "
        "--start-seed (its scene index must have distances: ganpaint learn-defaults MODEL "
        "--index-only)",
    )
    p.add_argument("--no-scenes", action="store_true", help="only the generated samples")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.set_defaults(handler=_samples)


def _samples(args: argparse.Namespace) -> int:
    import math

    import numpy as np
    import torch
    from PIL import Image

    from ganpaint.core.errors import GanpaintError
    from ganpaint.core.images import image_grid
    from ganpaint.core.seeds import MAX_SEED, zs_from_seeds
    from ganpaint.engine.renderer import to_uint8
    from ganpaint.models import load_bundle

    columns = math.isqrt(max(args.count, 0))
    if args.count < 1 or args.count > 1024 or columns * columns != args.count:
        raise GanpaintError(f"--count must be a square number in 1..1024, got {args.count}")
    if not 0 <= args.start_seed <= MAX_SEED + 1 - args.count:
        raise GanpaintError(
            f"--start-seed must be in 0..{MAX_SEED + 1 - args.count} (seeds end at "
            f"{MAX_SEED}), got {args.start_seed}"
        )
    bundle = load_bundle(args.model)
    gen = bundle.generator
    seeds = range(args.start_seed, args.start_seed + args.count)
    samples = _best_drawn(bundle, args.count) if args.best else list(seeds)
    with torch.inference_mode():
        images = np.concatenate(
            [
                to_uint8(gen(zs_from_seeds(samples[i : i + 16], gen.z_dim)))
                for i in range(0, len(samples), 16)
            ]
        )
    sheet = image_grid(images, columns, fill=255)
    if not args.no_scenes:
        from ganpaint.scenes import render_scene

        scenes = np.stack([render_scene(s, gen.resolution)[0] for s in seeds])
        gap = np.full((sheet.shape[0], max(gen.resolution // 8, 4), 3), 255, np.uint8)
        sheet = np.concatenate([sheet, gap, image_grid(scenes, columns, fill=255)], axis=1)
    try:
        Image.fromarray(sheet).save(args.output)
    except (OSError, ValueError) as exc:  # no such folder, an unknown file type
        raise GanpaintError(f"cannot write {args.output}: {exc}") from None
    print(
        f"wrote {args.output}: {args.count} generated" + ("" if args.no_scenes else " + rendered")
    )
    return 0


def _best_drawn(bundle, count: int) -> list[int]:
    """The ``count`` indexed seeds whose images lie nearest the world's scenes, best first."""
    from ganpaint.core.errors import GanpaintError

    index = bundle.dissection.scene_index if bundle.dissection is not None else None
    if index is None or not index.distance:
        raise GanpaintError(
            f"--best: {bundle.name} has no scene index with distances (ganpaint learn-defaults "
            "MODEL --index-only writes one for a bundle with its own segmenter)"
        )
    if count > len(index.seeds):
        raise GanpaintError(f"--best: the index holds {len(index.seeds)} scenes, not {count}")
    order = sorted(range(len(index.seeds)), key=lambda i: index.distance[i])
    return [index.seeds[i] for i in order[:count]]
