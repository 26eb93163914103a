"""Analytic optima and constructions (SPEC §4 items 1-13): the ground truth tests hold code to.

Optimal transport (§4.1-2): :func:`kantorovich` solves the empirical ``W1`` with POT's exact
network simplex and returns the coupling, the dual potentials and the c-transform critic;
:func:`compact_dual_w1` solves 002's compact dual LP with scipy; :func:`w1_1d` is the 1-D closed
form. Closed forms (§4.3, 4.5, 4.8, 4.11): :func:`observation1_example`,
:func:`abs_critic_example`, :func:`l1_counterexample`, the optimal GAN / least-squares
discriminators. Constructions (§4.7, 4.12, 4.13): :func:`weight_clipping_extremal`,
:func:`epsilon_optimal_discriminator`, :func:`min_norm_epsilon_optimal_linear`.

Conventions: ``source`` is real (``mu``, where the critic is high), ``target`` is fake (``nu``);
point clouds are ``(N, *event)`` tensors, the ground cost is the Euclidean norm over all event
dims (SPEC conventions); numpy results are float64.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import ot
import scipy.optimize
import scipy.sparse
import scipy.stats
import torch
from torch import Tensor, nn

from gp_spec import _validation as v
from gp_spec.errors import InvalidInputError, SolverError

__all__ = [
    "AbsCriticExample",
    "CTransformCritic",
    "EpsilonOptimalDiscriminator",
    "KantorovichResult",
    "L1Counterexample",
    "Observation1Example",
    "abs_critic_example",
    "compact_dual_w1",
    "epsilon_optimal_discriminator",
    "epsilon_optimal_k",
    "gan_optimal_discriminator",
    "gan_optimal_logit",
    "kantorovich",
    "l1_counterexample",
    "lipschitz_penalty_optimal_k",
    "least_squares_optimal_critic",
    "linear_wgan_gradients",
    "min_norm_epsilon_optimal_linear",
    "observation1_example",
    "w1_1d",
    "weight_clipping_extremal",
    "weight_clipping_lipschitz_bound",
    "weight_clipping_witness",
]

FloatArray = npt.NDArray[np.float64]
LogDensity = Callable[[Tensor], Tensor]
"""``log p(v)``: ``(N, *event) -> (N,)`` (e.g. ``torch.distributions.Distribution.log_prob``)."""

_OPTIMAL = 1  # POT's result_code for an optimal network-simplex solution
_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
"""HiGHS's default 1e-7 feasibility tolerances leave W1 off by ~1e-8 on near-coincident points."""


# ----------------------------------------------------------------------------------------------
# Input validation
# ----------------------------------------------------------------------------------------------


def _weights(w: object, n: int, name: str) -> FloatArray:
    """Non-negative finite weights ``(n,)`` with a positive sum, normalised to sum to 1."""
    if w is None:
        return np.full(n, 1.0 / n)
    arr = w.detach().cpu().double().numpy() if isinstance(w, Tensor) else np.asarray(w, float)
    if arr.shape != (n,):
        raise InvalidInputError(f"{name}.shape={arr.shape}, but should be ({n},)")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InvalidInputError(f"{name} has negative or non-finite entries, but should be >= 0")
    total = float(arr.sum())
    if total <= 0:
        raise InvalidInputError(f"{name} sums to {total}, but should have a positive sum")
    return np.asarray(arr / total, dtype=np.float64)


def _clouds(source: object, target: object) -> tuple[Tensor, Tensor]:
    """Validate two point clouds ``(N, *event)``, ``(M, *event)``; return them flattened."""
    x, y = v.batch(source, "source"), v.batch(target, "target")
    if x.shape[1:] != y.shape[1:]:
        raise InvalidInputError(
            f"source.shape={tuple(x.shape)} and target.shape={tuple(y.shape)}, but their event "
            "shapes (all dims after the first) should be equal"
        )
    return x.detach().flatten(1), y.detach().flatten(1)


def _numpy(x: Tensor) -> FloatArray:
    return np.ascontiguousarray(x.detach().cpu().double().numpy())


