"""Value checks: the term, the weight, the reduction and the critic's conventions.

Every value here is exact, from a critic whose penalty is known in closed form whatever the
measure draws: a linear critic ``f(x) = <a, x> + b`` has ``||grad f|| = ||a||`` at every point,
so a gradient penalty is ``weight * mass * term(||a||)``; paired penalties are computed from
the batch in plain NumPy. Each check runs over the probe family (every event shape of the
domain, a small and a large batch size) and norms from 0.3 to 1000.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from gp_spec.conformance._context import CheckContext, CheckSkipped, Outcome
from gp_spec.conformance.checks._critics import Linear
from gp_spec.conformance.checks._inputs import (
    aligned_pairs,
    batch,
    direction,
    is_norm_based,
    is_paired,
    mass,
    np64,
    probes,
    term_key,
)
from gp_spec.conformance.checks._numbers import (
    PAIRWISE_EPS,
    TERM_SLOPES,
    TERMS,
    close,
    digits,
    term_interval,
    within,
)
from gp_spec.conformance.checks._registry import register
from gp_spec.specs import Spec

__all__ = ["linear_closed_form", "paired_closed_form", "value_batch"]


def _gradient(spec: Spec) -> bool:
    return spec.family == "gradient"


def _any(spec: Spec) -> bool:
    return True


# -- closed forms ----------------------------------------------------------------------------

def norm_interval(ctx: CheckContext, norm: float) -> tuple[float, float]:
    """``weight * mass * term(norm)`` as the interval the tolerance policy allows."""
    lo, hi = term_interval(term_key(ctx.spec), norm)
    scale = ctx.weight * mass(ctx.spec)
    return scale * lo, scale * hi


def exact_norm_value(ctx: CheckContext, norm: float) -> float:
    """``weight * mass * term(norm)`` (the value printed; judged through :func:`norm_interval`)."""
    return ctx.weight * mass(ctx.spec) * TERMS[term_key(ctx.spec)](norm)


def paired_closed_form(ctx: CheckContext, a: np.ndarray, real: np.ndarray, fake: np.ndarray,
                       dist_eps: float = 0.0) -> tuple[float, np.ndarray]:
    """Value and d/da of a paired penalty under ``f(x) = <a, x> + b`` (003 Eq. 7, 9, 11);
    ``dist_eps`` reads each distance as ``||x - y + dist_eps||`` (``pairwise_distance``)."""
    d = (real - fake).reshape(len(real), -1)
    diff = d @ a.reshape(-1)
    dist = np.sqrt(((d + dist_eps) ** 2).sum(1))
    if ctx.spec.family == "transport":
        excess = np.maximum(0.0, diff - dist)
        value = ctx.weight * np.mean(excess**2)
        grad = ctx.weight * np.mean(2 * excess[:, None] * d, axis=0)
    else:
        cost = dist if ctx.spec.cost == "euclidean" else dist**2
        cost = np.maximum(cost, 1e-6)
        excess = np.maximum(0.0, np.abs(diff) / cost - 1.0)
        value = ctx.weight * np.mean(excess**2)
        grad = ctx.weight * np.mean((2 * excess * np.sign(diff) / cost)[:, None] * d, axis=0)
    return float(value), grad.reshape(a.shape)


def paired_matches(ctx: CheckContext, got: float, a: Tensor, real: Tensor, fake: Tensor
                   ) -> tuple[bool, float]:
    """Whether ``got`` is the paired penalty's value under ``f(x) = <a, x> + b`` within the
    tolerance policy (distances exact or read as ``pairwise_distance`` does, either order),
    and the exact value."""
    args = (np64(a), np64(real), np64(fake))
    wants = [paired_closed_form(ctx, *args, dist_eps=e)[0]
             for e in (0.0, PAIRWISE_EPS, -PAIRWISE_EPS)]
    return any(close(got, w, ctx.weight) for w in wants), wants[0]


def linear_closed_form(ctx: CheckContext, a: Tensor, real: Tensor, fake: Tensor
                       ) -> tuple[float, np.ndarray]:
    """Value and d/da of the spec's penalty under ``f(x) = <a, x> + b``, for any family.

    Norm-based penalties see ``||grad f|| = ||a||`` everywhere: ``w M term(||a||)`` and
    ``w M term'(||a||) a / ||a||``; paired penalties are computed from the batch.
    """
    if not is_norm_based(ctx.spec):
        return paired_closed_form(ctx, np64(a), np64(real), np64(fake))
    a_np = np64(a)
    n = float(np.sqrt((a_np**2).sum()))
    key = term_key(ctx.spec)
    scale = ctx.weight * mass(ctx.spec)
    value = scale * {"two_sided": (n - 1) ** 2, "one_sided": max(0.0, n - 1) ** 2}.get(
        key, n * n)
    return value, scale * TERM_SLOPES[key](n) * a_np / n


def value_batch(ctx: CheckContext, n: int, a: Tensor, salt: str) -> tuple[Tensor, Tensor]:
    """The batch of a value check under the linear critic with weight ``a``.

    Gradient penalties: ``n`` random pairs (their value does not depend on them). Paired
    penalties: ``n`` random pairs and ``n`` pairs along +-a (:func:`aligned_pairs`): random
    pairs alone can leave every relu at 0, and then a value of 0 cannot tell relu from abs,
    one cost from another, a missing weight or a missing parameter gradient.
    """
    event = tuple(a.shape)
    real, fake = batch(ctx, n, event, salt)
    if not is_paired(ctx.spec):
        return real, fake
    if ctx.domain.batch_size is not None:  # a fixed N: half random, half aligned pairs
        k = max(n // 2, 1)
        r2, f2 = aligned_pairs(ctx, n - k, a, salt + "al", t_range=(0.3, 0.6), alternate=True)
        return torch.cat([real[:k], r2]), torch.cat([fake[:k], f2])
    r2, f2 = aligned_pairs(ctx, n, a, salt + "al", t_range=(0.3, 0.6), alternate=True)
    return torch.cat([real, r2]), torch.cat([fake, f2])


def diagnose_ratio(ctx: CheckContext, got: float, want: float) -> str:
    if want == 0 or got == 0:
        return "check the per-sample term (one-sided vs two-sided vs zero-centred)"
    r = got / want
    if ctx.weight not in (0.0, 1.0) and math.isclose(r, ctx.weight, rel_tol=1e-3):
        return f"the value is exactly weight={ctx.weight:g} times too large: weight applied twice?"
    if ctx.weight not in (0.0, 1.0) and math.isclose(r, 1 / ctx.weight, rel_tol=1e-3):
        return (f"the value is exactly 1/{ctx.weight:g} of the expected: the weight is not "
                "applied (if it is applied outside this function, check with weight=1)")
    return f"ratio measured/expected = {r:.6g}"


# -- term checks ----------------------------------------------------------------------------

def constant_norm_check(ctx: CheckContext, norms: tuple[float, ...], salt: str) -> Outcome:
    """Under a linear critic with ``||grad f|| = norm`` everywhere the value is
    ``weight * mass * term(norm)`` at every event shape and batch size of the family."""
    seen = []
    for (event, n), norm in ((p, nm) for p in probes(ctx, salt) for nm in norms):
        real, fake = batch(ctx, n, event, f"{salt}{n}{event}")
        critic = Linear(direction(ctx, event, norm, f"a{event}")).to(ctx.device)
        got = ctx.value(critic, real, fake)
        lo, hi = norm_interval(ctx, norm)
        if not within(got, lo, hi, ctx.weight):
            want = exact_norm_value(ctx, norm)
            g, w = digits(got, want)
            raise ctx.fail(
                f"penalty={g} at N={n}, inputs of shape {event}, under a linear critic with "
                f"||grad f|| = {norm:g} everywhere",
                f"{w} = weight {ctx.weight:g} x term({norm:g})",
                diagnose_ratio(ctx, got, want), ratio=got / want if want else None,
            )
        seen.append(f"N={n} {event}")
    return Outcome(f"weight x term(||a||) exact at {', '.join(dict.fromkeys(seen))}")


for _clause, _norms, _why in (
    ("term.below-one", (0.3,), "||grad f|| = 0.3 < 1: one-sided gives 0, two-sided (0.7)^2"),
    ("term.at-one", (1.0,), "||grad f|| = 1: two-/one-sided give 0, zero-centred 1"),
    ("term.above-one", (2.5, 50.0, 1000.0), "||grad f|| = 2.5, 50 and 1000: (||g|| - 1)^2, "
     "not (||g||^2 - 1)^2, and no clamp or robust (Huber-like) cap of the norm"),
):

    def _make(norms: tuple[float, ...], clause: str) -> object:
        return lambda ctx: constant_norm_check(ctx, norms, clause)

    register(
        _clause,
        f"the per-sample term on a linear critic with {_why}, over the probe family",
        "003 Eq. 6, 8; 004 Eq. 6, 7",
        _gradient, establishes=("term",),
    )(_make(_norms, _clause))  # type: ignore[arg-type]


@register(
    "value.closed-form",
    "exact value on a linear critic f(x) = <a, x> + b (closed form from the batch; for "
    "paired penalties random pairs plus pairs along +-a, so that relu vs abs and the cost "
    "always show), over the probe family",
    "003 Eq. 7, 9, 11; 002 Eq. 18",
    lambda s: s.family != "gradient",
    establishes=("value", "term"),
)
def _value_closed_form(ctx: CheckContext) -> Outcome:
    if ctx.spec.family == "max_gradient":
        return constant_norm_check(ctx, (2.5, 50.0), "vc")
    seen = []
    for event, n in probes(ctx, "vc"):
        a = direction(ctx, event, 2.5, f"a{event}")
        real, fake = value_batch(ctx, n, a, f"v{n}")
        got = ctx.value(Linear(a).to(ctx.device), real, fake)
        ok, want = paired_matches(ctx, got, a, real, fake)
        if not ok:
            g, w = digits(got, want)
            raise ctx.fail(f"penalty={g} on {len(real)} pairs of shape {event}", w,
                           diagnose_ratio(ctx, got, want), ratio=got / want if want else None)
        seen.append(f"N={len(real)} {event}")
    return Outcome(f"closed form exact at {', '.join(seen)}")


@register(
    "weight.applied-once",
    "the value is not off by exactly the factor weight or 1/weight (weight applied twice or "
    "missing), nor by exactly 2 or 1/2 (gamma used where the weight is gamma/2, R1/R2; rho "
    "for rho/2, SGP)",
    "SPEC §3 (weight * E_mu[term]); 004 Table 1; 000 Def. 4",
    _any, establishes=("weight",),
)
def _weight_once(ctx: CheckContext) -> Outcome:
    if ctx.weight == 0.0:
        raise CheckSkipped("weight=0: every factor of it gives 0")
    a = direction(ctx, ctx.event, 2.5, "a")
    real, fake = value_batch(ctx, ctx.n(8), a, "v")
    want, _ = linear_closed_form(ctx, a, real, fake)
    got = ctx.value(Linear(a).to(ctx.device), real, fake)
    r = got / want if want else float("nan")
    suspects = [(2.0, "gamma used where the weight is gamma/2 (or rho for rho/2)?"),
                (0.5, "the weight halved twice (gamma/4)?")]
    if ctx.weight != 1.0:  # weight 1 cannot be told from its square or its absence
        suspects = [(ctx.weight, "weight applied twice?"),
                    (1 / ctx.weight, "weight not applied? (if your code applies it outside "
                     "this function, check with weight=1)"), *suspects]
    for factor, what in suspects:
        if math.isclose(r, factor, rel_tol=1e-3):
            g, w = digits(got, want)
            raise ctx.fail(
                f"penalty={g} = {r:.6g} x the expected {w}",
                f"{w} (weight {ctx.weight:g} applied once)", what, ratio=r,
            )
    return Outcome(f"ratio measured/expected = {r:.6g}")


@register(
    "reduction.batch-mean",
    "the expectation is a mean over the batch, not a sum: the value is the closed form at "
    "every batch size of the family (and the batch repeated 3 times gives the same value)",
    "SPEC §3 (weight * E_mu[term])",
    _any, establishes=("reduction",),
)
def _batch_mean(ctx: CheckContext) -> Outcome:
    a = direction(ctx, ctx.event, 2.5, "a")
    sizes = ctx.sizes(4, 65)
    values = []
    for n in sizes:
        real, fake = value_batch(ctx, n, a, f"m{n}")
        got = ctx.value(Linear(a).to(ctx.device), real, fake)
        want, _ = linear_closed_form(ctx, a, real, fake)
        if not close(got, want, ctx.weight):
            ratio = got / want if want else float("inf")
            m = len(real)
            hint = f"the batch of {m} is summed, not averaged" \
                if math.isclose(ratio, m, rel_tol=1e-3) else diagnose_ratio(ctx, got, want)
            g, w = digits(got, want)
            raise ctx.fail(f"penalty={g} on a batch of {m}", f"{w} (a mean over the batch)",
                           hint, ratio=ratio)
        values.append(got)
    if ctx.domain.batch_size is None:  # the same pairs repeated: a mean is unchanged
        real, fake = value_batch(ctx, 4, a, "m4")
        rep = ctx.value(Linear(a).to(ctx.device), real.repeat((3,) + (1,) * len(ctx.event)),
                        fake.repeat((3,) + (1,) * len(ctx.event)))
        if not close(rep, values[0], ctx.weight):
            g, w = digits(rep, values[0])
            raise ctx.fail(f"penalty={g} on the batch repeated 3 times vs {w} once",
                           "equal (ratio 1)", ratio=rep / values[0] if values[0] else None)
    return Outcome("mean over the batch at N = " + ", ".join(str(n) for n in sizes))


# -- the critic's conventions ---------------------------------------------------------------

@register(
    "critic.input-shape",
    "the critic is called on inputs (M, *event) of the batch's event shape, in every event "
    "shape of the domain (an alpha of shape (N, 1, 1, 1) times (N, d) broadcasts into "
    "(N, 1, N, d)); every call of every check also enforces it",
    "SPEC §2 (x_hat has the samples' shape)",
    _any, establishes=("critic",), observes="direct",
)
def _input_shape(ctx: CheckContext) -> Outcome:
    seen = []
    for event in ctx.shapes:
        a = direction(ctx, event, 1.5, f"is{event}")
        real, fake = value_batch(ctx, ctx.n(5), a, f"is{event}")
        call = ctx.call(Linear(a).to(ctx.device), real, fake)  # raises on a wrong shape
        seen.append(", ".join(sorted({str(s) for s in call.view.shapes})))
    return Outcome("critic inputs " + "; ".join(seen))


@register(
    "critic.output-n1",
    "a critic returning (N, 1) instead of (N,) gives the same penalty (when the "
    "implementation runs with both: its domain may allow only one)",
    "SPEC conventions",
    is_norm_based, establishes=("critic",),
)
def _output_n1(ctx: CheckContext) -> Outcome:
    if set(ctx.domain.outputs) != {"n", "n1"}:
        only = "(N,)" if ctx.domain.outputs == ("n",) else "(N, 1)"
        raise CheckSkipped(f"the implementation runs only with critics returning {only} (its "
                           "domain): the other convention is not its to accept")
    a = direction(ctx, ctx.event, 2.5, "a")
    real, fake = batch(ctx, ctx.n(8), ctx.event, "n1")
    values = []
    for out in ("n", "n1"):
        sub = ctx.with_domain_output(out)
        values.append(sub.value(Linear(a).to(ctx.device), real, fake))
    if not close(values[1], values[0], ctx.weight):
        g, w = digits(values[1], values[0])
        raise ctx.fail(f"penalty={g} with a critic returning (N, 1)", f"{w} as with (N,)",
                       "index the scores or pass grad_outputs=torch.ones_like(scores)")
    return Outcome(f"(N,) and (N, 1) both give {values[0]:.6g}")



@register(
    "critic.mode-unchanged",
    "the critic is called in the mode it was handed over in (training: a penalty that calls "
    "critic.eval(), even if it restores train() afterwards, computes another value with "
    "Dropout or BatchNorm) and is left unchanged (parameters, buffers, requires_grad, mode); "
    "every call of every check enforces it; this check records the mode at every call of a "
    "nonlinear critic (a call under no_grad, e.g. for logging, cannot change training and "
    "may be in eval mode)",
    "SPEC §3 (a penalty is a pure function of the critic being trained)",
    _any, establishes=("critic",), observes="direct",
)
def _mode_unchanged(ctx: CheckContext) -> Outcome:
    from gp_spec.conformance.checks._critics import RandomNet

    net = RandomNet(ctx.event, ctx.generator("mode"), dtype=ctx.dtype, device=ctx.device)
    real, fake = batch(ctx, ctx.n(8), ctx.event, "mode")
    ctx.call(net, real, fake)  # raises on a mode switch or a change
    return Outcome("called in training mode, left unchanged")
