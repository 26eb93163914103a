"""pytest-benchmark suites of gp_spec (CPU): ``nox -s bench`` or
``python -m pytest bench --benchmark-only``.

Results: ``nox -s bench`` passes ``--benchmark-json bench/results/pytest-cpu-<date>.json``;
a plain pytest run writes JSON only when given ``--benchmark-json PATH``.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    """Every benchmark starts from the same global seed."""
    torch.manual_seed(0)
