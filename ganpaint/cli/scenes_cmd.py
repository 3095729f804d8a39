"""``ganpaint scenes``: contact sheets of the procedural scene world and its speed."""

from __future__ import annotations

import argparse

from ganpaint.cli.options import check_positive

GRID_COLUMNS = 8


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scenes",
        help="render procedural training scenes to a contact sheet, or time the renderer",
        description="Render the procedural scene world that trains the bundled GAN and\n"
        "segmenter (sky, clouds, mountains, grass, trees, paths, brick buildings with\n"
        "roofs, domes, doors and windows).\n\n"
        "--grid PNG  write a contact sheet, 8 scenes per row; with --labels each scene\n"
        "            is followed by its label map in the concepts' display colours.\n"
        "--bench     time render_scene in this one process and print scenes/s.",
        epilog="examples:\n  ganpaint scenes --grid sheet.png --count 32 --labels\n"
        "  ganpaint scenes --bench --size 128 --count 500",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--grid", metavar="PNG", help="write a contact sheet to this PNG file")
    mode.add_argument(
        "--bench", action="store_true", help="time single-process rendering (scenes/s)"
    )
    p.add_argument(
        "--count",
        type=int,
        default=None,
        help="number of scenes (default: 64 for --grid, 500 for --bench)",
    )
    p.add_argument("--size", type=int, default=128, help="scene side in pixels, 16-1024")
    p.add_argument("--start-seed", type=int, default=0, help="first scene seed (default 0)")
    p.add_argument(
        "--labels", action="store_true", help="with --grid: show each scene's label map after it"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="with --grid: worker processes (default: all CPU cores)",
    )
    p.set_defaults(handler=_scenes)


def _check(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError

    if not 16 <= args.size <= 1024:
        raise GanpaintError(f"--size must be in 16..1024 pixels, got {args.size}")
    count = args.count if args.count is not None else (500 if args.bench else 64)
    check_positive(count=count)
    if args.start_seed < 0:
        raise GanpaintError(f"--start-seed must be >= 0, got {args.start_seed}")
    check_positive(workers=args.workers)
    return count


def _scenes(args: argparse.Namespace) -> int:
    count = _check(args)
    if args.bench:
        return _bench(count, args.size, args.start_seed)
    return _grid(args.grid, count, args.size, args.start_seed, args.labels, args.workers)


def _bench(count: int, size: int, start: int) -> int:
    import time

    from ganpaint.scenes import render_scene

    render_scene(start, size)  # warm caches and imports
    t0 = time.perf_counter()
    c0 = time.process_time()
    for seed in range(start, start + count):
        render_scene(seed, size)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(
        f"{count} scenes at {size}x{size} px in {wall:.2f} s (single process): "
        f"{count / wall:.1f} scenes/s wall, {count / max(cpu, 1e-9):.1f} scenes/s CPU time"
    )
    return 0


def _grid(path: str, count: int, size: int, start: int, labels: bool, workers: int | None) -> int:
    from PIL import Image

    from ganpaint.core.errors import GanpaintError
    from ganpaint.core.images import image_grid
    from ganpaint.scenes import colorize_labels, render_dataset

    rgb, lab = render_dataset(count, size, start_seed=start, workers=workers)
    tiles = []
    for k in range(count):
        tiles.append(rgb[k])
        if labels:
            tiles.append(colorize_labels(lab[k]))
    sheet = image_grid(tiles, min(GRID_COLUMNS, len(tiles)))
    try:
        Image.fromarray(sheet).save(path)
    except (OSError, ValueError) as exc:
        raise GanpaintError(f"cannot write {path}: {exc}") from exc
    print(f"wrote {path}: {count} scenes, {sheet.shape[1]}x{sheet.shape[0]} px")
    return 0
