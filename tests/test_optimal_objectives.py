"""SPEC §4.6, 4.9-4.11: Prop. 3, Theorems 4-5, Lemma 4, Eq. 12, optimal discriminators.

Ground truth: exact inequalities on the same interpolates (Prop. 3), LPs written out here and
solved with scipy's HiGHS, ``scipy.optimize.minimize_scalar`` for every minimisation the papers
solve in closed form, central finite differences in float64 for derivatives, scipy densities and
quadrature for the optimal discriminators.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import ot
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from scipy.spatial.distance import cdist
from torch import Tensor, nn

from gp_spec import objectives, optimal, penalties

F64 = torch.float64
INSTANCES = sorted(objectives.EQ12_INSTANCES)


def _t(a: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _phi(name: str) -> Callable[[float], float]:
    fn = objectives.EQ12_INSTANCES[name]
    return lambda s: float(fn(torch.tensor(s, dtype=F64)))


def _fd1(f: Callable[[float], float], x: float, h: float = 1e-5) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


def _fd2(f: Callable[[float], float], x: float, h: float = 1e-4) -> float:
    return (f(x + h) - 2 * f(x) + f(x - h)) / h**2


@st.composite
def separated_clouds(draw: st.DrawFn, max_n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    d = draw(st.integers(1, 2))
    n, m = draw(st.integers(1, max_n)), draw(st.integers(1, max_n))
    el = st.floats(-3, 3, allow_nan=False, width=64)
    x = draw(hnp.arrays(np.float64, (n, d), elements=el))
    y = draw(hnp.arrays(np.float64, (m, d), elements=el))
    assume(cdist(x, y).min() > 1e-2)
    return x, y


def _k_lipschitz_compact_lp(x: np.ndarray, y: np.ndarray, k: float) -> float:
    """min_f E_y f - E_x f s.t. f(x_i) - f(y_j) <= k ||x_i - y_j|| (uniform weights), HiGHS."""
    n, m = len(x), len(y)
    rows = np.zeros((n * m, n + m))
    for i in range(n):
        for j in range(m):
            rows[i * m + j, i], rows[i * m + j, n + j] = 1.0, -1.0
    c = np.concatenate([-np.full(n, 1 / n), np.full(m, 1 / m)])
    res = scipy.optimize.linprog(c, A_ub=rows, b_ub=k * cdist(x, y).ravel(), bounds=(None, None))
    assert res.status == 0
    return float(res.fun)


# ---------------------------------------------------------------------------------------------
# §4.6 Proposition 3
# ---------------------------------------------------------------------------------------------


def _mlp(seed: int, width: int, d: int) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(d, width), nn.Tanh(), nn.Linear(width, 1)).to(F64)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(2.0 * torch.randn(p.shape, generator=g, dtype=F64))
    return net


@given(st.integers(0, 2**31 - 1), st.integers(1, 8), st.integers(1, 3), st.integers(1, 12),
       st.floats(0.0, 50.0))
def test_prop3_lp_loss_below_gp_loss_below_lp_plus_weight(
    seed: int, width: int, d: int, n: int, w: float
) -> None:
    # 003 Prop. 3, App. C.4: max(0, a-1)^2 <= (a-1)^2 <= max(0, a-1)^2 + 1 for a >= 0, so for
    # every critic and sample L_LP <= L_GP <= L_LP + w (same interpolates: same Generator seed).
    critic = _mlp(seed, width, d)
    g = torch.Generator().manual_seed(seed + 1)
    real = torch.randn(n, d, generator=g, dtype=F64) * 2
    fake = torch.randn(n, d, generator=g, dtype=F64) - 1
    wgan = objectives.wasserstein.critic_loss(critic(real), critic(fake))
    lp = wgan + penalties.one_sided(critic, real, fake, weight=w,
                                    generator=torch.Generator().manual_seed(seed))
    gp = wgan + penalties.two_sided(critic, real, fake, weight=w,
                                    generator=torch.Generator().manual_seed(seed))
    slack = 1e-12 * (1 + abs(float(gp)))
    assert float(lp) <= float(gp) + slack, f"L_LP={float(lp)}, but should be <= L_GP={float(gp)}"
    assert float(gp) <= float(lp) + w + slack, f"L_GP={float(gp)}, but should be <= L_LP + {w}"


# ---------------------------------------------------------------------------------------------
# §4.9 Theorem 4
# ---------------------------------------------------------------------------------------------


@given(separated_clouds(), st.floats(0.1, 5.0))
def test_theorem4_k_lipschitz_optimum_is_k_times_the_1_lipschitz_one(
    data: tuple[np.ndarray, np.ndarray], k: float
) -> None:
    # 002 Thm 4: min_{f in F_k-Lip} J_D(f) = k min_{f in F_1-Lip} J_D(f) = -k W1 (WGAN J_D).
    x, y = data
    w1 = ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)), cdist(x, y))
    assert abs(_k_lipschitz_compact_lp(x, y, k) - (-k * w1)) <= 1e-7 * (1 + k)
    res = optimal.kantorovich(_t(x), _t(y))  # k f* is k-Lipschitz and attains -k W1
    fx, fy = k * res.critic(_t(x)).numpy(), k * res.critic(_t(y)).numpy()
    assert abs((fy.mean() - fx.mean()) - (-k * w1)) <= 1e-7 * (1 + k)


@given(separated_clouds(max_n=3), st.floats(0.2, 5.0), st.floats(0.0, 2.0))
def test_theorem4_optimal_lipschitz_constant(
    data: tuple[np.ndarray, np.ndarray], lam: float, k0: float
) -> None:
    # 002 App. E: J(k) = min_{k-Lip} J_D + lambda (k - k0)^2 is minimised at W1/(2 lambda) + k0;
    # here the inner minimum is an LP at every k and the outer one scipy's bounded Brent.
    x, y = data
    w1 = optimal.kantorovich(_t(x), _t(y)).w1
    k_star = optimal.lipschitz_penalty_optimal_k(w1, lam=lam, k0=k0)
    assert abs(k_star - (w1 / (2 * lam) + k0)) <= 1e-15 * (1 + k_star)
    outer = scipy.optimize.minimize_scalar(
        lambda k: _k_lipschitz_compact_lp(x, y, k) + lam * (k - k0) ** 2,
        bounds=(0.0, 2 * k_star + 1), method="bounded", options={"xatol": 1e-9},
    )
    assert abs(outer.x - k_star) <= 1e-5, f"argmin k={outer.x}, but should be {k_star}"


# ---------------------------------------------------------------------------------------------
# §4.10 Eq. 12, Theorem 5, Lemma 4
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", INSTANCES)
@given(st.floats(-10.0, 10.0))
def test_eq12_conditions_hold_for_the_instances(name: str, x: float) -> None:
    # 002 Eq. 12 with varphi(x) = phi(-x): phi' > 0, phi'' >= 0 (so varphi' < 0, varphi'' >= 0)
    # and a = 0 solves phi'(a) + varphi'(a) = 0; derivatives by central differences.
    phi = _phi(name)
    assert _fd1(phi, x) > 0, f"phi'({x}) <= 0 for {name} [002 Eq. 12]"
    assert _fd2(phi, x) >= -1e-5 * (1 + abs(phi(x))), f"phi''({x}) < 0 for {name}"
    assert abs(_fd1(phi, 0.0) + _fd1(lambda s: phi(-s), 0.0)) <= 1e-8


@pytest.mark.parametrize("name", INSTANCES)
def test_library_eq12_check_agrees_on_the_instances(name: str) -> None:
    # 002 Table 2: every listed instance satisfies Eq. 12 (cross-check of objectives.satisfies_eq12)
    assert objectives.satisfies_eq12(objectives.EQ12_INSTANCES[name])


def test_hinge_violates_eq12() -> None:
    # 002 Table 2: max(0, 1 + x) has phi' = 0 for x < -1, so it is not in the Eq. 12 family.
    phi = lambda s: max(0.0, 1.0 + s)
    assert _fd1(phi, -2.0) == 0.0
    assert not objectives.satisfies_eq12(lambda s: torch.relu(1 + s))


@pytest.mark.parametrize("name", INSTANCES)
@given(separated_clouds(), hnp.arrays(np.float64, (8,), elements=st.floats(-4, 4)),
       st.floats(0.05, 10.0))
def test_theorem5_lower_bound(
    name: str, data: tuple[np.ndarray, np.ndarray], scores: np.ndarray, lam: float
) -> None:
    # 002 Thm 5: E_pg phi(f) + E_pr varphi(f) + lambda k^2 >= c - (phi'(a) W1)^2 / (4 lambda) with
    # a = 0, c = phi(0) + varphi(0) = 2 phi(0). k may be any constant with E_pr f - E_pg f <=
    # k W1; the compact one k_c = max(0, max_ij (f(x_i) - f(y_j)) / ||x_i - y_j||) qualifies by
    # the compact dual (002 Eq. 8).
    x, y = data
    phi = _phi(name)
    fx, fy = scores[: len(x)], scores[len(x): len(x) + len(y)]
    assume(len(fx) == len(x) and len(fy) == len(y))
    w1 = ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)), cdist(x, y))
    k = max(0.0, float(((fx[:, None] - fy[None, :]) / cdist(x, y)).max()))
    loss = np.mean([phi(s) for s in fy]) + np.mean([phi(-s) for s in fx]) + lam * k**2
    bound = 2 * phi(0.0) - (_fd1(phi, 0.0) * w1) ** 2 / (4 * lam)
    assert loss >= bound - 1e-9 * (1 + abs(bound)), f"{name}: {loss} < bound {bound}"


def _two_delta_value(phi: Callable[[float], float], beta: float) -> tuple[float, float]:
    """min_alpha phi(alpha) + varphi(alpha + beta), varphi(s) = phi(-s), by bounded Brent."""
    res = scipy.optimize.minimize_scalar(
        lambda al: phi(al) + phi(-(al + beta)), bounds=(-beta - 20.0, 20.0), method="bounded",
        options={"xatol": 1e-10},
    )
    return float(res.fun), float(res.x)


@pytest.mark.parametrize("name", INSTANCES)
@given(st.floats(0.0, 8.0), st.floats(0.05, 4.0))
def test_lemma4_two_delta_optimum_decreases_in_beta(name: str, beta: float, step: float) -> None:
    # 002 Lemma 4 (App. H): J(beta) = min_alpha phi(alpha) + varphi(alpha + beta) decreases in
    # beta >= 0, and the minimiser does not increase. With varphi(s) = phi(-s) the objective is
    # symmetric about alpha = -beta/2 and convex, so J(beta) = 2 phi(-beta/2) (closed form).
    phi = _phi(name)
    j1, a1 = _two_delta_value(phi, beta)
    j2, a2 = _two_delta_value(phi, beta + step)
    assert j2 < j1, f"{name}: J({beta + step})={j2}, but should be < J({beta})={j1}"
    assert abs(j1 - 2 * phi(-beta / 2)) <= 1e-8 * (1 + abs(j1))
    if name != "linear":  # linear: every alpha is a minimiser
        assert a2 <= a1 + 1e-6 and abs(a1 + beta / 2) <= 1e-4


# ---------------------------------------------------------------------------------------------
# §4.11 Optimal discriminators
# ---------------------------------------------------------------------------------------------

gaussians = st.tuples(st.floats(-2, 2), st.floats(0.3, 2.0), st.floats(-2, 2), st.floats(0.3, 2.0))


def _log_prob(mu: float, sigma: float) -> Callable[[Tensor], Tensor]:
    dist = torch.distributions.Normal(torch.tensor(mu, dtype=F64), torch.tensor(sigma, dtype=F64))
    return lambda v: dist.log_prob(v[:, 0])


@given(gaussians, st.floats(-3, 3))
def test_gan_optimal_discriminator_minimises_the_pointwise_loss(
    params: tuple[float, float, float, float], v: float
) -> None:
    # 004 Eq. 2: f*(v) = log(p_r/p_g) minimises p_r softplus(-f) + p_g softplus(f) (the minimax
    # critic loss of gp_spec.objectives, per point); densities from scipy, argmin by Brent.
    mr, sr, mg, sg = params
    pr, pg = scipy.stats.norm.pdf(v, mr, sr), scipy.stats.norm.pdf(v, mg, sg)
    obj = objectives.minimax

    def pointwise(f: float) -> float:
        s = torch.tensor([f], dtype=F64)
        return float(pr * obj.varphi(s) + pg * obj.phi(s))

    best = scipy.optimize.minimize_scalar(pointwise, bracket=(-1.0, 1.0), tol=1e-12).x
    logit = optimal.gan_optimal_logit(_log_prob(mr, sr), _log_prob(mg, sg))
    dstar = optimal.gan_optimal_discriminator(_log_prob(mr, sr), _log_prob(mg, sg))
    point = torch.tensor([[v]], dtype=F64)
    assert abs(float(logit(point)[0]) - best) <= 1e-5
    assert abs(float(dstar(point)[0]) - pr / (pr + pg)) <= 1e-12


@given(gaussians, st.floats(-3, 3), st.floats(-2, 2), st.floats(-2, 2))
def test_least_squares_optimal_critic_minimises_the_pointwise_loss(
    params: tuple[float, float, float, float], v: float, a: float, b: float
) -> None:
    # 002 Table 1: f* = (a p_g + b p_r)/(p_g + p_r) minimises p_g (f - a)^2 + p_r (f - b)^2.
    mr, sr, mg, sg = params
    pr, pg = scipy.stats.norm.pdf(v, mr, sr), scipy.stats.norm.pdf(v, mg, sg)
    obj = objectives.least_squares(a=a, b=b)

    def pointwise(f: float) -> float:
        s = torch.tensor([f], dtype=F64)
        return float(pg * obj.phi(s) + pr * obj.varphi(s))

    best = scipy.optimize.minimize_scalar(pointwise, bracket=(-1.0, 1.0), tol=1e-12).x
    critic = optimal.least_squares_optimal_critic(_log_prob(mr, sr), _log_prob(mg, sg), a=a, b=b)
    assert abs(float(critic(torch.tensor([[v]], dtype=F64))[0]) - best) <= 1e-5


def test_gan_optimal_value_is_log4_minus_twice_jsd() -> None:
    # Goodfellow et al. Thm 1 (004 §3): E_pr softplus(-f*) + E_pg softplus(f*) = log 4 - 2 JSD;
    # JSD by quadrature of its definition, the loss by quadrature of gp_spec's f*.
    norm = scipy.stats.norm
    pr, pg = (lambda t: norm.pdf(t, 0, 1)), (lambda t: norm.pdf(t, 1.5, 0.7))
    logit = optimal.gan_optimal_logit(_log_prob(0, 1), _log_prob(1.5, 0.7))

    def loss(t: float) -> float:
        f = float(logit(torch.tensor([[t]], dtype=F64))[0])
        return pr(t) * math.log1p(math.exp(-f)) + pg(t) * math.log1p(math.exp(f))

    def jsd(t: float) -> float:
        m = 0.5 * (pr(t) + pg(t))
        return 0.5 * pr(t) * math.log(pr(t) / m) + 0.5 * pg(t) * math.log(pg(t) / m)

    value = scipy.integrate.quad(loss, -12, 12, limit=200)[0]
    div = scipy.integrate.quad(jsd, -12, 12, limit=200)[0]
    assert_allclose(value, math.log(4) - 2 * div, atol=1e-8)
