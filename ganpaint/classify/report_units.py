"""The dissection and ablation sections of the classifier report: labelled units by layer
(at each unit's best quantile level and at the paper's fixed top 1 %), the concepts each layer
detects, the units most important to each class with their labels and the scenes where they
fire most, and the ablation curves with the top-20 figures."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ganpaint.classify.plots import ablation_curves, units_by_layer
from ganpaint.classify.report import Page

EXAMPLE_UNITS = 4
"""Units shown per class: the paper's attack figure reads the top 4."""
PER_UNIT = 4
"""Scenes shown per unit."""


def layer_counts(dissection: Any, fixed: bool) -> list[tuple[str, dict[str, int], int]]:
    """Per layer (shallow first): its labelled units per concept and its unit count."""
    rows = []
    for layer in dissection.layers:
        labels = (u.top1 if fixed else u.best for u in layer.units)
        counts = Counter(x.concept for x in labels if x.labelled)
        rows.append((layer.name, dict(counts), layer.count))
    return rows


def dissection_overview(page: Page, dissection: Any) -> None:
    """The two units-by-layer figures and a table of each layer's figures."""
    cut = dissection.iou_threshold
    best, fixed = "img/units-by-layer.png", "img/units-by-layer-top1.png"
    units_by_layer(
        layer_counts(dissection, False), f"Labelled units by layer (IoU > {cut}, best level)"
    ).save(page.out / best)
    units_by_layer(
        layer_counts(dissection, True), f"Labelled units by layer (IoU > {cut}, fixed top 1 %)"
    ).save(page.out / fixed)
    rows = []
    for layer in dissection.layers:
        concepts = ", ".join(layer.concepts_detected())
        rows.append(
            f"<tr><td>{html.escape(layer.name)}</td><td>{layer.count}</td>"
            f"<td>{layer.labelled_fraction():.0%}</td>"
            f"<td>{layer.labelled_fraction(fixed=True):.0%}</td>"
            f"<td>{len(layer.concepts_detected())}</td><td>{html.escape(concepts)}</td></tr>"
        )
    page.parts += [
        "<p>Each unit is thresholded at an activation quantile and its region compared with "
        "every concept's exact label map (IoU). <i>Best level</i>: the quantile where the unit "
        "matches a concept best; <i>fixed top 1 %</i>: the paper's threshold, at which a unit "
        "cannot reach the cut-off against a concept that covers a large part of the picture "
        "(sky, grass).</p>",
        f"<p><img src='{best}'><br><img src='{fixed}'></p>",
        "<table class='grid'><tr><th>layer</th><th>units</th><th>labelled (best)</th>"
        "<th>labelled (top 1 %)</th><th>concepts</th><th>detected (best)</th></tr>",
        *rows,
        "</table>",
    ]


def _label(dissection: Any, layer: str, unit: int) -> str:
    doc = dissection.layer(layer)
    entry = next((u for u in doc.units if u.unit == unit), None) if doc else None
    if entry is None or not entry.best.labelled:
        return "unlabelled"
    b = entry.best
    return f"{b.concept} (IoU {b.iou:.2f} at q {b.level:g})"


def class_units(
    page: Page,
    dissection: Any,
    classifier: Any,
    images: np.ndarray | None,
    acts: np.ndarray | None,
) -> None:
    """Per class its most important units: label, drop, and the scenes where each fires most
    (from ``images``/``acts``: N pictures and the ablated layer's N x U x h x w units)."""
    from ganpaint.dissect.report import unit_strip

    ab = dissection.ablation
    page.parts.append(
        f"<h3>The units most important to each class ({html.escape(ab.layer)})</h3>"
        "<p>Ranked by the drop of the class's balanced accuracy when the unit alone is "
        "zeroed (training scenes). Pictures: the held-out scenes where the unit fires most, "
        "and its activation over them (outline: its top-1 % region).</p>"
    )
    for c in ab.classes:
        page.parts.append(f"<h4>{html.escape(c.name)}</h4><div>")
        for unit, drop in c.ranked[:EXAMPLE_UNITS]:
            caption = (
                f"unit {unit} · −{drop:.1f} points<br>"
                f"{html.escape(_label(dissection, ab.layer, unit))}"
            )
            img = ""
            if images is not None and acts is not None:
                strip, path = _unit_pictures(images, acts, unit, unit_strip)
                strip.save(page.out / path)
                img = f"<img src='{path}'><br>"
            page.parts.append(f"<div class='unit'>{img}{caption}</div>")
        page.parts.append("</div>")


def _unit_pictures(images: np.ndarray, acts: np.ndarray, unit: int, unit_strip: Any) -> tuple:
    import torch
    import torch.nn.functional as F

    peaks = acts[:, unit].reshape(len(acts), -1).max(1)
    top = np.argsort(-peaks)[:PER_UNIT]
    threshold = float(np.quantile(acts[:, unit], 0.99))
    size = images.shape[1:3]
    maps = F.interpolate(torch.from_numpy(acts[top, unit][:, None]), size=size, mode="bilinear")
    strip = unit_strip([images[i] for i in top], list(maps[:, 0].numpy()), threshold)
    return strip, f"img/unit-{unit}.png"


def ablation_section(page: Page, dissection: Any) -> None:
    """The ablation curves per class and the top-20 figures."""
    ab = dissection.ablation
    page.parts.append("<h2>Ablation</h2>")
    if ab is None:
        page.lack("ablation", "ganpaint classifier ablate BUNDLE")
        return
    curves = {
        c.name: (
            [(k, row[i] / 100) for k, row in zip(ab.ks, c.remove, strict=True)],
            [(k, row[i] / 100) for k, row in zip(ab.ks, c.keep, strict=True)],
        )
        for i, c in enumerate(ab.classes)
    }
    baseline = {c.name: b / 100 for c, b in zip(ab.classes, ab.baseline, strict=True)}
    path = "img/ablation.png"
    ablation_curves(curves, baseline=baseline).save(page.out / path)
    page.parts.append(
        f"<p>Held-out balanced accuracy ((recall + true-negative rate) / 2, chance 50 %) of "
        f"each class when its top k units of {html.escape(ab.layer)} are zeroed (red) or all "
        "units but those (blue); dashed: nothing zeroed.</p>"
        f"<p><img src='{path}'></p>"
    )
    page.parts.append(_figures_table(ab, [k for k in (5, 20) if k in ab.ks]))


def _figures_table(ab: Any, ks: Sequence[int]) -> str:
    rows = ["<table class='grid'><tr><th>k</th><th>own class drop</th>"
            "<th>other classes' drop</th><th>drop keeping only the top k</th></tr>"]  # fmt: skip
    for k in ks:
        f = ab.figures(k)
        rows.append(
            f"<tr><td>{k}</td><td>{f['own_drop']:.1f}</td><td>{f['other_drop']:.1f}</td>"
            f"<td>{f['keep_drop']:.1f}</td></tr>"
        )
    rows.append("</table><p>Balanced-accuracy points, mean over classes.</p>")
    return "\n".join(rows)
