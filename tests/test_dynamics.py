"""SPEC §4.14-4.17: Dirac GAN, the psi x^2 toys, realizable SGP systems and Theorem 1.

Ground truth: the closed-form fields and Jacobians of 000 Lemmas 1-3 re-derived in the comments,
the general SGP definition (000 Def. 4) evaluated by exact quadrature, central finite
differences, numpy eigenvalues and singular values, conserved quantities derived here by
separating variables, and Monte Carlo draws of gp_spec.measures (Hoeffding tolerances).
"""

from __future__ import annotations

import cmath
import math
import typing
from collections.abc import Callable

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from torch import Tensor

from gp_spec import dynamics, measures
from gp_spec._types import Measure
from gp_spec.errors import InvalidInputError

F64 = torch.float64
states = hnp.arrays(np.float64, (2,), elements=st.floats(-2, 2))
rhos = st.one_of(st.just(0.0), st.floats(0.05, 5.0))  # 0 or clearly positive
MEASURES: list[dynamics.MeasureName] = ["real", "fake", "interpolate", "midpoint"]
ALPHAS = {"real": [1.0], "fake": [0.0], "midpoint": [0.5]}


def _t(a: np.ndarray | list[float]) -> Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _alpha_measure(name: str) -> dynamics.PenaltyLaw:
    if name == "interpolate":
        nodes, weights = dynamics.gauss_legendre(6, 0.0, 1.0)  # exact for degree <= 11
        return dynamics.product_interpolation(nodes, weights)
    return dynamics.product_interpolation(_t(ALPHAS[name]))


def _fd_jacobian(field: dynamics.Field, s: Tensor, h: float = 1e-6) -> np.ndarray:
    cols = []
    for k in range(s.shape[0]):
        e = torch.zeros_like(s)
        e[k] = h
        cols.append(((field(s + e) - field(s - e)) / (2 * h)).numpy())
    return np.stack(cols, 1)


def _sorted_eigs(values: np.ndarray) -> np.ndarray:
    return np.array(sorted(values, key=lambda z: (round(z.real, 8), round(z.imag, 8))))


# ---------------------------------------------------------------------------------------------
# The closed-form toy fields are the SGP flow of 000 Def. 4
# ---------------------------------------------------------------------------------------------


def _sgp(d: dynamics.Discriminator, g: dynamics.Generator, data: Tensor, data_w: Tensor,
         latents: Tensor, latent_w: Tensor, penalty: dynamics.PenaltyLaw,
         rho: float) -> dynamics.SGPSystem:
    return dynamics.SGPSystem(d, g, data, latents, penalty, rho, 1, data_w, latent_w)


def _linear_d(x: Tensor, psi: Tensor) -> Tensor:
    return psi[0] * x[:, 0]


def _quadratic_d(x: Tensor, psi: Tensor) -> Tensor:
    return psi[0] * x[:, 0].square()


def _dirac_g(z: Tensor, theta: Tensor) -> Tensor:
    return theta[0] + 0 * z


def _scale_g(z: Tensor, theta: Tensor) -> Tensor:
    return theta[0] * z


@given(states, rhos, st.floats(0.0, 3.0))
def test_dirac_field_is_the_sgp_flow(state: np.ndarray, rho: float, mass: float) -> None:
    # 000 Def. 4-5 with D = psi x, p_d = delta_0, p_theta = delta_theta, any measure of mass M:
    # psi' = -theta - (rho/2) d/dpsi (psi^2 M), theta' = psi (Lemma 1 proof, App. A).
    zero, one = torch.zeros(1, 1, dtype=F64), torch.ones(1, dtype=F64)
    nodes, weights = dynamics.gauss_legendre(4, 0.0, 1.0)
    system = _sgp(_linear_d, _dirac_g, zero, one, zero, one,
                  dynamics.product_interpolation(nodes, weights, mass=mass), rho)
    s = _t(state)
    closed = dynamics.dirac_gan(s, rho=rho, mass=lambda p, t: mass + 0 * p)
    torch.testing.assert_close(system(s), closed)
    psi, theta = state  # probability measure (M = 1): psi' = -theta - rho psi, theta' = psi
    assert_allclose(dynamics.dirac_gan(s, rho=rho).numpy(), [-theta - rho * psi, psi], atol=1e-15)


