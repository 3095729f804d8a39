"""``ganpaint info``, ``convert`` and ``render``: inspect a model, bundle a checkpoint, render
a scene headless."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganpaint.cli.options import add_clean_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="describe a model: architecture, widths, layers with shapes, parameters",
        description="Print a model's architecture, channel widths, every layer's output shape "
        "and its parameter count. MODEL is a bundle folder, .pth or .safetensors file.",
    )
    p.add_argument("model", help="bundle folder or generator checkpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_info)

    p = sub.add_parser(
        "convert",
        help="turn an official ProGAN checkpoint (.pth) into a model bundle folder",
        description="Read a generator checkpoint in the GAN Dissection ProGAN layout (safely: "
        "no code in it can run) and write a bundle folder with generator.safetensors and "
        "bundle.json. Label its units later with custom concepts (ganpaint concept).",
    )
    p.add_argument("checkpoint", help=".pth or .safetensors generator file")
    p.add_argument("-o", "--output", required=True, help="new bundle folder")
    p.add_argument("--name", default=None, help="model name (default: the file name)")
    p.add_argument("--edit-layers", nargs="+", default=None, help="default: layer4")
    p.set_defaults(handler=_convert)

    p = sub.add_parser(
        "render",
        help="render one scene (optionally with a project's strokes) to a PNG",
        description="Render the scene for --seed with a model, headless. With --project, the "
        "project's strokes are applied (its seed is used unless --seed is given); a project "
        "made by 'ganpaint invert' renders its picture, painted where its strokes reach.",
    )
    p.add_argument("--model", default=None, help="bundle folder or checkpoint (default: bundled)")
    p.add_argument("--seed", type=int, default=None, help="scene seed, 0..2**32-1")
    p.add_argument("--project", default=None, help="a .ganpaint project whose strokes to apply")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--scale", type=int, default=1, help="upscale the PNG by this factor (1-16)")
    p.add_argument("-o", "--output", required=True, help="PNG file to write (GIF for "
                   "--before-after gif and --steps)")  # fmt: skip
    slides = p.add_mutually_exclusive_group()
    slides.add_argument(
        "--steps",
        action="store_true",
        help="for slides: an animated GIF of the edit stroke by stroke (the scene, then each "
        "stroke of --project added in turn, up to 60 frames; the last held two seconds)",
    )
    slides.add_argument(
        "--before-after",
        choices=("side", "gif"),
        default=None,
        help="for slides: the unedited frame (as the app's compare shows it) beside the edited "
        "one in a PNG (side; a transparent gap between), or the two alternating each second in "
        "an animated GIF (gif)",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="a picture project: the generator's reconstruction, without the composite",
    )
    add_clean_option(p, "render")
    p.set_defaults(handler=_render)


def _convert(args: argparse.Namespace) -> int:
    from ganpaint.models.convert import convert_checkpoint

    meta = convert_checkpoint(args.checkpoint, args.output, args.name, args.edit_layers)
    out = Path(args.output)
    res = meta["resolution"]
    print(f"wrote bundle {out} ({res} px, edit layers {', '.join(meta['edit_layers'])})")
    return 0


def _info(args: argparse.Namespace) -> int:
    from ganpaint.engine.headless import model_info

    info = model_info(args.model)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"model        {info['name']}  ({info['path']})")
    print(f"architecture ProGAN, {info['resolution']}x{info['resolution']} px, z {info['z_dim']}")
    print(f"widths       {', '.join(str(w) for w in info['widths'])}")
    print(f"parameters   {info['parameters']:,}")
    print(f"GFLOP/image  {info['gflop_per_image']}")
    print(f"edit layers  {', '.join(info['edit_layers'])}")
    print(f"dissection   {'yes' if info['dissection'] else 'no'}")
    print(f"segmenter    {'yes' if info['segmenter'] else 'no'}")
    print("layers")
    for name, shape in info["layers"].items():
        print(f"  {name:<18} {' x '.join(str(s) for s in shape)}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.engine.headless import render_to_png

    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise GanpaintError(f"--seed must be in 0..{2**32 - 1}, got {args.seed}")
    if not 1 <= args.scale <= 16:
        raise GanpaintError(f"--scale must be in 1..16, got {args.scale}")
    want = ".gif" if args.before_after == "gif" or args.steps else ".png"
    if Path(args.output).suffix.lower() != want:
        what = "an animated GIF" if want == ".gif" else "a PNG"
        raise GanpaintError(f"{args.output}: this writes {what}; name the file *{want}")
    done = render_to_png(
        args.output, args.model, args.seed, args.project, args.device, args.scale, args.raw,
        args.clean, args.before_after, args.steps,
    )  # fmt: skip
    cleaned = ", artifacts cleaned" if done.cleaned else ""
    frames = f", {done.frames} frames" if args.steps else ""
    print(f"wrote {args.output} (seed {done.seed}, {done.strokes} strokes{frames}, "
          f"{done.ms:.1f} ms{cleaned})")  # fmt: skip
    return 0
