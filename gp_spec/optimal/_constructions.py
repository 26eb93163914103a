"""Constructions of the papers (SPEC §4.7, 4.12, 4.13): the extremal weight-clipped ReLU net
(003 Prop. 4), the eps-optimal one-hidden-layer discriminator (004 Prop. 2, App. B) and the
linear Fixed-Alt-GD example (004 App. C)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gp_spec import _validation as v
from gp_spec.errors import InvalidInputError

# ----------------------------------------------------------------------------------------------
# §4.7 Weight clipping (003 Prop. 4)
# ----------------------------------------------------------------------------------------------


def _widths(in_features: int, hidden: Sequence[int]) -> list[int]:
    widths = [int(in_features), *(int(h) for h in hidden), 1]
    if any(w < 1 for w in widths):
        raise InvalidInputError(f"layer widths {widths}, but every width should be >= 1")
    return widths


def weight_clipping_lipschitz_bound(in_features: int, hidden: Sequence[int], *, c: float) -> float:
    """Common Lipschitz constant of ReLU nets with ``|weights| <= c``.

    ``max_{|A_jk| <= c} ||A||_2 = c sqrt(rows * cols)``, so
    ``alpha = prod_l c sqrt(h_{l-1} h_l)`` with ``h_0 = in_features`` and the last width 1;
    :func:`weight_clipping_extremal` attains it.

    Args:
      in_features: input dimension ``d``. hidden: hidden widths. c: the clipping bound > 0.

    Returns:
      ``alpha`` (float).

    Source: 003 App. B, Observation 5, Prop. 4.
    """
    if not c > 0:
        raise InvalidInputError(f"c={c!r}, but should be > 0")
    widths = _widths(in_features, hidden)
    return math.prod(c * math.sqrt(p * q) for p, q in itertools.pairwise(widths))


def weight_clipping_extremal(
    in_features: int,
    hidden: Sequence[int],
    *,
    c: float,
    signs: Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> nn.Sequential:
    """The ReLU net (no biases) that exhausts the common Lipschitz constant under clipping.

    ``f = A_L relu(A_{L-1} ... relu(A_1 x))`` with (a) ``A_1 = c 1 s^T`` (constant columns
    ``+-c``, column signs ``s``) and (b) every later matrix all ``+c``. Output ``(N, 1)``.

    Args:
      in_features: ``d``. hidden: hidden widths (at least one). c: clipping bound > 0.
      signs: ``(d,)`` column signs in ``{-1, +1}``; None means all ``+1``.
      dtype: parameter dtype.

    Returns:
      ``nn.Sequential`` of ``Linear(bias=False)`` and ``ReLU``.

    Source: 003 Prop. 4 (a)-(b), App. B.
    """
    if not c > 0:
        raise InvalidInputError(f"c={c!r}, but should be > 0")
    widths = _widths(in_features, hidden)
    if len(widths) < 3:
        raise InvalidInputError("hidden is empty, but Prop. 4 needs at least one hidden layer")
    s = torch.ones(in_features, dtype=dtype) if signs is None else signs.to(dtype)
    if s.shape != (in_features,) or not bool((s.abs() == 1).all()):
        raise InvalidInputError(
            f"signs.shape={tuple(s.shape)}, but should be ({in_features},) with entries +-1"
        )
    layers: list[nn.Module] = []
    for i, (p, q) in enumerate(itertools.pairwise(widths)):
        lin = nn.Linear(p, q, bias=False).to(dtype)
        with torch.no_grad():
            lin.weight.copy_(c * (s.expand(q, p) if i == 0 else torch.ones(q, p, dtype=dtype)))
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def weight_clipping_witness(signs: Tensor) -> tuple[Tensor, Tensor]:
    """A pair ``(x*, y*) = (2 s, s)`` on which the extremal net attains its Lipschitz bound.

    ``sgn(x*) = sgn(y*) = sgn(x* - y*) = s``, as the proof of 003 Prop. 4 requires, so every
    ReLU stays active and ``f(x*) - f(y*) = alpha ||x* - y*||``.

    Args:
      signs: ``(d,)`` column signs of the first layer.

    Returns:
      ``(x*, y*)``, each ``(1, d)``.

    Source: 003 App. B, proof of Prop. 4.
    """
    s = signs.reshape(1, -1)
    return 2 * s, s.clone()


# ----------------------------------------------------------------------------------------------
# §4.12 epsilon-optimal discriminators (004 Prop. 2, App. B); §4.13 Fixed-Alt-GD (004 App. C)
# ----------------------------------------------------------------------------------------------


class EpsilonOptimalDiscriminator(nn.Module):
    """``D(v) = W2^T softmax(W1 v)``: one hidden softmax layer, no biases.

    Parameters ``W1: (n + m, d)`` (``k`` times the stacked points, reals first) and
    ``W2: (n + m,)``; ``d (m + n) + (m + n)`` parameters in all.

    Attributes:
      eps, alpha, k: the construction's constants (floats). num_real: ``n``.

    Source: 004 App. B.
    """

    def __init__(self, w1: Tensor, w2: Tensor, *, eps: float, alpha: float, k: float,
                 num_real: int) -> None:
        super().__init__()
        self.W1 = nn.Parameter(w1)
        self.W2 = nn.Parameter(w2)
        self.eps, self.alpha, self.k, self.num_real = eps, alpha, k, num_real

    def forward(self, x: Tensor) -> Tensor:
        """``(N, d) -> (N,)``, values in the convex hull of ``W2``."""
        x = v.batch(x, "x")
        if x.shape[1:] != self.W1.shape[1:]:
            raise InvalidInputError(
                f"x.shape={tuple(x.shape)}, but should be (N, {self.W1.shape[1]})"
            )
        out: Tensor = torch.softmax(x @ self.W1.T, dim=1) @ self.W2
        return out


def _unit_rows(x: Tensor, name: str) -> Tensor:
    x = v.batch(x, name)
    if x.ndim != 2:
        raise InvalidInputError(f"{name}.shape={tuple(x.shape)}, but should be (N, d)")
    norms = torch.linalg.vector_norm(x, dim=1)
    if not bool(((norms - 1).abs() <= 1e-6).all()):
        raise InvalidInputError(
            f"{name} rows have norms in [{float(norms.min()):.6g}, {float(norms.max()):.6g}], but "
            "should all be 1 (004 App. B assumes normalised samples: use "
            "x / x.norm(dim=1, keepdim=True))"
        )
    return x


def epsilon_optimal_k(real: Tensor, fake: Tensor, *, eps: float, alpha: float) -> float:
    """The softmax scale that makes the 004 App. B construction eps-optimal with margin alpha/2.

    For unit vectors, logits are ``k v_i . v``; at a data point ``v_j`` the softmax mass on the
    other class is ``beta <= c e^{-k delta}`` with ``c = max(n, m)`` and
    ``delta = 1 - max_{x in D_r, y in D_g} x . y = min ||x - y||^2 / 2``, and
    ``D(v_j)`` is off its class value ``W2_j`` by ``beta (eps + 2 alpha)``. Requiring
    ``beta (eps + 2 alpha) <= alpha / 2`` gives
    ``k = log(2 c (eps + 2 alpha) / alpha) / delta``, so reals score ``>= 1/2 + eps/2 + alpha/2``
    and fakes ``<= 1/2 - eps/2 - alpha/2``. The paper only says "large enough k".

    Args:
      real: ``(n, d)`` unit rows; fake: ``(m, d)`` unit rows, disjoint from ``real``.
      eps: in (0, 1). alpha: > 0.

    Returns:
      ``k`` (float).

    Source: derived for 004 App. B ("for large enough k").
    """
    dots = real.double() @ fake.double().T
    delta = 1.0 - float(dots.max())
    if not delta > 1e-12:
        raise InvalidInputError(
            f"real and fake share a point (max cross inner product {float(dots.max()):.12g}), "
            "but 004 App. B needs disjoint datasets"
        )
    c = max(real.shape[0], fake.shape[0])
    return math.log(2 * c * (eps + 2 * alpha) / alpha) / delta


def epsilon_optimal_discriminator(
    real: Tensor,
    fake: Tensor,
    eps: float,
    k: float | None = None,
    *,
    alpha: float | None = None,
) -> EpsilonOptimalDiscriminator:
    """The one-hidden-layer eps-optimal discriminator of 004 App. B.

    ``D(v) = W2^T softmax(k W1' v)`` with rows of ``W1'`` the points (reals first),
    ``W2_i = 1/2 + eps/2 + alpha`` for reals and ``1/2 - eps/2 - alpha`` for fakes. For large
    ``k`` the softmax is one-hot at data points, so ``D(x) >= 1/2 + eps/2`` on reals and
    ``D(y) <= 1/2 - eps/2`` on fakes (Definition 1).

    Args:
      real: ``(n, d)`` unit-norm rows; fake: ``(m, d)`` unit-norm rows, disjoint from ``real``.
      eps: in (0, 1).
      k: softmax scale; None means :func:`epsilon_optimal_k` (a given ``k`` is used as is).
      alpha: > 0 (004 App. B only asks ``alpha > 0``); None means ``(1 - eps) / 4``, which
        keeps every ``W2_i`` and hence ``D`` inside (0, 1).

    Returns:
      :class:`EpsilonOptimalDiscriminator` with ``d (m + n) + (m + n)`` parameters.

    Raises:
      InvalidInputError: non-unit rows, shared points, mismatched dims, eps/alpha/k out of range.

    Source: 004 Prop. 2, Definition 1, App. B.
    """
    x, y = _unit_rows(real, "real"), _unit_rows(fake, "fake")
    if x.shape[1] != y.shape[1] or x.dtype != y.dtype:
        raise InvalidInputError(
            f"real is {tuple(x.shape)} {x.dtype} and fake is {tuple(y.shape)} {y.dtype}, "
            "but they should share d and dtype"
        )
    if not 0 < eps < 1:
        raise InvalidInputError(f"eps={eps!r}, but should be in (0, 1)")
    a = (1 - eps) / 4 if alpha is None else float(alpha)
    if not a > 0:
        raise InvalidInputError(f"alpha={alpha!r}, but should be > 0")
    scale = epsilon_optimal_k(x, y, eps=eps, alpha=a) if k is None else float(k)
    if not (math.isfinite(scale) and scale > 0):
        raise InvalidInputError(f"k={k!r}, but should be a finite number > 0")
    points = torch.cat([x, y]).detach()
    w2 = torch.cat([
        torch.full((x.shape[0],), 0.5 + eps / 2 + a, dtype=x.dtype),
        torch.full((y.shape[0],), 0.5 - eps / 2 - a, dtype=x.dtype),
    ])
    return EpsilonOptimalDiscriminator(
        scale * points, w2, eps=eps, alpha=a, k=scale, num_real=x.shape[0]
    )


def min_norm_epsilon_optimal_linear(x: Tensor, y: Tensor, *, eps: float) -> Tensor:
    """The smallest ``theta_D`` with ``theta_D . (x - y) >= eps``: ``eps (x - y) / ||x - y||^2``.

    Any eps-optimal linear discriminator ``D(v) = theta_D . v`` for ``D_r = {x}``, ``D_g = {y}``
    has ``||theta_D|| >= eps / ||x - y||`` (Cauchy-Schwarz, 004 Eq. 10); this one attains it.

    Args:
      x, y: ``(d,)`` real and fake points, distinct. eps: > 0.

    Returns:
      ``(d,)``.

    Source: 004 App. C, Eq. 9-10.
    """
    diff = x - y
    sq = float(diff.square().sum())
    if not sq > 0:
        raise InvalidInputError("x == y, but 004 App. C needs distinct real and fake points")
    return eps * diff / sq


def linear_wgan_gradients(
    theta_d: Tensor, theta_g: Tensor, x: Tensor, z: Tensor
) -> tuple[Tensor, Tensor]:
    """``(dL/dtheta_D, dL/dtheta_G)`` of ``L_W = theta_D . x - theta_D . (theta_G z)`` by autograd.

    Closed forms (004 Eq. 11-12): ``dL/dtheta_D = x - y`` with ``y = theta_G z`` and
    ``dL/dtheta_G = -theta_D z^T`` (the paper prints ``theta_D z^T``: only the sign differs,
    the norms agree).

    Args:
      theta_d: ``(d,)``. theta_g: ``(d, k)``. x: ``(d,)`` real point. z: ``(k,)`` latent.

    Returns:
      ``((d,), (d, k))`` detached gradients.

    Source: 004 App. C (Fixed-Alt-GD, linear D and G under the WGAN loss).
    """
    td = theta_d.detach().clone().requires_grad_(True)
    tg = theta_g.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = td @ x - td @ (tg @ z)
        gd, gg = torch.autograd.grad(loss, (td, tg))
    return gd.detach(), gg.detach()
