"""Penalty measures (SPEC §2): the geometry and the distribution of every measure's points.

Checks that interpolate/anchor points lie on the right segments with one alpha per sample,
that alpha ~ U(0, 1) (Kolmogorov-Smirnov), the midpoint, the default anchor, the local
perturbation, DRAGAN's perturbation, the latent path, finite (mixture) measures and their
masses, reproducibility with a seeded ``torch.Generator``, input validation and detaching.
Expected values are derived by hand from the formulas of SPEC §2, never from gp_spec itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given
from hypothesis import strategies as st

from gp_spec import measures
from gp_spec.errors import InvalidInputError

KS_P_MIN = 1e-6
"""Reject a distribution only if the KS p-value is below this: a correct implementation fails
with probability 1e-6 for a given seed; the seeds are fixed, so the tests never flicker."""


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _pair(n: int = 6, event: tuple[int, ...] = (3,), seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Real and fake batches whose elementwise differences are all at least 1 in magnitude."""
    g = _gen(seed)
    real = torch.rand((n, *event), generator=g, dtype=torch.float64) + 2.0  # in [2, 3)
    fake = -torch.rand((n, *event), generator=g, dtype=torch.float64) - 1.0  # in (-2, -1]
    return real, fake


def _solve_alpha(points: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Elementwise alpha with ``points = alpha * end + (1 - alpha) * start``, shape (N, numel)."""
    return ((points - start) / (end - start)).flatten(1)


def _assert_one_alpha_per_sample(alpha: torch.Tensor) -> None:
    spread = (alpha.max(1).values - alpha.min(1).values).abs().max().item()
    assert spread < 1e-12, f"alpha differs across event elements by {spread}, but should be 0"
    assert bool(((alpha >= 0) & (alpha <= 1)).all()), f"alpha={alpha[:, 0]} outside [0, 1]"


# ----------------------------------------------------------------------------- deterministic


@pytest.mark.parametrize("event", [(1,), (3,), (2, 3, 3)], ids=["1d", "3d", "image"])
def test_real_and_fake_return_the_batch_itself(event: tuple[int, ...]) -> None:
    # hand-derived: x_hat = x on p_d and x_hat = y on p_g (000 Table 1), unit weights.
    real, fake = _pair(event=event)
    r = measures.real().sample(real, fake)
    f = measures.fake().sample(real, fake)
    torch.testing.assert_close(r.points, real, rtol=0, atol=0)
    torch.testing.assert_close(f.points, fake, rtol=0, atol=0)
    torch.testing.assert_close(r.weights, torch.ones(6, dtype=torch.float64))
    torch.testing.assert_close(f.weights, torch.ones(6, dtype=torch.float64))


def test_midpoint_is_exact_half_way() -> None:
    # hand-derived: mu_mid is x/2 + y/2 (000 Table 1); numpy computes the reference.
    real, fake = _pair(event=(2, 2))
    pts = measures.midpoint().sample(real, fake).points
    expected = torch.from_numpy((real.numpy() + fake.numpy()) / 2.0)
    torch.testing.assert_close(pts, expected, rtol=0, atol=1e-15)


def test_real_measure_needs_no_fake_and_fake_needs_no_real() -> None:
    # R1 / R2 use one side only (004 Table 1), so the other may be None.
    real, fake = _pair()
    assert measures.real().sample(real, None).points.shape == real.shape
    assert measures.fake().sample(None, fake).points.shape == fake.shape


# ----------------------------------------------------------------------------- interpolate


@pytest.mark.parametrize("event", [(1,), (4,), (3, 2, 2)], ids=["1d", "4d", "image"])
def test_interpolate_lies_on_segment_with_one_alpha_per_sample(event: tuple[int, ...]) -> None:
    # 003 Eq. 6: x_hat = alpha x + (1 - alpha) y, one alpha per pair, broadcast over all dims.
    real, fake = _pair(n=8, event=event)
    pts = measures.interpolate().sample(real, fake, generator=_gen(1)).points
    _assert_one_alpha_per_sample(_solve_alpha(pts, fake, real))


def test_interpolate_alpha_is_uniform_ks() -> None:
    # 003 Eq. 6 "t ~ U[0, 1]": with real = 1 and fake = 0 the point IS alpha. 20000 draws,
    # seed 0; KS against U(0, 1), rejected only if p < 1e-6 (false-positive rate 1e-6).
    n = 20000
    real = torch.ones(n, 1, dtype=torch.float64)
    pts = measures.interpolate().sample(real, torch.zeros_like(real), generator=_gen(0)).points
    p = scipy.stats.kstest(pts[:, 0].numpy(), "uniform").pvalue
    assert p > KS_P_MIN, f"KS p-value {p:.3g}: interpolation weights are not U(0, 1)"


def test_interpolate_rejects_mismatched_pair() -> None:
    real, fake = _pair()
    with pytest.raises(InvalidInputError, match="shape"):
        measures.interpolate().sample(real, fake[:-1])


# ----------------------------------------------------------------------------- anchor


def test_default_anchor_is_2_minus1_in_2d() -> None:
    # 000 §5.1: A = (2, -1) for the 2-D experiments.
    a = measures.default_anchor((2,), torch.zeros(1, dtype=torch.float64))
    torch.testing.assert_close(a, torch.tensor([2.0, -1.0], dtype=torch.float64))


@pytest.mark.parametrize(
    ("event", "flat"),
    [((1,), [2.0]), ((3,), [2.0, -1.0, 2.0]), ((2, 2), [2.0, -1.0, 2.0, -1.0])],
    ids=["1d", "3d", "2x2"],
)
def test_default_anchor_tiles_pattern(event: tuple[int, ...], flat: list[float]) -> None:
    # hand-derived: the flattened event of the default anchor is 2, -1, 2, -1, ...
    a = measures.default_anchor(event, torch.zeros(1))
    assert a.shape == event
    assert a.flatten().tolist() == flat


@pytest.mark.parametrize("point", [None, (0.5, 4.0)], ids=["default", "custom"])
def test_anchor_points_lie_between_anchor_and_fake(point: tuple[float, float] | None) -> None:
    # 000 Table 1: x_hat = alpha A + (1 - alpha) y with one alpha per sample in [0, 1].
    real, fake = _pair(n=10, event=(2,))
    a = torch.tensor(point if point is not None else (2.0, -1.0), dtype=torch.float64)
    pts = measures.anchor(point).sample(real, fake, generator=_gen(3)).points
    _assert_one_alpha_per_sample(_solve_alpha(pts, fake, a.expand_as(fake)))


def test_anchor_with_wrong_event_shape_raises() -> None:
    real, fake = _pair(event=(2,))
    with pytest.raises(InvalidInputError, match=r"anchor\.shape"):
        measures.anchor((1.0, 2.0, 3.0)).sample(real, fake)


# ----------------------------------------------------------------------------- perturbed


def test_perturbed_noise_is_gaussian_with_given_std_ks() -> None:
    # 003 App. D.4: x_hat = x + xi, xi ~ N(0, sigma^2 I). 20000 draws, seed 0, KS vs N(0, 0.3^2),
    # rejected only if p < 1e-6.
    real = torch.linspace(-1, 1, 20000, dtype=torch.float64)[:, None]
    pts = measures.perturbed(0.3).sample(real, None, generator=_gen(0)).points
    noise = (pts - real)[:, 0].numpy()
    p = scipy.stats.kstest(noise, "norm", args=(0.0, 0.3)).pvalue
    assert p > KS_P_MIN, f"KS p-value {p:.3g}: perturbation is not N(0, 0.3^2)"


def test_perturbed_fake_too_doubles_batch() -> None:
    # 003 App. D.4 variant: both real and fake are perturbed; with sigma = 0 the 2N points are
    # exactly the real and fake samples (compared as sets of rows, order-free).
    real, fake = _pair(n=5, event=(2,))
    pts = measures.perturbed(0.0, fake_too=True).sample(real, fake, generator=_gen(0))
    assert pts.points.shape == (10, 2)
    torch.testing.assert_close(pts.weights, torch.ones(10, dtype=torch.float64))
    got = sorted(map(tuple, pts.points.tolist()))
    want = sorted(map(tuple, torch.cat([real, fake]).tolist()))
    assert got == want, "perturbed(0, fake_too=True) should return the real and fake rows"


@pytest.mark.parametrize("std", [-0.1, float("nan")], ids=["negative", "nan"])
def test_perturbed_rejects_bad_std(std: float) -> None:
    with pytest.raises(InvalidInputError, match="std"):
        measures.perturbed(std)


# ----------------------------------------------------------------------------- dragan


def _dragan_ratio(c: float, n: int, event: tuple[int, ...], seed: int) -> torch.Tensor:
    """(x_hat - x) / (c * std(x)), std = numpy's population std of the whole real batch."""
    real = torch.randn((n, *event), generator=_gen(100 + seed), dtype=torch.float64) * 2 + 1
    pts = measures.dragan(c).sample(real, None, generator=_gen(seed)).points
    std = float(np.std(real.numpy()))  # population std (ddof=0), as X.std() in DRAGAN's code
    return ((pts - real) / (c * std)).flatten(1)


def test_dragan_displacement_is_alpha_c_std_u_in_unit_box() -> None:
    # Kodali et al. 2017 (SPEC §2): x_hat - x = alpha * c * std(x) * u with alpha, u in [0, 1], so
    # the ratio to c * std(x) lies in [0, 1] elementwise (compare_gan's u - 0.5 would go negative).
    t = _dragan_ratio(0.5, 64, (3,), seed=0)
    assert float(t.min()) >= 0.0, f"min ratio {float(t.min())}, but should be >= 0"
    assert float(t.max()) <= 1.0, f"max ratio {float(t.max())}, but should be <= 1"


def test_dragan_ratio_is_product_of_two_uniforms_ks() -> None:
    # hand-derived: t = alpha * u with alpha, u ~ U(0,1) independent has CDF F(t) = t - t ln t.
    # 20000 draws with a 1-D event, seed 0; KS rejected only if p < 1e-6.
    t = _dragan_ratio(0.5, 20000, (1,), seed=0)[:, 0].numpy()
    p = scipy.stats.kstest(t, lambda s: s - s * np.log(np.clip(s, 1e-300, None))).pvalue
    assert p > KS_P_MIN, f"KS p-value {p:.3g}: DRAGAN ratio is not alpha * u"


def test_dragan_alpha_is_shared_within_a_sample() -> None:
    # hand-derived: with one alpha per sample, t1 = alpha u1 and t2 = alpha u2 have correlation
    # Cov/Var = (1/3 * 1/4 - 1/16) / (1/3 * 1/3 - 1/16) = 3/7; an elementwise alpha gives 0.
    # 20000 samples: the standard error of the correlation is < 0.01, tolerance 0.05.
    t = _dragan_ratio(0.5, 20000, (2,), seed=1).numpy()
    corr = float(np.corrcoef(t[:, 0], t[:, 1])[0, 1])
    assert abs(corr - 3 / 7) < 0.05, f"corr={corr:.3f}, but should be 3/7 (one alpha/sample)"


def test_dragan_std_is_population_std() -> None:
    # DRAGAN's X.std() is numpy's population std (ddof=0). Real batch (0, 2): population std 1,
    # sample std sqrt(2). Hand-derived: t = (x_hat - x) / (c * 1) = alpha * u <= 1; with the
    # sample std t would reach sqrt(2) alpha u, which exceeds 1 with probability 0.048 per value.
    # 600 values over fixed seeds: max t > 0.8 unless all alpha*u < 0.8 (chance 0.9785^600 ~ 2e-6).
    real = torch.tensor([[0.0], [2.0]], dtype=torch.float64)
    t = torch.cat([(measures.dragan(0.5).sample(real, None, generator=_gen(s)).points - real) / 0.5
                   for s in range(300)])
    assert 0.8 < float(t.max()) <= 1.0, f"max ratio {float(t.max())}, but should be in (0.8, 1]"


def test_dragan_std_is_over_whole_batch() -> None:
    # hand-derived: a real batch with one zero column and one column of +-1 has population std
    # sqrt(0.5) over the whole tensor; a per-column std would leave the zero column unperturbed.
    real = torch.tensor([[0.0, 1.0], [0.0, -1.0]] * 50, dtype=torch.float64)
    pts = measures.dragan(0.5).sample(real, None, generator=_gen(0)).points
    shift = pts[:, 0] - real[:, 0]
    assert float(shift.max()) > 0.0, "the zero column should move: std is over the whole batch"
    assert float(shift.max()) <= 0.5 * math.sqrt(0.5) + 1e-15


# ----------------------------------------------------------------------------- latent path


def test_latent_path_is_generator_of_latent_interpolate() -> None:
    # 004 App. F, Alg. 1: x_hat = G(alpha E(x) + (1 - alpha) z). With E(x) = 2x, G(u) = u + 10 and a
    # fixed z, the latent code G^-1(x_hat) = x_hat - 10 lies on [z, E(x)] with one alpha per sample.
    real, _ = _pair(n=7, event=(3,))
    z = -torch.ones(7, 3, dtype=torch.float64)

    def sample_latent(n: int, generator: torch.Generator | None) -> torch.Tensor:
        return z[:n]

    mu = measures.latent_path(lambda x: 2 * x, lambda u: u + 10, sample_latent)
    pts = mu.sample(real, None, generator=_gen(0)).points
    _assert_one_alpha_per_sample(_solve_alpha(pts - 10, z, 2 * real))


def test_latent_path_rejects_latent_shape_mismatch() -> None:
    real, _ = _pair(n=4, event=(3,))
    mu = measures.latent_path(lambda x: x, lambda u: u, lambda n, g: torch.zeros(n, 2))
    with pytest.raises(InvalidInputError, match="sample_latent"):
        mu.sample(real, None)


# ----------------------------------------------------------------------------- mixture


def _sq(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).square().sum(1)


def test_mixture_expectation_is_weighted_sum_of_components() -> None:
    # 000 §2.1, footnote 1: E_mu[h] = sum_k w_k E_{mu_k}[h]. Hand-derived with h = ||x||^2 on
    # deterministic components, the component means computed directly in numpy.
    real, fake = _pair(n=4, event=(2,))
    mix = measures.mixture([(0.5, measures.real()), (2.0, measures.fake()),
                            (0.25, measures.midpoint())])
    pts = mix.sample(real, fake)
    r, f = real.numpy(), fake.numpy()
    expected = (0.5 * (r**2).sum(1).mean() + 2.0 * (f**2).sum(1).mean()
                + 0.25 * (((r + f) / 2) ** 2).sum(1).mean())
    got = float((pts.weights * _sq(pts.points)).mean())
    assert math.isclose(got, expected, rel_tol=1e-12), f"E_mu[h]={got}, but should be {expected}"
    assert mix.mass == 2.75, f"mass={mix.mass}, but should be 0.5 + 2 + 0.25"
    assert math.isclose(float(pts.weights.mean()), 2.75, rel_tol=1e-12)


def test_mixture_with_unequal_component_sizes() -> None:
    # hand-derived: perturbed(0, fake_too) gives 2N points (mean over real and fake rows), real
    # gives N; the weights must rescale so each component contributes w_k times its own mean.
    real, fake = _pair(n=3, event=(2,))
    mix = measures.mixture([(1.0, measures.perturbed(0.0, fake_too=True)),
                            (3.0, measures.real())])
    pts = mix.sample(real, fake, generator=_gen(0))
    r, f = real.numpy(), fake.numpy()
    expected = np.concatenate([(r**2).sum(1), (f**2).sum(1)]).mean() + 3.0 * (r**2).sum(1).mean()
    got = float((pts.weights * _sq(pts.points)).mean())
    assert math.isclose(got, expected, rel_tol=1e-12), f"E_mu[h]={got}, but should be {expected}"


@pytest.mark.parametrize("comps", [[], [(-1.0, measures.real())]], ids=["empty", "negative"])
def test_mixture_rejects_bad_components(comps: list[tuple[float, measures.Real]]) -> None:
    with pytest.raises(InvalidInputError, match="mixture"):
        measures.mixture(comps)


@given(w1=st.floats(0, 10), w2=st.floats(0, 10))
def test_mixture_mass_is_sum_of_weights(w1: float, w2: float) -> None:
    # 000 §2.1: the mass of sum_k w_k mu_k (mu_k probability measures) is M = sum_k w_k.
    mix = measures.mixture([(w1, measures.real()), (w2, measures.interpolate())])
    assert math.isclose(mix.mass, w1 + w2, rel_tol=1e-12, abs_tol=1e-300)


# ----------------------------------------------------------------------------- reproducibility

RANDOM_MEASURES = {
    "interpolate": measures.interpolate(),
    "anchor": measures.anchor(),
    "perturbed": measures.perturbed(0.1, fake_too=True),
    "dragan": measures.dragan(),
    "mixture": measures.mixture([(1.0, measures.interpolate()), (1.0, measures.dragan())]),
    "latent_path": measures.latent_path(
        lambda x: x, lambda u: u, lambda n, g: torch.randn(n, 3, generator=g, dtype=torch.float64)
    ),
}


@pytest.mark.parametrize("mu", RANDOM_MEASURES.values(), ids=RANDOM_MEASURES.keys())
def test_same_seed_same_points_different_seed_different(mu: measures.Measure) -> None:
    # SPEC §2: "Random draws take an optional torch.Generator so a caller can reproduce them".
    real, fake = _pair(n=5, event=(3,))
    a = mu.sample(real, fake, generator=_gen(7)).points
    b = mu.sample(real, fake, generator=_gen(7)).points
    c = mu.sample(real, fake, generator=_gen(8)).points
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c), f"{mu.name}: seeds 7 and 8 gave identical points"


