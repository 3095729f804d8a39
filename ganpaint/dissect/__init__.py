"""Network dissection: unit statistics, labels, causal ranking, evaluation and reports.

* ``stats``: mergeable running statistics (``RunningQuantile``, ``IoUCounter``,
  ``RunningTopK``).
* ``dissect``: the two passes over generated samples (quantiles, then unit/concept IoU with
  sparse exact counting) and the per-layer summary written to ``dissection.json``.
* ``causal``: ablation ranking of candidate units and the greedy best set per concept.
* ``pipeline``: a bundle end to end (segmenter, cache, causal, writing the files).
* ``evaluate``: removal and insertion on held-out samples, through the engine's edit rule.
* ``report``: an HTML report with Pillow-drawn PNGs.
* ``distributed``: torchrun sharding (gloo/nccl), sums and state gathering without pickle.
* ``cache``: results keyed by a hash of their arguments (safetensors / JSON).
* ``synthetic``: a deterministic stand-in segmenter for tests.

Entry points: ``pipeline.dissect_bundle`` (what ``ganpaint dissect`` runs), ``evaluate.evaluate``
and ``report.write_report``. The functions named like their modules (``dissect``,
``evaluate``) are not re-exported here, so the submodules stay reachable by name.
"""

from ganpaint.dissect.causal import CausalOptions, causal_rankings, greedy_set
from ganpaint.dissect.dissect import (
    DissectOptions,
    LayerStats,
    dissect_layers,
    layer_summary,
    unit_concept_counts,
    unit_masks,
)
from ganpaint.dissect.evaluate import EvalOptions
from ganpaint.dissect.pipeline import bundle_segmenter, dissect_bundle, write_dissection
from ganpaint.dissect.report import write_report
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
    "dissect_layers",
    "greedy_set",
    "layer_summary",
    "unit_concept_counts",
    "unit_masks",
    "write_dissection",
    "write_report",
]
