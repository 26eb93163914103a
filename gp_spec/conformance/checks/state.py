"""Checks of max-gradient (002 Eq. 18, App. E): a max over its evaluation points, fresh
interpolates, and the S_max buffer kept over successive calls.

A max-gradient implementation keeps state between calls, so every check here is robust to
whatever its buffer holds from earlier checks: the :class:`Bump` critics use the direction
``u = (1, ..., 1) / sqrt(D)`` and segments at ``<u, x>`` in [1000, 1001] and [2000, 2001],
far from any other check's inputs (at most ~0.5 sqrt(D) + a few), so old buffer points have
a zero gradient and cannot change the max.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gp_spec.conformance._context import CheckContext, CheckSkipped, Outcome
from gp_spec.conformance.checks._critics import Bump, Projected
from gp_spec.conformance.checks._inputs import batch, spread_unit
from gp_spec.conformance.checks._numbers import digits, within
from gp_spec.conformance.checks._registry import register, statistical_rate
from gp_spec.conformance.checks._stats import scipy_stats

__all__: list[str] = []

_POINTS, _BUFFER, _C = 1000.0, 2000.0, 2.0
_FULL = math.sin(0.4 * math.pi) ** 2  # 0.905: some fresh alpha lands in [0.4, 0.6]


def _max_gradient(spec: object) -> bool:
    return getattr(spec, "family", None) == "max_gradient"


def _unit(ctx: CheckContext) -> Tensor:
    """``(1, ..., 1) / sqrt(D)`` in the event's shape (the same for every check)."""
    return torch.full(ctx.event, 1.0 / math.sqrt(math.prod(ctx.event)), dtype=ctx.dtype,
                      device=ctx.device)


def _segment_batch(ctx: CheckContext, n: int, u: Tensor, lo: float, hi: float, salt: str
                   ) -> tuple[Tensor, Tensor]:
    """Fake at ``<u, y> = lo``, real at ``<u, x> = hi`` (other coordinates random)."""
    z = ctx.randn(n, *ctx.event, salt=salt)
    z = z - (z * u).flatten(1).sum(1).reshape((n,) + (1,) * len(ctx.event)) * u
    return z + hi * u, z + lo * u


@register(
    "reduction.max-over-points",
    "the max-gradient penalty is weight * max ||grad f||^2 over the points the critic saw "
    "(fresh and buffered; not a mean)",
    "002 Eq. 18, App. E",
    _max_gradient, establishes=("reduction",), observes="direct",
)
def _max_over_points(ctx: CheckContext) -> Outcome:
    real, fake = batch(ctx, ctx.n(16), ctx.event, "mx")
    u = spread_unit(ctx, ctx.event, "u")
    call = ctx.call(Projected(u, 3.0, 0.1).to(ctx.device), real, fake)
    z = call.view.points()
    if z is None:
        raise CheckSkipped("the critic's inputs are not observable (torch.func): the max is "
                           "checked through values by measure.max-gradient-points")
    proj = z @ u.double().cpu().flatten()
    norms2 = (3.0 * (proj - 0.1)).square()
    want = ctx.weight * float(norms2.max())
    mean = ctx.weight * float(norms2.mean())
    if not within(call.value, want, want, ctx.weight):
        hint = "that is the mean, not the max" if within(call.value, mean, mean, ctx.weight) \
            else ""
        g, w = digits(call.value, want)
        raise ctx.fail(f"penalty={g}", f"{w} = weight x max ||grad f||^2 over {len(z)} points",
                       hint, cause="reduction")
    return Outcome(f"penalty == weight x max over {len(z)} points")


@register(
    "measure.max-gradient-points",
    "the points are fresh interpolates of the batch (not the real or fake samples alone) and "
    "the value is their max: under a critic whose gradient norm is c sin(pi alpha) on the "
    "segments, 0 at real and fake samples, the value lies in [0.905, 1] x weight c^2 (130 "
    "fresh points), a mean would give ~0.5 and real points alone 0",
    "002 App. E (S_max and fresh samples of mu_GP)",
    _max_gradient, establishes=("measure", "reduction"),
)
def _max_points(ctx: CheckContext) -> Outcome:
    if ctx.weight == 0:
        raise CheckSkipped("weight 0: the value carries no information about the points")
    u = _unit(ctx)
    n = ctx.n(130)
    calls = max(1, math.ceil(130 / n))
    values = []
    for k in range(calls):
        real, fake = _segment_batch(ctx, n, u, _POINTS, _POINTS + 1.0, f"mp{k}")
        values.append(ctx.value(Bump(u, _POINTS, _POINTS + 1.0, _C).to(ctx.device), real,
                                fake))
    top = ctx.weight * _C**2
    best = max(values)
    if not within(best, _FULL * top, top, ctx.weight) or max(values) > top * (1 + 1e-5):
        g, w = digits(best, top)
        hint = "the penalty is 0 at real and fake samples: it is not evaluated on fresh " \
            "interpolates" if best <= 1e-6 * top else "a mean over the points, not the max?"
        raise ctx.fail(f"max penalty={g} over {calls} call(s) of N = {n}",
                       f"in [{_FULL:.3f}, 1] x {w} (weight x max over fresh interpolates)",
                       hint, cause="measure")
    return Outcome(f"max over fresh interpolates: {best / top:.4f} x weight c^2")


