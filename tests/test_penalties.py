"""Gradient penalties (SPEC §3 and the conventions above §1): values, gradients, hygiene.

Ground truth is independent of gp_spec's code path: closed forms on linear critics
``f(x) = <a, x> + b`` (``||grad f|| = ||a||`` everywhere) and quadratic critics
``f(x) = c/2 ||x - m||^2`` (``||grad f(x)|| = c ||x - m||``) computed in numpy, central
differences in float64 for the parameter gradients, and image-shaped critics whose per-channel
gradient norms differ, so only the norm over all event dims gives the expected number.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor, nn

from gp_spec import measures, penalties
from gp_spec.errors import InvalidCriticError, InvalidInputError, InvalidWeightError

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _data(n: int = 6, d: int = 2, seed: int = 0) -> tuple[Tensor, Tensor]:
    g = _gen(seed)
    real = torch.randn(n, d, generator=g, dtype=F64) + 1.5
    fake = torch.randn(n, d, generator=g, dtype=F64) - 1.5
    return real, fake


def _close_pairs(n: int = 5, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Pairs 0.3 apart on average, so steep critics violate the pair penalties' constraints."""
    g = _gen(seed)
    real = torch.randn(n, 2, generator=g, dtype=F64)
    return real, real + 0.3 * torch.randn(n, 2, generator=g, dtype=F64)


def _linear(a: list[float], b: float = 0.3) -> nn.Linear:
    """``f(x) = <a, x> + b`` as an ``nn.Linear`` (output ``(N, 1)``)."""
    lin = nn.Linear(len(a), 1).to(F64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([a], dtype=F64))
        lin.bias.fill_(b)
    return lin


def _quadratic(c: float, m: Tensor | None = None) -> Callable[[Tensor], Tensor]:
    """``f(x) = c/2 ||x - m||^2``: gradient ``c (x - m)``, norm ``c ||x - m||``."""
    return lambda x: 0.5 * c * (x - (0 if m is None else m)).flatten(1).square().sum(1)


def _mlp(seed: int = 0, scale: float = 2.0, act: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 3), act(), nn.Linear(3, 1)).to(F64)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    return net


def _sqnorm(x: Tensor | np.ndarray) -> np.ndarray:
    arr = x.detach().numpy() if isinstance(x, Tensor) else x
    return np.asarray((arr.reshape(arr.shape[0], -1) ** 2).sum(1))


# Every penalty behind one call signature: (critic, real, fake, weight, generator).
Call = Callable[[Callable[[Tensor], Tensor], Tensor, Tensor, float, torch.Generator], Tensor]
PENALTIES: dict[str, Call] = {
    "two_sided": lambda c, r, f, w, g: penalties.two_sided(c, r, f, weight=w, generator=g),
    "one_sided": lambda c, r, f, w, g: penalties.one_sided(c, r, f, weight=w, generator=g),
    "zero_centred": lambda c, r, f, w, g: penalties.zero_centred(c, r, f, weight=w, generator=g),
    "zero_centred-anchor": lambda c, r, f, w, g: penalties.zero_centred(
        c, r, f, weight=w, measure=measures.anchor(), generator=g),
    "r1": lambda c, r, f, w, g: penalties.r1(c, r, f, weight=w),
    "r2": lambda c, r, f, w, g: penalties.r2(c, r, f, weight=w),
    "dragan": lambda c, r, f, w, g: penalties.dragan(c, r, f, weight=w, generator=g),
    "lp_quotient": lambda c, r, f, w, g: penalties.difference_quotient(c, r, f, weight=w),
    "w2_quotient": lambda c, r, f, w, g: penalties.difference_quotient(
        c, r, f, weight=w, cost="squared_euclidean"),
    "transport": lambda c, r, f, w, g: penalties.transport(c, r, f, weight=w),
    "max_gradient": lambda c, r, f, w, g: penalties.MaxGradient(3)(c, r, f, weight=w, generator=g),
}
READS = {"r1": ("real",), "r2": ("fake",), "dragan": ("real",),
         "zero_centred-anchor": ("fake",)}  # the others read both


