"""The program's entry point: ``ganpaint`` (``[project.scripts]``, ``python -m ganpaint`` and
the standalone build all call :func:`main`).

It takes the commands' parser from :mod:`ganpaint.cli`, adds the ``drag-bench`` command that
:mod:`ganpaint.devtools.drag_bench` carries, and makes "no command" open the app
(``--model``, ``--project``, ``--device``, ``--self-test``). It is the only module that sees
the commands, the app and the developer scripts together. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ganpaint import cli
from ganpaint.devtools import drag_bench


def build_parser() -> argparse.ArgumentParser:
    """Every command, plus the app's options for a run without one."""
    parser = cli.build_parser(extra=(drag_bench.register,))
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
    return parser


def _run_app(args: argparse.Namespace) -> int:
    if args.self_test and args.project:
        from ganpaint.core.errors import GanpaintError

        raise GanpaintError(
            "--self-test checks the app on a model and opens no project; leave out --project"
        )
    from ganpaint.app import run_app

    return run_app(
        model=args.model, project=args.project, device=args.device, self_test=args.self_test
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program; returns the process exit code."""
    return cli.run(build_parser(), argv)
