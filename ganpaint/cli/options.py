"""Option parsing shared by several commands: lists of layer names, and whether to zero a
model's artifact set."""

from __future__ import annotations

import argparse


def layer_names(value: str) -> list[str]:
    """One ``--layers`` word: a layer, or several joined by commas (``layer4,layer6``)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def flat_layers(groups: list[list[str]] | None) -> list[str]:
    """A ``--layers`` option given with ``nargs="+"`` and ``type=layer_names`` as one list,
    whether it was written ``layer4 layer6`` or ``layer4,layer6``."""
    return [name for group in groups or [] for name in group]


def add_layers_option(parser: argparse.ArgumentParser, what: str, default: str) -> None:
    """``--layers``: layers to ``what``, as ``layer4 layer6`` or ``layer4,layer6``; read it
    with :func:`flat_layers`."""
    parser.add_argument("--layers", nargs="+", type=layer_names,
                        help=f"layers to {what}, as layer4 layer6 or layer4,layer6 "
                        f"(default: {default})")  # fmt: skip


def add_clean_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--clean`` / ``--no-clean`` into ``args.clean`` (None: as the app starts; ``what`` is
    the command's verb, "render"), for
    :meth:`~ganpaint.models.bundle.ModelBundle.artifacts_to_zero`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--clean", dest="clean", action="store_true", default=None,
        help="zero the model's artifact set (default: as the app starts, "
        "where it was measured to help)",
    )  # fmt: skip
    group.add_argument(
        "--no-clean", dest="clean", action="store_false",
        help=f"{what} the network as it is",
    )  # fmt: skip
