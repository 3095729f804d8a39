"""Network definitions and checkpoint I/O: the ProGAN generator, safe loading of official
and bundled weights, model bundles and the scene segmenter."""

from ganpaint.core.lazy import lazy_exports

# Exports load on first use (see ganpaint.core.lazy): a light submodule does not pull torch.
_EXPORTS = {
    "ModelBundle": "ganpaint.models.bundle",
    "default_bundle_path": "ganpaint.models.bundle",
    "load_bundle": "ganpaint.models.bundle",
    "write_bundle_json": "ganpaint.models.bundle",
    "generator_from_state_dict": "ganpaint.models.checkpoint",
    "load_generator": "ganpaint.models.checkpoint",
    "read_state_dict": "ganpaint.models.checkpoint",
    "save_generator": "ganpaint.models.checkpoint",
    "ProGANGenerator": "ganpaint.models.progan",
    "progan_flops": "ganpaint.models.progan",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "ModelBundle",
    "ProGANGenerator",
    "default_bundle_path",
    "generator_from_state_dict",
    "load_bundle",
    "load_generator",
    "progan_flops",
    "read_state_dict",
    "save_generator",
    "write_bundle_json",
]