# ----------------------------------------------------------------------------- hygiene

ALL_MEASURES = {
    "real": measures.real(),
    "fake": measures.fake(),
    "midpoint": measures.midpoint(),
    **RANDOM_MEASURES,
}


@pytest.mark.parametrize("mu", ALL_MEASURES.values(), ids=ALL_MEASURES.keys())
def test_points_are_detached_and_inputs_untouched(mu: measures.Measure) -> None:
    # SPEC §2 / measures docstring: samples are detached from the producers of real and fake.
    real, fake = (t.clone().requires_grad_(True) for t in _pair(n=4, event=(3,)))
    before = (real.detach().clone(), fake.detach().clone())
    pts = mu.sample(real * 1.0, fake * 1.0, generator=_gen(0))
    assert not pts.points.requires_grad, f"{mu.name}: points carry a graph to real/fake"
    assert torch.equal(real.detach(), before[0]) and torch.equal(fake.detach(), before[1])
    assert pts.points.dtype == torch.float64 and pts.weights.shape == (pts.points.shape[0],)


BAD_INPUTS = {
    "empty": torch.zeros(0, 3),
    "integer": torch.ones(4, 3, dtype=torch.int64),
    "nan": torch.tensor([[0.0, float("nan"), 1.0]] * 4),
    "inf": torch.tensor([[0.0, float("inf"), 1.0]] * 4),
    "no_event_dim": torch.zeros(4),
}


READS = {  # which inputs each measure reads (SPEC §2)
    "real": ("real",), "fake": ("fake",), "midpoint": ("real", "fake"),
    "interpolate": ("real", "fake"), "anchor": ("fake",), "perturbed": ("real", "fake"),
    "dragan": ("real",), "mixture": ("real", "fake"), "latent_path": ("real",),
}
BAD_CASES = [
    pytest.param(name, side, bad, id=f"{name}-{side}-{bad_id}")
    for name in ALL_MEASURES for side in READS[name] for bad_id, bad in BAD_INPUTS.items()
]


@pytest.mark.parametrize(("name", "side", "bad"), BAD_CASES)
def test_bad_batches_raise(name: str, side: str, bad: torch.Tensor) -> None:
    # SPEC conventions: inputs are non-empty floating (N, *event) tensors with finite values.
    good = torch.zeros(4, 3)
    real, fake = (bad, good) if side == "real" else (good, bad)
    with pytest.raises(InvalidInputError):
        ALL_MEASURES[name].sample(real, fake)