def _reads(name: str) -> tuple[str, ...]:
    return READS.get(name, ("real", "fake"))


# ----------------------------------------------------------------------------- gradient_norms


def test_gradient_norms_of_linear_critic_is_norm_of_a() -> None:
    # hand-derived: grad <a, x> + b = a, so every norm is ||a|| = ||(3, 4)|| = 5.
    real, _ = _data()
    norms = penalties.gradient_norms(_linear([3.0, 4.0]), real)
    torch.testing.assert_close(norms, torch.full((6,), 5.0, dtype=F64))


def test_gradient_norms_of_quadratic_critic() -> None:
    # hand-derived: grad c/2 ||x||^2 = c x, so the norm is c ||x|| (numpy reference).
    real, _ = _data()
    norms = penalties.gradient_norms(_quadratic(1.7), real)
    torch.testing.assert_close(norms, torch.from_numpy(1.7 * np.sqrt(_sqnorm(real))))


def _channel_quadratic(k: list[float]) -> Callable[[Tensor], Tensor]:
    """``f(x) = sum_ch k_ch/2 ||x_ch||^2`` on (N, C, H, W): gradient k_ch x_ch per channel."""
    kk = torch.tensor(k, dtype=F64)[None, :, None, None]
    return lambda x: 0.5 * (kk * x.square()).flatten(1).sum(1)


def test_gradient_norms_over_all_event_dims_of_image() -> None:
    # SPEC conventions: the norm runs over ALL non-batch dims. Hand-derived for the channel
    # quadratic: ||g||^2 = sum_ch k_ch^2 ||x_ch||^2. The channels' norms differ (k = 0.5, 2, 3),
    # so a per-channel norm (or its mean) gives a different number.
    x = torch.randn(4, 3, 4, 4, generator=_gen(1), dtype=F64)
    k = np.array([0.5, 2.0, 3.0])
    per_channel = (x.numpy() ** 2).reshape(4, 3, -1).sum(2)
    expected = np.sqrt((k**2 * per_channel).sum(1))
    norms = penalties.gradient_norms(_channel_quadratic(k.tolist()), x)
    torch.testing.assert_close(norms, torch.from_numpy(expected))


def test_gradient_norms_accept_n_and_n1_outputs() -> None:
    # SPEC conventions: a critic may return (N,) or (N, 1); both mean the same scores.
    real, _ = _data()
    lin = _linear([1.0, -2.0])
    flat = penalties.gradient_norms(lambda x: lin(x)[:, 0], real)
    column = penalties.gradient_norms(lin, real)
    assert lin(real).shape == (6, 1)
    torch.testing.assert_close(flat, column, rtol=0, atol=0)
    # hand-derived: ||(1, -2)|| = sqrt(5) at every point.
    torch.testing.assert_close(flat, torch.full((6,), math.sqrt(5.0), dtype=F64))


BAD_OUTPUTS: dict[str, Callable[[Tensor], object]] = {
    "n_by_2": lambda x: x[:, :2].sum(1, keepdim=True).expand(-1, 2),
    "n_by_1_by_1": lambda x: x.sum(1)[:, None, None],
    "scalar": lambda x: x.sum(),
    "n_plus_1": lambda x: torch.cat([x.sum(1), x.sum(1)[:1]]),
    "not_a_tensor": lambda x: x.sum(1).tolist(),
}


@pytest.mark.parametrize("critic", BAD_OUTPUTS.values(), ids=BAD_OUTPUTS.keys())
def test_wrong_critic_output_raises(critic: Callable[[Tensor], Tensor]) -> None:
    real, fake = _data()
    with pytest.raises(InvalidCriticError):
        penalties.gradient_norms(critic, real)
    with pytest.raises(InvalidCriticError):
        penalties.two_sided(critic, real, fake)


ZERO_GRAD_CRITICS = {
    "zero_linear": lambda: _linear([0.0, 0.0]),
    "relu_dead_zone": lambda: nn.Sequential(  # _dead: pre-activations x1 + x2 - 50 < 0
        nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).to(F64),
}


