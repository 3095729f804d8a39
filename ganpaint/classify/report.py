"""``ganpaint classifier report``: one HTML page (``index.html`` with PNGs beside it in
``img/``) of everything the bundle knows about its scene classifier, in the style of the
generator's dissection report (``ganpaint.dissect.report``):

* the classifier's card (classes, architecture, training figures) from ``bundle.json``;
* the dissection: labelled units by layer, concepts per layer, and example units of the last
  layer (the units most important to each class, with the held-out scenes where they fire
  most and their heatmaps);
* the ablation curves per class and the top-20 figures;
* the attacks (``classifier_attack.json``) with example attacks re-run from its seeds.

It works with whatever the bundle has: each missing part becomes a note that says which
command makes it, also listed at the top of the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganpaint.core.progress import ProgressFactory, no_progress

STYLE = (
    "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}h3{margin-bottom:.2em}"
    ".unit{display:inline-block;margin:6px;vertical-align:top;font-size:12px}"
    ".missing{background:#fff4e0;border-left:4px solid #e0a040;padding:.4em .8em}"
    "table.grid{border-collapse:collapse;font-size:13px}"
    "table.grid td,table.grid th{border:1px solid #ccc;padding:3px 8px;text-align:center}"
    "table.card td{padding:1px 10px 1px 0;font-size:13px;vertical-align:top}</style>"
)


@dataclass
class Page:
    """The page being written: its folder, its HTML parts and what the bundle lacks."""

    out: Path
    parts: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def lack(self, what: str, command: str) -> None:
        """Note a missing part where it would have been, and in the list at the top."""
        self.missing.append(f"{what} (<code>{html.escape(command)}</code>)")
        self.parts.append(
            f"<p class='missing'>This bundle has no {what}: <code>{html.escape(command)}</code> "
            "makes it.</p>"
        )


def card_rows(card: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The card as (key path, value) rows: nested objects flattened, long lists shortened."""
    rows: list[tuple[str, str]] = []
    for key, value in card.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows += card_rows(value, f"{name}.")
        elif isinstance(value, list):
            rows.append((name, _list_text(value)))
        elif isinstance(value, float):
            rows.append((name, f"{value:.4g}"))
        else:
            rows.append((name, str(value)))
    return rows


def _list_text(value: list) -> str:
    """A list as text: scalars joined by commas, nested values as JSON; past 16 items
    shortened with the count."""
    items = [json.dumps(v) if isinstance(v, dict | list) else str(v) for v in value[:16]]
    more = f", … ({len(value)} in all)" if len(value) > 16 else ""
    return ", ".join(items) + more


def card_section(page: Page, meta: Mapping[str, Any]) -> None:
    """The ``classifier`` section of ``bundle.json`` as a table."""
    page.parts.append("<h2>Classifier</h2>")
    card = meta.get("classifier")
    if not isinstance(card, Mapping):
        page.lack("classifier", "ganpaint classifier train BUNDLE")
        return
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in card_rows(card)
    )
    page.parts.append(f"<table class='card'>{rows}</table>")


def write_classifier_report(
    bundle_path: str | Path,
    out_dir: str | Path,
    examples: int = 5,
    scenes: int = 200,
    progress: ProgressFactory = no_progress,
) -> tuple[Path, list[str]]:
    """Write ``out_dir/index.html`` and its PNGs for the bundle; returns the page's path and
    the parts the bundle lacks (plain text). ``examples``: attacks re-run for pictures;
    ``scenes``: held-out scenes searched for each example unit's strongest activations."""
    from ganpaint.classify.report_sections import (
        ablation_section,
        attack_section,
        dissection_section,
        open_parts,
    )

    out = Path(out_dir)
    (out / "img").mkdir(parents=True, exist_ok=True)
    parts = open_parts(bundle_path)
    page = Page(out)
    card_section(page, parts.meta)
    dissection_section(page, parts, scenes, progress)
    ablation_section(page, parts)
    attack_section(page, parts, examples, progress)
    name = html.escape(parts.name)
    head = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Classifier of {name}</title>",
        STYLE,
        "</head><body>",
        f"<h1>The scene classifier of {name}</h1>",
    ]
    if page.missing:
        head.append(
            "<p class='missing'>Missing from this bundle: " + "; ".join(page.missing) + ".</p>"
        )
    index = out / "index.html"
    index.write_text("\n".join(head + page.parts + ["</body></html>"]), encoding="utf-8")
    plain = [html.unescape(m.replace("<code>", "").replace("</code>", "")) for m in page.missing]
    return index, plain
