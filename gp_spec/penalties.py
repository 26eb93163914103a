"""Gradient penalties (SPEC §3): ``weight * E_{x_hat ~ measure}[term(||grad f(x_hat)||)]``.

A gradient penalty is a (term, measure) pair composed by :func:`gradient_penalty`; the named
penalties below are those pairs. Every penalty returns a 0-dim tensor that is differentiable
w.r.t. the critic's parameters (input gradients are built with ``create_graph=True``) and
sends no gradient to the producers of ``real`` or ``fake`` (measures detach their inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec import measures
from gp_spec._types import Critic, Measure
from gp_spec.errors import InvalidInputError

__all__ = [
    "DEFAULT_WEIGHT",
    "DISTANCE_FLOOR",
    "MaxGradient",
    "Term",
    "difference_quotient",
    "dragan",
    "gradient_norms",
    "gradient_penalty",
    "one_sided",
    "one_sided_term",
    "r1",
    "r2",
    "transport",
    "two_sided",
    "two_sided_term",
    "zero_centred",
    "zero_centred_term",
]

Term = Callable[[Tensor], Tensor]

DEFAULT_WEIGHT = 10.0
"""Weight of the WGAN-GP/LP papers' experiments (003 §6 uses 5 and 10; Gulrajani et al. 10)."""

DISTANCE_FLOOR = 1e-6
"""Lower clamp of the transport cost in :func:`difference_quotient` (the 003 authors' code)."""


def gradient_norms(critic: Critic, points: Tensor) -> Tensor:
    """Per-sample input-gradient norms ``||grad_x f(x_i)||_2`` over all non-batch dims.

    The gradient is built with ``create_graph=True`` so the norms are differentiable w.r.t. the
    critic's parameters; values and parameter gradients are finite where the input gradient is
    exactly zero (the derivative of the norm at 0 is taken as 0).

    Args:
      critic: maps ``(N, *event)`` to ``(N,)`` or ``(N, 1)``.
      points: ``(N, *event)``; detached here, never modified.

    Returns:
      ``(N,)`` tensor of norms.

    Raises:
      InvalidInputError: ``points`` is not a non-empty floating ``(N, *event)`` tensor.
      InvalidCriticError: the critic's output has the wrong shape.

    Source: SPEC conventions; 003 Eq. 6 (the norm of ``grad f`` per sample).
    """
    return _gradient_norms(critic, v.batch(points, "points"))


def _gradient_norms(critic: Critic, points: Tensor) -> Tensor:
    """:func:`gradient_norms` of already validated ``points`` (the penalties' inner path).

    The input gradient is taken of the critic's raw output with ``grad_outputs`` ones of its
    shape, so an ``(N, 1)`` output adds no select (and no select-backward in the double
    backward) to the graph.
    """
    x = points.detach().requires_grad_(True)
    with torch.enable_grad():
        out = critic(x)
        v.scores_of(out, x.shape[0])  # validates the shape; the gradient uses ``out`` itself
        if out.requires_grad:
            (grad,) = torch.autograd.grad(
                out, x, grad_outputs=torch.ones_like(out), create_graph=True,
                allow_unused=True, materialize_grads=True,
            )
        else:  # a critic that ignores its input and has no parameters
            grad = torch.zeros_like(x)
    # one fused reduction; its derivative at a zero gradient is 0 (PyTorch masks norm == 0)
    norms: Tensor = torch.linalg.vector_norm(grad.flatten(1), dim=1)
    return norms


def two_sided_term(norm: Tensor) -> Tensor:
    """``(||g|| - 1)^2`` (003 Eq. 6; 004 Eq. 7)."""
    return (norm - 1).square()


def one_sided_term(norm: Tensor) -> Tensor:
    """``max(0, ||g|| - 1)^2`` (003 Eq. 8)."""
    return torch.relu(norm - 1).square()


def zero_centred_term(norm: Tensor) -> Tensor:
    """``||g||^2`` (004 Eq. 6; 000 Def. 4)."""
    return norm.square()


