"""SPEC §4.7, 4.8, 4.12, 4.13: weight clipping, the l1 counterexample, eps-optimal discriminators,
gradient exploding and Fixed-Alt-GD.

Ground truth: the definitions the papers state (004 Definition 1, Lipschitz inequalities),
spectral norms from numpy, autograd directional derivatives checked against the fundamental
theorem of calculus (trapezoid rule), closed-form gradients of linear models.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from torch import Tensor, nn

from gp_spec import optimal
from gp_spec.errors import InvalidInputError

F64 = torch.float64


def _t(a: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# §4.12 eps-optimal discriminators and gradient exploding (004 Prop. 2, App. B, §4.2.2)
# ---------------------------------------------------------------------------------------------


@st.composite
def unit_sets(draw: st.DrawFn, max_n: int = 5) -> tuple[Tensor, Tensor]:
    """Disjoint unit-norm sets ``(n, d)``, ``(m, d)``, cross distances >= 0.05."""
    d = draw(st.integers(2, 4))
    n, m = draw(st.integers(1, max_n)), draw(st.integers(1, max_n))
    raw = draw(hnp.arrays(np.float64, (n + m, d), elements=st.floats(-1, 1)))
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    assume(norms.min() > 0.1)
    pts = raw / norms
    x, y = pts[:n], pts[n:]
    assume(np.linalg.norm(x[:, None] - y[None], axis=-1).min() >= 0.05)
    return _t(x), _t(y)


def _directional_derivatives(d: nn.Module, x: Tensor, y: Tensor, num: int) -> tuple[Tensor, float]:
    """``grad D(z_t) . u`` on ``z_t = y + t (x - y)``, ``u = (x - y)/||x - y||``; and ``||x - y||``.

    ``u`` is the unit vector from the fake to the real point.
    """
    length = float(torch.linalg.vector_norm(x - y))
    t = torch.linspace(0, 1, num, dtype=F64)[:, None]
    z = (y + t * (x - y)).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(z).sum(), z)
    return grad @ ((x - y)[0] / length), length


@given(unit_sets(), st.floats(0.01, 0.9))
def test_construction_is_epsilon_optimal(data: tuple[Tensor, Tensor], eps: float) -> None:
    # 004 Definition 1: D(x) >= 1/2 + eps/2 on D_r and D(y) <= 1/2 - eps/2 on D_g;
    # Prop. 2 / App. B: d (m + n) + (m + n) parameters.
    real, fake = data
    disc = optimal.epsilon_optimal_discriminator(real, fake, eps)
    with torch.no_grad():
        d_real, d_fake = disc(real), disc(fake)
    assert float(d_real.min()) >= 0.5 + eps / 2, f"min D(real)={float(d_real.min())}"
    assert float(d_fake.max()) <= 0.5 - eps / 2, f"max D(fake)={float(d_fake.max())}"
    n, m, d = real.shape[0], fake.shape[0], real.shape[1]
    assert sum(p.numel() for p in disc.parameters()) == d * (m + n) + (m + n)
    assert 0 < float(d_fake.min()) and float(d_real.max()) < 1  # alpha = (1 - eps)/4 default


@given(unit_sets(max_n=3), st.floats(0.05, 0.9))
def test_gradient_exploding_bound_on_the_closest_pair(
    data: tuple[Tensor, Tensor], eps: float
) -> None:
    # 004 §4.2.2, Eq. 4: integral_C grad D . ds = D(x) - D(y) >= eps, so some point of the
    # segment has directional derivative >= eps / ||x - y||. The grid is certified by the
    # trapezoid rule reproducing D(x) - D(y).
    real, fake = data
    disc = optimal.epsilon_optimal_discriminator(real, fake, eps)
    dist = torch.cdist(real, fake)
    i, j = divmod(int(dist.argmin()), fake.shape[0])
    x, y = real[i : i + 1], fake[j : j + 1]
    deriv, length = _directional_derivatives(disc, x, y, 2001)
    with torch.no_grad():
        jump = float(disc(x)[0] - disc(y)[0])
    assert jump >= eps
    integral = float(torch.trapezoid(deriv, dx=length / 2000))
    assert abs(integral - jump) <= 1e-3 * jump, "grid too coarse for the derivative"
    assert float(deriv.max()) >= eps / length, f"max D_u={float(deriv.max())} < eps/||x-y||"


@given(hnp.arrays(np.float64, (3,), elements=st.floats(-1, 1)),
       hnp.arrays(np.float64, (3,), elements=st.floats(-1, 1)), st.floats(0.05, 0.9))
def test_gradient_explodes_as_the_fake_approaches_the_real(
    xr: np.ndarray, w: np.ndarray, eps: float
) -> None:
    # 004 §4.2.2: |(grad_u D)| >= eps / ||x - y^(t)|| -> infinity as y^(t) -> x.
    assume(np.linalg.norm(xr) > 0.1 and np.linalg.norm(np.cross(xr, w)) > 0.05)
    x = _t(xr / np.linalg.norm(xr))[None]
    previous = 0.0
    for step in (0.3, 0.1, 0.03, 0.01):
        y = nn.functional.normalize(x + step * _t(w)[None], dim=1)
        disc = optimal.epsilon_optimal_discriminator(x, y, eps)
        deriv, length = _directional_derivatives(disc, x, y, 401)
        peak = float(deriv.max())
        assert peak >= eps / length, f"peak {peak} < eps/||x-y|| = {eps / length}"
        assert peak > previous
        previous = peak
    assert previous >= eps / 0.02  # ||x - y|| < 0.02 at the last step


def test_explicit_k_is_used_and_small_k_is_not_epsilon_optimal() -> None:
    # 004 App. B: optimality needs "large enough k"; k = 1 leaves the softmax far from one-hot.
    real = _t(np.array([[1.0, 0.0]]))
    fake = _t(np.array([[0.0, 1.0]]))
    disc = optimal.epsilon_optimal_discriminator(real, fake, 0.5, k=1.0)
    assert disc.k == 1.0
    torch.testing.assert_close(disc.W1.detach(), torch.cat([real, fake]))
    with torch.no_grad():
        assert float(disc(real)[0]) < 0.5 + 0.25  # not eps-optimal at eps = 0.5


@pytest.mark.parametrize(
    ("real", "fake", "eps", "match"),
    [
        (torch.tensor([[2.0, 0.0]], dtype=F64), torch.tensor([[0.0, 1.0]], dtype=F64), 0.5,
         "norms"),
        (torch.tensor([[1.0, 0.0]], dtype=F64), torch.tensor([[1.0, 0.0]], dtype=F64), 0.5,
         "disjoint"),
        (torch.tensor([[1.0, 0.0]], dtype=F64), torch.tensor([[0.0, 1.0]], dtype=F64), 1.0,
         "eps"),
        (torch.tensor([[1.0, 0.0]], dtype=F64), torch.tensor([[0.0, 0.0, 1.0]], dtype=F64), 0.5,
         "share d"),
    ],
)
def test_epsilon_construction_rejects_bad_input(
    real: Tensor, fake: Tensor, eps: float, match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        optimal.epsilon_optimal_discriminator(real, fake, eps)


# ---------------------------------------------------------------------------------------------
# §4.13 Fixed-Alt-GD (004 App. C)
# ---------------------------------------------------------------------------------------------


@given(hnp.arrays(np.float64, (3,), elements=st.floats(-2, 2)),
       hnp.arrays(np.float64, (3, 2), elements=st.floats(-2, 2)),
       hnp.arrays(np.float64, (2,), elements=st.floats(-2, 2)),
       hnp.arrays(np.float64, (3,), elements=st.floats(-2, 2)),
       st.floats(0.0, 3.0), st.floats(0.01, 1.0))
def test_fixed_alt_gd_norms_and_gradients(
    xr: np.ndarray, tg: np.ndarray, z: np.ndarray, extra: np.ndarray, s: float, eps: float
) -> None:
    # 004 App. C, Eq. 9-13: eps-optimal linear D has ||theta_D|| >= eps/||x - y||;
    # dL/dtheta_D = x - y, dL/dtheta_G = -theta_D z^T, so the ratio of gradient norms is
    # ||x - y|| / (||theta_D|| ||z||) <= ||x - y||^2 / (eps ||z||).
    x, theta_g, zz = _t(xr), _t(tg), _t(z)
    y = theta_g @ zz
    diff = x - y
    assume(float(diff.norm()) > 1e-3 and float(zz.norm()) > 1e-3)
    theta_min = optimal.min_norm_epsilon_optimal_linear(x, y, eps=eps)
    assert abs(float(theta_min @ diff) - eps) <= 1e-12 * (1 + eps)
    assert abs(float(theta_min.norm()) - eps / float(diff.norm())) <= 1e-12
    # any eps-optimal theta = theta_min + s (x - y) + (component orthogonal to x - y)
    w = _t(extra) - (_t(extra) @ diff) / (diff @ diff) * diff
    theta_d = theta_min + s * diff + w
    assert float(theta_d @ diff) >= eps - 1e-9
    assert float(theta_d.norm()) >= eps / float(diff.norm()) - 1e-12
    gd, gg = optimal.linear_wgan_gradients(theta_d, theta_g, x, zz)
    torch.testing.assert_close(gd, diff)
    torch.testing.assert_close(gg, -torch.outer(theta_d, zz))
    ratio = float(gd.norm() / gg.norm())
    assert ratio <= float(diff.norm()) ** 2 / (eps * float(zz.norm())) * (1 + 1e-9)


def test_fixed_alt_gd_ratio_vanishes_as_y_approaches_x() -> None:
    # 004 Eq. 13: ||dL/dtheta_D|| / ||dL/dtheta_G|| -> 0 as ||x - y|| -> 0 (eps-optimal D kept).
    x, z = _t(np.array([1.0, 0.5, -0.3])), _t(np.array([0.7, -1.2]))
    ratios = []
    for gap in (1.0, 0.1, 0.01, 0.001):
        y = x - gap * _t(np.array([0.6, 0.0, 0.8]))
        theta_g = torch.outer(y, z) / float(z @ z)  # theta_G z = y
        theta_d = optimal.min_norm_epsilon_optimal_linear(x, y, eps=0.1)
        gd, gg = optimal.linear_wgan_gradients(theta_d, theta_g, x, z)
        ratios.append(float(gd.norm() / gg.norm()))
    assert_allclose(ratios, [g**2 / (0.1 * float(z.norm())) for g in (1.0, 0.1, 0.01, 0.001)],
                    rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# §4.7 Weight clipping (003 Prop. 4)
# ---------------------------------------------------------------------------------------------

architectures = st.tuples(st.integers(1, 3), st.lists(st.integers(1, 4), min_size=1, max_size=3),
                          st.floats(0.1, 1.5))


def _linear_weights(net: nn.Sequential) -> list[np.ndarray]:
    return [m.weight.detach().numpy() for m in net if isinstance(m, nn.Linear)]


def _grad_norms(net: nn.Module, pts: Tensor) -> Tensor:
    z = pts.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(z).sum(), z)
    return grad.norm(dim=1)


@given(architectures, st.data())
def test_extremal_network_attains_the_common_lipschitz_constant(
    arch: tuple[int, list[int], float], data: st.DataObject
) -> None:
    # 003 Prop. 4 (if): constant +-c columns in layer 1 and all-c later layers give
    # f(x*) - f(y*) = alpha ||x* - y*||, alpha = prod of the layers' max spectral norms.
    d, hidden, c = arch
    signs = _t(np.array(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=d,
                                           max_size=d))))
    net = optimal.weight_clipping_extremal(d, hidden, c=c, signs=signs)
    weights = _linear_weights(net)
    assert all(np.all(np.abs(w) == c) for w in weights)
    alpha = math.prod(float(np.linalg.norm(w, 2)) for w in weights)  # numpy spectral norms
    assert_allclose(optimal.weight_clipping_lipschitz_bound(d, hidden, c=c), alpha, rtol=1e-12)
    widths = [d, *hidden, 1]
    assert_allclose(alpha, math.prod(c * math.sqrt(p * q) for p, q in itertools.pairwise(widths)))
    x_star, y_star = optimal.weight_clipping_witness(signs)
    with torch.no_grad():
        gap = float(net(x_star)[0, 0] - net(y_star)[0, 0])
    assert_allclose(gap, alpha * float((x_star - y_star).norm()), rtol=1e-10)


@given(architectures, st.integers(0, 2**31 - 1))
def test_clipped_networks_never_exceed_the_bound(
    arch: tuple[int, list[int], float], seed: int
) -> None:
    # 003 Obs. 5: every ReLU net with |weights| <= c is alpha-Lipschitz (alpha = prod c sqrt(hh')).
    d, hidden, c = arch
    net = optimal.weight_clipping_extremal(d, hidden, c=c)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(c * (2 * torch.rand(p.shape, generator=g, dtype=F64) - 1))
    alpha = optimal.weight_clipping_lipschitz_bound(d, hidden, c=c)
    pts = torch.randn(64, d, generator=g, dtype=F64)
    qts = torch.randn(64, d, generator=g, dtype=F64)
    with torch.no_grad():
        lhs = (net(pts) - net(qts)).abs()[:, 0]
    assert bool((lhs <= alpha * (pts - qts).norm(dim=1) * (1 + 1e-12)).all())
    assert float(_grad_norms(net, pts).max()) <= alpha * (1 + 1e-12)


@given(architectures, st.integers(0, 2**31 - 1), st.floats(0.0, 0.99))
def test_shrinking_any_weight_loses_the_bound(
    arch: tuple[int, list[int], float], seed: int, factor: float
) -> None:
    # 003 Prop. 4 (only if, magnitudes): an entry with |a| < c makes that layer's spectral norm
    # < c sqrt(hh') (||A||_2 <= ||A||_F), so Lip <= prod ||A_l||_2 < alpha: the bound is lost.
    d, hidden, c = arch
    net = optimal.weight_clipping_extremal(d, hidden, c=c)
    layers = [m for m in net if isinstance(m, nn.Linear)]
    rng = np.random.default_rng(seed)
    layer = layers[rng.integers(len(layers))]
    r, col = rng.integers(layer.weight.shape[0]), rng.integers(layer.weight.shape[1])
    with torch.no_grad():
        layer.weight[r, col] *= factor
    alpha = optimal.weight_clipping_lipschitz_bound(d, hidden, c=c)
    product = math.prod(float(np.linalg.norm(w, 2)) for w in _linear_weights(net))
    assert product < alpha * (1 - 1e-9), f"prod ||A_l|| = {product}, alpha = {alpha}"
    pts = torch.randn(128, d, generator=torch.Generator().manual_seed(seed), dtype=F64)
    assert float(_grad_norms(net, pts).max()) <= product * (1 + 1e-12)


def test_mixed_sign_later_layer_halves_the_lipschitz_constant() -> None:
    # 003 Prop. 4 (b): a later layer with a -c row is not all-c. With d = 2, hidden (2, 2),
    # A_1 = c 1 s^T, A_2 = c [[1, 1], [-1, -1]], A_3 = c (1, 1): the first layer's units are
    # equal (t = relu(c s.x)), the -c row is never active, f = 2 c^2 relu(c s.x), so
    # Lip f = 2 sqrt 2 c^3 = alpha / 2 with alpha = 4 sqrt 2 c^3.
    c = 0.7
    net = optimal.weight_clipping_extremal(2, [2, 2], c=c)
    with torch.no_grad():
        net[2].weight[1].mul_(-1.0)
    alpha = optimal.weight_clipping_lipschitz_bound(2, [2, 2], c=c)
    assert_allclose(alpha, 4 * math.sqrt(2) * c**3)
    pts = 3 * torch.randn(512, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    norms = _grad_norms(net, pts)
    assert_allclose(float(norms.max()), 2 * math.sqrt(2) * c**3, rtol=1e-12)
    assert float(norms.max()) <= alpha / 2 * (1 + 1e-12)


# ---------------------------------------------------------------------------------------------
# §4.8 Theorem 3 fails for l1 (002 App. D)
# ---------------------------------------------------------------------------------------------


@given(hnp.arrays(np.float64, (32, 2), elements=st.floats(-5, 5)),
       hnp.arrays(np.float64, (32, 2), elements=st.floats(-5, 5)))
def test_l1_counterexample(p: np.ndarray, q: np.ndarray) -> None:
    # 002 App. D: g(x, y) = x + y is 1-Lipschitz for l1 and g(B) - g(A) = ||B - A||_1 = 3, but
    # grad g = (1, 1) is not parallel to B - A = (2, 1); for l2 it is not even 1-Lipschitz.
    ex = optimal.l1_counterexample()
    gp, gq = ex.g(_t(p)).numpy(), ex.g(_t(q)).numpy()
    assert bool((np.abs(gp - gq) <= np.abs(p - q).sum(1) + 1e-12).all())
    ab = torch.stack([ex.a, ex.b])
    g_a, g_b = ex.g(ab).tolist()
    assert g_b - g_a == float((ex.b - ex.a).abs().sum()) == 3.0
    z = ab.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ex.g(z).sum(), z)
    torch.testing.assert_close(grad, torch.ones(2, 2, dtype=F64))
    u, w = grad[0].tolist(), (ex.b - ex.a).tolist()
    assert u[0] * w[1] - u[1] * w[0] != 0.0  # 2-D cross product: not parallel
    assert g_b - g_a > float((ex.b - ex.a).norm())  # 3 > sqrt 5: not 1-Lipschitz for l2
