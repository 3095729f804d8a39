"""The edit: layer hooks, the intervention rule, the edit document and rendering.

Headless (no Qt). See docs/ARCHITECTURE.md for the edit and how rendering keeps up.
"""

from ganpaint.core.lazy import lazy_exports

# Exports load on first use (see ganpaint.core.lazy): a light submodule does not pull torch.
_EXPORTS = {
    "z_from_seed": "ganpaint.core.seeds",
    "zs_from_seeds": "ganpaint.core.seeds",
    "compose_edits": "ganpaint.engine.compose",
    "fold_edit": "ganpaint.engine.compose",
    "FoldChain": "ganpaint.engine.compose",
    "IncrementalTail": "ganpaint.engine.incremental",
    "DocumentSnapshot": "ganpaint.engine.document",
    "EditDocument": "ganpaint.engine.document",
    "Stroke": "ganpaint.engine.document",
    "StopForward": "ganpaint.engine.hooks",
    "Trace": "ganpaint.engine.hooks",
    "TraceDict": "ganpaint.engine.hooks",
    "layer_shapes": "ganpaint.engine.hooks",
    "UnitEdit": "ganpaint.engine.intervention",
    "apply_edit": "ganpaint.engine.intervention",
    "apply_strokes": "ganpaint.engine.intervention",
    "resample_mask": "ganpaint.engine.intervention",
    "UnitLevels": "ganpaint.engine.levels",
    "PictureBase": "ganpaint.engine.picture",
    "composite": "ganpaint.engine.picture_net",
    "picture_generator": "ganpaint.engine.picture_net",
    "Renderer": "ganpaint.engine.renderer",
    "RenderResult": "ganpaint.engine.renderer",
    "to_uint8": "ganpaint.engine.renderer",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "DocumentSnapshot",
    "EditDocument",
    "FoldChain",
    "IncrementalTail",
    "PictureBase",
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
    "composite",
    "compose_edits",
    "fold_edit",
    "layer_shapes",
    "picture_generator",
    "resample_mask",
    "to_uint8",
    "z_from_seed",
    "zs_from_seeds",
]
