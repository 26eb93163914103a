"""Optimal transport ground truth (SPEC §4.1-2): exact empirical W1, its duals, 1-D W1.

:func:`kantorovich` solves the empirical ``W1`` with POT's exact network simplex and returns the
coupling, the dual potentials and the c-transform critic; :func:`compact_dual_w1` solves 002's
compact dual LP with scipy; :func:`w1_1d` is the 1-D closed form. POT and scipy are imported
inside the functions that use them, so importing this module costs neither.

Memory: the cost matrix is ``(n, m)`` and no ``(n, m, D)`` array is ever made (the cost by
:func:`~gp_spec.optimal._inputs.euclidean_cost`, the critic by ``torch.cdist``), so
:func:`kantorovich` needs O(n m) memory, like ``ot.emd2`` on a precomputed cost.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec.errors import InvalidInputError, SolverError
from gp_spec.optimal._inputs import (
    FloatArray,
    as_float64,
    clouds,
    euclidean_cost,
    euclidean_distances,
    probability_weights,
)

_OPTIMAL = 1  # POT's result_code for an optimal network-simplex solution
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
"""HiGHS's default 1e-7 feasibility tolerances leave W1 off by ~1e-8 on near-coincident points."""


# ----------------------------------------------------------------------------------------------
# §4.1 Kantorovich duality
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CTransformCritic:
    """``f(z) = min_j (||z - y_j|| - v_j)`` over the target support: a 1-Lipschitz critic.

    A minimum of 1-Lipschitz functions, so 1-Lipschitz; with POT's optimal target potentials
    ``v`` it attains ``E_mu f - E_nu f = W1`` (see :func:`kantorovich`).

    Attributes:
      targets: ``(m, D)`` float64 target points (flattened events) with positive weight.
      potentials: ``(m,)`` float64 target potentials ``v_j``.
      event_shape: the event shape the critic accepts.

    Source: 003 Thm 1; SPEC §4.1 (c-transform of the dual potential).
    """

    targets: Tensor
    potentials: Tensor
    event_shape: tuple[int, ...]

    def __call__(self, z: Tensor) -> Tensor:
        """Critic values ``(M,)`` at ``z: (M, *event_shape)``, in ``z``'s dtype and device."""
        z = v.batch(z, "z")
        if tuple(z.shape[1:]) != self.event_shape:
            raise InvalidInputError(
                f"z.shape={tuple(z.shape)}, but should be (M, *{self.event_shape})"
            )
        flat = z.flatten(1)
        y = self.targets.to(device=flat.device, dtype=flat.dtype)
        pot = self.potentials.to(device=flat.device, dtype=flat.dtype)
        values: Tensor = (euclidean_distances(flat, y) - pot).amin(dim=1)  # min over (M, m)
        return values


@dataclass(frozen=True, eq=False)
class KantorovichResult:
    """Solution of the empirical W1 problem between ``mu = sum a_i delta_{x_i}`` and ``nu``.

    Attributes:
      w1: ``min_pi sum_ij pi_ij ||x_i - y_j||`` (float).
      coupling: ``(n, m)`` optimal coupling ``pi`` (rows sum to ``a``, columns to ``b``).
      u: ``(n,)`` source potentials, ``v``: ``(m,)`` target potentials (POT's duals):
        ``u_i + v_j <= ||x_i - y_j||`` on the support pairs (``a_i, b_j > 0``) and
        ``sum a_i u_i + sum b_j v_j = w1``.
      critic: the c-transform :class:`CTransformCritic`, high on the source.
      source_weights: ``(n,)`` ``a`` normalised to sum 1; target_weights: ``(m,)`` ``b``.

    Source: 003 Thm 1; SPEC §4.1.
    """

    w1: float
    coupling: FloatArray
    u: FloatArray
    v: FloatArray
    critic: CTransformCritic
    source_weights: FloatArray
    target_weights: FloatArray


def _max_dual_violation(
    u: FloatArray, v: FloatArray, cost: FloatArray, rows: npt.NDArray[np.bool_],
    cols: npt.NDArray[np.bool_],
) -> float:
    """``max_{i in rows, j in cols} u_i + v_j - C_ij`` with one ``(n, m)`` temporary."""
    slack = np.add.outer(u, v)  # (n, m)
    slack -= cost
    if rows.all() and cols.all():
        return float(slack.max())
    return float(slack[np.ix_(rows, cols)].max())


