"""The engine without a window: a model's description (architecture, layer shapes, cost)
and one scene, with a project's strokes, rendered to a PNG (``ganpaint info``/``render``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.engine.document import EditDocument
from ganpaint.engine.hooks import layer_shapes
from ganpaint.engine.renderer import Renderer
from ganpaint.models.bundle import load_bundle
from ganpaint.models.progan import progan_flops


def model_info(model: str | Path | None) -> dict[str, Any]:
    """Architecture summary, layer output shapes, GFLOP per image and what the bundle holds."""
    bundle = load_bundle(model)
    gen = bundle.generator
    shapes = layer_shapes(gen, torch.zeros(1, gen.z_dim))
    info = gen.arch_summary()
    info.update(
        name=bundle.name,
        path=str(bundle.path),
        layers={k: list(v) for k, v in shapes.items()},
        gflop_per_image=round(progan_flops(gen.widths, gen.z_dim) / 1e9, 3),
        edit_layers=bundle.edit_layers,
        dissection=bundle.dissection is not None,
        segmenter=bundle.segmenter_path is not None,
    )
    return info


@dataclass(frozen=True)
class Rendered:
    """What :func:`render_to_png` wrote."""

    seed: int
    strokes: int
    ms: float
    cleaned: bool = False  # the model's artifact set was zeroed
    frames: int = 1  # images in the file (the stroke-by-stroke GIF's frames)


def render_to_png(
    output: str | Path,
    model: str | Path | None = None,
    seed: int | None = None,
    project: str | Path | None = None,
    device: str | None = None,
    scale: int = 1,
    raw: bool = False,
    clean: bool | None = None,
    before_after: str | None = None,
    steps: bool = False,
) -> Rendered:
    """Render ``seed``'s scene (with ``project``'s strokes, and its seed unless ``seed`` is
    given) and save it as a PNG, upscaled ``scale`` times (nearest). A project with a
    picture renders composited with its picture; ``raw``: the generator's reconstruction
    without the composite. ``clean``: zero the model's artifact set (True), not (False), or
    as the app starts (None: where ``ganpaint artifacts`` measured the set to help).
    ``before_after`` ("side" or "gif", :mod:`ganpaint.core.comparison`): write the
    unedited frame beside (or alternating with) the edited one; the unedited frame is the
    one the app's compare shows, of the network as it is (a picture: the picture).
    ``steps``: an animated GIF of the edit stroke by stroke (:mod:`ganpaint.engine.steps`;
    every frame with the same units zeroed)."""
    from ganpaint.core.comparison import FORMS

    if before_after is not None and before_after not in FORMS:
        raise GanpaintError(f"before_after must be one of {FORMS}, got {before_after!r}")
    bundle = load_bundle(model)
    if project:
        doc = EditDocument.load(project)
        if seed is not None:
            doc.set_seed(seed)
    else:
        doc = EditDocument(bundle.name, bundle.default_layer, seed=seed or 0)
    try:
        renderer = Renderer(bundle.generator, device, bundle.dissection)
    except ValueError as exc:
        raise GanpaintError(str(exc)) from None
    before = None
    if before_after is not None:  # first, with nothing zeroed, as the app's compare frame
        plain = renderer.render(doc.snapshot().plain(), raw=raw, incremental=False)
        if not plain.ok:
            raise GanpaintError(f"rendering failed: {plain.error}")
        before = plain.image
    zeroed = bundle.artifacts_to_zero(clean)
    if zeroed:
        renderer.set_zeroed(zeroed)
    if steps:
        return _write_steps(output, renderer, doc, scale, raw, bool(zeroed))
    result = renderer.render(doc.snapshot(), raw=raw)
    if not result.ok:
        raise GanpaintError(f"rendering failed: {result.error}")
    _write(output, result.image, scale, before, before_after)
    return Rendered(doc.seed, len(doc.snapshot().strokes), result.ms, bool(zeroed))


def _write(output, image, scale: int, before=None, form: str | None = None) -> None:
    """The PNG (or with ``before``, the before-and-after file) of a rendered frame."""
    from PIL import Image

    from ganpaint.core.comparison import save_before_after
    from ganpaint.core.images import enlarge

    try:
        if before is not None:
            save_before_after(output, before, image, form, scale)
        else:
            Image.fromarray(enlarge(image, scale)).save(output, format="PNG")
    except OSError as exc:
        raise GanpaintError(f"cannot write {output}: {exc}") from None


def _write_steps(output, renderer, doc: EditDocument, scale: int, raw: bool, cleaned: bool):
    """The stroke-by-stroke GIF of ``doc``'s visible strokes."""
    import time

    from ganpaint.core.comparison import save_steps_gif
    from ganpaint.engine.steps import render_steps

    snapshot = doc.snapshot()
    if not snapshot.strokes:
        raise GanpaintError("--steps needs a --project with at least one visible stroke")
    start = time.perf_counter()
    try:
        frames = render_steps(renderer, snapshot, raw=raw)
    except RuntimeError as exc:
        raise GanpaintError(str(exc)) from None
    ms = (time.perf_counter() - start) * 1000.0
    try:
        save_steps_gif(output, frames, scale)
    except OSError as exc:
        raise GanpaintError(f"cannot write {output}: {exc}") from None
    return Rendered(doc.seed, len(snapshot.strokes), ms, cleaned, len(frames))
