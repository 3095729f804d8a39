"""The sections of the classifier report (``ganpaint.classify.report``): what the bundle has
(:func:`open_parts`), the dissection, the ablation and the attacks. Each section writes its
PNGs into the page's ``img/`` folder and appends HTML to the page, or notes what is missing."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganpaint.classify.attack_file import ATTACK_FILE, AttackFile, read_attack_file
from ganpaint.classify.report import Page
from ganpaint.core.errors import GanpaintError
from ganpaint.core.progress import ProgressFactory


@dataclass
class BundleParts:
    """What one bundle holds for the report; a part it lacks is None, one it cannot read is
    None with the reason in ``problems``."""

    name: str
    path: Path
    meta: dict[str, Any]
    size: int
    classifier: Any
    dissection: Any
    attack: AttackFile | None
    problems: dict[str, str]
    stale: tuple[str, ...] = ()
    """The parts measured on an earlier classifier (``ModelBundle.classifier_stale``)."""


def open_parts(bundle_path: str | Path | None) -> BundleParts:
    """Open the bundle and each classifier part it has."""
    from ganpaint.models import load_bundle

    bundle = load_bundle(bundle_path)
    problems: dict[str, str] = {}
    classifier = _try(problems, "classifier", bundle.load_classifier)
    dissection = _try(problems, "dissection", bundle.classifier_dissection)
    attack = None
    path = bundle.path / ATTACK_FILE
    if path.is_file():
        attack = _try(problems, "attack", lambda: read_attack_file(path))
    return BundleParts(
        name=bundle.name,
        path=bundle.path,
        meta=bundle.meta,
        size=int(bundle.meta.get("resolution") or 128),
        classifier=classifier,
        dissection=dissection,
        attack=attack,
        problems=problems,
        stale=bundle.classifier_stale(),
    )


def _try(problems: dict[str, str], key: str, load: Any) -> Any:
    try:
        return load()
    except GanpaintError as exc:
        problems[key] = str(exc)
        return None


def _problem(page: Page, parts: BundleParts, key: str) -> bool:
    """Show why a part could not be read; True when there was such a problem."""
    if key not in parts.problems:
        return False
    page.missing.append(f"a readable {key} ({html.escape(parts.problems[key])})")
    page.parts.append(f"<p class='missing'>{html.escape(parts.problems[key])}</p>")
    return True


def dissection_section(
    page: Page, parts: BundleParts, scenes: int, progress: ProgressFactory
) -> None:
    """Labelled units by layer; with an ablation and the classifier, each class's top units
    with the held-out scenes where they fire most."""
    from ganpaint.classify.report_units import class_units, dissection_overview

    page.parts.append("<h2>Dissection</h2>")
    if _problem(page, parts, "dissection"):
        return
    doc = parts.dissection
    if doc is None or not doc.layers:
        page.lack("classifier dissection", "ganpaint classifier dissect BUNDLE")
        return
    _earlier(page, parts, "dissection", "dissect")
    dissection_overview(page, doc)
    if doc.ablation is None:
        return
    images = acts = None
    if parts.classifier is not None and scenes > 0:
        images, acts = _scene_units(parts, doc.ablation.layer, scenes, progress)
    class_units(page, doc, parts.classifier, images, acts)


def _scene_units(
    parts: BundleParts, layer: str, scenes: int, progress: ProgressFactory
) -> tuple[Any, Any]:
    """Held-out scenes (the attack's seed range) and the units of ``layer`` on them."""
    import numpy as np

    from ganpaint.classify.attack import unit_activations
    from ganpaint.classify.attack_bundle import HELDOUT_FIRST_SEED
    from ganpaint.scenes import render_scene

    bar = progress("report scenes", scenes)
    try:
        images = []
        for seed in range(HELDOUT_FIRST_SEED, HELDOUT_FIRST_SEED + scenes):
            images.append(render_scene(seed, parts.size)[0])
            bar.update(1)
    finally:
        bar.close()
    stacked = np.stack(images)
    return stacked, unit_activations(parts.classifier, stacked, layer)


def ablation_section(page: Page, parts: BundleParts) -> None:
    """The ablation curves, when the dissection has them."""
    from ganpaint.classify.report_units import ablation_section as section

    if parts.dissection is None:
        page.parts.append("<h2>Ablation</h2>")
        page.lack("ablation", "ganpaint classifier ablate BUNDLE")
        return
    _earlier(page, parts, "ablation", "ablate")
    section(page, parts.dissection)


def _earlier(page: Page, parts: BundleParts, part: str, command: str, what: str = "") -> None:
    """Warn when ``part`` of the classifier's measurements describes an earlier classifier."""
    if part in parts.stale:
        subject = what or f"This {part} was"
        page.parts.append(
            f"<p class='missing'>{subject} measured on an earlier classifier (its "
            "sha256 differs from classifier.safetensors): run <code>ganpaint classifier "
            f"{command} BUNDLE</code> again.</p>"
        )


def attack_section(
    page: Page, parts: BundleParts, examples: int, progress: ProgressFactory
) -> None:
    """Figures of ``classifier_attack.json``, the group bars and re-run example attacks."""
    from ganpaint.classify.attack_bundle import class_rankings
    from ganpaint.classify.report_attack import attack_bars, attack_examples, attack_figures

    page.parts.append("<h2>Adversarial attacks</h2>")
    if _problem(page, parts, "attack"):
        return
    doc = parts.attack
    if doc is None:
        page.lack("attack measurements", "ganpaint classifier attack BUNDLE")
        return
    _earlier(page, parts, "attack", "attack", "These attacks were")
    page.parts += attack_figures(doc)
    page.parts.append(f"<p><img src='{attack_bars(page.out, doc)}'></p>")
    if examples <= 0 or parts.classifier is None or parts.dissection is None:
        return
    from ganpaint.scenes import render_scene_with_class

    page.parts.append(
        "<h3>Examples</h3><p>Each: the held-out scene, the adversarial picture, the "
        "perturbation amplified around mid-grey, and where the target class's most important "
        "units and all units changed (mean |activation change|, one colour scale per row).</p>"
    )
    bar = progress("report attacks", examples)
    try:
        page.parts += attack_examples(
            page.out,
            parts.classifier,
            doc,
            class_rankings(parts.dissection, doc.classes),
            lambda seed: render_scene_with_class(seed, parts.size)[0],
            examples,
        )
    except GanpaintError as exc:  # e.g. a file from another classifier: no unit layer conv9
        page.parts.append(f"<p class='missing'>No examples: {html.escape(str(exc))}</p>")
    finally:
        bar.close()
