"""GAN objectives (SPEC §1): critic and generator losses, stability, and 002 Eq. 12.

Every loss is compared with its formula evaluated in plain Python floats
(``softplus(s) = log1p(exp(s))``), independent of torch; stability is checked at scores of
+-1e4 in float32 and float64; :func:`satisfies_eq12` is held to the instances of 002 Table 2
and to counterexamples whose violated condition is derived by hand in the comments.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from gp_spec import objectives
from gp_spec.errors import InvalidInputError
from gp_spec.objectives import Objective

REAL = [-2.0, 0.3, 1.7]
FAKE = [0.5, -1.2, 2.4, -0.1]  # a different batch size from REAL on purpose


def softplus(s: float) -> float:
    """Independent truth: log(1 + e^s) in Python floats (only used for |s| < 700)."""
    return math.log1p(math.exp(s))


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _t(xs: list[float], dtype: torch.dtype = torch.float64) -> Tensor:
    return torch.tensor(xs, dtype=dtype)


# name -> (objective, L_D(real, fake), L_G(fake)), the formulas of SPEC §1 by hand.
Formula = Callable[[list[float], list[float]], float]
CASES: dict[str, tuple[Objective, Formula, Callable[[list[float]], float]]] = {
    "wasserstein": (  # 003 Eq. 5-6
        objectives.wasserstein,
        lambda r, f: mean(f) - mean(r),
        lambda f: -mean(f),
    ),
    "minimax": (  # 004 Eq. 1: -log D(x) - log(1 - D(y)), D = sigmoid(s)
        objectives.minimax,
        lambda r, f: mean([softplus(-s) for s in r]) + mean([softplus(s) for s in f]),
        lambda f: -mean([softplus(s) for s in f]),
    ),
    "non_saturating": (  # 004 §3: L_G = -log D(y)
        objectives.non_saturating,
        lambda r, f: mean([softplus(-s) for s in r]) + mean([softplus(s) for s in f]),
        lambda f: mean([softplus(-s) for s in f]),
    ),
    "least_squares_default": (  # 002 Table 1 with a = 0, b = c = 1
        objectives.least_squares(),
        lambda r, f: mean([s**2 for s in f]) + mean([(s - 1) ** 2 for s in r]),
        lambda f: mean([(s - 1) ** 2 for s in f]),
    ),
    "least_squares(-1,1,0)": (  # 002 Table 1 with a = -1, b = 1, c = 0
        objectives.least_squares(-1.0, 1.0, 0.0),
        lambda r, f: mean([(s + 1) ** 2 for s in f]) + mean([(s - 1) ** 2 for s in r]),
        lambda f: mean([s**2 for s in f]),
    ),
    "hinge": (  # 002 Table 2
        objectives.hinge,
        lambda r, f: mean([max(0.0, 1 + s) for s in f]) + mean([max(0.0, 1 - s) for s in r]),
        lambda f: -mean(f),
    ),
    "lipschitz_family(exp)": (  # 002 Eq. 1, 12 with varphi(x) = phi(-x) = exp(-x)
        objectives.lipschitz_family(torch.exp),
        lambda r, f: mean([math.exp(s) for s in f]) + mean([math.exp(-s) for s in r]),
        lambda f: -mean(f),
    ),
    "lipschitz_family(softplus)": (  # 002 Table 2 (b): phi = -log sigmoid(-x) = softplus(x)
        objectives.lipschitz_family(F.softplus),
        lambda r, f: mean([softplus(s) for s in f]) + mean([softplus(-s) for s in r]),
        lambda f: -mean(f),
    ),
    "lipschitz_family(x^2,explicit varphi)": (  # varphi given, not phi(-x)
        objectives.lipschitz_family(torch.square, lambda s: 3 * s),
        lambda r, f: mean([s**2 for s in f]) + mean([3 * s for s in r]),
        lambda f: -mean(f),
    ),
}


@pytest.mark.parametrize("name", CASES, ids=CASES.keys())
def test_critic_loss_matches_formula(name: str) -> None:
    obj, l_d, _ = CASES[name]
    got = float(obj.critic_loss(_t(REAL), _t(FAKE)))
    want = l_d(REAL, FAKE)  # hand formula, Python floats
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-14), f"{name}: {got} != {want}"


@pytest.mark.parametrize("name", CASES, ids=CASES.keys())
def test_generator_loss_matches_formula(name: str) -> None:
    obj, _, l_g = CASES[name]
    got = float(obj.generator_loss(_t(FAKE)))
    want = l_g(FAKE)  # hand formula, Python floats
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-14), f"{name}: {got} != {want}"


@pytest.mark.parametrize("name", CASES, ids=CASES.keys())
def test_n1_scores_equal_n_scores(name: str) -> None:
    # SPEC conventions: critic outputs (N, 1) are accepted and mean the same as (N,).
    obj = CASES[name][0]
    flat = obj.critic_loss(_t(REAL), _t(FAKE))
    column = obj.critic_loss(_t(REAL)[:, None], _t(FAKE)[:, None])
    torch.testing.assert_close(flat, column, rtol=0, atol=0)
    torch.testing.assert_close(obj.generator_loss(_t(FAKE)[:, None]), obj.generator_loss(_t(FAKE)))


@given(
    r=st.lists(st.floats(-30, 30), min_size=1, max_size=5),
    f=st.lists(st.floats(-30, 30), min_size=1, max_size=5),
    name=st.sampled_from(sorted(CASES)),
)
def test_losses_match_formula_on_random_scores(r: list[float], f: list[float], name: str) -> None:
    # SPEC §1 table, for any scores in [-30, 30] (Python-float formulas as truth).
    obj, l_d, l_g = CASES[name]
    got_d, got_g = float(obj.critic_loss(_t(r), _t(f))), float(obj.generator_loss(_t(f)))
    assert math.isclose(got_d, l_d(r, f), rel_tol=1e-9, abs_tol=1e-9), (got_d, l_d(r, f))
    assert math.isclose(got_g, l_g(f), rel_tol=1e-9, abs_tol=1e-9), (got_g, l_g(f))


STABLE: dict[str, Objective] = {
    "wasserstein": objectives.wasserstein,
    "minimax": objectives.minimax,
    "non_saturating": objectives.non_saturating,
    "least_squares": objectives.least_squares(),
    "hinge": objectives.hinge,
    **{f"lipschitz_family({k})": objectives.lipschitz_family(phi)
       for k, phi in objectives.EQ12_INSTANCES.items() if k != "exp"},  # exp(1e4) = inf
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("obj", STABLE.values(), ids=STABLE.keys())
def test_finite_values_and_gradients_at_1e4(obj: Objective, dtype: torch.dtype) -> None:
    # SPEC §1: "Every objective must be numerically stable at scores of +-1e4" (softplus, never
    # log(sigmoid(.)), which is log(0) = -inf at -1e4 in float32 and float64).
    r = torch.tensor([1e4, -1e4], dtype=dtype, requires_grad=True)
    f = torch.tensor([-1e4, 1e4], dtype=dtype, requires_grad=True)
    l_d, l_g = obj.critic_loss(r, f), obj.generator_loss(f)
    g_r, g_f = torch.autograd.grad(l_d, [r, f])
    (g_g,) = torch.autograd.grad(l_g, [f])
    for t in (l_d, l_g, g_r, g_f, g_g):
        assert bool(torch.isfinite(t).all()), f"{obj.name} ({dtype}): {t} is not finite"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_logistic_values_at_1e4(dtype: torch.dtype) -> None:
    # hand-derived: softplus(1e4) = 1e4 (+ log1p(e^-1e4) = 0 in floating point) and
    # softplus(-1e4) = 0. Worst case for the discriminator: real scored -1e4, fake +1e4:
    # L_D = softplus(1e4) + softplus(1e4) = 2e4; saturating L_G = -1e4; non-saturating = 0.
    r, f = torch.tensor([-1e4], dtype=dtype), torch.tensor([1e4], dtype=dtype)
    assert float(objectives.minimax.critic_loss(r, f)) == 2e4
    assert float(objectives.minimax.generator_loss(f)) == -1e4
    assert float(objectives.non_saturating.generator_loss(f)) == 0.0
    assert float(objectives.non_saturating.generator_loss(-f)) == 1e4


def test_logistic_gradient_at_1e4() -> None:
    # hand-derived: d/ds softplus(s) = sigmoid(s) = 1 at s = 1e4, and d/ds softplus(-s) =
    # -sigmoid(-s) = -1 at s = -1e4 (the gradient does not vanish for the non-saturating loss).
    f = torch.tensor([-1e4], dtype=torch.float32, requires_grad=True)
    (g,) = torch.autograd.grad(objectives.non_saturating.generator_loss(f), [f])
    assert float(g) == -1.0


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "bad",
    [torch.zeros(0), torch.zeros(3, 2), torch.zeros(2, 1, 1), torch.tensor(1.0)],
    ids=["empty", "n_by_2", "n_by_1_by_1", "scalar"],
)
def test_bad_score_shapes_raise(bad: Tensor) -> None:
    with pytest.raises(InvalidInputError, match="shape"):
        objectives.wasserstein.critic_loss(bad, _t(FAKE))
    with pytest.raises(InvalidInputError, match="shape"):
        objectives.wasserstein.generator_loss(bad)


def test_non_tensor_scores_raise() -> None:
    with pytest.raises(InvalidInputError, match=r"torch\.Tensor"):
        objectives.hinge.critic_loss(REAL, _t(FAKE))  # type: ignore[arg-type]


def test_losses_are_0_dim() -> None:
    for obj in STABLE.values():
        assert obj.critic_loss(_t(REAL), _t(FAKE)).shape == ()
        assert obj.generator_loss(_t(FAKE)).shape == ()


# ----------------------------------------------------------------------------- Eq. 12


@pytest.mark.parametrize("name", objectives.EQ12_INSTANCES, ids=objectives.EQ12_INSTANCES.keys())
def test_eq12_instances_satisfy_eq12(name: str) -> None:
    # 002 Eq. 12 and Table 2: each phi with varphi(x) = phi(-x) meets the conditions; the root is
    # a = 0 by symmetry (phi'(0) + varphi'(0) = phi'(0) - phi'(0) = 0).
    assert objectives.satisfies_eq12(objectives.EQ12_INSTANCES[name])


def test_sqrt_instance_is_x_plus_sqrt_x2_plus_1() -> None:
    # 002 Table 2 (c): phi(x) = x + sqrt(x^2 + 1), in Python floats as truth; the stable form for
    # x < 0 is 1 / (sqrt(x^2 + 1) - x) (same number, no cancellation).
    xs = [-50.0, -3.0, -0.5, 0.0, 0.5, 3.0, 50.0]
    got = objectives.EQ12_INSTANCES["sqrt"](_t(xs)).tolist()
    want = [x + math.sqrt(x * x + 1) for x in xs]
    for g, w in zip(got, want, strict=True):
        assert math.isclose(g, w, rel_tol=1e-12), (g, w)


def _log_sigmoid(s: Tensor) -> Tensor:
    return F.logsigmoid(s)


def _hinge_phi(s: Tensor) -> Tensor:
    return torch.relu(1 + s)


COUNTEREXAMPLES: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor] | None]] = {
    # hinge max(0, 1 + x): phi'(x) = 0 for x < -1, violating phi' > 0 (SPEC §1; 002 Table 2).
    "hinge": (_hinge_phi, None),
    # phi(x) = -x: phi' = -1 < 0 (and varphi(x) = x has varphi' = 1 > 0).
    "negative_identity": (torch.neg, None),
    # log sigmoid(x) = -softplus(-x) is increasing but concave: phi'' = -sigmoid(x)sigmoid(-x) < 0.
    # (log(1 + e^x) = softplus itself is convex and IS an instance, 002 Table 2 (b).)
    "concave_log_sigmoid": (_log_sigmoid, None),
    # phi(x) = x, varphi(x) = -2x: every sign condition holds but phi' + varphi' = -1 never
    # vanishes, so no a with phi'(a) + varphi'(a) = 0 exists.
    "no_root": (lambda s: s, lambda s: -2 * s),
    # phi = varphi = exp: varphi' = e^x > 0, violating varphi' < 0.
    "increasing_varphi": (torch.exp, torch.exp),
    # phi(x) = x^2: phi'(x) = 2x <= 0 for x <= 0, violating phi' > 0.
    "square": (torch.square, None),
}


@pytest.mark.parametrize("name", COUNTEREXAMPLES, ids=COUNTEREXAMPLES.keys())
def test_counterexamples_fail_eq12(name: str) -> None:
    phi, varphi = COUNTEREXAMPLES[name]
    assert not objectives.satisfies_eq12(phi, varphi), f"{name} should violate 002 Eq. 12"


def test_hinge_objective_is_not_in_the_eq12_family() -> None:
    # SPEC §1: hinge is "not in the Eq. 12 family" (its own phi and varphi, as defined).
    assert not objectives.satisfies_eq12(objectives.hinge.phi, objectives.hinge.varphi)


def test_lipschitz_family_default_varphi_is_mirror() -> None:
    # 002 §5.3 / Table 2: varphi(x) = phi(-x) by default; hand values with phi = exp.
    obj = objectives.lipschitz_family(torch.exp)
    got = obj.varphi(_t([-1.0, 0.0, 2.0])).tolist()
    want = [math.exp(1.0), 1.0, math.exp(-2.0)]
    for g, w in zip(got, want, strict=True):
        assert math.isclose(g, w, rel_tol=1e-15), (got, want)


@given(k=st.floats(0.1, 10.0))
def test_wasserstein_critic_loss_is_linear_in_scores(k: float) -> None:
    # 003 Eq. 5: L_D = E[s_f] - E[s_r] is linear, so scaling the critic by k scales the loss by k
    # (002 App. E, Theorem 4 relies on this).
    base = float(objectives.wasserstein.critic_loss(_t(REAL), _t(FAKE)))
    scaled = float(objectives.wasserstein.critic_loss(k * _t(REAL), k * _t(FAKE)))
    assert math.isclose(scaled, k * base, rel_tol=1e-12, abs_tol=1e-12)
