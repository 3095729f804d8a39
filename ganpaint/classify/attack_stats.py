"""The statistics of the attack figure: per attack, the mean unit change of three groups of
units (the target class's most important units, the source class's, all the others), and over
attacks their means with confidence intervals.

A group's interval is the normal approximation, mean +- z * sd / sqrt(n) with the sample
standard deviation (n - 1) and z the two-sided normal quantile of the level (2.576 at 99 %);
the attacks are independent pictures, and with tens of attacks or more the mean is close to
normal. The ratio of two group means gets a percentile bootstrap over attacks (resampled in
pairs, a fixed seed, so the file is reproducible), since a ratio of means is skewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from ganpaint.core.errors import GanpaintError
from ganpaint.models.classifier_attack import GROUPS, Interval  # the file's types

__all__ = ["GROUPS", "Interval", "group_means", "mean_interval", "ratio_interval"]


def mean_interval(values: Sequence[float] | np.ndarray, level: float = 0.99) -> Interval:
    """Mean and normal-approximation interval; one value gives a zero-width interval, none an
    error."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise GanpaintError("no values to average (no successful attack?)")
    if not 0 < level < 1:
        raise GanpaintError(f"confidence level must be between 0 and 1, not {level}")
    mean = float(v.mean())
    half = 0.0
    if v.size > 1:
        z = NormalDist().inv_cdf(0.5 + level / 2)
        half = z * float(v.std(ddof=1)) / np.sqrt(v.size)
    return Interval(mean, mean - half, mean + half, int(v.size), level)


def ratio_interval(
    num: Sequence[float] | np.ndarray,
    den: Sequence[float] | np.ndarray,
    level: float = 0.99,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """mean(num) / mean(den) and its percentile-bootstrap interval, resampling the pairs."""
    a = np.asarray(num, dtype=np.float64)
    b = np.asarray(den, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        raise GanpaintError(f"a ratio needs two equal, non-empty samples, not {a.size}, {b.size}")
    ratio = float(a.mean() / b.mean()) if b.mean() > 0 else float("inf")
    idx = np.random.default_rng(seed).integers(0, a.size, (resamples, a.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = a[idx].mean(1) / b[idx].mean(1)
    low, high = np.quantile(boot, [0.5 - level / 2, 0.5 + level / 2])
    return ratio, float(low), float(high)


def group_means(
    unit_change: np.ndarray, target_units: Sequence[int], source_units: Sequence[int]
) -> tuple[float, float, float]:
    """One attack's mean change over the target's units, the source's units and the rest.

    A unit in both lists counts in both of them; "other" excludes both lists."""
    change = np.asarray(unit_change, dtype=np.float64)
    t = list(target_units)
    s = list(source_units)
    rest = np.ones(change.size, bool)
    rest[t + s] = False
    if not t or not s or not rest.any():
        raise GanpaintError(
            f"the three unit groups need units each: {len(t)} target, {len(s)} source, "
            f"{int(rest.sum())} other of {change.size}"
        )
    return float(change[t].mean()), float(change[s].mean()), float(change[rest].mean())
