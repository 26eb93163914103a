"""General realizable SGP systems (000 §4, Theorem 1): the simultaneous gradient flow of
000 Def. 4 for any discriminator, generator and penalty law, every derivative by autograd."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec.dynamics._fields import (
    Discriminator,
    Generator,
    PenaltyLaw,
    autograd_jacobian,
    check_vector,
    grad,
    with_graph,
)
from gp_spec.errors import InvalidInputError


def _probability(w: Tensor | None, n: int, like: Tensor, name: str) -> Tensor:
    if w is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    if w.shape != (n,):
        raise InvalidInputError(f"{name}.shape={tuple(w.shape)}, but should be ({n},)")
    return w.to(like)


def gauss_legendre(num: int, lo: float, hi: float, *, dtype: torch.dtype = torch.float64
                   ) -> tuple[Tensor, Tensor]:
    """Gauss-Legendre nodes and probability weights for ``U(lo, hi)``.

    ``E_{U(lo, hi)}[h] ~= sum_k w_k h(t_k)``, exact for polynomials of degree ``<= 2 num - 1``.

    Args:
      num: number of nodes >= 1. lo, hi: the interval.

    Returns:
      ``(nodes (num,), weights (num,))``, weights summing to 1.

    Source: numerical quadrature for the exact expectations of 000's toy measures.
    """
    if num < 1 or not hi > lo:
        raise InvalidInputError(f"num={num}, [lo, hi]=[{lo}, {hi}], but need num >= 1, hi > lo")
    x, w = np.polynomial.legendre.leggauss(num)
    nodes = lo + (hi - lo) * (x + 1) / 2
    return torch.tensor(nodes, dtype=dtype), torch.tensor(w / 2, dtype=dtype)


def product_interpolation(
    alphas: Tensor, alpha_weights: Tensor | None = None, *, mass: float = 1.0
) -> PenaltyLaw:
    """``mu = M * law(alpha x + (1 - alpha) y)`` with independent ``x ~ p_d``, ``y ~ p_theta``,
    ``alpha ~ sum_k w_k delta_{alpha_k}``, as exact weighted points (a :data:`PenaltyLaw`).

    Points ``alpha_k x_i + (1 - alpha_k) y_j`` with masses ``M a_i b_j w_k``: the law of the
    core's ``measures.real()`` for ``alphas = [1]``, ``fake()`` for ``[0]``, ``midpoint()`` for
    ``[1/2]``, and ``interpolate()`` (mu_GP) for Gauss-Legendre nodes on [0, 1]
    (:func:`gauss_legendre`), exactly for polynomial integrands; ``mass`` scales it as
    ``measures.mixture([(M, ...)])`` does. The points depend on ``theta`` through ``y`` (no
    detaching), as the dynamics require.

    Args:
      alphas: ``(A,)``. alpha_weights: ``(A,)`` probabilities; None means uniform.
      mass: ``M >= 0``.

    Returns:
      A :data:`PenaltyLaw`.

    Source: 000 Table 1, §2.1 (finite penalty measures), Def. 4.
    """
    if alphas.ndim != 1 or alphas.shape[0] == 0:
        raise InvalidInputError(f"alphas.shape={tuple(alphas.shape)}, but should be (A,), A >= 1")
    mass = v.check_weight(mass)

    def law(real: Tensor, real_w: Tensor, fake: Tensor, fake_w: Tensor) -> tuple[Tensor, Tensor]:
        al = alphas.to(real)
        aw = _probability(alpha_weights, al.shape[0], real, "alpha_weights")
        a = al[:, None, None, None]  # (A, N, K, d)
        pts = a * real[None, :, None, :] + (1 - a) * fake[None, None, :, :]
        w = mass * aw[:, None, None] * real_w[None, :, None] * fake_w[None, None, :]
        return pts.reshape(-1, real.shape[1]), w.reshape(-1)

    return law


@dataclass(frozen=True, eq=False)
class SGPSystem:
    """Simultaneous gradient flow of the SGP mu-WGAN (000 Def. 4) with exact weighted samples.

    ``psi' = grad_psi [E_pd D - E_ptheta D - (rho/2) E_mu ||grad_x D||^2]``,
    ``theta' = grad_theta E_ptheta D`` with ``E_pd h = sum_i a_i h(x_i)``,
    ``E_ptheta h = sum_k b_k h(G(z_k; theta))`` and ``mu = penalty(x, a, G(z; theta), b)``;
    every derivative by autograd. The state is ``cat(psi (P,), theta (T,))``.

    Attributes:
      discriminator: ``D(x; psi)``. generator: ``G(z; theta)``.
      data: ``(N, d)`` support of p_d. latents: ``(K, k)`` latent support.
      penalty: the penalty measure's exact law (:data:`PenaltyLaw`). rho: penalty weight.
        num_psi: ``P``.
      data_weights: ``(N,)`` probabilities or None (uniform); latent_weights likewise ``(K,)``.

    Source: 000 Def. 4, §4 (realizable case), App. C; SPEC §4.17.
    """

    discriminator: Discriminator
    generator: Generator
    data: Tensor
    latents: Tensor
    penalty: PenaltyLaw
    rho: float
    num_psi: int
    data_weights: Tensor | None = None
    latent_weights: Tensor | None = None

    def _weights(self) -> tuple[Tensor, Tensor]:
        a = _probability(self.data_weights, self.data.shape[0], self.data, "data_weights")
        b = _probability(self.latent_weights, self.latents.shape[0], self.data, "latent_weights")
        return a, b

    def __call__(self, state: Tensor) -> Tensor:
        """``(P + T,) -> (P + T,)`` time derivative ``(psi', theta')``."""
        s = check_vector(state)
        if s.shape[0] <= self.num_psi:
            raise InvalidInputError(
                f"state.shape={tuple(s.shape)}, but should be (P + T,) with P = {self.num_psi}, "
                "T >= 1"
            )
        a, b = self._weights()
        p = self.num_psi

        def field(s: Tensor) -> Tensor:
            psi, theta = s[:p], s[p:]
            fake = self.generator(self.latents, theta)
            pts, masses = self.penalty(self.data, a, fake, b)
            if not pts.requires_grad:
                pts = pts.detach().requires_grad_(True)
            grad_x = grad(self.discriminator(pts, psi).sum(), pts)
            penalty = (masses * grad_x.flatten(1).square().sum(1)).sum()
            d_fake = (b * self.discriminator(fake, psi)).sum()
            value = (a * self.discriminator(self.data, psi)).sum() - d_fake
            psi_dot = grad(value - 0.5 * self.rho * penalty, s)[:p]
            theta_dot = grad(d_fake, s)[p:]
            return torch.cat([psi_dot, theta_dot])

        return with_graph(s, field)

    def theorem1_blocks(self, equilibrium: Tensor) -> tuple[Tensor, Tensor]:
        """``Q = E_mu*[grad_psi grad_x D (grad_psi grad_x D)^T]`` and
        ``R = grad_theta E_ptheta[grad_psi D]`` at ``(psi*, theta*)``, by autograd.

        Args:
          equilibrium: ``(P + T,)`` ``(psi*, theta*)``.

        Returns:
          ``(Q (P, P), R (P, T))``.

        Source: 000 §4.2, App. C.
        """
        p = self.num_psi
        psi0, theta0 = equilibrium[:p].detach(), equilibrium[p:].detach()
        a, b = self._weights()
        with torch.no_grad():
            pts, masses = self.penalty(self.data, a, self.generator(self.latents, theta0), b)

        def grad_x(psi: Tensor) -> Tensor:  # (L, d) per-point input gradients
            x = pts.detach().requires_grad_(True)
            return grad(self.discriminator(x, psi).sum(), x)

        def grad_psi_fake(theta: Tensor) -> Tensor:  # (P,) grad_psi E_ptheta[D]
            psi = psi0.clone().requires_grad_(True)
            d = (b * self.discriminator(self.generator(self.latents, theta), psi)).sum()
            return grad(d, psi)

        with torch.enable_grad():
            mixed = autograd_jacobian(grad_x, psi0)  # (L, d, P)
            r = autograd_jacobian(grad_psi_fake, theta0)  # (P, T)
        q = torch.einsum("l,ldp,ldq->pq", masses, mixed, mixed)
        return q.detach(), r.detach()


def realizable_sgp_example(
    latents: Tensor,
    theta_star: Tensor,
    *,
    rho: float,
    penalty: PenaltyLaw | None = None,
    latent_weights: Tensor | None = None,
) -> tuple[SGPSystem, Tensor]:
    """A realizable 1-D SGP problem: ``D(x; psi) = psi_1 x + psi_2 x^2``, ``G(z; theta) =
    theta_1 + theta_2 z``, ``p_d = G(z; theta*)``.

    ``D(.; 0) = 0`` and ``p_theta* = p_d``, so ``(0, 0, theta*)`` is an equilibrium satisfying
    000's Assumption 1. Closed forms: ``grad_psi grad_x D = (1, 2x)``, so
    ``Q = E_mu*[(1, 2x)(1, 2x)^T]``; ``E_ptheta[(x, x^2)] = (t1 + t2 m1, t1^2 + 2 t1 t2 m1 +
    t2^2 m2)`` with ``m_k = E[z^k]``, so ``R = [[1, m1], [2 t1 + 2 t2 m1, 2 t1 m1 + 2 t2 m2]]``.

    Args:
      latents: ``(K, 1)`` latent support. theta_star: ``(2,)``. rho: penalty weight.
      penalty: None means mu_GP (:func:`product_interpolation` on 8 Gauss-Legendre nodes).
      latent_weights: ``(K,)`` probabilities or None (uniform), shared by p_d and p_theta.

    Returns:
      ``(system, equilibrium)`` with ``equilibrium = (0, 0, theta*_1, theta*_2)``.

    Source: 000 §4 (realizable case), Theorem 1; SPEC §4.17.
    """
    if latents.ndim != 2 or latents.shape[1] != 1 or theta_star.shape != (2,):
        raise InvalidInputError(
            f"latents.shape={tuple(latents.shape)}, theta_star.shape={tuple(theta_star.shape)}, "
            "but should be (K, 1) and (2,)"
        )

    def discriminator(x: Tensor, psi: Tensor) -> Tensor:
        return psi[0] * x[:, 0] + psi[1] * x[:, 0].square()

    def generator(z: Tensor, theta: Tensor) -> Tensor:
        return theta[0] + theta[1] * z

    if penalty is None:
        nodes, weights = gauss_legendre(8, 0.0, 1.0, dtype=latents.dtype)
        penalty = product_interpolation(nodes, weights)
    system = SGPSystem(
        discriminator=discriminator,
        generator=generator,
        data=generator(latents, theta_star).detach(),
        latents=latents,
        penalty=penalty,
        rho=rho,
        num_psi=2,
        data_weights=latent_weights,
        latent_weights=latent_weights,
    )
    equilibrium = torch.cat([torch.zeros(2, dtype=theta_star.dtype), theta_star.detach()])
    return system, equilibrium
