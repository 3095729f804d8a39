"""Network dissection: which units of a generator draw which concept, measured over many
generated samples (mergeable statistics, IoU with a segmenter, causal ranking, ACE unit
sets), and the evaluation and HTML report of a finished dissection.

Entry points: :func:`dissect_bundle` and :func:`dissect_into_bundle` (what ``ganpaint
dissect`` runs), ``evaluate.evaluate`` and :func:`write_report`. The document they produce is
:class:`ganpaint.models.dissection.Dissection` (see docs/FORMATS.md); the layers are described
in docs/ARCHITECTURE.md.
"""

from ganpaint.core.lazy import lazy_exports

# Exports load on first use (see ganpaint.core.lazy): a light submodule does not pull torch.
_EXPORTS = {
    "CausalOptions": "ganpaint.dissect.causal",
    "causal_rankings": "ganpaint.dissect.causal",
    "greedy_set": "ganpaint.dissect.causal",
    "unit_concept_counts": "ganpaint.dissect.counting",
    "unit_masks": "ganpaint.dissect.counting",
    "EvalOptions": "ganpaint.dissect.evaluate",
    "DissectOptions": "ganpaint.dissect.passes",
    "LayerStats": "ganpaint.dissect.passes",
    "dissect_layers": "ganpaint.dissect.passes",
    "layer_summary": "ganpaint.dissect.passes",
    "dissect_bundle": "ganpaint.dissect.pipeline",
    "dissect_into_bundle": "ganpaint.dissect.pipeline",
    "write_dissection": "ganpaint.dissect.pipeline",
    "write_report": "ganpaint.dissect.report",
    "bundle_segmenter": "ganpaint.dissect.segmenters",
    "IoUCounter": "ganpaint.dissect.stats",
    "RunningQuantile": "ganpaint.dissect.stats",
    "RunningTopK": "ganpaint.dissect.stats",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "CausalOptions",
    "DissectOptions",
    "EvalOptions",
    "IoUCounter",
    "LayerStats",
    "RunningQuantile",
    "RunningTopK",
    "bundle_segmenter",
    "causal_rankings",
    "dissect_bundle",
    "dissect_into_bundle",
    "dissect_layers",
    "greedy_set",
    "layer_summary",
    "unit_concept_counts",
    "unit_masks",
    "write_dissection",
    "write_report",
]