@register(
    "state.max-gradient-buffer",
    "the S_max buffer is kept over successive calls and holds the spec's buffer_size points: "
    "after calls whose interpolates reach ||grad f|| ~ c, three calls on batches whose own "
    "points all have ||grad f|| < 0.04 c each still give >= 0.5 weight c^2 (the buffered "
    "points are evaluated again and stay, as the top of fresh and buffered points); then a "
    "critic with ||grad f|| = c |sin(2 pi t)|, zero where the loud critic peaked, reads how far "
    "the buffered points spread: the buffer_size points nearest the peak reach beyond the "
    "lower quantile of their order statistic (a buffer of one point, of the fresh points "
    "only, or first-in-first-out fails)",
    "002 Eq. 18, App. E (S_max, updated after each step)",
    _max_gradient, statistical=True, establishes=("state",),
)
def _buffer(ctx: CheckContext) -> Outcome:
    if ctx.weight == 0:
        raise CheckSkipped("weight 0: the value carries no information about the buffer")
    u = _unit(ctx)
    n = ctx.n(130)
    calls = max(1, math.ceil(130 / n))
    critic = Bump(u, _BUFFER, _BUFFER + 1.0, _C).to(ctx.device)
    for k in range(calls):
        real, fake = _segment_batch(ctx, n, u, _BUFFER, _BUFFER + 1.0, f"b{k}")
        ctx.value(critic, real, fake)
    top = ctx.weight * _C**2
    for q in range(3):
        real, fake = _segment_batch(ctx, n, u, _BUFFER, _BUFFER + 0.01, f"b-near{q}")
        got = ctx.value(critic, real, fake)
        if got < 0.5 * top:
            g, w = digits(got, top)
            raise ctx.fail(
                f"penalty={g} on quiet call {q + 1} (its own points have ||grad f|| < 0.04 c) "
                "after calls that reached ||grad f|| ~ c", f">= 0.5 x {w} (S_max keeps the "
                "points with the largest norms so far and evaluates them again)",
                "keep a buffer of the highest-norm points among the fresh and the buffered "
                "ones, across calls (002 App. E)", cause="state",
            )
    text, p = _buffer_size(ctx, u, n * calls)
    return Outcome(f"kept over 3 quiet calls ({got / top:.4f} x weight c^2); {text}", p)


def _buffer_size(ctx: CheckContext, u: Tensor, m: int) -> tuple[str, float]:
    """S_max holds the ``k`` loud points nearest the peak t = 1/2 (``2|t - 1/2|`` ~ U(0, 1)
    over ``m`` fresh points), so its widest point is the k-th order statistic, Beta(k,
    m - k + 1): the check fails below its lower ``rate`` quantile ``x``. Under
    ``c |sin(2 pi t)|`` the buffer's max norm is then ``c sin(pi x)``; one point (the nearest)
    reaches ``x`` with probability ``(1 - x)^m`` (~2e-5 at m = 130)."""
    k = ctx.spec.buffer_size
    order = scipy_stats().beta(k, m - k + 1)
    x = float(order.ppf(statistical_rate(ctx.spec)))
    real, fake = _segment_batch(ctx, ctx.n(130), u, _BUFFER + 0.5, _BUFFER + 0.5001, "b-size")
    got = ctx.value(Bump(u, _BUFFER, _BUFFER + 1.0, _C, half_periods=2).to(ctx.device), real,
                    fake)
    need = ctx.weight * (_C * math.sin(math.pi * x)) ** 2
    if got < need * (1 - 1e-5):
        g, w = digits(got, need)
        raise ctx.fail(
            f"penalty={g} under a critic with ||grad f|| = c |sin(2 pi t)| on the loud segment "
            "(zero at its middle, where the buffered points sit)",
            f">= {w}: the {k} buffered points nearest the middle spread at least {x / 2:.3g} "
            f"from it (lower {statistical_rate(ctx.spec):.1e} quantile of {m} fresh points)",
            f"S_max holds {k} points (buffer_size), not fewer", cause="state",
        )
    spread = math.asin(min(1.0, math.sqrt(max(got, 0.0) / (ctx.weight * _C**2)))) / math.pi
    p = float(order.cdf(spread))  # the observed spread's lower-tail probability
    return f"{k} points spread to {spread / 2:.3g} from the middle (p={p:.3g})", p

