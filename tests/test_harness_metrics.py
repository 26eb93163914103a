"""gp_spec.harness.metrics against independent ground truth (scipy, closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import optimize, stats
from torch import Tensor, nn

from gp_spec.harness import data, metrics


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class _Fn(nn.Module):
    """A critic given by a formula (with one dummy parameter so device lookups work)."""

    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.fn(x) + 0 * self.dummy  # type: ignore[operator]
        return out


def test_w1_assignment_equals_the_hungarian_assignment_cost() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(1.0, 2.0, size=(40, 3))
    cost = np.linalg.norm(x[:, None] - y[None], axis=2)
    rows, cols = optimize.linear_sum_assignment(cost)  # computed with scipy's Hungarian solver
    assert metrics.w1_assignment(torch.as_tensor(x), torch.as_tensor(y)) == pytest.approx(
        cost[rows, cols].mean(), rel=1e-9)


def test_w1_assignment_with_unequal_sizes_equals_scipy_in_1d() -> None:
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=23), rng.exponential(size=31)
    expected = stats.wasserstein_distance(u, v)  # scipy's CDF formula
    assert metrics.w1_assignment(u[:, None], v[:, None]) == pytest.approx(expected, rel=1e-9)


def test_sliced_w1_in_1d_equals_scipy() -> None:
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=50), rng.normal(0.5, 1.5, size=70)
    got = metrics.sliced_w1(u[:, None], v[:, None], n_projections=7, generator=_gen())
    assert got == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-12)


def test_sliced_w1_is_at_most_w1() -> None:
    # projections are 1-Lipschitz, so every sliced term is <= W1 (SW1 <= W1).
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(60, 4)), rng.normal(0.3, 1.0, size=(60, 4))
    assert metrics.sliced_w1(x, y, generator=_gen()) <= metrics.w1_assignment(x, y) + 1e-12


def test_sup_distance_of_minus_abs_plus_three_is_zero() -> None:
    sd = metrics.sup_distance_to_abs(_Fn(lambda x: -x.abs()[:, 0] + 3))
    assert sd.distance == pytest.approx(0.0, abs=1e-6) and sd.c == pytest.approx(3.0, abs=1e-6)


def test_sup_distance_of_a_tilted_critic() -> None:
    # f = -|x| + 0.1 x on [-3, 3]: f + |x| = 0.1 x ranges over [-0.3, 0.3] -> distance 0.3, c = 0.
    sd = metrics.sup_distance_to_abs(_Fn(lambda x: -x.abs()[:, 0] + 0.1 * x[:, 0]))
    assert sd.distance == pytest.approx(0.3, abs=1e-6) and sd.c == pytest.approx(0.0, abs=1e-6)


def test_mode_statistics_definitions() -> None:
    ds = data.eight_gaussians()
    assert ds.centres is not None and ds.mode_std is not None
    on_modes = ds.centres.repeat(10, 1)  # 80 samples, 10 per mode
    s = metrics.mode_statistics(on_modes, ds.centres, ds.mode_std)
    assert (s.modes_covered, s.high_quality, s.min_count) == (8, 1.0, 1)
    half = ds.centres[:4].repeat(20, 1) + 2 * ds.mode_std  # 2.83 std away: still high quality
    s = metrics.mode_statistics(half, ds.centres, ds.mode_std)
    assert (s.modes_covered, s.high_quality) == (4, 1.0)
    far = ds.centres + 4 * ds.mode_std  # 5.7 std away
    s = metrics.mode_statistics(far, ds.centres, ds.mode_std)
    assert (s.modes_covered, s.high_quality) == (0, 0.0)


def test_frechet_distance_closed_form_for_diagonal_covariances() -> None:
    # Orthogonal +-1 patterns u, v give exactly diagonal sample covariances, for which
    # FD = ||m_a - m_b||^2 + sum_i (sd_a,i - sd_b,i)^2 (commuting covariances; closed form).
    n = 400
    u, v = np.tile([1.0, 1, -1, -1], n // 4), np.tile([1.0, -1, 1, -1], n // 4)
    a = np.stack([0.5 + 2.0 * u, -1.0 + 0.3 * v], 1)
    b = np.stack([1.5 + 0.5 * u, 2.0 + 1.2 * v], 1)
    k = np.sqrt(n / (n - 1))  # sample sd of +-1 with ddof = 1
    expected = (1.0 + 9.0) + (k * (2.0 - 0.5)) ** 2 + (k * (0.3 - 1.2)) ** 2
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_1d_matches_gaussian_w2_squared() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(1, 2, size=300), rng.normal(-1, 0.5, size=200)
    expected = (x.mean() - y.mean()) ** 2 + (x.std(ddof=1) - y.std(ddof=1)) ** 2
    assert metrics.frechet_distance(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-10)


def test_gradient_norm_stats_of_a_linear_critic() -> None:
    w = torch.tensor([3.0, 4.0])
    g = metrics.gradient_norm_stats(_Fn(lambda x: x @ w), torch.randn(16, 2, generator=_gen()),
                                    torch.randn(16, 2, generator=_gen(1)), generator=_gen(2))
    assert g.mean == pytest.approx(5.0) and g.max == pytest.approx(5.0)
    assert g.above_one == 1.0 and g.std == pytest.approx(0.0, abs=1e-6)


def test_mse_to_optimal_is_zero_for_the_exact_logit() -> None:
    ds = data.two_gaussians()
    assert ds.log_ratio is not None
    exact = _Fn(lambda x: ds.log_ratio(x.double()).float())  # type: ignore[misc]
    assert metrics.mse_to_optimal(exact, ds.log_ratio) == pytest.approx(0.0, abs=1e-10)
    half = _Fn(lambda x: torch.zeros(x.shape[0]))  # D = 1/2 everywhere
    assert metrics.mse_to_optimal(half, ds.log_ratio) > 0.05


def test_digit_classifier_and_its_coverage() -> None:
    from sklearn.datasets import load_digits

    clf = metrics.digit_classifier()
    assert clf.train_accuracy > 0.98
    images = torch.as_tensor(load_digits().images, dtype=torch.float32)[:, None] / 8 - 1
    assert metrics.digit_classes_covered(images) == 10
    assert metrics.digit_classes_covered(images[:1].repeat(100, 1, 1, 1)) == 1
    perm = torch.randperm(len(images), generator=_gen())
    same = metrics.digits_frechet_distance(images[perm[:800]], images[perm[800:1600]])
    noise = metrics.digits_frechet_distance(torch.rand(800, 1, 8, 8, generator=_gen()) * 2 - 1,
                                            images[perm[:800]])
    assert same < 0.1 * noise
