"""Network dissection: which units of a generator draw which concept, measured over many
generated samples (mergeable statistics, IoU with a segmenter, causal ranking, ACE unit
sets), and the evaluation and HTML report of a finished dissection.

Entry points: :func:`dissect_bundle` and :func:`dissect_into_bundle` (what ``ganpaint
dissect`` runs), ``evaluate.evaluate`` and :func:`write_report`. The document they produce is
:class:`ganpaint.models.dissection.Dissection` (see docs/FORMATS.md); the layers are described
in docs/ARCHITECTURE.md.
"""

from ganpaint.dissect.causal import CausalOptions, causal_rankings, greedy_set
from ganpaint.dissect.counting import unit_concept_counts, unit_masks
from ganpaint.dissect.evaluate import EvalOptions
from ganpaint.dissect.passes import DissectOptions, LayerStats, dissect_layers, layer_summary
from ganpaint.dissect.pipeline import dissect_bundle, dissect_into_bundle, write_dissection
from ganpaint.dissect.report import write_report
from ganpaint.dissect.segmenters import bundle_segmenter
from ganpaint.dissect.stats import IoUCounter, RunningQuantile, RunningTopK

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