def _euclidean_cost(x: FloatArray, y: FloatArray) -> FloatArray:
    """``C_ij = ||x_i - y_j||_2``, ``(n, m)``, by direct differences (no Gram cancellation)."""
    return np.asarray(np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)), dtype=np.float64)


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
        dist = torch.linalg.vector_norm(flat[:, None, :] - y[None, :, :], dim=-1)  # (M, m)
        values: Tensor = (dist - pot).amin(dim=1)
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
    x, y = _clouds(source, target)
    n, m = x.shape[0], y.shape[0]
    a = _weights(source_weights, n, "source_weights")
    b = _weights(target_weights, m, "target_weights")
    xs, yt = _numpy(x), _numpy(y)
    cost = _euclidean_cost(xs, yt)
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
    violation = float((u[rows, None] + pot[None, cols] - cost[np.ix_(rows, cols)]).max())
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
    x, y = _clouds(source, target)
    a = _weights(source_weights, x.shape[0], "source_weights")
    b = _weights(target_weights, y.shape[0], "target_weights")
    xs, yt = _numpy(x)[a > 0], _numpy(y)[b > 0]
    a, b = a[a > 0], b[b > 0]
    n, m = len(a), len(b)
    cost = _euclidean_cost(xs, yt)
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
    wu = _weights(u_weights, len(uu), "u_weights")
    wv = _weights(v_weights, len(vv), "v_weights")
    ou, ov = np.argsort(uu), np.argsort(vv)
    us, vs = uu[ou], vv[ov]
    cu, cv = np.cumsum(wu[ou]), np.cumsum(wv[ov])
    grid = np.unique(np.concatenate([us, vs]))
    idx_u = np.searchsorted(us, grid[:-1], side="right")  # number of u-points <= t_k
    idx_v = np.searchsorted(vs, grid[:-1], side="right")
    f_u = np.where(idx_u > 0, cu[np.maximum(idx_u - 1, 0)], 0.0)
    f_v = np.where(idx_v > 0, cv[np.maximum(idx_v - 1, 0)], 0.0)
    return float(np.sum(np.abs(f_u - f_v) * np.diff(grid)))


# ----------------------------------------------------------------------------------------------
# §4.3 Observation 1 (2-D) and §4.5 the optimal critic -|x|
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Observation1Example:
    """003 Fig. 1 right: fakes ``(1, 2), (1, 1)``, reals ``(2, 2), (2, 1)``, coupled horizontally.

    Optimal critic values (up to a constant) are ``f(1,2) = 0``, ``f(1,1) = a``, ``f(2,2) = 1``,
    ``f(2,1) = a + 1`` for exactly ``a in [a_min, a_max] = [1 - sqrt 2, sqrt 2 - 1]``.

    Attributes:
      real: ``(2, 2)`` float64 ``[(2, 2), (2, 1)]``; fake: ``(2, 2)`` ``[(1, 2), (1, 1)]``.
      w1: 1.0. a_min, a_max: the interval of ``a``.

    Source: 003 §4.1 Observation 1, Fig. 1, App. A.1.
    """

    real: Tensor
    fake: Tensor
    w1: float
    a_min: float
    a_max: float

    def critic_values(self, a: float) -> tuple[Tensor, Tensor]:
        """``(f(real), f(fake))`` = ``((1, a + 1), (0, a))`` as float64 ``(2,)`` tensors."""
        return (
            torch.tensor([1.0, a + 1.0], dtype=torch.float64),
            torch.tensor([0.0, a], dtype=torch.float64),
        )


def observation1_example() -> Observation1Example:
    """The 2-D example of 003 Observation 1 with its interval ``a in [1 - sqrt 2, sqrt 2 - 1]``.

    The two cross constraints ``f(2,2) - f(1,1) = 1 - a <= sqrt 2`` and
    ``f(2,1) - f(1,2) = a + 1 <= sqrt 2`` give the interval; W1 = (1 + 1)/2 = 1.

    Source: 003 Fig. 1 (right), App. A.1; SPEC §4.3.
    """
    f64 = torch.float64
    return Observation1Example(
        real=torch.tensor([[2.0, 2.0], [2.0, 1.0]], dtype=f64),
        fake=torch.tensor([[1.0, 2.0], [1.0, 1.0]], dtype=f64),
        w1=1.0,
        a_min=1.0 - math.sqrt(2.0),
        a_max=math.sqrt(2.0) - 1.0,
    )


