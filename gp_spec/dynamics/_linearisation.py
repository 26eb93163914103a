"""Linearisation and integration of a vector field: Jacobians by autograd, spectra by LAPACK,
Theorem 1's block matrix, and trajectories by scipy's ``solve_ivp`` (scipy loaded on use)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gp_spec.dynamics._fields import Field, FloatArray, autograd_jacobian, check_vector
from gp_spec.errors import InvalidInputError, SolverError


def jacobian(field: Field, state: Tensor) -> Tensor:
    """``J_ab = d field_a / d state_b`` at ``state`` by ``torch.autograd.functional.jacobian``.

    Args:
      field: a vector field ``(S,) -> (S,)``. state: ``(S,)``.

    Returns:
      ``(S, S)``.

    Source: 000 App. A-C (linearisation at equilibria).
    """
    s = check_vector(state)
    with torch.enable_grad():
        j = autograd_jacobian(field, s.detach())
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
    import scipy.linalg  # scipy only where it is used

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
    import scipy.integrate  # scipy only where it is used

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