def gradient_penalty(
    term: Term,
    critic: Critic,
    real: Tensor | None,
    fake: Tensor | None,
    *,
    weight: float,
    measure: Measure,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``weight * E_{x_hat ~ measure}[term(||grad f(x_hat)||)]``, the composition of SPEC §3.

    The expectation is the Monte Carlo mean ``mean_i(w_i * term_i)`` over the measure's points
    and masses (``Points``), so a finite measure of mass M contributes M times its average.

    Args:
      term: per-sample function of the gradient norm, ``(N,) -> (N,)``.
      critic: ``(N, *event) -> (N,)`` or ``(N, 1)``.
      real: ``(N, *event)`` real samples (may be None if the measure ignores them).
      fake: ``(N, *event)`` fake samples (may be None if the measure ignores them).
      weight: finite, >= 0.
      measure: where the term is evaluated.
      generator: optional ``torch.Generator`` for the measure's random draws.

    Returns:
      0-dim tensor.

    Source: SPEC §3; 000 Def. 4 (a penalty on an arbitrary measure).
    """
    w = v.check_weight(weight)
    pts = measure.sample(real, fake, generator=generator)
    values = term(_gradient_norms(critic, v.batch(pts.points, "points", finite=False)))
    if not pts.unit_weights:
        values = pts.weights * values
    return w * values.mean()


def two_sided(
    critic: Critic,
    real: Tensor,
    fake: Tensor,
    *,
    weight: float = DEFAULT_WEIGHT,
    measure: Measure | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP (1-GP): ``weight * E_mu[(||grad f(x_hat)|| - 1)^2]``, mu = interpolate by default.

    Args:
      critic: ``(N, *event) -> (N,)`` or ``(N, 1)``.
      real: ``(N, *event)``.
      fake: ``(N, *event)``.
      weight: lambda of 003 Eq. 6 (10 in Gulrajani et al.).
      measure: penalty measure; None means :func:`gp_spec.measures.interpolate`.
      generator: optional ``torch.Generator`` for the interpolation weights.

    Returns:
      0-dim tensor.

    >>> import torch
    >>> critic = lambda x: 2.0 * x.sum(1)          # ||grad f|| = 2 sqrt(d) = 2 sqrt(2)
    >>> real, fake = torch.zeros(4, 2), torch.ones(4, 2)
    >>> round(float(two_sided(critic, real, fake, weight=1.0)), 4)  # (2 sqrt 2 - 1)^2
    3.3431

    Source: 003 Eq. 6; 004 Eq. 7.
    """
    mu = measures.interpolate() if measure is None else measure
    return gradient_penalty(
        two_sided_term, critic, real, fake, weight=weight, measure=mu, generator=generator
    )


def one_sided(
    critic: Critic,
    real: Tensor,
    fake: Tensor,
    *,
    weight: float = DEFAULT_WEIGHT,
    measure: Measure | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-LP: ``weight * E_mu[max(0, ||grad f(x_hat)|| - 1)^2]``, mu = interpolate by default.

    Args and Returns as :func:`two_sided`.

    Source: 003 Eq. 8.
    """
    mu = measures.interpolate() if measure is None else measure
    return gradient_penalty(
        one_sided_term, critic, real, fake, weight=weight, measure=mu, generator=generator
    )


def zero_centred(
    critic: Critic,
    real: Tensor | None,
    fake: Tensor | None,
    *,
    weight: float = DEFAULT_WEIGHT,
    measure: Measure | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """0-GP / simple GP: ``weight * E_mu[||grad f(x_hat)||^2]``, mu = interpolate by default.

    000's SGP ``(rho/2) E_mu[||grad D||^2]`` is ``weight = rho / 2`` on any measure.
    Args and Returns as :func:`two_sided`.

    Source: 004 Eq. 6; 000 Def. 4.
    """
    mu = measures.interpolate() if measure is None else measure
    return gradient_penalty(
        zero_centred_term, critic, real, fake, weight=weight, measure=mu, generator=generator
    )


R_WEIGHT = 5.0
"""R1/R2 default: Mescheder et al.'s ``gamma / 2`` with gamma = 10 (004 §6 uses lambda = 10)."""


def r1(
    critic: Critic, real: Tensor, fake: Tensor | None = None, *, weight: float = R_WEIGHT
) -> Tensor:
    """R1 (0-GP-sample on real): ``weight * E_x[||grad f(x)||^2]``; ``weight = gamma / 2``.

    Args:
      critic: ``(N, *event) -> (N,)`` or ``(N, 1)``.
      real: ``(N, *event)``.
      fake: ignored (accepted for the common signature).
      weight: Mescheder's ``gamma / 2``.

    Source: 004 Table 1 (0-GP-sample); Mescheder et al. 2018.
    """
    return zero_centred(critic, real, fake, weight=weight, measure=measures.real())


def r2(
    critic: Critic, real: Tensor | None, fake: Tensor, *, weight: float = R_WEIGHT
) -> Tensor:
    """R2: ``weight * E_y[||grad f(y)||^2]`` on fake samples; ``real`` may be None.

    Source: 004 Table 1; 000 Table 1 (p_g).
    """
    return zero_centred(critic, real, fake, weight=weight, measure=measures.fake())


def dragan(
    critic: Critic,
    real: Tensor,
    fake: Tensor | None = None,
    *,
    weight: float = DEFAULT_WEIGHT,
    c: float = 0.5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """DRAGAN: the two-sided term on the DRAGAN perturbation measure (``fake`` is ignored).

    Source: Kodali et al. 2017 (weight 10, c = 0.5 in its reference code); 003 footnote 7.
    """
    return two_sided(
        critic, real, real if fake is None else fake,  # fake unused by the measure
        weight=weight, measure=measures.dragan(c), generator=generator,
    )


def _paired_scores(critic: Critic, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    x, y = v.pair(real, fake)
    x, y = x.detach(), y.detach()
    n = x.shape[0]
    return v.scores_of(critic(x), n), v.scores_of(critic(y), n)


def _distance(real: Tensor, fake: Tensor) -> Tensor:
    """Per-pair Euclidean distance over all event dims, ``(N,)``."""
    diff = (real.detach() - fake.detach()).flatten(1)
    return diff.square().sum(1).sqrt()


def difference_quotient(
    critic: Critic,
    real: Tensor,
    fake: Tensor,
    *,
    weight: float = DEFAULT_WEIGHT,
    cost: Literal["euclidean", "squared_euclidean"] = "euclidean",
) -> Tensor:
    """``weight * E_i[max(0, |f(x_i) - f(y_i)| / c(x_i, y_i) - 1)^2]`` over index pairs.

    ``c`` is ``||x - y||`` (003 Eq. 7) or ``||x - y||^2`` (W2, 003 Eq. 11), clamped below at
    :data:`DISTANCE_FLOOR` as in the authors' code.

    Args:
      critic: ``(N, *event) -> (N,)`` or ``(N, 1)``.
      real, fake: ``(N, *event)``, paired by index.
      weight: lambda.
      cost: ``"euclidean"`` or ``"squared_euclidean"``.

    Returns:
      0-dim tensor.

    Source: 003 Eq. 7 and Eq. 11.
    """
    if cost not in ("euclidean", "squared_euclidean"):
        raise InvalidInputError(f"cost={cost!r}, but should be 'euclidean' or 'squared_euclidean'")
    w = v.check_weight(weight)
    s_r, s_f = _paired_scores(critic, real, fake)
    dist = _distance(real, fake)
    c = dist if cost == "euclidean" else dist.square()
    quotient = (s_r - s_f).abs() / c.clamp_min(DISTANCE_FLOOR)
    return w * torch.mean(torch.relu(quotient - 1).square())


def transport(
    critic: Critic, real: Tensor, fake: Tensor, *, weight: float = DEFAULT_WEIGHT
) -> Tensor:
    """``weight * E_i[max(0, f(x_i) - f(y_i) - ||x_i - y_i||)^2]`` over index pairs.

    The paper's ``lambda`` of 003 Eq. 9 (read as ``lambda / 4`` in front of the integral)
    is ``weight = lambda / 4``; the authors' code uses ``weight = LAMBDA`` directly.

    Source: 003 Eq. 9 (soft c-concavity from the regularised-OT dual, Eq. 2).
    """
    w = v.check_weight(weight)
    s_r, s_f = _paired_scores(critic, real, fake)
    return w * torch.mean(torch.relu(s_r - s_f - _distance(real, fake)).square())


class MaxGradient:
    """``weight * max_{x_hat} ||grad f(x_hat)||^2`` with the S_max buffer of 002 App. E.

    Each call evaluates fresh interpolates of the batch (mu_GP) together with the buffer
    S_max of the ``buffer_size`` points with the largest gradient norms seen so far, and then
    replaces S_max by the top ``buffer_size`` of both. The first call evaluates the fresh
    interpolates alone and keeps their top ``buffer_size`` (the paper's S_max "initialised
    with random samples"), rather than putting copies of fresh points into S_max. In the paper
    S_max is refreshed after the critic's update; here it is refreshed with the norms of the
    same call, before the update.

    Args:
      buffer_size: ``k``, the size of S_max (the paper uses half the batch).

    Source: 002 Eq. 18, App. E (lambda k(f)^2, Theorem 1).
    """

    def __init__(self, buffer_size: int) -> None:
        try:
            k = int(buffer_size)
            integral = k == buffer_size and not isinstance(buffer_size, bool)
        except (TypeError, ValueError, OverflowError):
            k, integral = 0, False
        if not integral or k < 1:
            raise InvalidInputError(f"buffer_size={buffer_size!r}, but should be an integer >= 1")
        self.buffer_size = k
        self.buffer: Tensor | None = None

    def reset(self) -> None:
        """Forget S_max."""
        self.buffer = None

    def __call__(
        self,
        critic: Critic,
        real: Tensor,
        fake: Tensor,
        *,
        weight: float = DEFAULT_WEIGHT,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Penalty value (0-dim) on ``(N, *event)`` real and fake; updates S_max."""
        w = v.check_weight(weight)
        fresh = measures.interpolate().sample(real, fake, generator=generator).points
        buf = self.buffer
        if buf is not None and (
            buf.shape[1:] != fresh.shape[1:] or buf.dtype != fresh.dtype
            or buf.device != fresh.device
        ):
            buf = None  # the event shape, dtype or device changed: start S_max afresh
        # First call: S_max "initialised with random samples" is the fresh batch itself;
        # concatenating fresh[:k] to fresh would put duplicate points into S_max.
        points = fresh if buf is None else torch.cat([fresh, buf])
        norms = _gradient_norms(critic, points)
        top = norms.detach().topk(min(self.buffer_size, points.shape[0])).indices
        self.buffer = points[top].detach()
        penalty: Tensor = w * norms.square().max()
        return penalty
