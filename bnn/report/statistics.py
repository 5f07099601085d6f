"""The statistics of the results' comparisons (docs/results.md, "Statistics"): 95 % intervals of a run's top-1, of a
method's mean over seeds and of a paired difference, the exact McNemar test and Holm's adjustment.

Inputs are per-example arrays on one test split: 1/0 for a correct/wrong prediction, or a paired difference of two
(-1, 0, 1), one row per seed; McNemar's test takes the counts of discordant images. scipy computes every
distribution; only Holm's step-down (not in scipy) is written here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05  # a Holm-adjusted p-value below it (with an interval clear of 0) is evidence of a difference
LEVEL = 1.0 - ALPHA  # 95 %: every interval of the tables and figures
VERDICTS = ("better", "worse", "no evidence")


@dataclass(frozen=True)
class Interval:
    """A mean and its interval, in % (accuracy points)."""

    mean: float
    low: float
    high: float


def wilson(correct: int, total: int) -> Interval:
    """One run's top-1 with its Wilson score interval (binomial over the test images)."""
    ci = stats.binomtest(int(correct), int(total)).proportion_ci(confidence_level=LEVEL, method="wilson")
    return Interval(100.0 * correct / total, 100.0 * ci.low, 100.0 * ci.high)


def mean_interval(values: np.ndarray) -> Interval:
    """The mean over seeds and test images of ``values`` (seeds x images) with an interval that counts both sources
    of noise: the spread of the per-seed means (variance / seeds) and the sampling of the test images (variance of
    the per-image means over seeds / images), a Student t with Welch-Satterthwaite degrees of freedom."""
    values = np.asarray(values, dtype=np.float64)
    seeds, images = values.shape
    mean = float(values.mean())
    parts = [(values.mean(axis=0).var(ddof=1) / images, images - 1)]
    if seeds > 1:
        parts.append((values.mean(axis=1).var(ddof=1) / seeds, seeds - 1))
    variance = sum(v for v, _ in parts)
    if variance == 0.0:
        return Interval(100.0 * mean, 100.0 * mean, 100.0 * mean)
    dof = variance**2 / sum(v**2 / d for v, d in parts if v > 0)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, dof)) * variance**0.5
    return Interval(100.0 * mean, 100.0 * (mean - half), 100.0 * (mean + half))


def accuracy_interval(correct: np.ndarray) -> Interval:
    """A method's top-1 over its seeds (``correct``: seeds x images, 1 or 0): Wilson's interval for a single seed,
    :func:`mean_interval` for several, cut to [0, 100] %."""
    correct = np.asarray(correct)
    if correct.shape[0] == 1:
        return wilson(int(correct.sum()), correct.shape[1])
    interval = mean_interval(correct)
    return Interval(interval.mean, max(0.0, interval.low), min(100.0, interval.high))


def mcnemar(only_first: int, only_second: int) -> float:
    """Exact two-sided McNemar p-value: of the discordant images, how many the first run alone got right against
    Binomial(discordant, 1/2). No discordant image: p = 1."""
    discordant = int(only_first) + int(only_second)
    return 1.0 if discordant == 0 else float(stats.binomtest(int(only_first), discordant, 0.5).pvalue)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (same order as given)."""
    order = np.argsort(pvalues, kind="stable")
    adjusted = np.empty(len(pvalues))
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted.tolist()


def verdict(interval: Interval, adjusted_p: float) -> str:
    """``better`` or ``worse`` when both kinds of evidence agree: the Holm-adjusted exact test is below
    :data:`ALPHA` (the test images' sampling) and the difference's interval is clear of 0 on that side (the seeds'
    spread as well); else ``no evidence``."""
    if adjusted_p >= ALPHA:
        return "no evidence"
    if interval.low > 0:
        return "better"
    return "worse" if interval.high < 0 else "no evidence"
