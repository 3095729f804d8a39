"""The edit: layer hooks, the intervention rule, the edit document and rendering.

Headless (no Qt). See docs/ARCHITECTURE.md for the edit and how rendering keeps up.
"""

from ganpaint.core.seeds import z_from_seed, zs_from_seeds
from ganpaint.engine.compose import FoldChain, compose_edits, fold_edit
from ganpaint.engine.document import DocumentSnapshot, EditDocument, Stroke
from ganpaint.engine.hooks import StopForward, Trace, TraceDict, layer_shapes
from ganpaint.engine.incremental import IncrementalTail
from ganpaint.engine.intervention import UnitEdit, apply_edit, apply_strokes, resample_mask
from ganpaint.engine.levels import UnitLevels
from ganpaint.engine.renderer import (
    Renderer,
    RenderResult,
    to_uint8,
)

__all__ = [
    "DocumentSnapshot",
    "EditDocument",
    "FoldChain",
    "IncrementalTail",
    "RenderResult",
    "Renderer",
    "StopForward",
    "Stroke",
    "Trace",
    "TraceDict",
    "UnitEdit",
    "UnitLevels",
    "apply_edit",
    "apply_strokes",
    "compose_edits",
    "fold_edit",
    "layer_shapes",
    "resample_mask",
    "to_uint8",
    "z_from_seed",
    "zs_from_seeds",
]
