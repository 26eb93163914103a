"""Closed forms, the tolerance policy, and how numbers are printed.

**Tolerance policy** (SPEC §6; docs/conformance.md): a deviation fails only if it can change
what training computes, and differences below float32 resolution never do. In every dtype
(float64 inputs included: an implementation may compute in float32 inside):

- a value ``v`` matches an expected ``e`` when ``|v - e| <= RTOL |e| + ATOL_PER_WEIGHT * w``;
- where the value depends on per-sample gradient norms ``n``, every norm may read as any
  number in ``[sqrt(max(n^2 - SQ_EPS, 0)), sqrt(n^2 + SQ_EPS)]``: an ``eps <= 1e-6`` added
  inside the square root of the norm (``sqrt(sum(g^2) + eps)``) is accepted, and so is its
  effect at a zero gradient (a norm of up to ``1e-3``);
- where the value depends on distances ``||x - y||`` (difference quotients, transport), each
  distance may also read as ``||x - y +- PAIRWISE_EPS||`` (every coordinate shifted by
  ``1e-6``): ``torch.nn.functional.pairwise_distance``'s default, either argument order.

Terms are in plain Python (independent of :mod:`gp_spec.penalties`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "ATOL_PER_WEIGHT",
    "PAIRWISE_EPS",
    "RTOL",
    "SQ_EPS",
    "TERMS",
    "TERM_SLOPES",
    "close",
    "digits",
    "term_interval",
    "within",
]

RTOL = 1e-5
"""Relative tolerance: about 100 float32 ulps (float32 resolution is 1.19e-7)."""

ATOL_PER_WEIGHT = 1e-7
"""Absolute tolerance per unit of weight (a value that should be 0 may read 1e-7 x weight)."""

SQ_EPS = 1e-6
"""Largest ``eps`` accepted inside the square root of a gradient norm."""

PAIRWISE_EPS = 1e-6
"""``torch.nn.functional.pairwise_distance(x1, x2)`` computes ``||x1 - x2 + eps||`` with
``eps = 1e-6``: a distance read that way is accepted."""

TERMS: dict[str, Callable[[float], float]] = {
    "two_sided": lambda n: (n - 1.0) ** 2,
    "one_sided": lambda n: max(0.0, n - 1.0) ** 2,
    "zero_centred": lambda n: n**2,
    "max": lambda n: n**2,
}
"""Per-sample terms of the gradient norm (003 Eq. 6, 8; 004 Eq. 6; 002 Eq. 18)."""

TERM_SLOPES: dict[str, Callable[[float], float]] = {
    "two_sided": lambda n: 2.0 * (n - 1.0),
    "one_sided": lambda n: 2.0 * max(0.0, n - 1.0),
    "zero_centred": lambda n: 2.0 * n,
    "max": lambda n: 2.0 * n,
}
"""Their derivatives ``d term / d n``."""

def term_interval(key: str, norm: float) -> tuple[float, float]:
    """``[min, max]`` of ``term(n')`` over the norms ``n'`` a correct implementation may read
    for a true norm ``norm`` (the tolerance policy's ``eps`` inside the square root)."""
    lo = math.sqrt(max(norm * norm - SQ_EPS, 0.0))
    hi = math.sqrt(norm * norm + SQ_EPS)
    term = TERMS[key]
    at = [term(lo), term(hi)]  # every term is monotone on [0, inf) except two-sided,
    if key == "two_sided" and lo <= 1.0 <= hi:  # convex with its minimum at 1
        at.append(0.0)
    return min(at), max(at)


def mean_interval(key: str, norms: Sequence[float] | np.ndarray,
                  weights: Sequence[float] | np.ndarray | None = None) -> tuple[float, float]:
    """``[lo, hi]`` of ``mean_i(w_i term(n_i))`` under :func:`term_interval` per norm."""
    ns = np.asarray(norms, dtype=np.float64).reshape(-1)
    ws = np.ones_like(ns) if weights is None else np.asarray(weights, dtype=np.float64)
    bounds = np.array([term_interval(key, float(n)) for n in ns]).reshape(-1, 2)
    return float(np.mean(ws * bounds[:, 0])), float(np.mean(ws * bounds[:, 1]))


def close(got: float, want: float, weight: float) -> bool:
    """``|got - want| <= RTOL |want| + ATOL_PER_WEIGHT * max(weight, 1)``."""
    return abs(got - want) <= RTOL * abs(want) + ATOL_PER_WEIGHT * max(weight, 1.0)


def within(got: float, lo: float, hi: float, weight: float) -> bool:
    """``got`` in ``[lo, hi]`` widened by the tolerance at each end."""
    return lo - (RTOL * abs(lo) + ATOL_PER_WEIGHT * max(weight, 1.0)) <= got \
        <= hi + RTOL * abs(hi) + ATOL_PER_WEIGHT * max(weight, 1.0)


def digits(got: float, want: float) -> tuple[str, str]:
    """Both numbers with enough significant digits that they print differently (6 to 17)."""
    for p in range(6, 18):
        a, b = f"{got:.{p}g}", f"{want:.{p}g}"
        if a != b:
            return a, b
    return f"{got:.17g}", f"{want:.17g}"