def _dead(net: nn.Module) -> nn.Module:
    if isinstance(net, nn.Sequential):
        with torch.no_grad():
            net[0].weight.fill_(1.0)
            net[0].bias.fill_(-50.0)
    return net


@pytest.mark.parametrize("make", ZERO_GRAD_CRITICS.values(), ids=ZERO_GRAD_CRITICS.keys())
@pytest.mark.parametrize("name", ["two_sided", "one_sided", "zero_centred", "max_gradient"])
def test_zero_input_gradient_gives_finite_values_and_param_grads(
    make: Callable[[], nn.Module], name: str
) -> None:
    # SPEC conventions: the penalty is differentiable w.r.t. the critic's parameters; where
    # grad_x f = 0 exactly, the norm's derivative is taken as 0 (gradient_norms docstring), so
    # values are finite and every parameter gradient is finite (sqrt'(0) = inf would give NaN).
    critic = _dead(make())
    real, fake = _data()
    norms = penalties.gradient_norms(critic, real)
    torch.testing.assert_close(norms, torch.zeros(6, dtype=F64), rtol=0, atol=0)
    value = PENALTIES[name](critic, real, fake, 2.0, _gen())
    # hand-derived: ||g|| = 0 gives (0 - 1)^2 = 1 for two-sided, 0 for the others.
    assert float(value) == (2.0 if name == "two_sided" else 0.0)
    grads = torch.autograd.grad(value, list(critic.parameters()), allow_unused=True)
    for g in grads:
        assert g is None or bool(torch.isfinite(g).all()), f"non-finite parameter gradient {g}"


def test_zero_times_x_critic_is_finite() -> None:
    # f(x) = 0 * x: grad_x f = 0 exactly and no parameters; the value is w * (0 - 1)^2.
    real, fake = _data()
    value = penalties.two_sided(lambda x: 0 * x.sum(1), real, fake, weight=3.0, generator=_gen())
    assert float(value) == 3.0


def test_gradient_norms_do_not_modify_points() -> None:
    real, _ = _data()
    before = real.clone()
    penalties.gradient_norms(_quadratic(2.0), real)
    assert torch.equal(real, before) and not real.requires_grad


# ----------------------------------------------------------------------------- closed forms

MEASURES = {
    "interpolate": measures.interpolate(),
    "real": measures.real(),
    "fake": measures.fake(),
    "midpoint": measures.midpoint(),
    "anchor": measures.anchor(),
    "perturbed": measures.perturbed(0.5, fake_too=True),
    "dragan": measures.dragan(),
    "mixture": measures.mixture([(0.5, measures.real()), (1.5, measures.interpolate())]),
}
TERMS = {  # hand-derived per-sample terms of SPEC §3 as functions of t = ||grad f||
    "two_sided": (penalties.two_sided, lambda t: (t - 1) ** 2),
    "one_sided": (penalties.one_sided, lambda t: max(0.0, t - 1) ** 2),
    "zero_centred": (penalties.zero_centred, lambda t: t**2),
}


@pytest.mark.parametrize("a", [[0.3, 0.4], [1.2, -1.6]], ids=["norm0.5", "norm2"])
@pytest.mark.parametrize("term", TERMS, ids=TERMS.keys())
@pytest.mark.parametrize("mu", MEASURES.values(), ids=MEASURES.keys())
def test_linear_critic_closed_form_on_every_measure(
    mu: measures.Measure, term: str, a: list[float]
) -> None:
    # hand-derived: ||grad f|| = ||a|| at every point, so the penalty is w * M * term(||a||) on
    # any measure of mass M (M = 2 for the mixture, 1 otherwise); 003 Eq. 6, 8; 004 Eq. 6.
    fn, h = TERMS[term]
    real, fake = _data()
    value = fn(_linear(a), real, fake, weight=2.5, measure=mu, generator=_gen(4))
    expected = 2.5 * mu.mass * h(math.hypot(*a))
    assert math.isclose(float(value), expected, rel_tol=1e-12, abs_tol=1e-14), (
        f"{term} on {mu.name}: {float(value)}, but should be {expected} [hand-derived]")


