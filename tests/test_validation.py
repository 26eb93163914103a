"""Input validation fast paths: a finite sum settles finiteness, a non-finite one falls back to
the exact test, and ``Points`` without weights is a probability sample whose ones are lazy."""

from __future__ import annotations

import pytest
import torch

from gp_spec import measures, penalties
from gp_spec._types import Points
from gp_spec._validation import _all_finite
from gp_spec.errors import InvalidInputError

BIG = float(torch.finfo(torch.float32).max)


@pytest.mark.parametrize(("values", "finite"), [
    ([0.0, 1.0, -2.0], True),
    ([BIG, BIG, BIG], True),        # finite values whose float32 sum overflows to inf
    ([BIG, -BIG, BIG, BIG], True),
    ([float("nan"), 1.0], False),
    ([1.0, float("inf")], False),
    ([float("-inf"), 1.0], False),
    ([float("inf"), float("-inf")], False),  # their sum is NaN
])
def test_all_finite_is_exact_also_when_the_sum_overflows(values: list[float],
                                                         finite: bool) -> None:
    x = torch.tensor(values, dtype=torch.float32)
    assert _all_finite(x) is finite
    assert _all_finite(x) is bool(torch.isfinite(x).all())  # the definition, independently


def test_huge_finite_inputs_are_accepted_and_nan_is_named() -> None:
    big = torch.full((4, 2), BIG / 2)
    measures.real().sample(big, big)  # accepted: every value is finite
    with pytest.raises(InvalidInputError, match="real contains NaN or inf"):
        measures.real().sample(torch.tensor([[float("nan"), 0.0]] * 2), big[:2])


def test_points_without_weights_is_a_unit_mass_sample() -> None:
    pts = Points(torch.zeros(3, 2))
    assert pts.unit_weights
    assert torch.equal(pts.weights, torch.ones(3))
    assert pts.weights is pts.weights  # made once
    weighted = Points(torch.zeros(3, 2), torch.full((3,), 2.0))
    assert not weighted.unit_weights and torch.equal(weighted.weights, torch.full((3,), 2.0))
    with pytest.raises(ValueError, match=r"weights.shape=\(2,\), but should be \(3,\)"):
        Points(torch.zeros(3, 2), torch.ones(2))


def test_penalty_on_an_n_by_1_critic_equals_the_n_critic() -> None:
    # the inner path differentiates the raw (N, 1) output: same value and parameter gradient
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 1)
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    out = []
    for critic in (lin, lambda x: lin(x)[:, 0]):
        lin.zero_grad()
        value = penalties.two_sided(critic, real, fake, generator=torch.Generator().manual_seed(1))
        value.backward()
        assert lin.weight.grad is not None
        out.append((value.detach(), lin.weight.grad.clone()))
    torch.testing.assert_close(out[0][0], out[1][0], rtol=0, atol=0)
    torch.testing.assert_close(out[0][1], out[1][1], rtol=1e-6, atol=1e-7)
