"""Training dynamics of simple-gradient-penalty WGANs as ODEs (SPEC §4 items 14-17).

The SGP mu-WGAN of 000 Def. 4 maximises over the discriminator parameters ``psi``
``V(psi, theta) = E_pd[D] - E_ptheta[D] - (rho/2) E_mu[||grad_x D||^2]`` and minimises
``E_pd[D] - E_ptheta[D]`` over the generator parameters ``theta``; simultaneous gradient flow is
the autonomous system ``psi' = grad_psi V``, ``theta' = grad_theta E_ptheta[D]``.

This module gives the paper's toy systems in closed form (:func:`dirac_gan`, Lemma 1;
:func:`quadratic_uniform_gan`, Lemma 2; :func:`quadratic_dirac_gan`, Lemma 3), a general
autograd-built :class:`SGPSystem` for realizable problems (Theorem 1), their Jacobians
(:func:`jacobian`), spectra (:func:`eigenvalues`, :func:`is_hurwitz`), the Theorem 1 block
matrix (:func:`theorem1_jacobian`) and an ODE integrator (:func:`integrate`).

A vector field maps a state ``(psi, theta)`` of shape ``(P + T,)`` to its time derivative of
the same shape, differentiably: when the state requires grad the output carries a graph (so
``torch.autograd.functional.jacobian`` works), otherwise it is detached.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.integrate
import scipy.linalg
import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec.errors import InvalidInputError, SolverError

__all__ = [
    "Discriminator",
    "Field",
    "Generator",
    "MassFn",
    "Measure1D",
    "PenaltyMeasure",
    "SGPSystem",
    "SecondMoment",
    "Trajectory",
    "dirac_gan",
    "dirac_second_moment",
    "eigenvalues",
    "gauss_legendre",
    "integrate",
    "is_hurwitz",
    "jacobian",
    "product_interpolation",
    "quadratic_dirac_gan",
    "quadratic_uniform_gan",
    "realizable_sgp_example",
    "theorem1_jacobian",
    "uniform_second_moment",
]

FloatArray = npt.NDArray[np.float64]
Field = Callable[[Tensor], Tensor]
"""A vector field: state ``(S,) -> `` derivative ``(S,)``."""
MassFn = Callable[[Tensor, Tensor], Tensor]
"""``M(psi, theta)``: the mass of a finite penalty measure, 0-dim tensors in and out."""
SecondMoment = Callable[[Tensor], Tensor]
"""``theta -> E_{mu_theta}[x^2]`` (0-dim tensors), for the ``D = psi x^2`` toys."""
Discriminator = Callable[[Tensor, Tensor], Tensor]
"""``D(x; psi)``: ``(x: (N, d), psi: (P,)) -> (N,)``."""
Generator = Callable[[Tensor, Tensor], Tensor]
"""``G(z; theta)``: ``(z: (K, k), theta: (T,)) -> (K, d)``."""
PenaltyMeasure = Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]
"""``(real (N, d), real_w (N,), fake (K, d), fake_w (K,)) -> (points (L, d), masses (L,))``;
the masses sum to the measure's mass ``M`` and ``E_mu[h] = sum_l masses_l h(points_l)``."""

Measure1D = Literal["real", "fake", "interpolate", "midpoint"]
"""The penalty measures of 000 Table 1 that the 1-D toys support."""


def _state(state: object, size: int, name: str = "state") -> Tensor:
    if not isinstance(state, Tensor):
        raise InvalidInputError(f"{name}: got {type(state).__name__}, but should be a torch.Tensor")
    if state.shape != (size,) or not state.is_floating_point():
        raise InvalidInputError(
            f"{name}.shape={tuple(state.shape)} dtype={state.dtype}, but should be ({size},) "
            "floating"
        )
    return state


def _vector(state: object, name: str = "state") -> Tensor:
    """A finite floating ``(S,)`` tensor."""
    if not isinstance(state, Tensor) or state.ndim != 1:
        raise InvalidInputError(f"{name}: got {type(state).__name__} {getattr(state, 'shape', '')}"
                                ", but should be a (S,) tensor")
    return v.batch(state[None], name)[0]


