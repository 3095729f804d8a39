"""Short classifier experiments for the concept count of its last layer: ``python -m
ganpaint.devtools.classifier_probe [--rule shipped|chalet-track|entrance] [--scenes 12000]
[--epochs 4] [--pool avg|max] [--widths 16,M,32,...] [--dropout 0.5] [--zoom 1]
[--act-l1 0] [--dissect-scenes 300] [--device cpu] [--json]``.

It trains a classifier as ``ganpaint classifier train`` does (its own
:func:`~ganpaint.classify.train.train_classifier` at the command's defaults, then the
default head refit), with the changes asked for, and dissects it as ``ganpaint classifier
dissect`` does (:func:`~ganpaint.classify.dissect.dissect_classifier`) on the first
``--dissect-scenes`` training scenes. It prints the accuracy on the choosing scenes (never
the held-out ones) after each pass and after the refit, the class frequencies, and for the
last ``--layers`` conv layers the concepts that label units (IoU > 0.04) at their best level
and at the fixed top 1 %, with the number of units of each. Nothing is written to a bundle;
``--save FILE`` keeps the weights.

The short runs of docs/CLASSIFIER.md (12,000 scenes x 4 passes, 300 dissection scenes)
were session scripts over the same two functions until this command. The rules
other than the shipped one (:func:`ganpaint.scenes.scene_class`) are tried here only:

* ``chalet-track``: ``church`` (dome >= 2 %), ``landscape`` (buildings < 6 %), ``close-up``
  (buildings >= 35 %), ``chalet`` (mountain >= 2 %), ``track`` (path >= 4 %), ``house``
  (the rest), first match wins: classes that need mountain and path detectors, as Places365's
  chalet and field road do;
* ``entrance``: the shipped rule's ``church``, ``landscape`` and ``village``, then
  ``entrance`` (door >= 3 %), ``close-up`` (buildings >= 25 %), ``house``: a class that
  needs door detectors (large doors are in close views: on training seeds 0..3999, 12.8 %
  of the scenes are shipped close-ups with door >= 3 %, 0.7 % are others).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganpaint.classify.data import DEFAULT_CACHE, TRAIN_START, load_scenes
from ganpaint.classify.dissect import dissect_classifier
from ganpaint.classify.train import ClassRule, TrainSettings, train_classifier
from ganpaint.scenes import CONCEPTS, SCENE_CLASSES, scene_classes
from ganpaint.scenes.classes import (
    BUILDING_LABELS,
    CHURCH,
    CLOSE_SHARE,
    CLOSE_UP,
    LANDSCAPE,
    VILLAGE,
)

CHALET_MOUNTAIN = 0.02
TRACK_PATH = 0.04
ENTRANCE_DOOR = 0.03
ENTRANCE_CLOSE = 0.25


def _shares(labels: np.ndarray, values: tuple[int, ...]) -> np.ndarray:
    """Per label map of an N x H x W stack, the share of its pixels holding any of
    ``values``."""
    lab = np.asarray(labels)
    return np.isin(lab, values).reshape(len(lab), -1).mean(1)


def chalet_track(labels: np.ndarray) -> np.ndarray:
    """The ``chalet-track`` rule's class indices (see the module docstring)."""
    base = scene_classes(labels)
    building = _shares(labels, BUILDING_LABELS)
    mountain = _shares(labels, (CONCEPTS.index("mountain"),))
    path = _shares(labels, (CONCEPTS.index("path"),))
    out = np.full(len(base), 5, np.int64)
    rest = (base != CHURCH) & (base != LANDSCAPE)
    close = rest & (building >= CLOSE_SHARE)
    chalet = rest & ~close & (mountain >= CHALET_MOUNTAIN)
    track = rest & ~close & ~chalet & (path >= TRACK_PATH)
    for index, where in enumerate((base == CHURCH, base == LANDSCAPE, close, chalet, track)):
        out[where] = index
    return out


def entrance(labels: np.ndarray) -> np.ndarray:
    """The ``entrance`` rule's class indices (see the module docstring)."""
    base = scene_classes(labels)
    door = _shares(labels, (CONCEPTS.index("door"),))
    building = _shares(labels, BUILDING_LABELS)
    out = base.copy()
    rest = base >= CLOSE_UP
    out[rest & (door >= ENTRANCE_DOOR)] = 3
    out[rest & (door < ENTRANCE_DOOR) & (building >= ENTRANCE_CLOSE)] = 4
    out[rest & (door < ENTRANCE_DOOR) & (building < ENTRANCE_CLOSE)] = 5
    return out


RULES: dict[str, ClassRule | None] = {
    "shipped": None,
    "chalet-track": (("church", "landscape", "close-up", "chalet", "track", "house"), chalet_track),
    "entrance": (
        (*SCENE_CLASSES[: VILLAGE + 1], "entrance", "close-up", "house"),
        entrance,
    ),
}


def concept_counts(layer: dict, which: str) -> dict[str, int]:
    """Units per concept among a dissected layer's labelled units (``which``: ``best`` or
    ``top1``), most first."""
    count = Counter(u[which]["concept"] for u in layer["units"] if u[which]["labelled"])
    return dict(count.most_common())


