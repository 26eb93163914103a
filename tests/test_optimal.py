"""SPEC §4.1-4.5: Kantorovich duality, the compact dual, 1-D W1, Observations 1 and 3, Prop. 2.

Ground truth is independent of gp_spec's code path: POT's ``ot.emd2`` on a cost matrix built
here with scipy's ``cdist``; ``scipy.stats.wasserstein_distance``; LPs written out here and solved
with scipy's HiGHS; scipy quadrature; closed forms derived in the comments; optimality
certificates (primal feasibility + dual feasibility + zero gap) checked in numpy.
"""

from __future__ import annotations

import math

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
from torch import Tensor

from gp_spec import optimal
from gp_spec.errors import InvalidInputError, SolverError

F64 = torch.float64
TOL = 1e-8  # float64 LP / network-simplex agreement on coordinates in [-3, 3]

coords = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, width=64)
masses = st.one_of(st.just(0.0), st.floats(0.05, 1.0))


@st.composite
def clouds(
    draw: st.DrawFn, max_n: int = 6, max_d: int = 3, d: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted point clouds ``(x (n, d), y (m, d), a (n,), b (m,))``; weights may contain zeros."""
    dim = draw(st.integers(1, max_d)) if d is None else d
    n, m = draw(st.integers(1, max_n)), draw(st.integers(1, max_n))
    x = draw(hnp.arrays(np.float64, (n, dim), elements=coords))
    y = draw(hnp.arrays(np.float64, (m, dim), elements=coords))
    a = draw(hnp.arrays(np.float64, (n,), elements=masses))
    b = draw(hnp.arrays(np.float64, (m,), elements=masses))
    assume(a.sum() > 0 and b.sum() > 0)
    return x, y, a / a.sum(), b / b.sum()


def _t(a: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def _critic_np(res: optimal.KantorovichResult, z: np.ndarray) -> np.ndarray:
    return res.critic(_t(z)).numpy()


# ---------------------------------------------------------------------------------------------
# §4.1-4.2 duality values
# ---------------------------------------------------------------------------------------------


@given(clouds())
def test_duality_value_equals_emd2_compact_lp_and_critic_gap(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    # 003 Thm 1(i): min_pi <pi, C> = max_{Lip1} E_mu f - E_nu f; 002 Eq. 8 / App. I Thm 7.
    x, y, a, b = data
    res = optimal.kantorovich(_t(x), _t(y), _t(a), _t(b))
    truth = ot.emd2(a, b, cdist(x, y))  # POT primal on a scipy cost matrix
    assert abs(res.w1 - truth) <= TOL, f"kantorovich.w1={res.w1}, but should be emd2={truth}"
    lp = optimal.compact_dual_w1(_t(x), _t(y), _t(a), _t(b))
    assert abs(lp - truth) <= TOL, f"compact_dual_w1={lp}, but should be emd2={truth}"
    # the c-transform attains W1 and is HIGH on the source (E_mu f - E_nu f = W1 >= 0)
    gap = float(a @ _critic_np(res, x) - b @ _critic_np(res, y))
    assert abs(gap - truth) <= TOL, f"E_mu f - E_nu f={gap}, but should be W1={truth}"


@given(clouds(max_n=8, d=1))
def test_w1_1d_closed_form_matches_scipy_and_pot(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    # 003 App. C.3 / SPEC §4.5: W1 = integral |F_u - F_v| in 1-D; scipy's implementation and
    # POT's network simplex are independent of gp_spec.
    x, y, a, b = data
    closed = optimal.w1_1d(x[:, 0], y[:, 0], a, b)
    truth = scipy.stats.wasserstein_distance(x[:, 0], y[:, 0], a, b)
    assert abs(closed - truth) <= TOL, f"w1_1d={closed}, but should be scipy's {truth}"
    pot = ot.emd2(a, b, np.abs(x - y.T))
    assert abs(closed - pot) <= TOL, f"w1_1d={closed}, but should be emd2={pot}"
    tensors = optimal.w1_1d(_t(x), _t(y), _t(a), _t(b))  # (N, 1) tensors are accepted
    assert abs(tensors - truth) <= TOL


def test_compact_dual_ignores_points_outside_the_support() -> None:
    # 002 App. I.3: constraints that involve a point of zero mass are redundant; the value is W1.
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 2, generator=g, dtype=F64), torch.randn(3, 2, generator=g, dtype=F64)
    a = torch.tensor([0.2, 0.3, 0.5, 0.0], dtype=F64)  # x_3 is not in the support
    b = torch.tensor([0.4, 0.0, 0.6], dtype=F64)
    truth = ot.emd2(a.numpy(), b.numpy(), cdist(x.numpy(), y.numpy()))
    assert abs(optimal.compact_dual_w1(x, y, a, b) - truth) <= TOL
    assert abs(optimal.kantorovich(x, y, a, b).w1 - truth) <= TOL


# ---------------------------------------------------------------------------------------------
# §4.1 properties of the c-transform critic
# ---------------------------------------------------------------------------------------------


@given(clouds(), hnp.arrays(np.float64, (16, 3), elements=st.floats(-4, 4)),
       hnp.arrays(np.float64, (16, 3), elements=st.floats(-4, 4)))
def test_c_transform_critic_is_1_lipschitz(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], p: np.ndarray, q: np.ndarray
) -> None:
    # 003 Thm 1: the optimal critic is in Lip1 (probes anywhere, plus the data points).
    x, y, a, b = data
    d = x.shape[1]
    res = optimal.kantorovich(_t(x), _t(y), _t(a), _t(b))
    pp = np.concatenate([p[:, :d], x, y])
    qq = np.concatenate([q[:, :d], np.resize(y, (len(x), d)), np.resize(x, (len(y), d))])
    lhs = np.abs(_critic_np(res, pp) - _critic_np(res, qq))
    rhs = np.linalg.norm(pp - qq, axis=1)
    worst = float((lhs - rhs).max())
    assert worst <= 1e-9, f"max |f(p)-f(q)| - ||p-q|| = {worst}, but should be <= 0 [003 Thm 1]"


@given(clouds())
def test_critic_is_tight_on_coupled_pairs(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    # 003 Thm 1(ii): f(x_i) - f(y_j) = ||x_i - y_j|| on supp(pi*); 003 Lemma 1 (exhaustion).
    x, y, a, b = data
    res = optimal.kantorovich(_t(x), _t(y), _t(a), _t(b))
    i, j = np.nonzero(res.coupling > 1e-12)
    diff = _critic_np(res, x)[i] - _critic_np(res, y)[j]
    assert_allclose(diff, np.linalg.norm(x[i] - y[j], axis=1), atol=TOL, rtol=0,
                    err_msg="f(x_i) - f(y_j) on coupled pairs [003 Thm 1(ii)]")
    # the coupling is a coupling of (a, b) (a primal certificate, independent of POT's log)
    assert_allclose(res.coupling.sum(1), a, atol=1e-12)
    assert_allclose(res.coupling.sum(0), b, atol=1e-12)


@given(clouds(), st.floats(0.02, 0.98))
def test_unit_gradient_along_coupled_segments(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], t: float
) -> None:
    # 003 Prop. 1, 002 Thm 3 (l2): on the open segment y_j -> x_i of a coupled pair the gradient,
    # where it exists, is the unit vector (x_i - y_j)/||x_i - y_j||. Every active branch of the
    # c-transform min has that gradient there, so autograd returns it unless z hits a y_k. A
    # branch tied only up to rounding (y_k collinear to ~1e-8) can deviate by ~sqrt(eps): the
    # tolerance is 1e-6 and segments shorter than 1e-3 are skipped.
    x, y, a, b = data
    res = optimal.kantorovich(_t(x), _t(y), _t(a), _t(b))
    for i, j in zip(*np.nonzero(res.coupling > 1e-12), strict=True):
        length = float(np.linalg.norm(x[i] - y[j]))
        if length < 1e-3:
            continue
        z = y[j] + t * (x[i] - y[j])
        if np.linalg.norm(y - z, axis=1).min() < 1e-6:
            continue  # the cone tip ||z - y_k||: not differentiable
        zt = _t(z[None]).requires_grad_(True)
        (grad,) = torch.autograd.grad(res.critic(zt).sum(), zt)
        expected = (x[i] - y[j]) / length
        assert_allclose(grad[0].numpy(), expected, atol=1e-6,
                        err_msg=f"grad f at t={t} on pair ({i},{j}) [003 Prop. 1]")


@given(
    hnp.arrays(np.float64, (2,), elements=st.floats(-2, 2)),
    st.floats(0.0, 2 * math.pi), st.floats(0.3, math.pi), st.floats(0.5, 2.0),
    st.floats(0.5, 2.0),
)
def test_observation3_fake_coupled_to_two_reals_is_a_kink(
    y0: np.ndarray, phi: float, angle: float, r1: float, r2: float
) -> None:
    # 003 Obs. 3, App. C.5: a fake coupled to two reals in non-parallel directions v1, v2 has
    # one-sided directional derivatives 1 along both; a differentiable f would need a gradient
    # g with g.v1 = g.v2 = 1, whose norm is >= 1/cos(angle/2) > 1, so f is not differentiable.
    v1 = np.array([math.cos(phi), math.sin(phi)])
    v2 = np.array([math.cos(phi + angle), math.sin(phi + angle)])
    reals = np.stack([y0 + r1 * v1, y0 + r2 * v2])
    res = optimal.kantorovich(_t(reals), _t(y0[None]))
    assert (res.coupling > 0).all()  # the single fake is split between both reals
    h = 1e-6
    f0 = _critic_np(res, y0[None])[0]
    for v in (v1, v2):
        slope = (_critic_np(res, (y0 + h * v)[None])[0] - f0) / h
        assert abs(slope - 1.0) <= 1e-6, f"D_v f(y0)={slope}, but should be 1 [003 App. C.5]"
    # g.v1 = g.v2 = 1: for v2 = -v1 no g exists; otherwise g is unique, |g| = 1/cos(angle/2)
    directions = np.stack([v1, v2])
    g_min = np.linalg.lstsq(directions, np.ones(2), rcond=None)[0]
    consistent = np.abs(directions @ g_min - 1).max() <= 1e-9
    if consistent:
        norm = float(np.linalg.norm(g_min))
        assert abs(norm - 1 / math.cos(angle / 2)) <= 1e-6 * norm and norm > 1 + 1e-3
    else:
        assert angle > math.pi - 1e-6


# ---------------------------------------------------------------------------------------------
# §4.3 Observation 1 (2-D example)
# ---------------------------------------------------------------------------------------------


def _pairwise_lipschitz_ok(points: np.ndarray, values: np.ndarray, slack: float = 1e-12) -> bool:
    d = cdist(points, points)
    return bool((np.abs(values[:, None] - values[None, :]) <= d + slack).all())


def test_observation1_interval_is_exactly_the_optimal_set() -> None:
    # 003 Fig. 1 right, App. A.1: W1 = 1 and optimal critics (f(1,2) = 0) have f(1,1) = a with
    # exactly a in [1 - sqrt 2, sqrt 2 - 1]. Ground truth: an LP over the four values with all
    # 12 Lipschitz constraints and the optimality equality, solved here with HiGHS.
    ex = optimal.observation1_example()
    real, fake = ex.real.numpy(), ex.fake.numpy()
    assert abs(optimal.kantorovich(ex.real, ex.fake).w1 - 1.0) <= TOL
    assert abs(ot.emd2([0.5, 0.5], [0.5, 0.5], cdist(real, fake)) - ex.w1) <= TOL
    pts = np.concatenate([real, fake])  # value order: r(2,2), r(2,1), f(1,2), f(1,1)
    dist = cdist(pts, pts)
    rows, rhs = [], []
    for i in range(4):
        for j in range(4):
            if i != j:
                row = np.zeros(4)
                row[i], row[j] = 1.0, -1.0
                rows.append(row)
                rhs.append(dist[i, j])
    a_eq = np.array([[0.5, 0.5, -0.5, -0.5], [0, 0, 1, 0]])
    b_eq = np.array([1.0, 0.0])  # optimal (value W1 = 1) and f(1,2) = 0
    ends = []
    for sign in (1.0, -1.0):
        r = scipy.optimize.linprog(sign * np.array([0, 0, 0, 1.0]), A_ub=np.array(rows),
                                   b_ub=rhs, A_eq=a_eq, b_eq=b_eq, bounds=(None, None))
        assert r.status == 0
        ends.append(r.x[3])
    assert_allclose(ends, [ex.a_min, ex.a_max], atol=1e-9, err_msg="[003 App. A.1]")
    assert_allclose([ex.a_min, ex.a_max], [1 - math.sqrt(2), math.sqrt(2) - 1], atol=0)


@given(st.floats(0.0, 1.0))
def test_observation1_critic_values(s: float) -> None:
    # 003 Obs. 1: inside the interval the values are 1-Lipschitz and attain W1 = 1, yet one of
    # the uncoupled cross pairs is strict (|f(O) - f(X)| < ||O - X||); outside, Lip1 breaks.
    ex = optimal.observation1_example()
    pts = torch.cat([ex.real, ex.fake]).numpy()
    a = ex.a_min + s * (ex.a_max - ex.a_min)
    fr, ff = ex.critic_values(a)
    vals = torch.cat([fr, ff]).numpy()
    assert _pairwise_lipschitz_ok(pts, vals, slack=1e-12)
    assert abs(float(fr.mean() - ff.mean()) - ex.w1) <= 1e-12
    cross_slack = [math.sqrt(2) - (1 - a), math.sqrt(2) - (a + 1)]  # (2,2)-(1,1), (2,1)-(1,2)
    # the slacks sum to 2 sqrt 2 - 2, so one is >= sqrt 2 - 1 > 0: that pair is strict
    assert max(cross_slack) >= math.sqrt(2) - 1 - 1e-12, "one cross constraint should be strict"
    for outside in (ex.a_min - 1e-3, ex.a_max + 1e-3):
        fr, ff = ex.critic_values(outside)
        assert not _pairwise_lipschitz_ok(pts, torch.cat([fr, ff]).numpy())


# ---------------------------------------------------------------------------------------------
# §4.5 The optimal critic -|x| (003 Prop. 2)
# ---------------------------------------------------------------------------------------------


def test_abs_critic_w1_closed_form_equals_quadrature() -> None:
    # 003 Prop. 2 / App. C.3: W1 = integral |F_mu - F_nu| (scipy quad) = E_fake|x| - E_real|x|.
    ex = optimal.abs_critic_example()
    norm = scipy.stats.norm

    def cdf_gap(t: float) -> float:
        return abs(norm.cdf(t) - 0.5 * (norm.cdf(t + 1) + norm.cdf(t - 1)))

    quad = sum(scipy.integrate.quad(cdf_gap, lo, hi)[0] for lo, hi in ((-np.inf, 0), (0, np.inf)))
    assert abs(quad - ex.w1) <= 1e-10, f"quadrature {quad}, but .w1={ex.w1}"
    assert abs(ex.w1 - 0.368746380372) <= 1e-12  # SPEC §4.5's printed value

    def critic_gap(t: float) -> float:  # (-|t|)(p_mu(t) - p_nu(t)): -|x| attains W1
        p_nu = 0.5 * (norm.pdf(t + 1) + norm.pdf(t - 1))
        return -abs(t) * (norm.pdf(t) - p_nu)

    attained = sum(scipy.integrate.quad(critic_gap, lo, hi)[0]
                   for lo, hi in ((-np.inf, 0), (0, np.inf)))
    assert abs(attained - ex.w1) <= 1e-10
    x = torch.linspace(-3, 3, 13, dtype=F64)[:, None]
    torch.testing.assert_close(ex.critic(x), -x[:, 0].abs())
    assert ex.fake.mean.item() == 0.0 and abs(ex.fake.variance.item() - 2.0) <= 1e-12


def _gaussian_w1_tolerance(n: int, false_positive: float) -> float:
    """Tolerance for |W1(mu_n, nu_n) - W1(mu, nu)| with stratified samples (n/2 per component).

    |W1(mu_n, nu_n) - W1| <= W1(mu_n, mu) + W1(nu_n, nu) =: S. Bobkov-Ledoux: E W1(mu_n, mu) <=
    J / sqrt(n), J = integral sqrt(F (1 - F)) (F the N(0,1) CDF; shifts do not change J), and the
    mixture half-samples give E S <= J / sqrt(n) + J / sqrt(n / 2). S is a sqrt(2 / n)-Lipschitz
    function of the 2n standard normal draws, so Gaussian concentration gives
    P(S > E S + t) <= exp(-n t^2 / 4).
    """
    norm = scipy.stats.norm
    j = scipy.integrate.quad(lambda t: math.sqrt(norm.cdf(t) * norm.sf(t)), -np.inf, np.inf)[0]
    mean_bound = j / math.sqrt(n) + j / math.sqrt(n / 2)
    return mean_bound + math.sqrt(4 * math.log(1 / false_positive) / n)


def _abs_example_samples(n: int, seed: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n, generator=g, dtype=F64)
    noise = torch.randn(n, generator=g, dtype=F64)
    fake = noise + torch.cat([-torch.ones(n // 2, dtype=F64), torch.ones(n - n // 2, dtype=F64)])
    return real, fake


def test_abs_critic_w1_from_samples_within_statistical_tolerance() -> None:
    # 003 Prop. 2: the empirical W1 concentrates at .w1; false-positive rate <= 1e-6 (seeded).
    ex = optimal.abs_critic_example()
    n = 200_000
    real, fake = _abs_example_samples(n, seed=1)
    est = optimal.w1_1d(real, fake)
    tol = _gaussian_w1_tolerance(n, 1e-6)
    assert abs(est - ex.w1) <= tol, f"w1_1d={est}, but should be {ex.w1} +- {tol:.4f}"


def test_kantorovich_on_2000_samples_of_the_abs_example() -> None:
    # 003 Prop. 2 and Sec. 6 (W1 by assignment): exact agreement with the 1-D closed form on the
    # same samples, and the statistical tolerance (false-positive rate <= 1e-6) around .w1.
    ex = optimal.abs_critic_example()
    n = 2000
    real, fake = _abs_example_samples(n, seed=2)
    res = optimal.kantorovich(real[:, None], fake[:, None])
    assert abs(res.w1 - optimal.w1_1d(real, fake)) <= 1e-9
    assert abs(res.w1 - ex.w1) <= _gaussian_w1_tolerance(n, 1e-6)


# ---------------------------------------------------------------------------------------------
# Solver hygiene and input validation
# ---------------------------------------------------------------------------------------------


def test_kantorovich_reaches_the_optimum_on_3000_weighted_points() -> None:
    # POT's default numItermax=100000 stops short here (result_code 3, dual violations ~0.2);
    # an optimality certificate computed in numpy: primal feasible, dual feasible, zero gap.
    rng = np.random.default_rng(0)
    n, d = 3000, 5
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 1
    a, b = rng.random(n), rng.random(n)
    a, b = a / a.sum(), b / b.sum()
    res = optimal.kantorovich(_t(x), _t(y), _t(a), _t(b))
    cost = cdist(x, y)
    assert (res.u[:, None] + res.v[None, :] - cost).max() <= 1e-9, "dual infeasible"
    assert abs(a @ res.u + b @ res.v - res.w1) <= 1e-9, "duality gap"
    assert abs(float((res.coupling * cost).sum()) - res.w1) <= 1e-9
    assert_allclose(res.coupling.sum(1), a, atol=1e-12)


def test_too_few_iterations_raise_solver_error() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 2, generator=g, dtype=F64), torch.randn(30, 2, generator=g, dtype=F64)
    with pytest.raises(SolverError, match="num_iter_max"):
        optimal.kantorovich(x, y, num_iter_max=5)


_X = torch.zeros(3, 2, dtype=F64)
_Y = torch.ones(4, 2, dtype=F64)


@pytest.mark.parametrize(
    ("source", "target", "sw", "tw", "match"),
    [
        (torch.zeros(3), _Y, None, None, "source.shape"),
        (_X, torch.ones(4, 3, dtype=F64), None, None, "event shapes"),
        (torch.full((3, 2), math.nan, dtype=F64), _Y, None, None, "NaN"),
        (_X, _Y, torch.tensor([1.0, -1.0, 1.0], dtype=F64), None, "negative"),
        (_X, _Y, torch.ones(2, dtype=F64), None, r"source_weights.shape"),
        (_X, _Y, None, torch.zeros(4, dtype=F64), "positive sum"),
        (torch.zeros(0, 2, dtype=F64), _Y, None, None, "empty"),
    ],
)
def test_invalid_inputs_raise(
    source: Tensor, target: Tensor, sw: Tensor | None, tw: Tensor | None, match: str
) -> None:
    for fn in (optimal.kantorovich, optimal.compact_dual_w1):
        with pytest.raises(InvalidInputError, match=match):
            fn(source, target, sw, tw)


def test_w1_1d_rejects_bad_input_and_critic_rejects_wrong_event() -> None:
    with pytest.raises(InvalidInputError, match="should be"):
        optimal.w1_1d(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(InvalidInputError, match="NaN"):
        optimal.w1_1d([0.0, math.inf], [1.0])
    res = optimal.kantorovich(_X, _Y)
    with pytest.raises(InvalidInputError, match=r"z\.shape"):
        res.critic(torch.zeros(2, 3, dtype=F64))