def _with_graph(state: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``fn(state)`` on a state that requires grad, so ``fn`` may differentiate internally;
    the result keeps its graph only if the caller's state required grad."""
    keep = state.requires_grad
    with torch.enable_grad():
        s = state if keep else state.detach().requires_grad_(True)
        out = fn(s)
    return out if keep else out.detach()


def _autograd_jacobian(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``torch.autograd.functional.jacobian`` for one tensor in, one tensor out (typed)."""
    j = torch.autograd.functional.jacobian(fn, x)  # type: ignore[no-untyped-call]
    if not isinstance(j, Tensor):
        raise InvalidInputError("the function returned a tuple, but should return one tensor")
    return j


def _grad(output: Tensor, wrt: Tensor) -> Tensor:
    (g,) = torch.autograd.grad(output, wrt, create_graph=True, materialize_grads=True)
    return g


# ----------------------------------------------------------------------------------------------
# Toy systems of 000 §3 (Lemmas 1-3)
# ----------------------------------------------------------------------------------------------


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
    s = _state(state, 2)
    if mass is None:
        return torch.stack([-s[1] - rho * s[0], s[0]])
    m = mass

    def field(s: Tensor) -> Tensor:
        psi, theta = s[0], s[1]
        d_penalty = _grad(psi.square() * m(psi, theta), s)[0]  # d/dpsi [psi^2 M]
        return torch.stack([-theta - 0.5 * rho * d_penalty, psi])

    return _with_graph(s, field)


def uniform_second_moment(measure: Measure1D = "interpolate") -> SecondMoment:
    """``E_mu[x^2]`` for the penalty measures of 000 Table 1 between ``U(-1, 1)`` and
    ``U(-|theta|, |theta|)``.

    ``real``: 1/3; ``fake``: ``theta^2 / 3``; ``interpolate`` (independent x, y, alpha ~ U(0,1)):
    ``E[alpha^2] / 3 + E[(1 - alpha)^2] theta^2 / 3 = (1 + theta^2) / 9``; ``midpoint``:
    ``(1 + theta^2) / 12``.

    Args:
      measure: one of ``real``, ``fake``, ``interpolate``, ``midpoint``.

    Returns:
      ``theta -> E_mu[x^2]`` (0-dim tensors).

    Source: 000 Lemma 2, Table 1.
    """
    table: dict[str, SecondMoment] = {
        "real": lambda t: torch.ones_like(t) / 3,
        "fake": lambda t: t.square() / 3,
        "interpolate": lambda t: (1 + t.square()) / 9,
        "midpoint": lambda t: (1 + t.square()) / 12,
    }
    if measure not in table:
        raise InvalidInputError(f"measure={measure!r}, but should be one of {sorted(table)}")
    return table[measure]


def dirac_second_moment(measure: Measure1D = "interpolate") -> SecondMoment:
    """``E_mu[x^2]`` for the penalty measures between ``delta_0`` and ``delta_theta``.

    ``real``: 0; ``fake``: ``theta^2``; ``interpolate`` (mu_GP): ``E[(1 - alpha)^2] theta^2 =
    theta^2 / 3``; ``midpoint``: ``theta^2 / 4``.

    Args:
      measure: one of ``real``, ``fake``, ``interpolate``, ``midpoint``.

    Returns:
      ``theta -> E_mu[x^2]`` (0-dim tensors).

    Source: 000 Lemma 3, App. B; Table 1.
    """
    table: dict[str, SecondMoment] = {
        "real": lambda t: torch.zeros_like(t),
        "fake": lambda t: t.square(),
        "interpolate": lambda t: t.square() / 3,
        "midpoint": lambda t: t.square() / 4,
    }
    if measure not in table:
        raise InvalidInputError(f"measure={measure!r}, but should be one of {sorted(table)}")
    return table[measure]


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
    s = _state(state, 2)
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
    s = _state(state, 2)
    m2 = dirac_second_moment() if second_moment is None else second_moment
    psi, theta = s[0], s[1]
    return torch.stack([-theta.square() - 4 * rho * psi * m2(theta), 2 * psi * theta])


# ----------------------------------------------------------------------------------------------
# General realizable SGP systems (Theorem 1)
# ----------------------------------------------------------------------------------------------


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
) -> PenaltyMeasure:
    """``mu = M * law(alpha x + (1 - alpha) y)`` with independent ``x ~ p_d``, ``y ~ p_theta``,
    ``alpha ~ sum_k w_k delta_{alpha_k}``, as exact weighted points.

    Points ``alpha_k x_i + (1 - alpha_k) y_j`` with masses ``M a_i b_j w_k``. ``alphas = [1]``
    is p_d, ``[0]`` is p_theta, ``[1/2]`` is mu_mid, Gauss-Legendre nodes on [0, 1]
    (:func:`gauss_legendre`) give mu_GP exactly for polynomial integrands. The points depend on
    ``theta`` through ``y`` (no detaching), as the dynamics require.

    Args:
      alphas: ``(A,)``. alpha_weights: ``(A,)`` probabilities; None means uniform.
      mass: ``M >= 0``.

    Returns:
      A :data:`PenaltyMeasure`.

    Source: 000 Table 1, §2.1 (finite penalty measures), Def. 4.
    """
    if alphas.ndim != 1 or alphas.shape[0] == 0:
        raise InvalidInputError(f"alphas.shape={tuple(alphas.shape)}, but should be (A,), A >= 1")
    mass = v.check_weight(mass)

    def measure(
        real: Tensor, real_w: Tensor, fake: Tensor, fake_w: Tensor
    ) -> tuple[Tensor, Tensor]:
        al = alphas.to(real)
        aw = _probability(alpha_weights, al.shape[0], real, "alpha_weights")
        a = al[:, None, None, None]  # (A, N, K, d)
        pts = a * real[None, :, None, :] + (1 - a) * fake[None, None, :, :]
        w = mass * aw[:, None, None] * real_w[None, :, None] * fake_w[None, None, :]
        return pts.reshape(-1, real.shape[1]), w.reshape(-1)

    return measure


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
      penalty: the penalty measure. rho: penalty weight. num_psi: ``P``.
      data_weights: ``(N,)`` probabilities or None (uniform); latent_weights likewise ``(K,)``.

    Source: 000 Def. 4, §4 (realizable case), App. C; SPEC §4.17.
    """

    discriminator: Discriminator
    generator: Generator
    data: Tensor
    latents: Tensor
    penalty: PenaltyMeasure
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
        s = _vector(state)
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
            grad_x = _grad(self.discriminator(pts, psi).sum(), pts)
            penalty = (masses * grad_x.flatten(1).square().sum(1)).sum()
            d_fake = (b * self.discriminator(fake, psi)).sum()
            value = (a * self.discriminator(self.data, psi)).sum() - d_fake
            psi_dot = _grad(value - 0.5 * self.rho * penalty, s)[:p]
            theta_dot = _grad(d_fake, s)[p:]
            return torch.cat([psi_dot, theta_dot])

        return _with_graph(s, field)

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
            return _grad(self.discriminator(x, psi).sum(), x)

        def grad_psi_fake(theta: Tensor) -> Tensor:  # (P,) grad_psi E_ptheta[D]
            psi = psi0.clone().requires_grad_(True)
            d = (b * self.discriminator(self.generator(self.latents, theta), psi)).sum()
            return _grad(d, psi)

        with torch.enable_grad():
            mixed = _autograd_jacobian(grad_x, psi0)  # (L, d, P)
            r = _autograd_jacobian(grad_psi_fake, theta0)  # (P, T)
        q = torch.einsum("l,ldp,ldq->pq", masses, mixed, mixed)
        return q.detach(), r.detach()


def realizable_sgp_example(
    latents: Tensor,
    theta_star: Tensor,
    *,
    rho: float,
    penalty: PenaltyMeasure | None = None,
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


# ----------------------------------------------------------------------------------------------
# Linearisation and integration
# ----------------------------------------------------------------------------------------------


def jacobian(field: Field, state: Tensor) -> Tensor:
    """``J_ab = d field_a / d state_b`` at ``state`` by ``torch.autograd.functional.jacobian``.

    Args:
      field: a vector field ``(S,) -> (S,)``. state: ``(S,)``.

    Returns:
      ``(S, S)``.

    Source: 000 App. A-C (linearisation at equilibria).
    """
    s = _vector(state)
    with torch.enable_grad():
        j = _autograd_jacobian(field, s.detach())
    return j.detach()


def eigenvalues(matrix: Tensor) -> Tensor:
    """Complex eigenvalues ``(S,)`` of a square ``(S, S)`` matrix, by ``scipy.linalg.eigvals``.

    Computed in float64 with LAPACK ``geev`` through scipy rather than ``torch.linalg.eigvals``:
    on matrices whose entries span hundreds of orders of magnitude (``1e-240`` beside ``1``)
    torch's CPU solver was seen to fail to converge or to lose six digits where scipy did not.

    Args:
      matrix: ``(S, S)`` real tensor.

    Returns:
      ``(S,)`` complex128 tensor on ``matrix``'s device.

    Source: 000 App. A-C (spectrum of the Jacobian).
    """
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InvalidInputError(f"matrix.shape={tuple(matrix.shape)}, but should be (S, S)")
    values = scipy.linalg.eigvals(matrix.detach().cpu().double().numpy())
    return torch.from_numpy(np.asarray(values, dtype=np.complex128)).to(matrix.device)


def is_hurwitz(matrix: Tensor, *, tol: float | None = None) -> bool:
    """True if every eigenvalue has real part ``< -tol`` (local exponential stability).

    ``tol`` guards against eigenvalues on the imaginary axis computed with a tiny negative
    real part; None means ``sqrt(machine eps) * max(1, ||J||_2)``, the error scale of an
    eigenvalue of a defective matrix.

    Args:
      matrix: ``(S, S)``. tol: >= 0 or None.

    Returns:
      bool.

    Source: 000 Theorem 1 (locally stable when the Jacobian is Hurwitz).
    """
    eig = eigenvalues(matrix)
    if tol is None:
        eps = torch.finfo(matrix.dtype).eps
        spectral = float(np.linalg.norm(matrix.detach().cpu().double().numpy(), 2))
        tol = math.sqrt(eps) * max(1.0, spectral)
    return bool(eig.real.max() < -tol)


def theorem1_jacobian(q: Tensor, r: Tensor, *, rho: float) -> Tensor:
    """The Jacobian of Theorem 1 at a realizable equilibrium: ``[[-rho Q, -R], [R^T, 0]]``.

    Args:
      q: ``(P, P)`` ``Q = E_mu*[grad_psi,x D grad_psi,x D^T]`` (positive semi-definite).
      r: ``(P, T)`` ``R = grad_theta E_ptheta[grad_psi D]``.
      rho: penalty weight.

    Returns:
      ``(P + T, P + T)``. Hurwitz when ``rho > 0``, Q is positive definite and R has full
      column rank.

    Source: 000 §4.2, App. C; SPEC §4.17.
    """
    if q.ndim != 2 or q.shape[0] != q.shape[1] or r.ndim != 2 or r.shape[0] != q.shape[0]:
        raise InvalidInputError(
            f"q.shape={tuple(q.shape)}, r.shape={tuple(r.shape)}, but should be (P, P), (P, T)"
        )
    zeros = torch.zeros(r.shape[1], r.shape[1], dtype=q.dtype, device=q.device)
    return torch.cat([torch.cat([-rho * q, -r], 1), torch.cat([r.T, zeros], 1)], 0)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A solution of ``state' = field(state)``.

    Attributes:
      t: ``(T,)`` times. states: ``(T, S)`` float64 states at those times.
    """

    t: FloatArray
    states: FloatArray


def integrate(
    field: Field,
    state0: Tensor,
    t_end: float,
    *,
    num: int = 201,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> Trajectory:
    """Integrate ``state' = field(state)`` from ``state0`` over ``[0, t_end]`` with solve_ivp.

    Args:
      field: ``(S,) -> (S,)``; called on float64 tensors.
      state0: ``(S,)``. t_end: > 0. num: output times ``linspace(0, t_end, num)``.
      method, rtol, atol: passed to ``scipy.integrate.solve_ivp``.

    Returns:
      :class:`Trajectory`.

    Raises:
      SolverError: the integrator failed.

    Source: 000 Fig. 3 (phase portraits), App. A-B.
    """
    if not t_end > 0 or num < 2:
        raise InvalidInputError(f"t_end={t_end}, num={num}, but need t_end > 0 and num >= 2")
    y0 = state0.detach().cpu().double().numpy()

    def rhs(_t: float, y: FloatArray) -> FloatArray:
        out = field(torch.from_numpy(np.array(y, dtype=np.float64)))
        return np.asarray(out.detach().numpy(), dtype=np.float64)

    t_eval = np.linspace(0.0, float(t_end), num)
    sol = scipy.integrate.solve_ivp(
        rhs, (0.0, float(t_end)), y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol
    )
    if not sol.success:
        raise SolverError(f"solve_ivp: {sol.message}, but should succeed")
    return Trajectory(t=np.asarray(sol.t, dtype=np.float64),
                      states=np.asarray(sol.y.T, dtype=np.float64))
