"""Fuzzers for the readers of untrusted files: ``.ganpaint`` projects, ``bundle.json`` (with
its bundle folder), generator checkpoints, picture files, the classifier's bundle files and
custom concept files.

Case ``i`` of a run is made from its own random stream, seeded by ``(seed, target, i)``, so
any case can be made again alone (:func:`make_case`). Each case is fed to the reader and
sorted into one of three outcomes:

* ``loaded``: the reader accepted it, and what it returned keeps its invariants (a loaded
  project saves and loads again unchanged; a loaded bundle's layers exist; a loaded
  generator runs);
* ``refused``: the reader raised the project's error for that reader;
* a bug: any other exception, a broken invariant, or a case over the time limit.

The mutators live in :mod:`ganpaint.robust.mutate`, the case and report types in
:mod:`ganpaint.robust.cases`, the targets in :mod:`ganpaint.robust.project_target` and
:mod:`ganpaint.robust.model_targets`, :mod:`ganpaint.robust.picture_target`,
:mod:`ganpaint.robust.classifier_target` and :mod:`ganpaint.robust.concepts_target`; this
module runs them.
"""

from __future__ import annotations

import random
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from ganpaint.robust.cases import Bug, Case, CaseTimeout, FuzzReport, Target, time_limit
from ganpaint.robust.classifier_target import ClassifierFilesTarget
from ganpaint.robust.concepts_target import ConceptFilesTarget
from ganpaint.robust.model_targets import BundleTarget, CheckpointTarget
from ganpaint.robust.picture_target import PictureTarget
from ganpaint.robust.project_target import ProjectTarget

TARGET_NAMES = ("project", "bundle", "checkpoint", "picture", "classifier", "concepts")

TARGETS: dict[str, type[Target]] = {
    "project": ProjectTarget,
    "bundle": BundleTarget,
    "checkpoint": CheckpointTarget,
    "picture": PictureTarget,
    "classifier": ClassifierFilesTarget,
    "concepts": ConceptFilesTarget,
}


def case_rng(seed: int, target: str, index: int) -> random.Random:
    """The random stream of one case (a string seed: stable across runs and platforms)."""
    return random.Random(f"ganpaint-fuzz/{seed}/{target}/{index}")


def make_case(target: Target, seed: int, index: int) -> Case:
    """Case ``index`` of a run with ``seed``, made again alone."""
    return target.make(case_rng(seed, target.name, index), index)


def run_case(target: Target, case: Case, limit_s: float | None = 20.0) -> tuple[str, str]:
    """Run one case: ("loaded" | "refused" | "bug", error text with traceback for a bug)."""
    start = time.perf_counter()
    try:
        with time_limit(limit_s):
            target.run(case)
        outcome, text = "loaded", ""
    except target.refusals:
        outcome, text = "refused", ""
    except CaseTimeout as exc:
        outcome, text = "bug", f"hang: {exc}\n"
    except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
        outcome = "bug"
        text = f"{type(exc).__name__}: {str(exc)[:300]}\n{traceback.format_exc()}"
    elapsed = time.perf_counter() - start
    if outcome != "bug" and limit_s is not None and elapsed > limit_s:
        outcome, text = "bug", f"hang: took {elapsed:.1f} s (limit {limit_s:.0f} s)\n"
    return outcome, text


def fuzz(
    target: str,
    cases: int,
    seed: int = 0,
    workdir: str | Path | None = None,
    max_examples: int = 5,
    limit_s: float | None = 20.0,
    progress: Callable[[int, FuzzReport], None] | None = None,
    keep_failures: str | Path | None = None,
) -> FuzzReport:
    """Run ``cases`` cases against ``target`` ("project", "bundle" or "checkpoint").

    ``keep_failures``: a folder to copy each bug's input files into (case<N>-<name>).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown fuzz target {target!r} (use {', '.join(TARGETS)})")
    report = FuzzReport(target, seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"ganpaint-fuzz-{target}-") as tmp:
        base = Path(workdir) if workdir is not None else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        t = TARGETS[target](base)
        for i in range(cases):
            case = make_case(t, seed, i)
            start = time.perf_counter()
            outcome, text = run_case(t, case, limit_s)
            elapsed = time.perf_counter() - start
            if elapsed > report.slowest_s:
                report.slowest_s, report.slowest_case = elapsed, i
            report.count(case, outcome)
            if outcome == "bug":
                first, _, rest = text.partition("\n")
                if len(report.bugs) < max_examples:
                    report.bugs.append(Bug(i, case.kind, case.description, first, rest))
                if keep_failures is not None:
                    keep_case_files(Path(keep_failures), target, case)
            if progress is not None:
                progress(i + 1, report)
    report.seconds = time.perf_counter() - t0
    return report


def keep_case_files(folder: Path, target: str, case: Case) -> None:
    """Copy a case's input files into ``folder`` as ``<target>-case<N>-<name>``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in case.files.items():
        if data is not None:
            (folder / f"{target}-case{case.index}-{Path(name).name}").write_bytes(data)