QUAD_TRUTH = {  # measure -> points computed by hand from (real, fake)
    "real": lambda r, f: r,
    "fake": lambda r, f: f,
    "midpoint": lambda r, f: (r + f) / 2,
}


@pytest.mark.parametrize("where", QUAD_TRUTH, ids=QUAD_TRUTH.keys())
@pytest.mark.parametrize("term", TERMS, ids=TERMS.keys())
def test_quadratic_critic_closed_form(where: str, term: str) -> None:
    # hand-derived: ||grad f(x)|| = c ||x||, so the penalty is w * mean_i term(c ||x_i||) over the
    # measure's points (000 Table 1 measures; 003 Eq. 6, 8; 004 Eq. 6), computed in numpy.
    fn, h = TERMS[term]
    real, fake = _data()
    pts = QUAD_TRUTH[where](real.numpy(), fake.numpy())
    expected = 1.5 * np.mean([h(0.8 * math.sqrt(s)) for s in _sqnorm(pts)])
    value = fn(_quadratic(0.8), real, fake, weight=1.5, measure=MEASURES[where])
    assert math.isclose(float(value), expected, rel_tol=1e-12), f"{float(value)} != {expected}"


def test_quadratic_on_interpolate_uses_the_measure_points() -> None:
    # hand-derived from the points the measure draws with the same seed: w mean(c^2 ||x_hat||^2)
    # (the points' geometry is checked in test_measures.py).
    real, fake = _data()
    pts = measures.interpolate().sample(real, fake, generator=_gen(9)).points
    expected = 2.0 * 0.7**2 * _sqnorm(pts).mean()
    value = penalties.zero_centred(_quadratic(0.7), real, fake, weight=2.0, generator=_gen(9))
    assert math.isclose(float(value), expected, rel_tol=1e-12)


def test_mixture_measure_weights_components() -> None:
    # 000 §2.1: E_mu[h] = sum_k w_k E_mu_k[h]; hand-derived with h = c^2 ||x||^2 on real and fake.
    real, fake = _data()
    mu = measures.mixture([(2.0, measures.real()), (0.5, measures.fake())])
    expected = 3.0 * 1.1**2 * (2.0 * _sqnorm(real).mean() + 0.5 * _sqnorm(fake).mean())
    value = penalties.zero_centred(_quadratic(1.1), real, fake, weight=3.0, measure=mu)
    assert math.isclose(float(value), expected, rel_tol=1e-12)


def test_image_critic_penalty_uses_full_norm() -> None:
    # hand-derived: per-sample norm^2 = sum_ch k_ch^2 ||x_ch||^2 over (C, H, W); the two-sided
    # value of the per-channel norms would be a different number (channel gains 0.5, 2, 3).
    real = torch.randn(5, 3, 4, 4, generator=_gen(2), dtype=F64) * 0.2
    k = np.array([0.5, 2.0, 3.0])
    t = np.sqrt((k**2 * (real.numpy() ** 2).reshape(5, 3, -1).sum(2)).sum(1))
    expected = 10.0 * np.mean((t - 1) ** 2)
    value = penalties.two_sided(_channel_quadratic(k.tolist()), real, real,
                                measure=measures.real())
    assert math.isclose(float(value), expected, rel_tol=1e-12), f"{float(value)} != {expected}"


def test_r1_r2_defaults_and_none_side() -> None:
    # 004 Table 1 / Mescheder et al.: R1 = (gamma/2) E_x ||grad f||^2 on real, R2 on fake;
    # default weight gamma/2 = 5. Hand-derived with the quadratic critic (norm^2 = c^2 ||x||^2).
    real, fake = _data()
    r1 = penalties.r1(_quadratic(0.5), real)
    r2 = penalties.r2(_quadratic(0.5), None, fake)
    assert math.isclose(float(r1), 5.0 * 0.25 * _sqnorm(real).mean(), rel_tol=1e-12)
    assert math.isclose(float(r2), 5.0 * 0.25 * _sqnorm(fake).mean(), rel_tol=1e-12)