def probe(
    settings: TrainSettings,
    rule: str,
    dissect_scenes: int,
    layers: int,
    device: torch.device,
    cache: Path | None = DEFAULT_CACHE,
    log=lambda msg: None,
) -> tuple[Any, dict[str, Any]]:
    """Train, refit and dissect; returns the model and the figures printed."""
    if rule not in RULES:
        raise SystemExit(f"classifier_probe: no rule {rule!r}; use one of {', '.join(RULES)}")
    start = time.perf_counter()
    model, run = train_classifier(settings, device, cache=cache, log=log, rule=RULES[rule])
    seconds = time.perf_counter() - start
    scenes = load_scenes(TRAIN_START, dissect_scenes, settings.size, cache)
    doc = dissect_classifier(model.to(device), scenes)
    out = {
        "rule": rule,
        "pool": settings.pool,
        "widths": ",".join(str(w) for w in settings.widths),
        "dropout": settings.dropout,
        "zoom": settings.zoom,
        "act_l1": settings.act_l1,
        "scenes": settings.n_train,
        "epochs": settings.epochs,
        "seconds": round(seconds, 1),
        "choose_accuracy": [e["choose_accuracy"] for e in run["epochs"]],
        "refit_choose_accuracy": run["refit_choose_accuracy"],
        "class_frequencies_train": run["class_frequencies_train"],
        "dissect_scenes": dissect_scenes,
        "layers": [
            {
                "name": layer["name"],
                "best": concept_counts(layer, "best"),
                "top1": concept_counts(layer, "top1"),
            }
            for layer in doc["layers"][-layers:]
        ],
    }
    return model, out


def _widths(text: str) -> tuple[int | str, ...]:
    """``--widths`` read as ``ganpaint classifier train --widths`` reads it."""
    from ganpaint.models.classifier import parse_widths

    try:
        return parse_widths(text)
    except ValueError as exc:
        raise SystemExit(f"classifier_probe: --widths {text!r}: {exc}") from None


def describe(out: dict[str, Any]) -> str:
    """The figures as lines of text."""
    lines = [
        f"rule {out['rule']}, pool {out['pool']}, widths {out['widths']}, dropout "
        f"{out['dropout']}, zoom {out['zoom']}, act_l1 {out['act_l1']}: {out['scenes']} scenes "
        f"x {out['epochs']} in "
        f"{out['seconds']} s",
        f"choosing accuracy per pass {out['choose_accuracy']}, after the head refit "
        f"{out['refit_choose_accuracy']}",
        f"classes {out['class_frequencies_train']}",
    ]
    for layer in out["layers"]:
        lines.append(
            f"{layer['name']}: {len(layer['best'])} concepts at the best level {layer['best']}"
            f"; {len(layer['top1'])} at the fixed top 1 % {layer['top1']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.classifier_probe",
                                description=__doc__.split("\n\n")[1])  # fmt: skip
    p.add_argument("--rule", default="shipped", choices=list(RULES))
    p.add_argument("--scenes", type=int, default=12000, help="training scenes (12000)")
    p.add_argument("--epochs", type=int, default=4, help="passes (4)")
    p.add_argument("--pool", default="avg", choices=("avg", "max"))
    p.add_argument("--widths", default=None, help="conv widths and M (default: the shipped)")
    p.add_argument("--dropout", type=float, default=TrainSettings.dropout)
    p.add_argument("--zoom", type=float, default=1.0,
                   help="random zooms down to this share of the side (1: none)")  # fmt: skip
    p.add_argument("--act-l1", type=float, default=0.0,
                   help="weight of an L1 penalty on the pooled units (0: none)")  # fmt: skip
    p.add_argument("--dissect-scenes", type=int, default=300)
    p.add_argument("--layers", type=int, default=3, help="last conv layers shown (3)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--save", type=Path, default=None, help="keep the weights (state dict)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.scenes < 10 or args.epochs < 1 or args.dissect_scenes < 1 or args.layers < 1:
        raise SystemExit("classifier_probe: --scenes >= 10, --epochs, --dissect-scenes and "
                         "--layers >= 1")  # fmt: skip
    if not 0.0 < args.zoom <= 1.0:
        raise SystemExit(f"classifier_probe: --zoom {args.zoom} is not in (0, 1]")
    if not 0.0 <= args.dropout < 1.0:
        raise SystemExit(f"classifier_probe: --dropout {args.dropout} is not in [0, 1)")
    if not args.act_l1 >= 0.0:
        raise SystemExit(f"classifier_probe: --act-l1 {args.act_l1} is not >= 0")
    s = TrainSettings(n_train=args.scenes, epochs=args.epochs, pool=args.pool,
                      dropout=args.dropout, zoom=args.zoom, act_l1=args.act_l1)  # fmt: skip
    if args.widths:
        s = replace(s, widths=_widths(args.widths))
    log = (lambda msg: None) if args.json else (lambda msg: print(msg, flush=True))
    model, out = probe(s, args.rule, args.dissect_scenes, args.layers, torch.device(args.device),
                       log=log)  # fmt: skip
    if args.save:
        torch.save(model.state_dict(), args.save)
    print(json.dumps(out, indent=1) if args.json else describe(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
