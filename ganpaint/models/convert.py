"""A model bundle folder made from a bare generator checkpoint (``ganpaint convert``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganpaint.core.errors import GanpaintError
from ganpaint.models.bundle import write_bundle_json
from ganpaint.models.checkpoint import load_generator, save_generator


def convert_checkpoint(
    checkpoint: str | Path,
    output: str | Path,
    name: str | None = None,
    edit_layers: list[str] | None = None,
) -> dict[str, Any]:
    """Write ``output`` (a new or empty folder) with the checkpoint's weights as
    ``generator.safetensors`` and its ``bundle.json``; returns the bundle metadata. Edit
    layers default to ``layer4`` (else the middle layer)."""
    gen = load_generator(checkpoint)
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise GanpaintError(f"{out}: a file is there; name a new folder")
    if out.exists() and any(out.iterdir()):
        raise GanpaintError(f"{out}: exists and is not empty; choose a new folder")
    layers = edit_layers or (["layer4"] if "layer4" in gen.layer_names else None)
    for layer in layers or []:
        if layer not in gen.layer_names:
            raise GanpaintError(f"--edit-layers: {layer!r} is not a layer of this generator")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanpaintError(f"{out}: cannot make the folder ({exc.strerror or exc})") from None
    save_generator(gen, out / "generator.safetensors")
    meta = {
        "name": name or Path(checkpoint).stem,
        "architecture": "progan",
        "widths": list(gen.widths),
        "z_dim": gen.z_dim,
        "resolution": gen.resolution,
        "edit_layers": layers or [gen.layer_names[len(gen.layer_names) // 2]],
        "concepts": [],
        "source": {"file": Path(checkpoint).name},
    }
    write_bundle_json(out, meta)
    return meta