def test_dragan_penalty_is_two_sided_on_dragan_points() -> None:
    # Kodali et al. 2017: two-sided term on the DRAGAN measure, weight 10 by default. Hand-derived
    # on the points drawn with the same seed: 10 * mean((c ||x_hat|| - 1)^2).
    real, _ = _data()
    pts = measures.dragan(0.5).sample(real, None, generator=_gen(5)).points
    expected = 10.0 * np.mean((0.9 * np.sqrt(_sqnorm(pts)) - 1) ** 2)
    value = penalties.dragan(_quadratic(0.9), real, generator=_gen(5))
    assert math.isclose(float(value), expected, rel_tol=1e-12)


@given(seed=st.integers(0, 2**16), weight=st.floats(0.0, 100.0))
def test_lp_between_gp_minus_weight_and_gp(seed: int, weight: float) -> None:
    # 003 App. C.4, Prop. 3 (SPEC §4.6): L_LP <= L_GP <= L_LP + w for every critic and sample,
    # since max(0, t-1)^2 <= (t-1)^2 <= max(0, t-1)^2 + 1 for t >= 0. Same seed: same points.
    critic = _mlp(seed, scale=1.0 + seed % 4)
    real, fake = _data(seed=seed)
    lp = float(penalties.one_sided(critic, real, fake, weight=weight, generator=_gen(seed)))
    gp = float(penalties.two_sided(critic, real, fake, weight=weight, generator=_gen(seed)))
    assert lp <= gp + 1e-12, f"L_LP={lp} > L_GP={gp} [003 Prop. 3]"
    assert gp <= lp + weight + 1e-12, f"L_GP={gp} > L_LP + w={lp + weight} [003 Prop. 3]"


@given(weight=st.floats(0.0, 1e3), name=st.sampled_from(sorted(PENALTIES)))
def test_penalty_is_linear_in_weight(weight: float, name: str) -> None:
    # SPEC §3: every penalty is weight * E_mu[term]; the expectation does not depend on weight.
    real, fake = _data()
    critic = _mlp(1)
    unit = float(PENALTIES[name](critic, real, fake, 1.0, _gen(3)))
    value = float(PENALTIES[name](critic, real, fake, weight, _gen(3)))
    assert math.isclose(value, weight * unit, rel_tol=1e-12, abs_tol=1e-300)


# ----------------------------------------------------------------------------- pair penalties


def _pair_numpy(a: np.ndarray, real: Tensor, fake: Tensor) -> tuple[np.ndarray, np.ndarray]:
    r, f = real.numpy(), fake.numpy()
    return (r - f) @ a, np.sqrt(((r - f) ** 2).sum(1))  # f(x) - f(y) for <a, x> + b; ||x - y||


@pytest.mark.parametrize("cost", ["euclidean", "squared_euclidean"])
def test_difference_quotient_closed_form(cost: str) -> None:
    # 003 Eq. 7 / Eq. 11, hand-derived on a linear critic: f(x) - f(y) = <a, x - y>. Scaled
    # so that ||x - y|| < 1 and both costs see violations.
    real, fake = (0.2 * t for t in _data(n=8))
    a = np.array([1.3, 0.9])
    diff, dist = _pair_numpy(a, real, fake)
    c = dist if cost == "euclidean" else dist**2
    expected = 4.0 * np.mean(np.maximum(0.0, np.abs(diff) / c - 1) ** 2)
    value = penalties.difference_quotient(_linear(a.tolist()), real, fake, weight=4.0,
                                          cost=cost)  # type: ignore[arg-type]
    assert expected > 0, "test data should violate the constraint somewhere"
    assert math.isclose(float(value), expected, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("cost", "dist", "expected"),
    [("euclidean", 1e-8, 81.0), ("squared_euclidean", 1e-8, 81.0),
     ("squared_euclidean", 1e-4, 81.0), ("euclidean", 1e-4, 0.0)],
    ids=["l2-below-floor", "w2-below-floor", "w2-square-below-floor", "l2-above-floor"],
)
def test_difference_quotient_clamps_cost_at_1e6(cost: str, dist: float, expected: float) -> None:
    # 003 authors' code: the cost is clamped below at 1e-6. Hand-derived with f = <a, x> + b,
    # a = (1e-5 / dist) e_1, so |f(x) - f(y)| = 1e-5 for x - y = dist e_1: the quotient is
    # 1e-5 / 1e-6 = 10 when the cost is below the floor, so the term is (10 - 1)^2 = 81. For w2
    # at distance 1e-4 the cost 1e-8 is below the floor (clamping the distance before squaring
    # would not be); for l2 at 1e-4 the quotient is 1e-5 / 1e-4 = 0.1 < 1, so the term is 0.
    fake = torch.zeros(1, 2, dtype=F64)
    real = torch.tensor([[dist, 0.0]], dtype=F64)
    critic = _linear([1e-5 / dist, 0.0])
    value = penalties.difference_quotient(critic, real, fake, weight=1.0,
                                          cost=cost)  # type: ignore[arg-type]
    assert math.isclose(float(value), expected, rel_tol=1e-6, abs_tol=1e-12), float(value)


