"""What the ground-truth W1 costs: ``gp_spec.optimal.kantorovich`` against ``ot.emd2`` (CPU).

Both on the same seeded points, n = m = 500 in d = 2 and d = 64, the cost matrix included
(``kantorovich`` builds it exactly with scipy's ``cdist``; ``emd2`` gets ``ot.dist``).
``kantorovich`` also returns the coupling, the duals and the critic, and checks the duals.
Group by size: ``pytest bench/test_kantorovich.py --benchmark-only --benchmark-group-by=group``.
The side-by-side ratio at n = m = 2000, d = 64 (issue 12) is ``python bench/startup.py``.
"""

from __future__ import annotations

import numpy as np
import ot
import pytest
import torch
from pytest_benchmark.fixture import BenchmarkFixture

from gp_spec.optimal import kantorovich

N = 500


def _points(d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((N, d)), rng.standard_normal((N, d)) + 1.0


def _emd2(x: np.ndarray, y: np.ndarray) -> float:
    a = np.full(N, 1.0 / N)
    return float(ot.emd2(a, a, ot.dist(x, y, metric="euclidean"), numItermax=50 * N * N))


@pytest.mark.parametrize("d", [2, 64])
@pytest.mark.parametrize("variant", ["kantorovich", "ot.emd2"])
def test_w1(benchmark: BenchmarkFixture, variant: str, d: int) -> None:
    x, y = _points(d)
    benchmark.group = f"W1 n=m={N} d={d}"
    if variant == "kantorovich":
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        w1 = benchmark.pedantic(lambda: kantorovich(xt, yt).w1, rounds=5, warmup_rounds=1)
    else:
        w1 = benchmark.pedantic(lambda: _emd2(x, y), rounds=5, warmup_rounds=1)
    # both are exact network-simplex optima of the same problem (POT as independent truth)
    assert abs(w1 - _emd2(x, y)) <= 1e-9 * max(1.0, abs(w1))
