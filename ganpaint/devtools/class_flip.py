"""Find a scene and a stroke that turn the scene classifier's reading, for demos and the GUI
test: ``python -m ganpaint.devtools.class_flip [--source house] [--target church]
[--concept dome] [--layer layer4] [--first 0] [--count 150] [--model PATH]``.

Opens the main window offscreen on the model (default: the bundled one) with its Classifier
panel open, and walks the generator's dissection samples (z seeds from the dissection's
``seed_base``, never held-out scenes) from ``--first`` on. For each scene the panel reads as
``--source`` with at least 60 %, it drags the app's own ``--concept`` brush across the upper
middle of the picture at a few heights and two sizes, reads the frame, and undoes the stroke.
It prints every stroke tried and, last, the ones that turned the reading to ``--target``
(seed, brush size, stroke in image pixels, probabilities before and after) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

MIN_SOURCE = 0.6
SIZES = (0.1, 0.13)
HEIGHTS = (0.3, 0.43, 0.47)  # stroke height as a fraction of the picture (roofs are there)


def strokes(side: int) -> list[tuple[float, list[tuple[float, float]]]]:
    """(brush size, drag points in image pixels) for each stroke tried on a scene."""
    out = []
    for size in SIZES:
        for h in HEIGHTS:
            y = side * h
            out.append((size, [(side * 0.3125, y), (side * 0.5, y), (side * 0.6875, y)]))
    return out


def find_flips(model, source: str, target: str, concept: str, layer: str | None,
               first: int, count: int, log=print) -> list[dict]:  # fmt: skip
    """The strokes that turned ``source`` into ``target`` (see the module docstring)."""
    w = _open(model, layer)
    try:
        view = w.classifier_view
        if source not in view.classes or target not in view.classes:
            raise RuntimeError(f"classes are {', '.join(view.classes)}")
        base = w.models.bundle.dissection.seed_base if w.models.bundle.dissection else 0
        hits: list[dict] = []
        for seed in range(base + first, base + first + count):
            hits += _try_scene(w, seed, source, target, concept, log)
        return hits
    finally:
        w.close()


def _open(model, layer: str | None):
    """The main window on ``model`` with the Classifier panel open, at ``layer``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ganpaint.app import create_window
    from ganpaint.app.views.launch import wait_until
    from ganpaint.app.views.scripting import scratch_settings

    tmp = tempfile.mkdtemp(prefix="ganpaint-class-flip-")
    w = create_window(model, settings=scratch_settings(tmp), restore=False, data_dir=tmp)
    w.prompts.answers["save_changes"] = "discard"
    w.resize(1200, 800)
    w.show()
    if not wait_until(lambda: w.frames.frames > 0, 120):
        w.close()
        raise RuntimeError("no first frame")
    if not w.classifier_view.available:
        w.close()
        raise RuntimeError("the model has no scene classifier")
    w.classifier_view.show_panel(True)
    if layer:
        w.document.set_layer(layer)
    return w


def _read(w):
    from ganpaint.app.views.launch import wait_until

    view = w.classifier_view
    if not wait_until(lambda: w.frames.shown_revision == w.document.revision
                      and view.shown is not None
                      and view.shown.token == w.frames.frames, 120):  # fmt: skip
        raise RuntimeError("no reading in time")
    return view.shown.reading


def _try_scene(w, seed: int, source: str, target: str, concept: str, log) -> list[dict]:
    from ganpaint.app.views.scripting import drag_canvas

    w.document.reset()
    w.document.set_seed(seed)
    before = _read(w)
    if before.top_class != source or before.top_prob < MIN_SOURCE:
        return []
    log(f"seed {seed}: {source} {before.top_prob:.2f}")
    hits = []
    for size, points in strokes(w.models.bundle.generator.resolution):
        w.brush.update(concept=concept, action="draw", size=size)
        widget = [w.canvas.from_image(x, y) for x, y in points]
        drag_canvas(w, [(p.x(), p.y()) for p in widget], 8)
        after = _read(w)
        log(f"  size {size} {points[0]}->{points[-1]}: {after.top_class} {after.top_prob:.2f}")
        if after.top_class == target:
            hits.append({"seed": seed, "layer": w.document.layer, "size": size,
                         "points": points, "before": before.probs.round(3).tolist(),
                         "after": after.probs.round(3).tolist()})  # fmt: skip
        w.document.undo()
    return hits


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.class_flip",
                                description=__doc__.split("\n\n")[1])  # fmt: skip
    p.add_argument("--model", help="bundle folder (default: the bundled model)")
    p.add_argument("--source", default="house")
    p.add_argument("--target", default="church")
    p.add_argument("--concept", default="dome")
    p.add_argument("--layer", default="layer4")
    p.add_argument("--first", type=int, default=0, help="first dissection sample (default 0)")
    p.add_argument("--count", type=int, default=150, help="dissection samples (default 150)")
    args = p.parse_args(argv)
    try:
        hits = find_flips(args.model, args.source, args.target, args.concept, args.layer,
                          args.first, args.count)  # fmt: skip
    except RuntimeError as exc:
        print(f"class-flip: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(hits, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