def test_difference_quotient_identical_pairs_are_finite() -> None:
    # x = y: |f(x) - f(y)| = 0 and the clamped cost is 1e-6, so the term is 0 (no 0/0).
    real, _ = _data()
    critic = _mlp(0)
    value = penalties.difference_quotient(critic, real, real.clone())
    (grad,) = torch.autograd.grad(value, [next(critic.parameters())], allow_unused=True)
    assert float(value) == 0.0
    assert grad is None or bool(torch.isfinite(grad).all())


def test_difference_quotient_rejects_unknown_cost() -> None:
    real, fake = _data()
    with pytest.raises(InvalidInputError, match="cost"):
        penalties.difference_quotient(_mlp(), real, fake, cost="l1")  # type: ignore[arg-type]


def test_transport_closed_form() -> None:
    # 003 Eq. 9 with the code's weight (SPEC §3), hand-derived on a linear critic:
    # w * mean(max(0, <a, x - y> - ||x - y||)^2).
    real, fake = _data(n=8)
    a = np.array([1.5, 1.0])
    diff, dist = _pair_numpy(a, real, fake)
    expected = 2.0 * np.mean(np.maximum(0.0, diff - dist) ** 2)
    value = penalties.transport(_linear(a.tolist()), real, fake, weight=2.0)
    assert expected > 0, "test data should violate the constraint somewhere"
    assert math.isclose(float(value), expected, rel_tol=1e-12)


def test_transport_is_one_sided_in_real_minus_fake() -> None:
    # 003 Eq. 9 penalises f(x) - f(y) > ||x - y|| only: swapping real and fake changes the value.
    real, fake = _data(n=8)
    critic = _linear([1.5, 1.0])
    forward = float(penalties.transport(critic, real, fake))
    backward = float(penalties.transport(critic, fake, real))
    assert forward > 0 and backward == 0.0, (forward, backward)


# ----------------------------------------------------------------------------- MaxGradient


def _rows(t: Tensor) -> list[tuple[float, ...]]:
    return sorted(map(tuple, t.tolist()))


def test_max_gradient_linear_closed_form() -> None:
    # 002 Eq. 18: w max ||grad f||^2 = w ||a||^2 for a linear critic.
    real, fake = _data()
    value = penalties.MaxGradient(3)(_linear([0.6, 0.8]), real, fake, weight=7.0, generator=_gen())
    assert math.isclose(float(value), 7.0, rel_tol=1e-12)


def test_max_gradient_buffer_keeps_top_k() -> None:
    # 002 App. E: S_max keeps the top-k norms; the penalty is w max over fresh + S_max.
    # With real = fake the interpolates are the batch itself, so the points are known; the
    # quadratic critic has norm c ||x||, so everything is computed by hand from row norms.
    x1 = torch.tensor([[3.0, 0], [0, 1], [2, 0], [0, 0.5], [1, 1]], dtype=F64)
    x2 = torch.tensor([[0.1, 0], [0, 0.2], [0.3, 0.3]], dtype=F64)
    pen, critic = penalties.MaxGradient(2), _quadratic(2.0)
    v1 = pen(critic, x1, x1, weight=1.0, generator=_gen())
    assert math.isclose(float(v1), 4.0 * 9.0, rel_tol=1e-12)  # c^2 max ||x||^2 = 4 * 9
    assert pen.buffer is not None and _rows(pen.buffer) == [(2.0, 0.0), (3.0, 0.0)]
    v2 = pen(critic, x2, x2, weight=1.0, generator=_gen())
    assert math.isclose(float(v2), 4.0 * 9.0, rel_tol=1e-12)  # the buffer's (3, 0) still wins
    assert _rows(pen.buffer) == [(2.0, 0.0), (3.0, 0.0)]
    assert not pen.buffer.requires_grad


