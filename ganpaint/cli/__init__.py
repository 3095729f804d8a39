"""The ``ganpaint`` command: argument parsing, progress output and exit codes only.

Each module ``ganpaint/cli/*_cmd.py`` defines ``register(subparsers)`` which adds its
subcommands; handlers import the heavy packages lazily so ``ganpaint --help`` stays fast.
A handler returns an exit code. :class:`ganpaint.core.errors.GanpaintError` becomes a one-line
message on stderr and exit code 2, and so does running out of memory (a count far beyond
the machine, such as ``--samples 100000000``). The program's entry point,
:mod:`ganpaint.main`, adds what opens the app (no subcommand) and the developer-backed
commands to this parser.
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
Register = Callable[[argparse._SubParsersAction], None]


def build_parser(extra: Sequence[Register] = ()) -> argparse.ArgumentParser:
    """The parser with every subcommand found in ``ganpaint.cli``, then those ``extra``
    registers; with no subcommand it prints the usage."""
    parser = argparse.ArgumentParser(
        prog="ganpaint",
        description="GANPaint desktop: paint with the dissected units of a scene GAN.",
    )
    parser.add_argument("--version", action="version", version=f"ganpaint {__version__}")
    parser.set_defaults(handler=lambda _args: _usage(parser))
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    package = importlib.import_module("ganpaint.cli")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            module = importlib.import_module(f"ganpaint.cli.{info.name}")
            module.register(sub)
    for register in extra:
        register(sub)
    return parser


def _is_torch_oom(exc: RuntimeError) -> bool:
    """torch's out-of-memory errors: ``torch.OutOfMemoryError`` (GPU) and the CPU
    allocator's plain RuntimeError."""
    oom = getattr(sys.modules.get("torch"), "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or "can't allocate memory" in str(exc)


def _out_of_memory(exc: BaseException) -> int:
    """A command asked for more memory than the machine has: one line, exit code 2."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    print(
        f"ganpaint: error: not enough memory ({detail}); ask for fewer samples, scenes or "
        "steps, or a smaller batch",
        file=sys.stderr,
    )
    return 2


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the commands; returns the process exit code."""
    return run(build_parser(), argv)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with ``parser`` and run the chosen handler; returns the exit code."""
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except GanpaintError as exc:
        print(f"ganpaint: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # numpy's and Python's; torch's below
        return _out_of_memory(exc)
    except RuntimeError as exc:
        if not _is_torch_oom(exc):
            raise
        return _out_of_memory(exc)
    except KeyboardInterrupt:
        print("ganpaint: interrupted", file=sys.stderr)
        return 130
