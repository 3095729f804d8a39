"""The segmenter a dissection of a bundle uses, and the ids its cached results are keyed by.

:func:`bundle_segmenter` wraps the bundle's own segmenter (or a ``module:function`` given on
the command line) so that it segments images as the app shows them, and carries the
segmenter's class scores (``logits``) for the ACE optimisation.
"""

from __future__ import annotations

import importlib

import torch

from ganpaint.core.errors import BundleError, GanpaintError
from ganpaint.dissect.sampling import SegmentFn
from ganpaint.models.bundle import ModelBundle, sha256_file


def display_images(images: torch.Tensor) -> torch.Tensor:
    """Images as the app shows them: clamped to [-1, 1] and rounded to 8-bit steps."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


def generator_id(bundle: ModelBundle) -> str:
    """sha256 of the generator weights (from bundle.json when listed there)."""
    info = bundle.meta.get("files", {}).get("generator.safetensors")
    if isinstance(info, dict) and info.get("sha256"):
        return str(info["sha256"])
    path = bundle.path / "generator.safetensors" if bundle.path.is_dir() else bundle.path
    return sha256_file(path)


def load_segment_fn(spec: str) -> SegmentFn:
    """A segmentation callable named ``module:attribute`` (for tests and custom segmenters)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise GanpaintError(f"--segment-fn must look like module:function, got {spec!r}")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise GanpaintError(f"cannot load segmentation function {spec!r}: {exc}") from None
    if not callable(fn):
        raise GanpaintError(f"{spec!r} is not callable")
    return fn


def _own_segmenter(bundle: ModelBundle, device: torch.device, batch_size: int):
    """(segment, logits, id, concept names) of the bundle's segmenter."""
    model = bundle.load_segmenter()
    if model is None:
        raise BundleError(f"{bundle.path}: the bundle has no segmenter.safetensors")
    from ganpaint.models.segmenter import segment

    # channels_last now, outside any inference_mode block: converting it later inside one
    # (as segment() would on first use) turns the weights into inference tensors, which
    # the ACE optimisation cannot back-propagate through
    model = model.to(device).eval().to(memory_format=torch.channels_last)
    info = bundle.meta.get("files", {}).get("segmenter.safetensors", {})
    seg_id = str(info.get("sha256") or sha256_file(bundle.segmenter_path))

    def fn(images: torch.Tensor) -> torch.Tensor:
        return segment(model, images, batch_size=batch_size)

    def logits(images: torch.Tensor) -> torch.Tensor:
        return model(images.contiguous(memory_format=torch.channels_last))

    return fn, logits, seg_id, list(model.concepts or [])


def _concept_names(bundle: ModelBundle, names: list[str]) -> list[str]:
    """From bundle.json, else the segmenter's, else the scene world's."""
    concepts = bundle.concepts or names
    if not concepts:
        try:
            from ganpaint.scenes import CONCEPTS

            concepts = list(CONCEPTS)
        except ImportError:
            concepts = []
    if not concepts:
        raise BundleError(f"{bundle.path}: no concept names (bundle.json lists none)")
    return list(concepts)


def bundle_segmenter(
    bundle: ModelBundle, device: torch.device, spec: str | None = None, batch_size: int = 32
) -> tuple[SegmentFn, str, list[str]]:
    """(segment_fn, id for cache keys, concept names) for ``bundle``.

    ``spec`` (``module:function``) overrides the bundle's own segmenter. Concept names come
    from bundle.json, else the segmenter file, else ``ganpaint.scenes.CONCEPTS``.
    """
    if spec:
        fn = load_segment_fn(spec)
        logits = getattr(fn, "logits", None)
        seg_id = f"callable:{spec}"
        names = list(getattr(fn, "concepts", []) or [])
    else:
        fn, logits, seg_id, names = _own_segmenter(bundle, device, batch_size)
    concepts = _concept_names(bundle, names)

    def display_fn(images: torch.Tensor) -> torch.Tensor:
        return fn(display_images(images))

    if logits is not None:
        display_fn.logits = logits  # type: ignore[attr-defined]  # for ACE optimisation
    return display_fn, seg_id, concepts