def test_max_gradient_buffer_is_rescored_with_current_critic() -> None:
    # 002 App. E: S_max holds the currently highest norms, so it is ranked under today's critic.
    # Centre m = (3, 0): norms c ||x - m|| now favour (0, 0.5) and (0, 1) among the buffer/new rows.
    x1 = torch.tensor([[3.0, 0], [0, 1], [2, 0], [0, 0.5]], dtype=F64)
    pen = penalties.MaxGradient(2)
    pen(_quadratic(1.0), x1, x1, weight=1.0, generator=_gen())
    x2 = torch.tensor([[2.5, 0.0]], dtype=F64)
    m = torch.tensor([3.0, 0.0], dtype=F64)
    value = pen(_quadratic(1.0, m), x2, x2, weight=1.0, generator=_gen())
    # hand-derived: points (2.5, 0), (3, 0), (2, 0): squared distances to m are 0.25, 0, 1.
    assert math.isclose(float(value), 1.0, rel_tol=1e-12)
    assert pen.buffer is not None and _rows(pen.buffer) == [(2.0, 0.0), (2.5, 0.0)]


def test_max_gradient_first_call_has_no_duplicates() -> None:
    # 002 App. E: S_max is initialised with random samples and tracks the top half; with k = N
    # the first buffer is the batch itself, each row once (a duplicated row wastes a slot).
    x = torch.tensor([[3.0, 0], [0, 1], [2, 0], [0, 0.5]], dtype=F64)
    pen = penalties.MaxGradient(4)
    pen(_quadratic(1.0), x, x, generator=_gen())
    assert pen.buffer is not None and _rows(pen.buffer) == _rows(x)


def test_max_gradient_reset_and_shape_change() -> None:
    real, fake = _data()
    pen = penalties.MaxGradient(8)
    pen(_quadratic(1.0), real, fake, generator=_gen())
    assert pen.buffer is not None and pen.buffer.shape == (6, 2)  # min(k, points available)
    pen(_quadratic(1.0), real[:, :1], fake[:, :1], generator=_gen())
    assert pen.buffer.shape == (6, 1), "a new event shape should restart S_max"
    pen.reset()
    assert pen.buffer is None


def test_max_gradient_rejects_empty_buffer() -> None:
    with pytest.raises(InvalidInputError, match="buffer_size"):
        penalties.MaxGradient(0)


# ----------------------------------------------------------------------------- gradients


def _param_grad_fd(name: str, critic: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, ...]:
    """Autograd and central-difference d penalty / d theta, flattened over all parameters."""
    def value() -> Tensor:
        return PENALTIES[name](critic, real, fake, 3.0, _gen(11))

    params = list(critic.parameters())
    grads = torch.autograd.grad(value(), params, allow_unused=True)  # last bias: unused
    auto = torch.cat([(torch.zeros_like(p) if g is None else g).flatten()
                      for p, g in zip(params, grads, strict=True)])
    fd, eps = [], 1e-6
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for i in range(flat.numel()):
                flat[i] += eps
                up = float(value())
                flat[i] -= 2 * eps
                down = float(value())
                flat[i] += eps
                fd.append((up - down) / (2 * eps))
    return auto, torch.tensor(fd, dtype=F64)