@pytest.mark.parametrize("measure", MEASURES)
@given(states, rhos)
def test_quadratic_uniform_field_is_the_sgp_flow(
    measure: dynamics.MeasureName, state: np.ndarray, rho: float
) -> None:
    # 000 Lemma 2, App. A: D = psi x^2, U(-1, 1) vs U(-|theta|, |theta|) = theta U(-1, 1):
    # psi' = 1/3 - theta^2/3 - 4 rho psi E_mu[x^2], theta' = 2 psi theta / 3; the expectations
    # of the SGP definition are exact here (Gauss-Legendre, degree <= 7 in x).
    nodes, weights = dynamics.gauss_legendre(4, -1.0, 1.0)
    system = _sgp(_quadratic_d, _scale_g, nodes[:, None], weights, nodes[:, None], weights,
                  _alpha_measure(measure), rho)
    s = _t(state)
    closed = dynamics.quadratic_uniform_gan(
        s, rho=rho, second_moment=dynamics.uniform_second_moment(measure))
    torch.testing.assert_close(system(s), closed)


@pytest.mark.parametrize("measure", MEASURES)
@given(states, rhos)
def test_quadratic_dirac_field_is_the_sgp_flow(
    measure: dynamics.MeasureName, state: np.ndarray, rho: float
) -> None:
    # 000 Lemma 3, App. B: D = psi x^2, delta_0 vs delta_theta: psi' = -theta^2 - 4 rho psi
    # E_mu[x^2], theta' = 2 psi theta; with mu_GP E_mu[x^2] = theta^2/3 (the paper's -(4/3) rho
    # psi theta^2).
    zero, one = torch.zeros(1, 1, dtype=F64), torch.ones(1, dtype=F64)
    system = _sgp(_quadratic_d, _dirac_g, zero, one, zero, one, _alpha_measure(measure), rho)
    s = _t(state)
    closed = dynamics.quadratic_dirac_gan(
        s, rho=rho, second_moment=dynamics.dirac_second_moment(measure))
    torch.testing.assert_close(system(s), closed)
    if measure == "interpolate":
        psi, theta = state
        paper = [-theta**2 - 4 / 3 * rho * psi * theta**2, 2 * psi * theta]
        assert_allclose(dynamics.quadratic_dirac_gan(s, rho=rho).numpy(), paper, atol=1e-12)


CORE_MEASURES: dict[str, Callable[[], Measure]] = {
    "real": measures.real,
    "fake": measures.fake,
    "interpolate": measures.interpolate,
    "midpoint": measures.midpoint,
    "anchor": measures.anchor,  # default A = 2 in 1-D
    "anchor(-0.7)": lambda: measures.anchor([-0.7]),
}
ANCHORS = {"anchor": 2.0, "anchor(-0.7)": -0.7}


