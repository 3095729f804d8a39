"""The ``ganpaint`` command: argument parsing, progress output and exit codes only.

Each module ``ganpaint/cli/*_cmd.py`` defines ``register(subparsers)`` which adds its
subcommands; handlers import the heavy packages lazily so ``ganpaint --help`` stays fast.
A handler returns an exit code. :class:`ganpaint.core.errors.GanpaintError` becomes a one-line
message on stderr and exit code 2. With no subcommand, the app opens.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

from ganpaint import __version__
from ganpaint.core.errors import GanpaintError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand found in ``ganpaint.cli``."""
    parser = argparse.ArgumentParser(
        prog="ganpaint",
        description="GANPaint desktop: paint with the dissected units of a scene GAN.",
    )
    parser.add_argument("--version", action="version", version=f"ganpaint {__version__}")
    parser.add_argument("--model", help="model bundle folder or official .pth to open in the app")
    parser.add_argument("--project", help="a .ganpaint project file to open in the app")
    parser.add_argument("--device", help="cpu, cuda or mps (default: best available)")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the model offscreen, paint one stroke, wait for the edited frame and exit "
        "(0 when it works)",
    )
    parser.set_defaults(handler=_run_app)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    package = importlib.import_module("ganpaint.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            module = importlib.import_module(f"ganpaint.cli.{info.name}")
            module.register(sub)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from ganpaint.app import run_app

    return run_app(
        model=args.model, project=args.project, device=args.device, self_test=args.self_test
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except GanpaintError as exc:
        print(f"ganpaint: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganpaint: interrupted", file=sys.stderr)
        return 130
