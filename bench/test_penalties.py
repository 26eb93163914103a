"""What each penalty in ``gp_spec.SPECS`` costs: value + backward on small critics (CPU).

Cases: the 003 §6 MLP (3 x 512 LeakyReLU) on 2-D and 64-D data, and a small DCGAN-style conv
critic (width 16) on 8x8 and 32x32 RGB images; batch 64 and 256. Each benchmark times
``spec.bind()(critic, real, fake).backward()`` (grads cleared first) with few rounds so the
whole suite stays within a few minutes on 2 cores. Group by case to compare penalties:
``pytest bench --benchmark-only --benchmark-group-by=param:case,param:batch``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from pytest_benchmark.fixture import BenchmarkFixture
from torch import Tensor, nn

from gp_spec import SPECS
from gp_spec.harness.models import DCGANCritic, MLPCritic

CASES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "mlp-2d": (lambda: MLPCritic((2,)), (2,)),
    "mlp-64d": (lambda: MLPCritic((64,)), (64,)),
    "conv-8x8": (lambda: DCGANCritic((3, 8, 8), 16, stem=False), (3, 8, 8)),
    "conv-32x32": (lambda: DCGANCritic((3, 32, 32), 16, stem=False), (3, 32, 32)),
}
BATCHES = (64, 256)
ROUNDS = {"mlp-2d": 10, "mlp-64d": 10, "conv-8x8": 10, "conv-32x32": 4}


def _data(shape: tuple[int, ...], batch: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn((batch, *shape), generator=g), torch.randn((batch, *shape), generator=g) + 1


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("spec", list(SPECS))
def test_penalty_value_and_backward(
    benchmark: BenchmarkFixture, spec: str, case: str, batch: int
) -> None:
    make, shape = CASES[case]
    critic = make()
    real, fake = _data(shape, batch)
    penalty = SPECS[spec].bind()
    benchmark.group = f"{case} batch {batch}"

    def step() -> None:
        critic.zero_grad(set_to_none=True)
        penalty(critic, real, fake).backward()

    benchmark.pedantic(step, rounds=ROUNDS[case], iterations=1, warmup_rounds=1)