def kantorovich(
    source: Tensor,
    target: Tensor,
    source_weights: Tensor | None = None,
    target_weights: Tensor | None = None,
    *,
    num_iter_max: int | None = None,
) -> KantorovichResult:
    """Empirical W1 by POT's exact solver, with the dual potentials and an optimal critic.

    ``W1 = min_{pi in Pi(a, b)} sum_ij pi_ij ||x_i - y_j|| = max_{f in Lip1} sum a_i f(x_i) -
    sum b_j f(y_j)``. POT returns duals with ``u_i + v_j <= C_ij``; the c-transform
    ``f(z) = min_j (||z - y_j|| - v_j)`` is 1-Lipschitz, ``f(x_i) >= u_i`` and ``f(y_j) <= -v_j``,
    so ``E_mu f - E_nu f >= sum a u + sum b v = W1``: it attains W1 and is high on the source.

    Args:
      source: ``(n, *event)`` real points ``x_i``.
      target: ``(m, *event)`` fake points ``y_j``.
      source_weights: ``(n,)`` non-negative masses (normalised here); None means uniform.
      target_weights: ``(m,)`` likewise.
      num_iter_max: network-simplex iteration cap; None means ``max(100_000, 50 n m)``
        (POT's default of 100 000 stops short of the optimum for a few thousand points).

    Returns:
      :class:`KantorovichResult`.

    Raises:
      InvalidInputError: bad shapes, non-finite values, or invalid weights.
      SolverError: POT did not report an optimal solution, or its duals are infeasible or
        leave a duality gap.

    Source: 003 Thm 1 (Kantorovich duality), Sec. 6 (W1 by assignment); SPEC §4.1.
    """
    import ot  # POT only where it is used

    x, y = clouds(source, target)
    n, m = x.shape[0], y.shape[0]
    a = probability_weights(source_weights, n, "source_weights")
    b = probability_weights(target_weights, m, "target_weights")
    xs, yt = as_float64(x), as_float64(y)
    cost = euclidean_cost(xs, yt)  # (n, m), the only O(n m) input; nothing here is O(n m D)
    iters = max(100_000, 50 * n * m) if num_iter_max is None else int(num_iter_max)
    with warnings.catch_warnings():  # a non-optimal result_code becomes SolverError below
        warnings.filterwarnings("ignore", message="numItermax reached", category=UserWarning)
        coupling, log = ot.emd(a, b, cost, numItermax=iters, log=True)
    code = int(log["result_code"])
    if code != _OPTIMAL:
        raise SolverError(
            f"ot.emd: result_code={code} ({log.get('warning')}), but should be 1 (optimal); "
            f"n={n}, m={m}, numItermax={iters}: raise num_iter_max"
        )
    u = np.asarray(log["u"], dtype=np.float64)
    pot = np.asarray(log["v"], dtype=np.float64)
    w1 = float(log["cost"])
    scale = max(1.0, float(cost.max()))
    rows, cols = a > 0, b > 0  # dual feasibility on the support pairs (002 Eq. 8) suffices
    violation = _max_dual_violation(u, pot, cost, rows, cols)
    gap = abs(float(a @ u + b @ pot) - w1)
    if violation > 1e-9 * scale or gap > 1e-9 * scale:
        raise SolverError(
            f"ot.emd: dual violation={violation:.3g}, duality gap={gap:.3g}, but both should be "
            f"~0 (n={n}, m={m}); the solver stopped short of the optimum"
        )
    critic = CTransformCritic(
        targets=torch.from_numpy(yt[cols].copy()),
        potentials=torch.from_numpy(pot[cols].copy()),
        event_shape=tuple(int(s) for s in source.shape[1:]),
    )
    return KantorovichResult(
        w1=w1,
        coupling=np.asarray(coupling, dtype=np.float64),
        u=u,
        v=pot,
        critic=critic,
        source_weights=a,
        target_weights=b,
    )


# ----------------------------------------------------------------------------------------------
# §4.2 Compact dual (002 Eq. 8) and the 1-D closed form
# ----------------------------------------------------------------------------------------------


