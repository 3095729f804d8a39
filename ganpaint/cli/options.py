"""Option parsing shared by several commands: lists of layer names."""

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