@pytest.mark.parametrize("toy", ["uniform", "dirac"])
@pytest.mark.parametrize("name", list(CORE_MEASURES))
def test_second_moments_are_the_laws_of_the_core_measures(toy: str, name: str) -> None:
    # 000 Table 1: E_mu[x^2] of each core measure's law, by Monte Carlo through the core's own
    # measure.sample on p_d, p_theta of the toy (U(-1, 1) vs U(-theta, theta), or delta_0 vs
    # delta_theta). x_hat lies between the points it mixes, so x_hat^2 is in [0, B] with
    # B = max(1, theta^2, A^2); Hoeffding: P(|mean - E| > t) <= 2 exp(-2 n t^2 / B^2), and the
    # t below has rate 1e-6 per case.
    n, theta = 200_000, 1.7
    g = torch.Generator().manual_seed(3)
    if toy == "uniform":
        real = 2 * torch.rand(n, 1, generator=g, dtype=F64) - 1
        fake = theta * (2 * torch.rand(n, 1, generator=g, dtype=F64) - 1)
        moment = dynamics.uniform_second_moment
    else:
        real, fake = torch.zeros(n, 1, dtype=F64), torch.full((n, 1), theta, dtype=F64)
        moment = dynamics.dirac_second_moment
    mu = CORE_MEASURES[name]()
    pts = mu.sample(real, fake, generator=g).points
    bound = max(1.0, theta**2, ANCHORS.get(name, 0.0) ** 2)
    tol = bound * math.sqrt(math.log(2 / 1e-6) / (2 * n))
    exact = float(moment(mu)(torch.tensor(theta, dtype=F64)))
    assert abs(float(pts.square().mean()) - exact) <= tol
    if name in typing.get_args(dynamics.MeasureName):
        by_name = moment(typing.cast(dynamics.MeasureName, name))  # the same law, by name
        assert float(by_name(torch.tensor(theta, dtype=F64))) == exact


def test_second_moment_of_a_finite_mixture_is_the_weighted_sum() -> None:
    # 000 §2.1, footnote 1: E_mu[h] = sum_k w_k E_{mu_k}[h] for mu = sum_k w_k mu_k. Hand values:
    # uniform toy, 0.5 p_d + 2 mu_mid: 0.5/3 + 2 (1 + theta^2)/12; Dirac toy, 0.5 p_d + 2 anchor
    # A = 1: 0 + 2 (1 + theta + theta^2)/3.
    theta = torch.tensor(0.6, dtype=F64)
    uni = measures.mixture([(0.5, measures.real()), (2.0, measures.midpoint())])
    expected = 0.5 / 3 + 2 * (1 + 0.36) / 12
    assert abs(float(dynamics.uniform_second_moment(uni)(theta)) - expected) <= 1e-15
    dirac = measures.mixture([(0.5, measures.real()), (2.0, measures.anchor([1.0]))])
    expected = 2 * (1 + 0.6 + 0.36) / 3
    assert abs(float(dynamics.dirac_second_moment(dirac)(theta)) - expected) <= 1e-15


def test_measure_names_are_the_core_measure_names() -> None:
    # dynamics.MeasureName names core measures; it defines no measure of its own.
    for name in typing.get_args(dynamics.MeasureName):
        assert getattr(measures, name)().name == name


# ---------------------------------------------------------------------------------------------
# Jacobians and spectra (Lemmas 1-3)
# ---------------------------------------------------------------------------------------------

MASSES: dict[str, tuple[dynamics.MassFn, Callable[[float, float], float]]] = {
    # name: (M(psi, theta) in torch, M(0, 0))
    "one": (lambda p, t: torch.ones_like(p), lambda p, t: 1.0),
    "two": (lambda p, t: 2 + 0 * p, lambda p, t: 2.0),
    "quadratic": (lambda p, t: 1 + p**2 + t**2, lambda p, t: 1 + p**2 + t**2),
    "vanishing": (lambda p, t: p**2 + t**2, lambda p, t: p**2 + t**2),
    "exp": (lambda p, t: torch.exp(p * t), lambda p, t: math.exp(p * t)),
}