def _neg_abs(x: Tensor) -> Tensor:
    x = v.batch(x, "x")
    if x[0].numel() != 1:
        raise InvalidInputError(f"x.shape={tuple(x.shape)}, but should be (N, 1)")
    return -x.flatten(1)[:, 0].abs()


@dataclass(frozen=True, eq=False)
class AbsCriticExample:
    """003 Prop. 2: real ``N(0, 1)``, fake ``1/2 N(-1, 1) + 1/2 N(1, 1)``, critic ``-|x|``.

    Attributes:
      real: ``torch.distributions.Normal(0, 1)`` (float64, scalar event).
      fake: ``MixtureSameFamily`` of ``N(-1, 1)`` and ``N(1, 1)`` with weights 1/2 (float64).
      critic: ``(N, 1) -> (N,)``, ``-|x|``.
      w1: ``2 pdf(1) + 1 - 2 cdf(-1) - sqrt(2/pi) = 0.368746380372...``.

    Source: 003 Prop. 2, App. C.3; SPEC §4.5.
    """

    real: torch.distributions.Normal
    fake: torch.distributions.MixtureSameFamily
    critic: Callable[[Tensor], Tensor]
    w1: float


def abs_critic_example() -> AbsCriticExample:
    """The Gaussian example of 003 Prop. 2 with its optimal critic ``-|x|`` and W1.

    ``W1 = E_fake|x| - E_real|x| = E|N(1, 1)| - E|N(0, 1)|``; the folded normal mean is
    ``E|N(mu, 1)| = 2 pdf(mu) + mu (1 - 2 cdf(-mu))``, so
    ``W1 = 2 pdf(1) + 1 - 2 cdf(-1) - sqrt(2 / pi)``.

    Source: 003 Prop. 2, App. C.3; SPEC §4.5.
    """
    f64 = torch.float64
    real = torch.distributions.Normal(torch.tensor(0.0, dtype=f64), torch.tensor(1.0, dtype=f64))
    fake = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=torch.tensor([0.5, 0.5], dtype=f64)),
        torch.distributions.Normal(
            torch.tensor([-1.0, 1.0], dtype=f64), torch.tensor([1.0, 1.0], dtype=f64)
        ),
    )
    norm = scipy.stats.norm
    w1 = float(2 * norm.pdf(1.0) + 1 - 2 * norm.cdf(-1.0) - math.sqrt(2 / math.pi))
    return AbsCriticExample(real=real, fake=fake, critic=_neg_abs, w1=w1)


# ----------------------------------------------------------------------------------------------
# §4.8 The l1 counterexample to Theorem 3
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class L1Counterexample:
    """002 App. D: ``g(x, y) = x + y`` is 1-Lipschitz for l1, ``g(B) - g(A) = ||B - A||_1``,
    yet ``grad g = (1, 1)`` is not parallel to ``B - A``.

    Attributes:
      g: ``(N, 2) -> (N,)``, ``x + y``.
      a: ``A = (0, 0)``; b: ``B = (2, 1)`` (float64 ``(2,)``).

    Source: 002 App. D (Theorem 3 holds only for l2); SPEC §4.8.
    """

    g: Callable[[Tensor], Tensor]
    a: Tensor
    b: Tensor


def _sum_coordinates(p: Tensor) -> Tensor:
    p = v.batch(p, "p")
    if p.shape[1:] != (2,):
        raise InvalidInputError(f"p.shape={tuple(p.shape)}, but should be (N, 2)")
    return p[:, 0] + p[:, 1]


def l1_counterexample() -> L1Counterexample:
    """``g(x, y) = x + y`` with ``A = (0, 0)``, ``B = (2, 1)`` (002 App. D).

    ``g(p) - g(q) = (p - q) . (1, 1) <= ||p - q||_1``; ``g(B) - g(A) = 3 = ||B - A||_1``;
    ``grad g = (1, 1)`` and ``B - A = (2, 1)`` are not parallel.

    Source: 002 App. D; SPEC §4.8.
    """
    f64 = torch.float64
    return L1Counterexample(
        g=_sum_coordinates,
        a=torch.tensor([0.0, 0.0], dtype=f64),
        b=torch.tensor([2.0, 1.0], dtype=f64),
    )


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
