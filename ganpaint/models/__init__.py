"""Network definitions and checkpoint I/O: the ProGAN generator, safe loading of official
and bundled weights, model bundles and the scene segmenter."""

from ganpaint.models.bundle import ModelBundle, default_bundle_path, load_bundle, write_bundle_json
from ganpaint.models.checkpoint import (
    generator_from_state_dict,
    load_generator,
    read_state_dict,
    save_generator,
)
from ganpaint.models.progan import ProGANGenerator, progan_flops

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