@pytest.mark.parametrize("name", sorted(MASSES))
@given(rhos)
def test_dirac_jacobian_at_the_origin(name: str, rho: float) -> None:
    # 000 Lemma 1, App. A: J(0, 0) = [[-rho M(0, 0), -1], [1, 0]]; eigenvalues are the roots of
    # l^2 + rho M l + 1 (numpy.roots); with rho = 0 or M(0, 0) = 0 they are +-i.
    mass, m_np = MASSES[name]
    m0 = m_np(0.0, 0.0)
    j = dynamics.jacobian(lambda s: dynamics.dirac_gan(s, rho=rho, mass=mass),
                          torch.zeros(2, dtype=F64))
    assert_allclose(j.numpy(), [[-rho * m0, -1.0], [1.0, 0.0]], atol=1e-12)
    eig = dynamics.eigenvalues(j).numpy()
    assert_allclose(_sorted_eigs(eig), _sorted_eigs(np.roots([1.0, rho * m0, 1.0])), atol=1e-7)
    assert dynamics.is_hurwitz(j) == (rho * m0 > 0)


@given(states, rhos)
def test_dirac_lyapunov_derivative(state: np.ndarray, rho: float) -> None:
    # 000 App. A: L = psi^2 + theta^2, dL/dt = -rho psi^2 (2 M + psi dM/dpsi); for
    # M = psi^2 + theta^2, dM/dpsi = 2 psi.
    psi, theta = state
    mass = MASSES["vanishing"][0]
    d = dynamics.dirac_gan(_t(state), rho=rho, mass=mass).numpy()
    l_dot = 2 * (psi * d[0] + theta * d[1])
    m = psi**2 + theta**2
    assert_allclose(l_dot, -rho * psi**2 * (2 * m + psi * 2 * psi), atol=1e-10)


