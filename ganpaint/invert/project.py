"""``ganpaint invert IMAGE -o PROJECT``: a picture file to a paintable project.

The picture is read and fitted to the model's resolution by ``core.pictures.load_picture``
(which says what it did: the notes), inverted by :func:`~ganpaint.invert.inversion.
invert_picture` and saved as a ``.ganpaint`` project holding the picture (project version 2,
docs/FORMATS.md), at the bundle's default edit layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ganpaint.engine.document import EditDocument
from ganpaint.invert.inversion import Progress, invert_picture
from ganpaint.models.bundle import load_bundle


@dataclass(frozen=True)
class Inverted:
    """What :func:`invert_file` did."""

    notes: tuple[str, ...]  # what was done to the picture to fit the model
    seconds: float  # of the inversion alone
    steps: int
    path: Path


def invert_file(
    image: str | Path,
    output: str | Path,
    *,
    model: str | Path | None = None,
    steps: int | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> Inverted:
    """Invert the picture file ``image`` into ``model`` (default: the bundled one) and save
    the project ``output`` (written atomically; nothing is written on failure)."""
    from ganpaint.core.pictures import load_picture  # inv-app's reader (core/pictures.py)

    bundle = load_bundle(model)
    loaded = load_picture(image, bundle.generator.resolution)
    start = time.perf_counter()
    picture = invert_picture(bundle, loaded.pixels, steps=steps, device=device, progress=progress)
    seconds = time.perf_counter() - start
    doc = EditDocument(bundle.name, bundle.default_layer, picture=picture)
    doc.save(output)
    return Inverted(tuple(loaded.notes), seconds, int(picture.info.get("steps", 0)), Path(output))
