"""The statistical tests of the catalogue's random checks: concentration bounds for a mean
(Hoeffding, Bernstein) and scipy.stats for the Kolmogorov-Smirnov tests, imported only when
a test statistic is computed (scipy.stats costs about 1 s to import).

Each check that uses them compares its p-value with the spec's per-check rate
(:func:`gp_spec.conformance.checks._registry.statistical_rate`, Bonferroni over the suite).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["bernstein_p", "hoeffding_p", "scipy_stats"]


def hoeffding_p(mean: float, expected: float, n: int, width: float = 1.0) -> float:
    """Hoeffding's inequality for the mean of ``n`` iid draws in an interval of ``width``:
    ``P(|mean - E| >= t) <= 2 exp(-2 n t^2 / width^2)``."""
    return min(1.0, 2.0 * math.exp(-2.0 * n * (mean - expected) ** 2 / width**2))


def bernstein_p(mean: float, expected: float, n: int, var: float, bound: float) -> float:
    """Bernstein's inequality for the mean of ``n`` iid draws with variance ``var`` and
    ``|X - E X| <= bound``: ``P(|mean - E| >= t) <= 2 exp(-n t^2 / (2 var + 2 bound t / 3))``."""
    t = abs(mean - expected)
    return min(1.0, 2.0 * math.exp(-n * t * t / (2.0 * var + 2.0 * bound * t / 3.0)))


def scipy_stats() -> Any:
    """``scipy.stats``, imported where a test statistic is computed."""
    from scipy import stats

    return stats