@given(states, rhos, st.sampled_from(MEASURES))
def test_quadratic_uniform_jacobian(
    state: np.ndarray, rho: float, measure: dynamics.MeasureName
) -> None:
    # 000 Lemma 2: J = [[-4 rho m2(theta), -2 theta/3 - 4 rho psi m2'(theta)], [2 theta/3,
    # 2 psi/3]], m2 = E_mu[x^2] with m2' from its closed form (1/3 -> 0, theta^2/3 -> 2theta/3,
    # (1 + theta^2)/9 -> 2 theta/9, (1 + theta^2)/12 -> theta/6).
    psi, theta = state
    m2 = {"real": 1 / 3, "fake": theta**2 / 3, "interpolate": (1 + theta**2) / 9,
          "midpoint": (1 + theta**2) / 12}[measure]
    dm2 = {"real": 0.0, "fake": 2 * theta / 3, "interpolate": 2 * theta / 9,
           "midpoint": theta / 6}[measure]
    sm = dynamics.uniform_second_moment(measure)
    j = dynamics.jacobian(
        lambda s: dynamics.quadratic_uniform_gan(s, rho=rho, second_moment=sm), _t(state))
    expected = [[-4 * rho * m2, -2 * theta / 3 - 4 * rho * psi * dm2],
                [2 * theta / 3, 2 * psi / 3]]
    assert_allclose(j.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("sign", [1.0, -1.0])
@given(rhos, st.sampled_from(MEASURES))
def test_quadratic_uniform_spectrum_at_the_equilibria(
    sign: float, rho: float, measure: dynamics.MeasureName
) -> None:
    # 000 Lemma 2: at (0, +-1), J = [[-4 rho A^2, -+2/3], [+-2/3, 0]] with A^2 = E_mu*[x^2],
    # eigenvalues -2 rho A^2 +- sqrt(4 rho^2 A^4 - 4/9); Hurwitz iff rho A^2 > 0.
    a2 = {"real": 1 / 3, "fake": 1 / 3, "interpolate": 2 / 9, "midpoint": 1 / 6}[measure]
    sm = dynamics.uniform_second_moment(measure)
    eq = _t([0.0, sign])
    field = lambda s: dynamics.quadratic_uniform_gan(s, rho=rho, second_moment=sm)
    torch.testing.assert_close(field(eq), torch.zeros(2, dtype=F64))
    j = dynamics.jacobian(field, eq)
    assert_allclose(j.numpy(), [[-4 * rho * a2, -sign * 2 / 3], [sign * 2 / 3, 0.0]], atol=1e-12)
    root = cmath.sqrt(4 * rho**2 * a2**2 - 4 / 9)
    expected = np.array([-2 * rho * a2 + root, -2 * rho * a2 - root])
    assert_allclose(_sorted_eigs(dynamics.eigenvalues(j).numpy()), _sorted_eigs(expected),
                    atol=1e-7)
    assert dynamics.is_hurwitz(j) == (rho > 0)


@given(states, rhos, st.floats(-3, 3))
def test_quadratic_dirac_jacobian_and_equilibria(state: np.ndarray, rho: float, a: float) -> None:
    # 000 Lemma 3: J = [[-(4/3) rho theta^2, -2 theta - (8/3) rho psi theta], [2 theta, 2 psi]];
    # every (a, 0) is an equilibrium with J = [[0, 0], [0, 2a]] (eigenvalues 0 and 2a).
    psi, theta = state
    field = lambda s: dynamics.quadratic_dirac_gan(s, rho=rho)
    j = dynamics.jacobian(field, _t(state))
    expected = [[-4 / 3 * rho * theta**2, -2 * theta - 8 / 3 * rho * psi * theta],
                [2 * theta, 2 * psi]]
    assert_allclose(j.numpy(), expected, atol=1e-12)
    eq = _t([a, 0.0])
    torch.testing.assert_close(field(eq), torch.zeros(2, dtype=F64))
    assert_allclose(dynamics.jacobian(field, eq).numpy(), [[0, 0], [0, 2 * a]], atol=1e-12)
    assert not dynamics.is_hurwitz(dynamics.jacobian(field, eq))


def test_jacobians_agree_with_finite_differences() -> None:
    # autograd through the toy fields (including the autograd-built dM/dpsi) vs central
    # differences at an arbitrary state.
    s = _t([0.4, -0.7])
    mass = MASSES["exp"][0]
    for field in (lambda x: dynamics.dirac_gan(x, rho=1.3, mass=mass),
                  lambda x: dynamics.quadratic_uniform_gan(x, rho=0.8),
                  lambda x: dynamics.quadratic_dirac_gan(x, rho=2.0)):
        assert_allclose(dynamics.jacobian(field, s).numpy(), _fd_jacobian(field, s), atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Trajectories (phase portraits of 000 §3, Fig. 3)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [[1.0, 0.0], [0.3, -1.2], [-0.8, 0.5]])
def test_dirac_trajectories(start: list[float]) -> None:
    # 000 Lemma 1 / Mescheder et al.: rho = 0 conserves psi^2 + theta^2 (no convergence);
    # rho = 1, M = 1: L = psi^2 + theta^2 decreases to 0 (eigenvalues -1/2 +- i sqrt(3)/2).
    r0 = float(np.sum(np.square(start)))
    free = dynamics.integrate(lambda s: dynamics.dirac_gan(s, rho=0.0), _t(start), 20.0)
    assert_allclose(np.square(free.states).sum(1), r0, rtol=1e-7)
    damped = dynamics.integrate(lambda s: dynamics.dirac_gan(s, rho=1.0), _t(start), 40.0)
    radius = np.square(damped.states).sum(1)
    assert (np.diff(radius) <= 1e-12).all()
    assert radius[-1] <= 1e-12 * r0


@pytest.mark.parametrize("start", [[0.2, 1.2], [-0.3, 0.7]])
def test_quadratic_uniform_trajectories(start: list[float]) -> None:
    # 000 Lemma 2: with rho = 0, H = psi^2 - log|theta| + theta^2/2 is conserved (from
    # 2 psi dpsi = (1 - theta^2)/theta dtheta): closed orbits around (0, 1), no convergence;
    # with rho = 1 and mu_GP (A^2 = 2/9) the trajectory converges to (0, 1).
    def h(s: np.ndarray) -> np.ndarray:
        return s[:, 0] ** 2 - np.log(np.abs(s[:, 1])) + s[:, 1] ** 2 / 2

    free = dynamics.integrate(
        lambda s: dynamics.quadratic_uniform_gan(s, rho=0.0), _t(start), 30.0)
    assert_allclose(h(free.states), h(np.array([start]))[0], rtol=1e-7)
    assert np.abs(free.states[-50:] - [0.0, 1.0]).max() > 0.1  # still cycling
    damped = dynamics.integrate(
        lambda s: dynamics.quadratic_uniform_gan(s, rho=1.0), _t(start), 60.0)
    assert_allclose(damped.states[-1], [0.0, 1.0], atol=1e-6)


@given(st.floats(-0.9, 2.0), st.floats(0.2, 1.5).flatmap(lambda v: st.sampled_from([v, -v])),
       st.floats(0.2, 2.0))
def test_quadratic_dirac_never_reaches_the_origin(psi0: float, theta0: float, rho: float) -> None:
    # 000 Lemma 3: with c = 4 rho / 3 and 1 + c psi > 0, separating variables in
    # dpsi/dtheta = -theta (1 + c psi) / (2 psi) gives the invariant
    # H = (2/c)(psi - log(1 + c psi)/c) + theta^2 / 2 >= 0, zero only at the origin. H(start) > 0
    # is conserved, theta -> 0 and psi -> the root b < 0 of (2/c)(b - log(1 + c b)/c) = H:
    # no trajectory off the psi-axis converges to (b, 0) with b >= 0, the origin included.
    c = 4 * rho / 3
    assume(1 + c * psi0 > 0.2)

    def h(s: np.ndarray) -> np.ndarray:
        return 2 / c * (s[:, 0] - np.log1p(c * s[:, 0]) / c) + s[:, 1] ** 2 / 2

    h0 = float(h(np.array([[psi0, theta0]]))[0])
    assert h0 > 0
    b = scipy.optimize.brentq(lambda p: 2 / c * (p - math.log1p(c * p) / c) - h0,
                              -1 / c * (1 - 1e-15), 0.0)
    assert b < 0
    # near (b, 0) theta decays like exp(2 b t): integrate long enough for 1e-6
    t_end = 20.0 + math.log(1e6 * 10) / (2 * abs(b))
    traj = dynamics.integrate(lambda s: dynamics.quadratic_dirac_gan(s, rho=rho),
                              _t([psi0, theta0]), t_end, num=61, rtol=1e-9)
    assert_allclose(h(traj.states), h0, rtol=1e-6)
    assert_allclose(traj.states[-1], [b, 0.0], atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Theorem 1
# ---------------------------------------------------------------------------------------------


@st.composite
def theorem1_blocks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Random positive-definite Q (P, P) and full-column-rank R (P, T), T <= P."""
    p = draw(st.integers(1, 4))
    t = draw(st.integers(1, p))
    el = st.floats(-2, 2)
    b = draw(hnp.arrays(np.float64, (p, p), elements=el))
    r = draw(hnp.arrays(np.float64, (p, t), elements=el))
    assume(np.linalg.svd(r, compute_uv=False).min() >= 0.1)
    return b @ b.T + 0.1 * np.eye(p), r


@given(theorem1_blocks(), st.floats(0.1, 10.0))
def test_theorem1_hurwitz_for_positive_definite_q_and_full_rank_r(
    blocks: tuple[np.ndarray, np.ndarray], rho: float
) -> None:
    # 000 Theorem 1 / App. C: [[-rho Q, -R], [R^T, 0]] is Hurwitz (numpy eigenvalues).
    q, r = blocks
    j = dynamics.theorem1_jacobian(_t(q), _t(r), rho=rho)
    p, t = r.shape
    assert_allclose(j.numpy()[:p, :p], -rho * q)
    assert_allclose(j.numpy()[:p, p:], -r)
    assert_allclose(j.numpy()[p:, :p], r.T)
    assert_allclose(j.numpy()[p:, p:], np.zeros((t, t)))
    assert np.linalg.eigvals(j.numpy()).real.max() < 0
    assert dynamics.is_hurwitz(j)


@given(theorem1_blocks())
def test_theorem1_without_penalty_is_purely_imaginary(
    blocks: tuple[np.ndarray, np.ndarray],
) -> None:
    # rho = 0: J = [[0, -R], [R^T, 0]] is skew-symmetric; its eigenvalues are +-i sigma_k(R)
    # and 0 with multiplicity P - T (singular values by numpy): no convergence.
    q, r = blocks
    j = dynamics.theorem1_jacobian(_t(q), _t(r), rho=0.0)
    eig = dynamics.eigenvalues(j).numpy()
    assert np.abs(eig.real).max() <= 1e-9
    sigma = np.linalg.svd(r, compute_uv=False)
    p, t = r.shape
    expected = np.concatenate([sigma, sigma, np.zeros(p - t)])
    assert_allclose(np.sort(np.abs(eig.imag)), np.sort(expected), atol=1e-8)
    assert not dynamics.is_hurwitz(j)


@given(st.integers(1, 4), st.integers(0, 2**31 - 1), st.floats(0.1, 10.0))
def test_theorem1_singular_q_off_the_kernel_of_r_transpose(
    p: int, seed: int, rho: float
) -> None:
    # Q = U diag(q) U^T with q_0 = 0, R = U diag(s) V^T (P = T): in the bases U, V the system
    # splits into 2x2 blocks [[-rho q_k, -s_k], [s_k, 0]]; the block with q_0 = 0 has
    # eigenvalues +-i s_0 on the imaginary axis (N(Q) is not inside N(R^T)): not Hurwitz.
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(p, p)))
    v, _ = np.linalg.qr(rng.normal(size=(p, p)))
    q_diag = np.concatenate([[0.0], rng.uniform(0.5, 2, p - 1)])
    s = rng.uniform(0.5, 2, p)
    q, r = u @ np.diag(q_diag) @ u.T, u @ np.diag(s) @ v.T
    j = dynamics.theorem1_jacobian(_t(q), _t(r), rho=rho)
    eig = dynamics.eigenvalues(j).numpy()
    assert np.min(np.abs(eig - 1j * s[0])) <= 1e-7 and np.min(np.abs(eig + 1j * s[0])) <= 1e-7
    assert not dynamics.is_hurwitz(j)


@given(st.integers(2, 4), st.integers(0, 2**31 - 1), st.floats(0.1, 10.0))
def test_theorem1_kernel_of_q_inside_kernel_of_r_transpose_gives_a_zero_eigenvalue(
    p: int, seed: int, rho: float
) -> None:
    # With Q v = 0 and R^T v = 0 (possible when T < P), (v, 0) is in the kernel of J: a zero
    # eigenvalue, so not Hurwitz (000 App. C handles it by projecting, not by Hurwitz-ness).
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(p, p)))
    v0, rest = basis[:, :1], basis[:, 1:]
    b = rest @ rng.normal(size=(p - 1, p - 1))
    q = b @ b.T  # kernel contains v0
    r = rest @ rng.normal(size=(p - 1, p - 1))  # columns orthogonal to v0: R^T v0 = 0
    j = dynamics.theorem1_jacobian(_t(q), _t(r), rho=rho)
    kernel_vec = np.concatenate([v0[:, 0], np.zeros(p - 1)])
    assert_allclose(j.numpy() @ kernel_vec, 0.0, atol=1e-12)
    assert np.abs(dynamics.eigenvalues(j).numpy()).min() <= 1e-7
    assert not dynamics.is_hurwitz(j)


# ---------------------------------------------------------------------------------------------
# A realizable SGP system: Theorem 1 end to end
# ---------------------------------------------------------------------------------------------


@given(st.floats(-2, 2), st.floats(0.3, 2.0), st.floats(0.1, 5.0))
def test_realizable_sgp_jacobian_is_the_theorem1_block_matrix(
    t1: float, t2: float, rho: float
) -> None:
    # 000 Theorem 1: at the realizable equilibrium (0, 0, theta*) of D = psi_1 x + psi_2 x^2,
    # G = theta_1 + theta_2 z, z ~ U(-1, 1), mu = mu_GP: J = [[-rho Q, -R], [R^T, 0]] with
    # Q = E_mu*[(1, 2x)(1, 2x)^T], E_mu* x = m, E_mu* x^2 = (2/3) E x^2 + (1/3) m^2 (alpha and
    # independent x, y ~ p_d), R = [[1, 0], [2 t1, 2 t2 / 3]] (E z = 0, E z^2 = 1/3).
    nodes, weights = dynamics.gauss_legendre(5, -1.0, 1.0)
    system, eq = dynamics.realizable_sgp_example(
        nodes[:, None], _t([t1, t2]), rho=rho, latent_weights=weights)
    m, ex2 = t1, t1**2 + t2**2 / 3
    mu2 = 2 / 3 * ex2 + 1 / 3 * m**2
    q = np.array([[1.0, 2 * m], [2 * m, 4 * mu2]])
    r = np.array([[1.0, 0.0], [2 * t1, 2 * t2 / 3]])
    torch.testing.assert_close(system(eq), torch.zeros(4, dtype=F64), atol=1e-12, rtol=0)
    j = dynamics.jacobian(system, eq)
    block = dynamics.theorem1_jacobian(_t(q), _t(r), rho=rho)
    assert_allclose(j.numpy(), block.numpy(), atol=1e-10)
    assert_allclose(j.numpy(), _fd_jacobian(system, eq), atol=1e-6)
    q_lib, r_lib = system.theorem1_blocks(eq)
    assert_allclose(q_lib.numpy(), q, atol=1e-10)
    assert_allclose(r_lib.numpy(), r, atol=1e-10)
    assert dynamics.is_hurwitz(j)


def test_realizable_sgp_converges_locally() -> None:
    # 000 Theorem 1: local stability; a small perturbation of (psi*, theta*) decays.
    nodes, weights = dynamics.gauss_legendre(5, -1.0, 1.0)
    system, eq = dynamics.realizable_sgp_example(
        nodes[:, None], _t([0.5, 1.2]), rho=1.0, latent_weights=weights)
    start = eq + _t([0.05, -0.05, 0.05, 0.05])
    traj = dynamics.integrate(system, start, 60.0, num=3, rtol=1e-8, atol=1e-10)
    assert np.abs(traj.states[-1] - eq.numpy()).max() <= 1e-4


# ---------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------


def test_invalid_inputs_raise() -> None:
    with pytest.raises(InvalidInputError, match=r"state\.shape"):
        dynamics.dirac_gan(torch.zeros(3, dtype=F64), rho=1.0)
    with pytest.raises(InvalidInputError, match="measure="):
        dynamics.uniform_second_moment("perturbed")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="'perturbed': no closed-form law"):
        dynamics.dirac_second_moment(measures.perturbed(0.1))
    with pytest.raises(InvalidInputError, match="'perturbed': no closed-form law"):
        dynamics.dirac_second_moment(measures.mixture([(1.0, measures.perturbed(0.1))]))
    with pytest.raises(InvalidInputError, match="one number"):
        dynamics.uniform_second_moment(measures.anchor([1.0, 2.0]))
    with pytest.raises(InvalidInputError, match=r"\(P, P\)"):
        dynamics.theorem1_jacobian(torch.zeros(2, 3), torch.zeros(2, 1), rho=1.0)
    with pytest.raises(InvalidInputError, match="S, S"):
        dynamics.eigenvalues(torch.zeros(2, 3))
    with pytest.raises(InvalidInputError, match="t_end"):
        dynamics.integrate(lambda s: s, torch.zeros(2, dtype=F64), 0.0)
