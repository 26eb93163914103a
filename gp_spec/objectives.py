"""GAN objectives (SPEC §1). Every loss is minimised; ``s_r = f(x)``, ``s_f = f(y)``.

Each objective is a frozen :class:`Objective` with ``critic_loss(real_scores, fake_scores)``
and ``generator_loss(fake_scores)``, both mapping ``(N,)`` (or ``(N, 1)``) scores to a 0-dim
tensor. Logistic losses go through ``softplus`` so they are finite at scores of +-1e4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gp_spec.errors import InvalidArgumentError, InvalidInputError

__all__ = [
    "EQ12_INSTANCES",
    "OBJECTIVES",
    "Objective",
    "get_objective",
    "hinge",
    "least_squares",
    "lipschitz_family",
    "minimax",
    "non_saturating",
    "satisfies_eq12",
    "wasserstein",
]

ScalarFn = Callable[[Tensor], Tensor]


def _scores(s: Tensor, name: str) -> Tensor:
    if not isinstance(s, Tensor):
        raise InvalidInputError(f"{name}: got {type(s).__name__}, but should be a torch.Tensor")
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1 or s.shape[0] == 0:
        raise InvalidInputError(f"{name}.shape={tuple(s.shape)}, but should be (N,) with N >= 1")
    if not s.is_floating_point():
        raise InvalidInputError(f"{name}.dtype={s.dtype}, but should be a floating dtype")
    return s


@dataclass(frozen=True)
class Objective:
    """A GAN objective: ``L_D = E_pg[phi(s_f)] + E_pr[varphi(s_r)]``, ``L_G = E[gen(s_f)]``.

    Attributes:
      name: identifier.
      phi: per-sample critic loss on fake scores.
      varphi: per-sample critic loss on real scores.
      gen: per-sample generator loss on fake scores.
      source: citation.
    """

    name: str
    phi: ScalarFn
    varphi: ScalarFn
    gen: ScalarFn
    source: str

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        """``E[phi(s_f)] + E[varphi(s_r)]`` as a 0-dim tensor (``(N,)`` scores in)."""
        s_r = _scores(real_scores, "real_scores")
        s_f = _scores(fake_scores, "fake_scores")
        return self.phi(s_f).mean() + self.varphi(s_r).mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        """``E[gen(s_f)]`` as a 0-dim tensor."""
        return self.gen(_scores(fake_scores, "fake_scores")).mean()


def _identity(s: Tensor) -> Tensor:
    return s


def _negate(s: Tensor) -> Tensor:
    return -s


def _softplus(s: Tensor) -> Tensor:
    return F.softplus(s)


def _softplus_neg(s: Tensor) -> Tensor:
    return F.softplus(-s)


def _neg_softplus(s: Tensor) -> Tensor:
    return -F.softplus(s)


wasserstein = Objective(
    "wasserstein", phi=_identity, varphi=_negate, gen=_negate, source="003 Eq. 5-6; 000 Def. 4"
)
"""``L_D = E[s_f] - E[s_r]``, ``L_G = -E[s_f]``."""

minimax = Objective(
    "minimax", phi=_softplus, varphi=_softplus_neg, gen=_neg_softplus, source="004 Eq. 1"
)
"""``L_D = E[softplus(-s_r)] + E[softplus(s_f)]``, ``L_G = -E[softplus(s_f)]`` (saturating;
``D = sigmoid(f)``, ``log(1 - D(y)) = -softplus(s_f)``)."""

non_saturating = Objective(
    "non_saturating", phi=_softplus, varphi=_softplus_neg, gen=_softplus_neg, source="004 §3"
)
"""``L_D`` as :data:`minimax`, ``L_G = E[softplus(-s_f)] = -E[log D(y)]``."""


def least_squares(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> Objective:
    """LSGAN: ``L_D = E[(s_f - a)^2] + E[(s_r - b)^2]``, ``L_G = E[(s_f - c)^2]``.

    Source: 002 Table 1 (Mao et al. 2017; a = 0, b = c = 1 by default).
    """

    def phi(s: Tensor) -> Tensor:
        return (s - a).square()

    def varphi(s: Tensor) -> Tensor:
        return (s - b).square()

    def gen(s: Tensor) -> Tensor:
        return (s - c).square()

    return Objective(f"least_squares(a={a}, b={b}, c={c})", phi, varphi, gen, "002 Table 1")


def _hinge_fake(s: Tensor) -> Tensor:
    return torch.relu(1 + s)


def _hinge_real(s: Tensor) -> Tensor:
    return torch.relu(1 - s)


hinge = Objective("hinge", phi=_hinge_fake, varphi=_hinge_real, gen=_negate, source="002 Table 2")
"""``L_D = E[relu(1 + s_f)] + E[relu(1 - s_r)]``, ``L_G = -E[s_f]`` (not in the Eq. 12 family)."""


def lipschitz_family(phi: ScalarFn, varphi: ScalarFn | None = None) -> Objective:
    """``L_D = E_pg[phi(s_f)] + E_pr[varphi(s_r)]``, ``L_G = -E[s_f]`` (psi(x) = -x).

    ``varphi`` defaults to ``x -> phi(-x)``. Use with a Lipschitz penalty such as
    ``lambda k(f)^2`` (:class:`gp_spec.penalties.MaxGradient`); :func:`satisfies_eq12` tells
    whether the pair meets Eq. 12.

    Source: 002 Eq. 1, Eq. 12, §5.3.
    """
    if varphi is None:

        def mirrored(s: Tensor) -> Tensor:
            return phi(-s)

        varphi = mirrored
    name = getattr(phi, "__name__", "phi")
    return Objective(f"lipschitz_family({name})", phi, varphi, _negate, "002 Eq. 1, 12")


def _derivatives(fn: ScalarFn, grid: Tensor) -> tuple[Tensor, Tensor]:
    """First and second derivatives of an elementwise ``fn`` on ``grid`` by autograd."""
    x = grid.clone().requires_grad_(True)
    with torch.enable_grad():
        total = fn(x).sum()
        if not total.requires_grad:  # fn ignores its input (a constant): phi' = phi'' = 0
            return torch.zeros_like(grid), torch.zeros_like(grid)
        (d1,) = torch.autograd.grad(total, x, create_graph=True, allow_unused=True,
                                    materialize_grads=True)
        if not d1.requires_grad:  # fn is affine: phi' is constant and carries no graph
            return d1.detach(), torch.zeros_like(grid)
        (d2,) = torch.autograd.grad(d1.sum(), x, allow_unused=True, materialize_grads=True)
    return d1.detach(), d2.detach()


def satisfies_eq12(
    phi: ScalarFn,
    varphi: ScalarFn | None = None,
    *,
    lo: float = -20.0,
    hi: float = 20.0,
    num: int = 4001,
    tol: float = 1e-9,
) -> bool:
    """Numerical check of 002 Eq. 12 on a float64 grid of ``[lo, hi]``.

    Eq. 12: ``phi' > 0``, ``phi'' >= 0``, ``varphi' < 0``, ``varphi'' >= 0`` and some ``a`` with
    ``phi'(a) + varphi'(a) = 0``. Derivatives are taken by autograd at ``num`` grid points;
    the root of ``phi' + varphi'`` is found as an exact zero or a sign change on the grid.
    This is evidence on a bounded grid, not a proof: a function that breaks the conditions
    only outside ``[lo, hi]`` or between grid points passes.

    Args:
      phi, varphi: elementwise torch functions; ``varphi`` defaults to ``x -> phi(-x)``.
      lo, hi, num: the grid. tol: slack for ``phi'' >= 0`` and ``varphi'' >= 0``.

    Returns:
      True if every condition holds on the grid.

    Source: 002 Eq. 12.
    """
    vphi: ScalarFn = varphi if varphi is not None else (lambda s: phi(-s))
    grid = torch.linspace(lo, hi, num, dtype=torch.float64)
    d1p, d2p = _derivatives(phi, grid)
    d1v, d2v = _derivatives(vphi, grid)
    if not (bool((d1p > 0).all()) and bool((d1v < 0).all())):
        return False
    if not (bool((d2p >= -tol).all()) and bool((d2v >= -tol).all())):
        return False
    h = d1p + d1v
    exact = bool((h.abs() <= tol).any())
    crossing = bool(((h[:-1] * h[1:]) < 0).any())
    return exact or crossing


def _sqrt_family(s: Tensor) -> Tensor:
    """``x + sqrt(x^2 + 1)`` in a form without cancellation for large negative x.

    For ``x < 0`` it is ``1 / (sqrt(x^2 + 1) - x)``. Each branch sees only its own half-line
    (``clamp``), so the branch ``torch.where`` discards cannot put ``0 * inf = NaN`` into the
    gradient (in float32, ``sqrt(1e8 + 1) - 1e4 == 0``).
    """
    pos, neg = s.clamp_min(0), s.clamp_max(0)
    one = torch.ones_like(s)
    return torch.where(s >= 0, pos + torch.hypot(pos, one), 1 / (torch.hypot(neg, one) - neg))


def _softplus_plus_linear(s: Tensor) -> Tensor:
    return F.softplus(s) + 0.01 * s


EQ12_INSTANCES: dict[str, ScalarFn] = {
    "linear": _identity,
    "softplus": _softplus,
    "sqrt": _sqrt_family,
    "exp": torch.exp,
    "softplus+0.01x": _softplus_plus_linear,
}
"""The ``phi`` of 002 Table 2's Eq. 12 instances (``varphi(x) = phi(-x)``). ``exp`` overflows
to inf for scores above ~88 (float32) / ~709 (float64): that is the function, not a bug."""


OBJECTIVES: tuple[str, ...] = (
    "wasserstein", "minimax", "non_saturating", "hinge", "least_squares",
    *(f"lipschitz:{k}" for k in EQ12_INSTANCES),
)
"""Objective names accepted by :func:`get_objective` (the training harness's ``--objective``)."""


def get_objective(name: str) -> Objective:
    """The objective called ``name`` (one of :data:`OBJECTIVES`).

    ``least_squares`` is :func:`least_squares` with ``a = 0, b = c = 1``; ``lipschitz:<phi>`` is
    ``lipschitz_family(EQ12_INSTANCES[phi])``.

    Raises:
      InvalidArgumentError: an unknown name (the message lists the known ones).
    """
    fixed = {"wasserstein": wasserstein, "minimax": minimax,
             "non_saturating": non_saturating, "hinge": hinge}
    if not isinstance(name, str):
        raise InvalidArgumentError(f"objective name {name!r}, but should be a str; known: "
                                   f"{', '.join(OBJECTIVES)}")
    if name in fixed:
        return fixed[name]
    if name == "least_squares":
        return least_squares()
    if name.startswith("lipschitz:") and name[10:] in EQ12_INSTANCES:
        return lipschitz_family(EQ12_INSTANCES[name[10:]])
    raise InvalidArgumentError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}")