@pytest.mark.parametrize("name", PENALTIES, ids=PENALTIES.keys())
def test_parameter_gradient_matches_central_differences(name: str) -> None:
    # central differences in float64 (eps = 1e-6, same seeded generator so every evaluation draws
    # the same alpha) vs autograd: the penalty is differentiable w.r.t. the critic's parameters
    # because grad_x f is built with create_graph=True (SPEC conventions).
    critic = _mlp(3, scale=2.5)
    real, fake = _close_pairs(seed=2)
    auto, fd = _param_grad_fd(name, critic, real, fake)
    assert float(auto.abs().max()) > 1e-3, f"{name}: zero gradient, the test would be vacuous"
    torch.testing.assert_close(auto, fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", PENALTIES, ids=PENALTIES.keys())
def test_no_gradient_to_producers_of_real_and_fake(name: str) -> None:
    # penalties module docstring: measures detach their inputs, so a penalty sends no gradient
    # to the generator G (fake = G(z)) or to the data pipeline P (real = P(w)).
    torch.manual_seed(0)
    gen_net, pipe = nn.Linear(3, 2).to(F64), nn.Linear(3, 2).to(F64)
    real = pipe(torch.randn(6, 3, dtype=F64))
    fake = real.detach() + 0.3 * gen_net(torch.randn(6, 3, dtype=F64))
    critic = _mlp(3, scale=4.0)  # steep enough that every penalty is active (checked below)
    PENALTIES[name](critic, real, fake, 1.0, _gen()).backward()
    assert any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in critic.parameters())
    for p in [*gen_net.parameters(), *pipe.parameters()]:
        assert p.grad is None or bool((p.grad == 0).all()), f"{name}: gradient leaked to {p.shape}"


@pytest.mark.parametrize("name", PENALTIES, ids=PENALTIES.keys())
def test_inputs_are_not_mutated(name: str) -> None:
    real, fake = _data()
    before = (real.clone(), fake.clone())
    PENALTIES[name](_mlp(), real, fake, 1.0, _gen())
    assert torch.equal(real, before[0]) and torch.equal(fake, before[1])
    assert not real.requires_grad and not fake.requires_grad and real.grad is None


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), -float("inf"), "ten"],
                         ids=["negative", "nan", "inf", "-inf", "string"])
@pytest.mark.parametrize("name", PENALTIES, ids=PENALTIES.keys())
def test_bad_weight_raises(name: str, weight: float) -> None:
    real, fake = _data()
    with pytest.raises(InvalidWeightError, match="weight"):
        PENALTIES[name](_mlp(), real, fake, weight, _gen())


@pytest.mark.parametrize("name", PENALTIES, ids=PENALTIES.keys())
def test_zero_weight_gives_zero(name: str) -> None:
    real, fake = _data()
    assert float(PENALTIES[name](_mlp(), real, fake, 0.0, _gen())) == 0.0


BAD = {
    "empty": torch.zeros(0, 2, dtype=F64),
    "integer": torch.ones(6, 2, dtype=torch.int64),
    "nan": torch.full((6, 2), float("nan"), dtype=F64),
    "no_event_dim": torch.zeros(6, dtype=F64),
}
BAD_CASES = [pytest.param(n, side, b, id=f"{n}-{side}-{bid}")
             for n in PENALTIES for side in _reads(n) for bid, b in BAD.items()]


@pytest.mark.parametrize(("name", "side", "bad"), BAD_CASES)
def test_bad_input_raises(name: str, side: str, bad: Tensor) -> None:
    # SPEC conventions / _validation: (N, *event), N >= 1, floating, finite on CPU.
    real, fake = _data()
    args = (bad, fake) if side == "real" else (real, bad)
    with pytest.raises(InvalidInputError):
        PENALTIES[name](_mlp(), *args, 1.0, _gen())


PAIRED = [n for n in PENALTIES if _reads(n) == ("real", "fake") and "anchor" not in n]


@pytest.mark.parametrize("name", PAIRED)
def test_mismatched_pair_raises(name: str) -> None:
    # index-paired penalties (interpolation, quotients, transport) need equal shapes and dtypes.
    real, fake = _data()
    with pytest.raises(InvalidInputError, match="shape"):
        PENALTIES[name](_mlp(), real, fake[:4], 1.0, _gen())
    with pytest.raises(InvalidInputError, match=r"dtype|float"):
        PENALTIES[name](_mlp(), real, fake.float(), 1.0, _gen())
