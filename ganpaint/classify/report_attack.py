"""The attack section of the classifier report: the figures of ``classifier_attack.json``
(success, L2, the three-group bars with their intervals, success and L2 per class pair) and
example attacks, re-run from the file's seeds and settings, each shown as the original, the
adversarial picture, the perturbation amplified, and heatmaps of where the target's top units
and all units changed."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from torch import nn

from ganpaint.classify.attack import AttackSettings, attack_image, change_heatmap
from ganpaint.classify.attack_file import AttackFile
from ganpaint.classify.attack_run import AttackRecord
from ganpaint.classify.plots import group_bars, heatmap_overlay, tile_strip

SceneImage = Callable[[int], np.ndarray]
"""``seed -> uint8 picture`` of the scene the attack file names."""


def attack_figures(doc: AttackFile) -> list[str]:
    """The headline numbers and the per-pair table, as HTML."""
    g = doc.groups
    lo, hi = doc.target_vs_other_interval
    n_ok = g["target"].n
    rms = doc.mean_l2 / _values(doc)
    parts = [
        f"<p>{len(doc.records)} targeted attacks on layer <b>{html.escape(doc.layer)}</b>: "
        f"success <b>{doc.success:.1%}</b> (on the uint8 picture); mean L2 of the successful "
        f"ones <b>{doc.mean_l2:.3f}</b> in [0, 1] pixel units over all values "
        f"(RMS {rms:.2g} per value, {255 * rms:.2f} uint8 levels).</p>",
        f"<p>Mean |change of the spatial-max activation| over {n_ok} successful attacks, 99 % "
        "normal-approximation intervals: "
        + "; ".join(
            f"{name} {g[key].mean:.3f} [{g[key].low:.3f}, {g[key].high:.3f}]"
            for key, name in _names(doc.top)
        )
        + f". Target / other: <b>{doc.target_vs_other:.2f}x</b> (99 % bootstrap "
        f"[{lo:.2f}, {hi:.2f}]).</p>",
    ]
    return parts + [_pair_table(doc)]


def _values(doc: AttackFile) -> float:
    """sqrt of the number of values in one of the attacked pictures."""
    return float(np.sqrt(doc.size * doc.size * 3))


def _names(top: int) -> list[tuple[str, str]]:
    return [
        ("target", f"target's top {top}"),
        ("source", f"source's top {top}"),
        ("other", "all other units"),
    ]


def _pair_table(doc: AttackFile) -> str:
    """Rows: source class; columns: target class; cells: success and mean L2."""
    n = len(doc.classes)
    cells: dict[tuple[int, int], list[AttackRecord]] = {}
    for r in doc.records:
        cells.setdefault((r.source, r.target), []).append(r)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in doc.classes)
    rows = [f"<table class='grid'><tr><th>source \\ target</th>{head}</tr>"]
    for s in range(n):
        tds = []
        for t in range(n):
            entries = cells.get((s, t), [])
            if not entries:
                tds.append("<td>-</td>")
                continue
            ok = [e.l2 for e in entries if e.success]
            l2 = f"{np.mean(ok):.2f}" if ok else "-"
            tds.append(f"<td>{len(ok)}/{len(entries)}<br><small>L2 {l2}</small></td>")
        rows.append(f"<tr><th>{html.escape(doc.classes[s])}</th>{''.join(tds)}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def pick_examples(doc: AttackFile, count: int) -> list[AttackRecord]:
    """Up to ``count`` successful attacks, one per target class in turn, sources varied."""
    chosen: list[AttackRecord] = []
    by_target: dict[int, list[AttackRecord]] = {}
    for r in doc.records:
        if r.success:
            by_target.setdefault(r.target, []).append(r)
    round_ = 0
    while len(chosen) < count and any(len(v) > round_ for v in by_target.values()):
        for t in sorted(by_target):
            if len(by_target[t]) > round_ and len(chosen) < count:
                chosen.append(by_target[t][(round_ * 7 + t) % len(by_target[t])])
        round_ += 1
    return chosen


def attack_examples(
    out: Path,
    classifier: nn.Module,
    doc: AttackFile,
    rankings: Mapping[int, Sequence[int]],
    scene_image: SceneImage,
    count: int,
) -> list[str]:
    """Re-run ``count`` attacks of the file and save one strip of pictures each."""
    settings = _settings(doc.settings)
    parts = []
    for i, entry in enumerate(pick_examples(doc, count)):
        image = scene_image(entry.seed)
        units = list(rankings[entry.target])[: doc.top]
        r = attack_image(
            classifier, image, entry.target, layer=doc.layer, settings=settings, heatmap_units=units
        )
        everything = change_heatmap(classifier, image, r.adversarial, layer=doc.layer)
        src, tgt = doc.classes[r.source], doc.classes[entry.target]
        scale = float(max(everything.max(), r.heatmap.max(), 1e-9))
        tiles = [
            image,
            r.adversarial,
            r.amplified,
            heatmap_overlay(image, r.heatmap, scale),
            heatmap_overlay(image, everything, scale),
        ]
        captions = [
            f"seed {entry.seed}\n{src} {r.probs_before[r.source]:.0%}",
            f"adversarial\n{tgt} {r.probs_after[entry.target]:.0%}"
            + ("" if r.success else " (failed)"),
            f"perturbation x{r.gain:.0f}\nL2 {r.l2:.2f}",
            f"{tgt}'s top {doc.top} units\nchange where",
            "all units\nchange where",
        ]
        path = f"img/attack-{i}.png"
        tile_strip(tiles, captions).save(out / path)
        parts.append(f"<div class='unit'><img src='{path}'></div>")
    return parts


def _settings(raw: Mapping[str, float]) -> AttackSettings:
    known = AttackSettings.__dataclass_fields__
    return AttackSettings(**{k: v for k, v in raw.items() if k in known})


def attack_bars(out: Path, doc: AttackFile) -> str:
    """The three-group figure as a PNG; returns its relative path."""
    rows = [
        (name, doc.groups[k].mean, doc.groups[k].low, doc.groups[k].high)
        for k, name in _names(doc.top)
    ]
    path = "img/attack-groups.png"
    group_bars(rows).save(out / path)
    return path
