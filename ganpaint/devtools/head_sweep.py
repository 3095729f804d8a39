"""Choose the classifier head's settings on the choosing scenes: ``python -m
ganpaint.devtools.head_sweep [BUNDLE] --l1 0.01,0.03 --units 0,16,20,24 [--refit-scenes 12000]
[--rank-scenes 12000] [--json]``.

For the bundle's classifier with its conv layers as they are, each candidate (one L1 penalty
and one ``head_units``, 0 for no pruning) refits the head as ``ganpaint classifier train
--refit-head`` does (:func:`ganpaint.classify.train.refit_head` on the first
``--refit-scenes`` training scenes), ranks the units per class on the first
``--rank-scenes`` training scenes as ``ganpaint classifier ablate`` does, and measures on the
choosing scenes (never the held-out ones) the accuracy and the ablation figures
``ganpaint classifier summary`` prints for held-out scenes: own and other classes' drop with
each class's top 20 units removed, and the drop with only them kept (balanced-accuracy
points). The pooled units are computed once, so a candidate costs only its refit (seconds).

It measures the head before any fine-tune: ``--finetune-epochs`` retrains the conv layers,
which the sweep does not (that is the cost of a training pass per candidate). The bundle is
not changed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import replace
from typing import Any

import torch

from ganpaint.classify.ablate import ablate_features, pooled_features
from ganpaint.classify.data import CHOOSE_START, DEFAULT_CACHE, TRAIN_START, SceneSet, load_scenes
from ganpaint.classify.train import TrainSettings, refit_head
from ganpaint.models.classifier import SceneClassifier
from ganpaint.models.classifier_dissection import Ablation

K = 20


def _numbers(text: str, kind: type) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"head_sweep: {text!r} is not a comma list of numbers") from None
    if not values or any(v < 0 for v in values):
        raise SystemExit(f"head_sweep: {text!r} needs one or more values >= 0")
    return values


def sweep(
    model: SceneClassifier,
    train: SceneSet,
    choose: SceneSet,
    l1s: list[float],
    units: list[int],
    refit_scenes: int,
    rank_scenes: int,
    base: TrainSettings | None = None,
) -> list[dict[str, Any]]:
    """One row per (l1, units) candidate: accuracy and the top-20 ablation figures on
    ``choose``, the head refitted on ``train``'s first ``refit_scenes`` scenes and the units
    ranked on its first ``rank_scenes``."""
    base = base or TrainSettings()
    train_feats = pooled_features(model, train.images)
    choose_feats = pooled_features(model, choose.images)
    y_train = torch.from_numpy(train.classes)
    y_choose = torch.from_numpy(choose.classes)
    k = min(K, train_feats.shape[1])
    rows = []
    for l1 in l1s:
        for n_units in units:
            s = replace(base, head_l1=l1, head_units=n_units)
            m = copy.deepcopy(model)
            refit_head(m, train_feats[:refit_scenes], train.classes[:refit_scenes], s)
            w = m.head.weight.detach().double()
            b = m.head.bias.detach().double()
            acc = float(((choose_feats @ w.T + b).argmax(1) == y_choose).double().mean())
            ranking = (train_feats[:rank_scenes], y_train[:rank_scenes])
            doc = ablate_features(ranking, (choose_feats, y_choose), w, b, m.classes, [k])
            f = Ablation.from_dict(doc, "sweep").figures(k)
            rows.append(
                {
                    "head_l1": l1,
                    "head_units": n_units,
                    "choose_accuracy": round(acc, 4),
                    "weights_used": int((w != 0).sum()),
                    "own_drop_top20": round(f["own_drop"], 2),
                    "other_drop_top20": round(f["other_drop"], 2),
                    "keep_top20_drop": round(f["keep_drop"], 2),
                }
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    keys = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.head_sweep",
                                description=__doc__.split("\n\n")[1])  # fmt: skip
    p.add_argument("bundle", nargs="?", default=None, help="bundle (default: the bundled one)")
    p.add_argument("--l1", default="0.01,0.03", help="L1 penalties, comma list")
    p.add_argument("--units", default="0,20", help="units kept per class (0: all), comma list")
    p.add_argument("--refit-scenes", type=int, default=12000)
    p.add_argument("--rank-scenes", type=int, default=12000)
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse_args(argv)
    from ganpaint.models import load_bundle

    l1s, units = _numbers(args.l1, float), _numbers(args.units, int)
    if args.refit_scenes < 10 or args.rank_scenes < 10:
        raise SystemExit("head_sweep: --refit-scenes and --rank-scenes must be at least 10")
    model = load_bundle(args.bundle).load_classifier()
    if model is None:
        raise SystemExit("head_sweep: the bundle has no classifier (ganpaint classifier train)")
    s = TrainSettings()
    n = max(args.refit_scenes, args.rank_scenes)
    train = load_scenes(TRAIN_START, n, s.size, DEFAULT_CACHE)
    choose = load_scenes(CHOOSE_START, s.n_choose, s.size, DEFAULT_CACHE)
    rows = sweep(model, train, choose, l1s, units, args.refit_scenes, args.rank_scenes, s)
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
