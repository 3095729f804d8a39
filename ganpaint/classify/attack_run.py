"""``ganpaint classifier attack``: targeted attacks between every ordered pair of classes on
held-out scenes, read through the units (Bau et al., PNAS 2020, the adversarial section).

Pictures: scenes rendered from consecutive seeds, kept when the classifier gets their class
right, until each class has ``per_pair`` of them; each is attacked towards every other class
(:func:`ganpaint.classify.attack.attack_batch`). Per successful attack, the mean change of the
target class's ``top`` most important units, of the source class's, and of all the other
units of the last unit layer (:mod:`ganpaint.classify.attack_stats`); over attacks, their
means with 99 % intervals and the target / other ratio. The class rankings come from the
classifier dissection (the single-unit ablation on the training split).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ganpaint.classify.attack import AttackResult, AttackSettings, attack_batch
from ganpaint.classify.attack_stats import (
    GROUPS,
    Interval,
    group_means,
    mean_interval,
    ratio_interval,
)
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory, no_progress
from ganpaint.models.classifier_attack import AttackRecord  # a record of the file

SceneFn = Callable[[int, int], tuple[np.ndarray, np.ndarray, int]]
"""``(seed, size) -> (image uint8, labels, class index)``, as ``ganpaint.scenes`` renders."""

LEVEL = 0.99


@dataclass(frozen=True)
class AttackRun:
    """All attacks of one run and how they were made."""

    classes: tuple[str, ...]
    layer: str
    size: int
    top: int
    settings: AttackSettings
    records: tuple[AttackRecord, ...]
    seeds_scanned: tuple[int, int]
    seconds: float

    def success(self) -> float:
        return float(np.mean([r.success for r in self.records]))

    def group_intervals(self) -> dict[str, Interval]:
        rows = np.array([r.groups for r in self.records if r.groups is not None])
        if rows.size == 0:
            raise GanpaintError("no attack succeeded, so there are no unit changes to average")
        return {g: mean_interval(rows[:, i], LEVEL) for i, g in enumerate(GROUPS)}

    def ratio(self) -> tuple[float, float, float]:
        rows = np.array([r.groups for r in self.records if r.groups is not None])
        return ratio_interval(rows[:, 0], rows[:, 2], LEVEL)

    def l2_interval(self) -> Interval:
        return mean_interval([r.l2 for r in self.records if r.success], LEVEL)


def pick_scenes(
    classifier: nn.Module,
    scene_fn: SceneFn,
    seeds: Iterable[int],
    per_class: int,
    size: int,
    batch: int = 32,
) -> tuple[dict[int, list[tuple[int, np.ndarray]]], tuple[int, int]]:
    """Per class, the first ``per_class`` scenes of ``seeds`` the classifier classifies
    correctly (seed, image); also the first and last seed looked at. Raises when ``seeds``
    runs out before every class has its scenes."""
    n_classes = len(classifier.classes)
    chosen: dict[int, list[tuple[int, np.ndarray]]] = {c: [] for c in range(n_classes)}
    seen: list[int] = []
    pending: list[tuple[int, np.ndarray, int]] = []
    for seed in seeds:
        seen.append(seed)
        image, _, cls = scene_fn(seed, size)
        if len(chosen[cls]) + sum(p[2] == cls for p in pending) < per_class:
            pending.append((seed, image, cls))
        if len(pending) >= batch or _full(chosen, pending, per_class):
            _keep_correct(classifier, pending, chosen, per_class)
            pending = []
            if all(len(v) >= per_class for v in chosen.values()):
                return chosen, (seen[0], seen[-1])
    _keep_correct(classifier, pending, chosen, per_class)
    short = [classifier.classes[c] for c, v in chosen.items() if len(v) < per_class]
    if short:
        raise GanpaintError(
            f"not enough correctly classified scenes of {', '.join(short)} in the seeds "
            f"{seen[0] if seen else '-'}..{seen[-1] if seen else '-'} for {per_class} each; "
            "give more seeds"
        )
    return chosen, (seen[0], seen[-1])


def _full(chosen: dict, pending: list, per_class: int) -> bool:
    return all(len(v) + sum(p[2] == c for p in pending) >= per_class for c, v in chosen.items())


def _keep_correct(
    classifier: nn.Module,
    pending: list[tuple[int, np.ndarray, int]],
    chosen: dict[int, list[tuple[int, np.ndarray]]],
    per_class: int,
) -> None:
    if not pending:
        return
    device = next(classifier.parameters()).device
    x = torch.from_numpy(np.stack([p[1] for p in pending])).to(device)
    x = x.permute(0, 3, 1, 2).float() / 127.5 - 1
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.no_grad():
            pred = classifier(x).argmax(1).tolist()
    finally:
        classifier.train(was_training)
    for (seed, image, cls), p in zip(pending, pred, strict=True):
        if p == cls and len(chosen[cls]) < per_class:
            chosen[cls].append((seed, image))


def run_attacks(
    classifier: nn.Module,
    rankings: Mapping[int, Sequence[int]],
    scene_fn: SceneFn,
    seeds: Iterable[int],
    size: int,
    per_pair: int = 5,
    top: int = 4,
    settings: AttackSettings | None = None,
    batch: int = 20,
    progress: ProgressFactory = no_progress,
) -> AttackRun:
    """Attack ``per_pair`` correctly classified scenes of each class towards every other
    class; ``rankings[c]``: the units of the last unit layer, most important to class c
    first."""
    settings = settings or AttackSettings()
    classes = tuple(classifier.classes)
    if len(classes) < 2:
        raise GanpaintError("an attack needs a classifier with two classes or more")
    if per_pair < 1:
        raise GanpaintError(f"--per-pair must be at least 1, not {per_pair}")
    missing = [classes[c] for c in range(len(classes)) if len(rankings.get(c, ())) < top]
    if missing:
        raise GanpaintError(f"no ranking of {top} units for the class(es) {', '.join(missing)}")
    start = time.perf_counter()
    chosen, scanned = pick_scenes(classifier, scene_fn, seeds, per_pair, size)
    jobs = [
        (seed, image, c, t)
        for c, scenes in chosen.items()
        for seed, image in scenes
        for t in range(len(classes))
        if t != c
    ]
    layer = classifier.unit_layers[-1]
    records: list[AttackRecord] = []
    bar = progress("attacks", len(jobs))
    try:
        for i in range(0, len(jobs), batch):
            part = jobs[i : i + batch]
            images = np.stack([j[1] for j in part])
            results = attack_batch(
                classifier, images, [j[3] for j in part], layer=layer, settings=settings
            )
            records += [_record(j, r, rankings, top) for j, r in zip(part, results, strict=True)]
            bar.update(len(part))
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    return AttackRun(classes, layer, size, top, settings, tuple(records), scanned, seconds)


def _record(
    job: tuple[int, np.ndarray, int, int],
    result: AttackResult,
    rankings: Mapping[int, Sequence[int]],
    top: int,
) -> AttackRecord:
    seed, _, source, target = job
    groups = None
    if result.success:
        groups = group_means(
            result.unit_change, list(rankings[target])[:top], list(rankings[source])[:top]
        )
    return AttackRecord(
        seed=seed,
        source=source,
        target=target,
        success=result.success,
        l2=result.l2 if result.success else 0.0,
        target_prob=float(result.probs_after[target]),
        groups=groups,
    )


def settings_dict(settings: AttackSettings) -> dict[str, float | int]:
    """The settings as JSON numbers."""
    return asdict(settings)
