"""The toy systems of 000 §3 in closed form: the Dirac GAN (Lemma 1) and the ``D = psi x^2``
systems (Lemmas 2-3), with the exact second moments of the core's penalty measures in them."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gp_spec import measures
from gp_spec._types import Measure
from gp_spec.dynamics._fields import (
    MassFn,
    MeasureName,
    SecondMoment,
    check_state,
    grad,
    with_graph,
)
from gp_spec.errors import InvalidInputError

LeafMoment = Callable[[Tensor, float], Tensor]
"""``(theta, A) -> E_mu[x^2]`` for one leaf measure; ``A`` is the anchor (used by ``anchor``)."""

_UNIFORM: dict[str, LeafMoment] = {
    # x ~ U(-1, 1), y ~ U(-|theta|, |theta|), alpha ~ U(0, 1) independent:
    # E x = E y = 0, E x^2 = 1/3, E y^2 = theta^2/3, E alpha^2 = E (1-alpha)^2 = 1/3.
    "real": lambda t, a: torch.ones_like(t) / 3,
    "fake": lambda t, a: t.square() / 3,
    "interpolate": lambda t, a: (1 + t.square()) / 9,
    "midpoint": lambda t, a: (1 + t.square()) / 12,
    "anchor": lambda t, a: a * a / 3 + t.square() / 9,  # E[(alpha A + (1-alpha) y)^2]
}
_DIRAC: dict[str, LeafMoment] = {
    # x = 0, y = theta; E alpha (1 - alpha) = 1/6.
    "real": lambda t, a: torch.zeros_like(t),
    "fake": lambda t, a: t.square(),
    "interpolate": lambda t, a: t.square() / 3,
    "midpoint": lambda t, a: t.square() / 4,
    "anchor": lambda t, a: (a * a + a * t + t.square()) / 3,  # E[(alpha A + (1-alpha) theta)^2]
}
_LEAVES: dict[type, MeasureName] = {
    measures.Real: "real",
    measures.Fake: "fake",
    measures.Interpolate: "interpolate",
    measures.Midpoint: "midpoint",
    measures.Anchor: "anchor",
}
_DEFAULT_ANCHOR = 2.0
"""``gp_spec.measures.default_anchor`` of a 1-D event: ``A = (2,)`` (000 §5.1's ``(2, -1)``)."""


def _anchor_value(measure: measures.Anchor) -> float:
    if measure.point is None:
        return _DEFAULT_ANCHOR
    if measure.point.numel() != 1:
        raise InvalidInputError(
            f"anchor point of shape {tuple(measure.point.shape)}, but the 1-D toys need one "
            "number (an event shape (1,))"
        )
    return float(measure.point.reshape(()))


def _second_moment(
    measure: MeasureName | Measure, table: dict[str, LeafMoment], toy: str
) -> SecondMoment:
    """``theta -> E_mu[x^2]`` for a core measure (or its name) from the toy's leaf table; a
    mixture ``sum_k w_k mu_k`` gives ``sum_k w_k E_{mu_k}[x^2]`` (000 §2.1, footnote 1)."""
    if isinstance(measure, str):
        if measure not in table:
            raise InvalidInputError(
                f"measure={measure!r}, but should be one of {sorted(table)} or a "
                "gp_spec.measures measure"
            )
        leaf, anchor = table[measure], _DEFAULT_ANCHOR
        return lambda t: leaf(t, anchor)
    if isinstance(measure, measures.Mixture):
        parts = [(w, _second_moment(m, table, toy)) for w, m in measure.components]

        def mixture(t: Tensor) -> Tensor:
            total = torch.zeros_like(t)
            for w, moment in parts:
                total = total + w * moment(t)
            return total

        return mixture
    name = _LEAVES.get(type(measure))
    if name is None:
        label = getattr(measure, "name", type(measure).__name__)
        raise InvalidInputError(
            f"measure {label!r}: no closed-form law in the {toy} toy, but the measure should be "
            f"one of {sorted(table)} (a gp_spec.measures measure or its name) or a mixture of them"
        )
    leaf = table[name]
    anchor = _anchor_value(measure) if isinstance(measure, measures.Anchor) else _DEFAULT_ANCHOR
    return lambda t: leaf(t, anchor)


def uniform_second_moment(measure: MeasureName | Measure = "interpolate") -> SecondMoment:
    """``E_mu[x^2]`` for the core's penalty measures between ``U(-1, 1)`` and
    ``U(-|theta|, |theta|)``: the exact law of what ``measure.sample(real, fake)`` draws.

    ``real``: 1/3; ``fake``: ``theta^2 / 3``; ``interpolate`` (independent x, y, alpha ~ U(0,1)):
    ``E[alpha^2] / 3 + E[(1 - alpha)^2] theta^2 / 3 = (1 + theta^2) / 9``; ``midpoint``:
    ``(1 + theta^2) / 12``; ``anchor`` ``A``: ``A^2 / 3 + theta^2 / 9``; a mixture
    ``sum_k w_k mu_k``: ``sum_k w_k E_{mu_k}[x^2]``.

    Args:
      measure: a measure of :mod:`gp_spec.measures` (``real()``, ``fake()``, ``interpolate()``,
        ``midpoint()``, ``anchor(A)`` with one number ``A``, or a ``mixture`` of these), or the
        name of one with default parameters (``"anchor"`` is ``A = 2``).

    Returns:
      ``theta -> E_mu[x^2]`` (0-dim tensors).

    Raises:
      InvalidInputError: a measure with no closed form here (perturbed, dragan, latent_path).

    Source: 000 Lemma 2, Table 1, §2.1.
    """
    return _second_moment(measure, _UNIFORM, "U(-1, 1) vs U(-|theta|, |theta|)")


def dirac_second_moment(measure: MeasureName | Measure = "interpolate") -> SecondMoment:
    """``E_mu[x^2]`` for the core's penalty measures between ``delta_0`` and ``delta_theta``.

    ``real``: 0; ``fake``: ``theta^2``; ``interpolate`` (mu_GP): ``E[(1 - alpha)^2] theta^2 =
    theta^2 / 3``; ``midpoint``: ``theta^2 / 4``; ``anchor`` ``A``:
    ``(A^2 + A theta + theta^2) / 3``; a mixture: ``sum_k w_k E_{mu_k}[x^2]``.

    Args:
      measure: as :func:`uniform_second_moment`.

    Returns:
      ``theta -> E_mu[x^2]`` (0-dim tensors).

    Raises:
      InvalidInputError: a measure with no closed form here.

    Source: 000 Lemma 3, App. B; Table 1, §2.1.
    """
    return _second_moment(measure, _DIRAC, "delta_0 vs delta_theta")



def dirac_gan(state: Tensor, *, rho: float, mass: MassFn | None = None) -> Tensor:
    """Dirac GAN with a simple gradient penalty on a finite measure of mass ``M(psi, theta)``.

    ``D(x; psi) = psi x``, ``p_d = delta_0``, ``p_theta = delta_theta``; ``grad_x D = psi``, so
    ``E_mu ||grad_x D||^2 = psi^2 M(psi, theta)`` and::

        psi'   = -theta - (rho/2) d/dpsi [psi^2 M(psi, theta)]
        theta' = psi

    Jacobian at the origin ``[[-rho M(0, 0), -1], [1, 0]]``; with ``rho = 0`` the eigenvalues
    are ``+-i`` (circles around the origin, no convergence).

    Args:
      state: ``(2,)`` ``(psi, theta)``.
      rho: penalty weight (SGP ``rho``; gp_spec weight ``rho / 2``).
      mass: differentiable ``M(psi, theta)``; None means 1 (a probability measure).

    Returns:
      ``(2,)`` ``(psi', theta')``.

    Source: 000 Def. 5, Lemma 1, App. A; SPEC §4.14.
    """
    s = check_state(state, 2)
    if mass is None:
        return torch.stack([-s[1] - rho * s[0], s[0]])
    m = mass

    def field(s: Tensor) -> Tensor:
        psi, theta = s[0], s[1]
        d_penalty = grad(psi.square() * m(psi, theta), s)[0]  # d/dpsi [psi^2 M]
        return torch.stack([-theta - 0.5 * rho * d_penalty, psi])

    return with_graph(s, field)


def quadratic_uniform_gan(
    state: Tensor, *, rho: float, second_moment: SecondMoment | None = None
) -> Tensor:
    """``D = psi x^2``, ``p_d = U(-1, 1)``, ``p_theta = U(-|theta|, |theta|)``, SGP on ``mu_theta``.

    ``E_pd[x^2] = 1/3``, ``E_ptheta[x^2] = theta^2 / 3``, ``||grad_x D||^2 = 4 psi^2 x^2``::

        psi'   = 1/3 - theta^2/3 - 4 rho psi E_mu[x^2]
        theta' = 2 psi theta / 3

    At ``(0, +-1)`` the Jacobian is ``[[-4 rho A^2, -+2/3], [+-2/3, 0]]`` with
    ``A^2 = E_mu*[x^2]``, eigenvalues ``-2 rho A^2 +- sqrt(4 rho^2 A^4 - 4/9)``.

    Args:
      state: ``(2,)`` ``(psi, theta)``.
      rho: penalty weight.
      second_moment: ``theta -> E_mu_theta[x^2]`` (independent of psi); None means
        :func:`uniform_second_moment` ``("interpolate")``.

    Returns:
      ``(2,)``.

    Source: 000 Lemma 2, App. A; SPEC §4.15.
    """
    s = check_state(state, 2)
    m2 = uniform_second_moment() if second_moment is None else second_moment
    psi, theta = s[0], s[1]
    return torch.stack([
        1 / 3 - theta.square() / 3 - 4 * rho * psi * m2(theta),
        2 * psi * theta / 3,
    ])


def quadratic_dirac_gan(
    state: Tensor, *, rho: float, second_moment: SecondMoment | None = None
) -> Tensor:
    """``D = psi x^2``, ``p_d = delta_0``, ``p_theta = delta_theta``, SGP on ``mu_theta``.

    ``E_pd[x^2] = 0``, ``E_ptheta[x^2] = theta^2``; with mu_GP ``E_mu[x^2] = theta^2 / 3``::

        psi'   = -theta^2 - 4 rho psi E_mu[x^2]      (= -theta^2 - (4/3) rho psi theta^2)
        theta' = 2 psi theta

    Every ``(a, 0)`` is an equilibrium (Jacobian ``[[0, 0], [0, 2a]]``) and no trajectory
    starting off the psi-axis converges to ``(b, 0)`` with ``b >= 0``, the origin included.

    Args:
      state: ``(2,)`` ``(psi, theta)``.
      rho: penalty weight.
      second_moment: ``theta -> E_mu_theta[x^2]``; None means :func:`dirac_second_moment`
        ``("interpolate")`` (the lemma's mu_GP).

    Returns:
      ``(2,)``.

    Source: 000 Lemma 3, App. B; SPEC §4.16.
    """
    s = check_state(state, 2)
    m2 = dirac_second_moment() if second_moment is None else second_moment
    psi, theta = s[0], s[1]
    return torch.stack([-theta.square() - 4 * rho * psi * m2(theta), 2 * psi * theta])
