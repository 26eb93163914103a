"""Optimal critics in closed form (SPEC §4.9, 4.11): Theorem 4's optimal Lipschitz constant
and the optimal GAN and least-squares discriminators from the two densities."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gp_spec.errors import InvalidInputError

LogDensity = Callable[[Tensor], Tensor]
"""``log p(v)``: ``(N, *event) -> (N,)`` (e.g. ``torch.distributions.Distribution.log_prob``)."""


# ----------------------------------------------------------------------------------------------
# §4.9 Theorem 4 (002 App. E)
# ----------------------------------------------------------------------------------------------


def lipschitz_penalty_optimal_k(w1: float, *, lam: float, k0: float = 0.0) -> float:
    """The Lipschitz constant minimising ``J(k) = -k W1 + lambda (k - k0)^2``.

    ``k* = W1 / (2 lambda) + k0``.

    With the WGAN objective ``min_{F_k-Lip} J_D = k min_{F_1-Lip} J_D = -k W1`` (Theorem 4), so
    adding ``lambda (k - k0)^2`` gives a parabola in ``k`` with vertex ``W1 / (2 lambda) + k0``.

    Args:
      w1: ``W1(P_r, P_g) >= 0``. lam: ``lambda > 0``. k0: the target constant.

    Returns:
      The optimal ``k`` (float).

    Source: 002 Thm 4, App. E.
    """
    if not lam > 0 or not w1 >= 0:
        raise InvalidInputError(f"lam={lam!r}, w1={w1!r}, but should be lam > 0 and w1 >= 0")
    return w1 / (2 * lam) + k0


# ----------------------------------------------------------------------------------------------
# §4.11 Optimal discriminators
# ----------------------------------------------------------------------------------------------


def gan_optimal_logit(log_p_real: LogDensity, log_p_fake: LogDensity) -> Callable[[Tensor], Tensor]:
    """``f*(v) = log p_r(v) - log p_g(v)``, the logit of ``D* = p_r / (p_r + p_g)``.

    ``f*`` minimises the minimax critic loss ``E_pr softplus(-f) + E_pg softplus(f)`` pointwise.

    Args:
      log_p_real, log_p_fake: log-densities ``(N, *event) -> (N,)`` (log form for stability).

    Returns:
      A callable ``(N, *event) -> (N,)``.

    Source: 004 Eq. 2 (Goodfellow et al. 2014); SPEC §4.11.
    """

    def logit(x: Tensor) -> Tensor:
        return log_p_real(x) - log_p_fake(x)

    return logit


def gan_optimal_discriminator(
    log_p_real: LogDensity, log_p_fake: LogDensity
) -> Callable[[Tensor], Tensor]:
    """``D*(v) = p_r(v) / (p_r(v) + p_g(v)) = sigmoid(log p_r(v) - log p_g(v))``.

    Args and Returns as :func:`gan_optimal_logit`; the output lies in ``[0, 1]``.

    Source: 004 Eq. 2; SPEC §4.11.
    """
    logit = gan_optimal_logit(log_p_real, log_p_fake)

    def discriminator(x: Tensor) -> Tensor:
        return torch.sigmoid(logit(x))

    return discriminator


def least_squares_optimal_critic(
    log_p_real: LogDensity, log_p_fake: LogDensity, *, a: float = 0.0, b: float = 1.0
) -> Callable[[Tensor], Tensor]:
    """``f*(v) = (a p_g(v) + b p_r(v)) / (p_g(v) + p_r(v)) = a + (b - a) D*(v)``.

    The pointwise minimiser of ``p_g (f - a)^2 + p_r (f - b)^2`` (LSGAN critic loss).

    Args:
      log_p_real, log_p_fake: log-densities ``(N, *event) -> (N,)``.
      a: target score of fakes; b: target score of reals (002 Table 1).

    Returns:
      A callable ``(N, *event) -> (N,)``.

    Source: 002 Table 1 (Mao et al. 2017); SPEC §4.11.
    """
    d_star = gan_optimal_discriminator(log_p_real, log_p_fake)

    def critic(x: Tensor) -> Tensor:
        return a + (b - a) * d_star(x)

    return critic
