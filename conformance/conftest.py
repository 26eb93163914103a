"""One intra-op thread while the conformance suite runs (restored afterwards).

The checks call penalties on tensors of at most a few thousand elements; on a shared 2-core
machine OpenMP's thread start-up then costs more than the work (isfinite on 65k doubles:
~70 ms with 2 threads, ~0.2 ms with 1).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
