"""Robustness tools: fuzzers for the readers of untrusted files and a long-session soak.

* :mod:`ganpaint.robust.fuzz` makes hostile and mutated project files, ``bundle.json`` files
  and generator checkpoints from a seed and checks that every one either loads or is refused
  with the reader's own error (:class:`~ganpaint.core.errors.ProjectFileError`,
  :class:`~ganpaint.core.errors.BundleError`, :class:`~ganpaint.core.errors.CheckpointError`); any
  other exception, a broken invariant of a loaded result or a case over the time limit is a
  bug. ``ganpaint fuzz`` runs it; the test suite runs a few cases of each. Its mutators,
  case types and targets are in ``mutate``, ``cases``, ``project_target`` and
  ``model_targets``.
* :mod:`ganpaint.robust.soak` drives thousands of strokes with undo/redo, previews and seed
  changes through :class:`~ganpaint.engine.EditDocument` and
  :class:`~ganpaint.engine.Renderer`, rendering every snapshot, and reports memory (RSS at
  start, end and peak) and throughput. ``ganpaint soak`` runs it.

Headless; imports torch only through the engine and models packages.
"""
