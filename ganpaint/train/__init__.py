"""Training the scene world's models: the ProGAN generator (:func:`train_gan`), the scene
segmenter (:func:`train_segmenter`), their quality checks (:func:`evaluate_gan`) and the
one-shot pipeline that builds the shipped bundle (``ganpaint train-pipeline``).

Names here are imported lazily, so ``python -m ganpaint.train.segmenter_job``
(the segmenter job the pipeline starts) stays clean.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "GANConfig": "ganpaint.train.configs",
    "CONFIGS": "ganpaint.train.configs",
    "get_config": "ganpaint.train.configs",
    "GANTrainer": "ganpaint.train.gan",
    "train_gan": "ganpaint.train.run_gan",
    "train_segmenter": "ganpaint.train.segmenter",
    "evaluate_segmenter": "ganpaint.train.segmenter",
    "evaluate_gan": "ganpaint.train.quality",
    "frechet_distance": "ganpaint.train.quality",
    "run_pipeline": "ganpaint.train.pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ganpaint.train' has no attribute {name!r}")