def compact_dual_w1(
    source: Tensor,
    target: Tensor,
    source_weights: Tensor | None = None,
    target_weights: Tensor | None = None,
) -> float:
    """W1 by the compact dual LP of 002 Eq. 8, solved with scipy's HiGHS.

    ``max_f sum_i a_i f(x_i) - sum_j b_j f(y_j)`` subject to ``f(x_i) - f(y_j) <= ||x_i - y_j||``
    for every support pair: each real support point ``x_i`` (``a_i > 0``) with each fake support
    point ``y_j`` (``b_j > 0``), one direction only; no real-real, fake-fake or fake-real
    constraints and no constraints off the supports. The unknowns are the ``n + m`` values
    ``f(x_i)``, ``f(y_j)``, free in sign.

    Args:
      source: ``(n, *event)`` real points; target: ``(m, *event)`` fake points.
      source_weights, target_weights: ``(n,)``, ``(m,)`` non-negative masses or None (uniform).

    Returns:
      The LP optimum (float).

    Raises:
      InvalidInputError: bad inputs. SolverError: HiGHS did not report an optimum.

    Source: 002 Eq. 8 (= Eq. 13, 20-21), App. I Thm 6-7.
    """
    import scipy.optimize  # scipy only where it is used
    import scipy.sparse

    x, y = clouds(source, target)
    a = probability_weights(source_weights, x.shape[0], "source_weights")
    b = probability_weights(target_weights, y.shape[0], "target_weights")
    xs, yt = as_float64(x)[a > 0], as_float64(y)[b > 0]
    a, b = a[a > 0], b[b > 0]
    n, m = len(a), len(b)
    cost = euclidean_cost(xs, yt)
    rows = np.arange(n * m)
    ii, jj = np.divmod(rows, m)  # constraint (i, j): +f(x_i) - f(y_j) <= C_ij
    a_ub = scipy.sparse.coo_array(
        (np.concatenate([np.ones(n * m), -np.ones(n * m)]),
         (np.concatenate([rows, rows]), np.concatenate([ii, n + jj]))),
        shape=(n * m, n + m),
    ).tocsr()
    objective = np.concatenate([-a, b])  # linprog minimises -(a.f(x) - b.f(y))
    res = scipy.optimize.linprog(
        objective, A_ub=a_ub, b_ub=cost.ravel(), bounds=(None, None), method="highs",
        options=_HIGHS_OPTIONS,
    )
    if res.status != 0:
        raise SolverError(f"linprog: status={res.status} ({res.message}), but should be 0")
    return float(-res.fun)


def _samples_1d(u: object, name: str) -> FloatArray:
    arr = u.detach().cpu().double().numpy() if isinstance(u, Tensor) else np.asarray(u, float)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise InvalidInputError(f"{name}.shape={arr.shape}, but should be (N,) or (N, 1), N >= 1")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"{name} contains NaN or inf values")
    return np.asarray(arr, dtype=np.float64)


def w1_1d(
    u: Tensor | npt.ArrayLike,
    v: Tensor | npt.ArrayLike,
    u_weights: Tensor | npt.ArrayLike | None = None,
    v_weights: Tensor | npt.ArrayLike | None = None,
) -> float:
    """1-D W1 in closed form: ``W1 = integral |F_u(t) - F_v(t)| dt`` with the weighted CDFs.

    Both CDFs are step functions; on the sorted union ``t_0 < ... < t_K`` of the sample points
    the integrand is constant on ``[t_k, t_{k+1})``, so the integral is a finite sum.

    Args:
      u: ``(N,)`` or ``(N, 1)`` samples (tensor or array); v: ``(M,)`` or ``(M, 1)``.
      u_weights, v_weights: non-negative masses or None (uniform), normalised here.

    Returns:
      W1 (float).

    Source: 003 App. C.3 (1-D transport); SPEC §4.5 (``integral |F_mu - F_nu|``).
    """
    uu, vv = _samples_1d(u, "u"), _samples_1d(v, "v")
    wu = probability_weights(u_weights, len(uu), "u_weights")
    wv = probability_weights(v_weights, len(vv), "v_weights")
    ou, ov = np.argsort(uu), np.argsort(vv)
    us, vs = uu[ou], vv[ov]
    cu, cv = np.cumsum(wu[ou]), np.cumsum(wv[ov])
    grid = np.unique(np.concatenate([us, vs]))
    idx_u = np.searchsorted(us, grid[:-1], side="right")  # number of u-points <= t_k
    idx_v = np.searchsorted(vs, grid[:-1], side="right")
    f_u = np.where(idx_u > 0, cu[np.maximum(idx_u - 1, 0)], 0.0)
    f_v = np.where(idx_v > 0, cv[np.maximum(idx_v - 1, 0)], 0.0)
    return float(np.sum(np.abs(f_u - f_v) * np.diff(grid)))
