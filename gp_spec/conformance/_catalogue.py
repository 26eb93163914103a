"""The check catalogue: one registry of black-box checks, each enforcing one spec clause.

A check is a small function ``run(ctx) -> Outcome`` that raises ``CheckFailed`` (the
implementation breaks the clause) or ``CheckSkipped``; ``applies(spec)`` says for which specs
it exists. Its id is ``<spec name>.<clause>``. Value checks use critics whose penalty is known
in closed form whatever the measure draws (exact up to dtype rounding); statistical checks are
kept for sampling laws, each with a stated false-positive rate (Bonferroni across the suite).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import integrate, stats
from torch import Tensor

from gp_spec import measures
from gp_spec.conformance._context import (
    CheckContext,
    CheckFailed,
    CheckSkipped,
    Outcome,
    global_state,
    restore_state,
)
from gp_spec.conformance._critics import Linear, Quadratic, Recorder
from gp_spec.specs import Spec

__all__ = ["CATALOGUE", "SUITE_FALSE_POSITIVE_RATE", "Check", "checks_for"]

SUITE_FALSE_POSITIVE_RATE = 1e-6
"""Probability that a correct implementation fails any statistical check of one spec's suite
under one seed (Bonferroni: each of the m statistical checks rejects at this rate / m)."""

RunFn = Callable[[CheckContext], Outcome]


@dataclass(frozen=True)
class Check:
    """One catalogue entry.

    Attributes:
      clause: id suffix, e.g. ``norm.all-event-dims``.
      summary: the property enforced and the bug class it catches.
      citation: where the clause comes from.
      applies: which specs it exists for.
      run: the check body.
      statistical: True when it tests a sampling law (then it has a false-positive rate).
    """

    clause: str
    summary: str
    citation: str
    applies: Callable[[Spec], bool]
    run: RunFn
    statistical: bool = False

    def id_for(self, spec: Spec) -> str:
        return f"{spec.name}.{self.clause}"


CATALOGUE: list[Check] = []


def _register(
    clause: str, summary: str, citation: str, applies: Callable[[Spec], bool], *,
    statistical: bool = False,
) -> Callable[[RunFn], RunFn]:
    def deco(fn: RunFn) -> RunFn:
        CATALOGUE.append(Check(clause, summary, citation, applies, fn, statistical))
        return fn

    return deco


def checks_for(spec: Spec) -> list[Check]:
    """The catalogue entries that apply to ``spec``, in catalogue order."""
    return [c for c in CATALOGUE if c.applies(spec)]


def statistical_rate(spec: Spec) -> float:
    """Per-check false-positive rate for ``spec``'s statistical checks (Bonferroni)."""
    m = sum(1 for c in checks_for(spec) if c.statistical)
    return SUITE_FALSE_POSITIVE_RATE / max(m, 1)


# -- applicability predicates -------------------------------------------------------------

def _any(spec: Spec) -> bool:
    return True


def _gradient(spec: Spec) -> bool:
    return spec.family == "gradient"


def _norm_based(spec: Spec) -> bool:
    return spec.family in ("gradient", "max_gradient")


def _paired(spec: Spec) -> bool:
    return spec.family in ("difference_quotient", "transport")


def _not_gradient(spec: Spec) -> bool:
    return spec.family != "gradient"


def _measure_is(*kinds: type) -> Callable[[Spec], bool]:
    def pred(spec: Spec) -> bool:
        return spec.family == "gradient" and isinstance(spec.measure, kinds)

    return pred


_RANDOM_MEASURES = (measures.Interpolate, measures.Anchor, measures.Dragan)


def _random(spec: Spec) -> bool:
    # max-gradient is excluded: its S_max buffer legitimately repeats the largest value.
    return _measure_is(*_RANDOM_MEASURES)(spec)


# -- closed forms (independent of gp_spec.penalties: plain Python / NumPy) ----------------

_TERMS: dict[str, Callable[[float], float]] = {
    "two_sided": lambda n: (n - 1.0) ** 2,
    "one_sided": lambda n: max(0.0, n - 1.0) ** 2,
    "zero_centred": lambda n: n**2,
    "max": lambda n: n**2,
}
_TERM_SLOPES: dict[str, Callable[[float], float]] = {
    "two_sided": lambda n: 2.0 * (n - 1.0),
    "one_sided": lambda n: 2.0 * max(0.0, n - 1.0),
    "zero_centred": lambda n: 2.0 * n,
    "max": lambda n: 2.0 * n,
}


_EPS_NORM = 1e-6
"""Largest norm accepted for an exactly zero gradient: ``sqrt(sum + eps)`` with eps <= 1e-12."""


def _term_key(spec: Spec) -> str:
    return "max" if spec.family == "max_gradient" else str(spec.term_name)


def _mass(spec: Spec) -> float:
    return 1.0 if spec.measure is None else float(spec.measure.mass)


def _norm_value(ctx: CheckContext, norm: float) -> float:
    """``weight * mass * term(norm)``: any gradient penalty under a critic with constant norm."""
    return ctx.weight * _mass(ctx.spec) * _TERMS[_term_key(ctx.spec)](norm)


def _paired_closed_form(
    ctx: CheckContext, a: np.ndarray, real: np.ndarray, fake: np.ndarray
) -> tuple[float, np.ndarray]:
    """Value and d/da of a paired penalty under ``f(x) = <a, x> + b`` (003 Eq. 7, 9, 11)."""
    d = (real - fake).reshape(len(real), -1)
    diff = d @ a.reshape(-1)
    dist = np.sqrt((d**2).sum(1))
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


def _linear_closed_form(
    ctx: CheckContext, a: Tensor, real: Tensor, fake: Tensor
) -> tuple[float, np.ndarray]:
    """Value and d/da of the spec's penalty under ``f(x) = <a, x> + b``, for any family.

    Norm-based penalties see ``||grad f|| = ||a||`` everywhere: ``w M term(||a||)`` and
    ``w M term'(||a||) a / ||a||``; paired penalties are computed from the batch.
    """
    if not _norm_based(ctx.spec):
        return _paired_closed_form(ctx, _np(a), _np(real), _np(fake))
    a_np = _np(a)
    n = float(np.sqrt((a_np**2).sum()))
    scale = ctx.weight * _mass(ctx.spec)
    return _norm_value(ctx, n), scale * _TERM_SLOPES[_term_key(ctx.spec)](n) * a_np / n


def _direction(ctx: CheckContext, shape: tuple[int, ...], norm: float, salt: str) -> Tensor:
    a = ctx.randn(*shape, salt=salt)
    scaled: Tensor = a * (norm / float(a.square().sum().sqrt()))
    return scaled


def _batch(ctx: CheckContext, n: int, event: tuple[int, ...], salt: str) -> tuple[Tensor, Tensor]:
    return ctx.randn(n, *event, salt=salt + "r"), ctx.randn(n, *event, salt=salt + "f") + 0.5


def _aligned_pairs(
    ctx: CheckContext, n: int, a: Tensor, salt: str, *, t_range: tuple[float, float],
    alternate: bool,
) -> tuple[Tensor, Tensor]:
    """``n`` pairs with ``x_i - y_i = s_i t_i a / ||a||``, ``t_i ~ U(t_range)``, ``s_i = +1``
    (or alternately +1, -1).

    Under ``f(x) = <a, x> + b`` with ``||a|| = 2.5`` such a pair has ``f(x) - f(y) = 2.5 s t``:
    the Eq. 7 quotient is 2.5 (excess 1.5), the Eq. 11 quotient 2.5 / t, and the transport
    excess ``2.5 s t - t`` is ``1.5 t > 0`` for s = +1 and ``-3.5 t < 0`` for s = -1. Every
    such pair has a nonzero term (transport: s = +1), whatever the random pairs draw.
    """
    lo, hi = t_range
    t = lo + (hi - lo) * torch.rand(n, generator=ctx.generator(salt + "t"), dtype=torch.float64)
    if alternate:
        t = t * torch.tensor([1.0, -1.0], dtype=torch.float64).repeat((n + 1) // 2)[:n]
    u = a.detach().double().cpu()
    d = t[:, None] * (u / u.norm())[None, :]
    real = ctx.randn(n, 3, salt=salt + "b")
    return real, real - d.to(real)


def _value_batch(ctx: CheckContext, n: int, a: Tensor, salt: str) -> tuple[Tensor, Tensor]:
    """The batch of a value check under the linear critic with weight ``a``.

    Gradient penalties: ``n`` random pairs (their value does not depend on them). Paired
    penalties: ``n`` random pairs and ``n`` pairs along +-a (:func:`_aligned_pairs`): random
    pairs alone can leave every relu at 0 (transport: each pair with probability ~0.7), and
    then a value of 0 cannot tell relu from abs, one cost from another, a missing weight or a
    missing parameter gradient.
    """
    real, fake = _batch(ctx, n, (3,), salt)
    if not _paired(ctx.spec):
        return real, fake
    r2, f2 = _aligned_pairs(ctx, n, a, salt + "al", t_range=(0.3, 0.6), alternate=True)
    return torch.cat([real, r2]), torch.cat([fake, f2])


def _np(t: Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


# -- value checks ---------------------------------------------------------------------------

def _constant_norm_check(ctx: CheckContext, norm: float, *, column: bool = False) -> Outcome:
    real, fake = _batch(ctx, 8, (3,), "v")
    critic = Linear(_direction(ctx, (3,), norm, "a"), column=column).to(ctx.device)
    got = ctx.value(critic, real, fake)
    want = _norm_value(ctx, norm)
    if not ctx.close(got, want):
        raise ctx.fail(
            f"penalty={got:.6g} for a linear critic with ||grad f|| = {norm:g} everywhere",
            f"{want:.6g} = weight {ctx.weight:g} x term({norm:g})",
            _diagnose_ratio(ctx, got, want),
        )
    return Outcome(f"penalty {got:.6g} == {want:.6g}")


def _diagnose_ratio(ctx: CheckContext, got: float, want: float) -> str:
    if want == 0 or got == 0:
        return "check the per-sample term (one-sided vs two-sided vs zero-centred)"
    r = got / want
    if ctx.weight not in (0.0, 1.0) and math.isclose(r, ctx.weight, rel_tol=1e-3):
        return f"the value is exactly weight={ctx.weight:g} times too large: weight applied twice?"
    if ctx.weight not in (0.0, 1.0) and math.isclose(r, 1 / ctx.weight, rel_tol=1e-3):
        return "the value lacks the factor weight: weight not applied?"
    return f"ratio measured/expected = {r:.4g}"


for _clause, _norm, _why in (
    ("term.below-one", 0.3, "||grad f|| = 0.3 < 1: one-sided gives 0, two-sided (0.7)^2"),
    ("term.at-one", 1.0, "||grad f|| = 1: two-/one-sided give 0, zero-centred 1"),
    ("term.above-one", 2.5, "||grad f|| = 2.5: (||g|| - 1)^2 = 2.25, not (||g||^2 - 1)^2"),
):

    def _make(norm: float) -> RunFn:
        return lambda ctx: _constant_norm_check(ctx, norm)

    _register(
        _clause,
        f"the per-sample term on a linear critic with {_why}",
        "003 Eq. 6, 8; 004 Eq. 6, 7",
        _gradient,
    )(_make(_norm))


@_register(
    "value.closed-form",
    "exact value on a linear critic f(x) = <a, x> + b (closed form from the batch; for "
    "paired penalties random pairs plus pairs along +-a, so that relu vs abs and the cost "
    "always show)",
    "003 Eq. 7, 9, 11; 002 Eq. 18",
    _not_gradient,
)
def _value_closed_form(ctx: CheckContext) -> Outcome:
    if ctx.spec.family == "max_gradient":
        return _constant_norm_check(ctx, 2.5)
    a = _direction(ctx, (3,), 2.5, "a")
    real, fake = _value_batch(ctx, 8, a, "v")
    got = ctx.value(Linear(a).to(ctx.device), real, fake)
    want, _ = _paired_closed_form(ctx, _np(a), _np(real), _np(fake))
    if not ctx.close(got, want):
        raise ctx.fail(f"penalty={got:.6g}", f"{want:.6g}", _diagnose_ratio(ctx, got, want))
    return Outcome(f"penalty {got:.6g} == {want:.6g}")


@_register(
    "critic.output-n1",
    "a critic returning (N, 1) instead of (N,) gives the same penalty",
    "SPEC conventions",
    _norm_based,
)
def _output_n1(ctx: CheckContext) -> Outcome:
    return _constant_norm_check(ctx, 2.5, column=True)


@_register(
    "reduction.batch-mean",
    "the expectation is a mean over the batch, not a sum (value independent of N)",
    "SPEC §3 (weight * E_mu[term])",
    _any,
)
def _batch_mean(ctx: CheckContext) -> Outcome:
    a = _direction(ctx, (3,), 2.5, "a")
    real, fake = _value_batch(ctx, 4, a, "m")
    values = []
    for k in (1, 3):  # the same pairs repeated k times: a mean is unchanged, a sum grows k-fold
        r, f = real.repeat(k, 1), fake.repeat(k, 1)
        values.append(ctx.value(Linear(a).to(ctx.device), r, f))
    if not ctx.close(values[1], values[0]):
        ratio = values[1] / values[0] if values[0] else float("inf")
        hint = "the batch is summed, not averaged" if math.isclose(ratio, 3, rel_tol=1e-3) else ""
        raise ctx.fail(
            f"penalty={values[1]:.6g} on the batch repeated 3 times vs {values[0]:.6g} once "
            f"(ratio {ratio:.4g})", "equal (ratio 1)", hint,
        )
    n = len(real)
    return Outcome(f"N={n}: {values[0]:.6g}, N={3 * n}: {values[1]:.6g}")


@_register(
    "weight.applied-once",
    "the value is not off by exactly the factor weight or 1/weight (weight applied twice or "
    "missing), nor by exactly 2 or 1/2 (gamma used where the weight is gamma/2, R1/R2; rho "
    "for rho/2, SGP)",
    "SPEC §3 (weight * E_mu[term]); 004 Table 1; 000 Def. 4",
    _any,
)
def _weight_once(ctx: CheckContext) -> Outcome:
    if ctx.weight == 0.0:
        raise CheckSkipped("weight=0: every factor of it gives 0")
    a = _direction(ctx, (3,), 2.5, "a")
    real, fake = _value_batch(ctx, 8, a, "v")
    want, _ = _linear_closed_form(ctx, a, real, fake)
    got = ctx.value(Linear(a).to(ctx.device), real, fake)
    r = got / want if want else float("nan")
    suspects = [(2.0, "gamma used where the weight is gamma/2 (or rho for rho/2)?"),
                (0.5, "the weight halved twice (gamma/4)?")]
    if ctx.weight != 1.0:  # weight 1 cannot be told from its square or its absence
        suspects = [(ctx.weight, "weight applied twice?"),
                    (1 / ctx.weight, "weight not applied?"), *suspects]
    for factor, what in suspects:
        if math.isclose(r, factor, rel_tol=1e-3):
            raise ctx.fail(
                f"penalty={got:.6g} = {r:.4g} x the expected {want:.6g}",
                f"{want:.6g} (weight {ctx.weight:g} applied once)", what,
            )
    return Outcome(f"ratio measured/expected = {r:.6g}")


@_register(
    "norm.all-event-dims",
    "the gradient norm is taken over ALL non-batch dims of (N, C, H, W) inputs, "
    "not per channel or per pixel",
    "SPEC conventions; 003 Eq. 6",
    _norm_based,
)
def _all_event_dims(ctx: CheckContext) -> Outcome:
    # A linear critic on (N, 3, 4, 4) whose weight has per-channel norms 1.2, 1.6 and 0:
    # the full per-sample norm is 2, every per-channel or per-pixel norm differs from 2.
    a = ctx.randn(3, 4, 4, salt="img").abs() + 0.1
    a = a / a.flatten(1).norm(dim=1)[:, None, None] * ctx.tensor([1.2, 1.6, 0.0])[:, None, None]
    real, fake = _batch(ctx, 6, (3, 4, 4), "img")
    got = ctx.value(Linear(a).to(ctx.device), real, fake)
    want = _norm_value(ctx, 2.0)
    if not ctx.close(got, want):
        raise ctx.fail(
            f"penalty={got:.6g} on (N, 3, 4, 4) inputs with per-channel gradient norms "
            "(1.2, 1.6, 0) and full norm 2",
            f"{want:.6g} = weight x term(2)",
            "take the norm over grad.flatten(1), not over dim=1 or per channel",
        )
    return Outcome(f"penalty {got:.6g} == {want:.6g}")


# -- per-sample input gradients and gradients w.r.t. the critic's parameters ------------

@_register(
    "grad.per-sample",
    "one gradient norm per sample, of that sample's own score: with ||grad f|| = 2.5 at "
    "every point the value at N = 8 equals the one at N = 1 (not one norm over the whole "
    "batch tensor, as torchgan 0.1.0's gradients.norm(2); not the gradient of "
    "critic(x).mean(), which is grad f / N)",
    "SPEC conventions (grad f(x_hat) per sample); 003 Eq. 6",
    _norm_based,
)
def _grad_per_sample(ctx: CheckContext) -> Outcome:
    # With N = 1 a whole-batch norm, the gradient of the batch mean and the per-sample norm
    # coincide; with N = 8 they are 2.5 sqrt(8), 2.5 / 8 and 2.5.
    a = _direction(ctx, (3,), 2.5, "a")
    values = []
    for n in (1, 8):
        real, fake = _batch(ctx, n, (3,), f"ps{n}")
        values.append(ctx.value(Linear(a).to(ctx.device), real, fake))
    if not ctx.close(values[1], values[0]):
        n = 8
        hints = (
            (_norm_value(ctx, 2.5 * math.sqrt(n)),
             "that is term(2.5 sqrt(8)): one norm over the whole batch; take "
             "grad.flatten(1).norm(dim=1)"),
            (_norm_value(ctx, 2.5 / n),
             "that is term(2.5 / 8): the gradient of critic(x).mean(); differentiate the "
             "sum of the scores (or pass grad_outputs=ones)"),
            (n * values[0], "that is 8 x the N = 1 value: summed over the batch?"),
        )
        hint = next((h for v, h in hints if ctx.close(values[1], v)), "")
        raise ctx.fail(
            f"penalty={values[1]:.6g} at N = 8 but {values[0]:.6g} at N = 1, with "
            "||grad f|| = 2.5 at every point", f"equal ({_norm_value(ctx, 2.5):.6g} = weight x "
            "term(2.5) at every N)", hint,
        )
    return Outcome(f"N = 1: {values[0]:.6g}, N = 8: {values[1]:.6g}")


def _param_grads(ctx: CheckContext, critic: Linear, real: Tensor, fake: Tensor) -> tuple[
    float, np.ndarray, float
]:
    out = ctx.call(critic, real, fake)
    if not out.requires_grad:
        raise ctx.fail(
            "the penalty does not depend on the critic's parameters (no grad_fn)",
            "differentiable w.r.t. them", "build the input gradient with create_graph=True "
            "and do not detach the penalty",
        )
    critic.zero_grad(set_to_none=True)
    torch.autograd.backward(out)
    ga = critic.a.grad
    gb = critic.b.grad
    grad_a = np.zeros(tuple(critic.a.shape)) if ga is None else _np(ga)
    grad_b = 0.0 if gb is None else float(gb.double().cpu())
    return float(out.detach().double().cpu()), grad_a, grad_b


@_register(
    "grad.parameters",
    "d penalty / d critic parameters equals the closed form (catches a missing "
    "create_graph, a detached value, a wrong chain rule)",
    "SPEC conventions (create_graph=True)",
    _any,
)
def _grad_parameters(ctx: CheckContext) -> Outcome:
    a = _direction(ctx, (3,), 2.5, "a")
    real, fake = _value_batch(ctx, 8, a, "g")
    critic = Linear(a).to(ctx.device)
    _, grad_a, grad_b = _param_grads(ctx, critic, real, fake)
    _, want = _linear_closed_form(ctx, a, real, fake)
    rtol, atol = (1e-7, 1e-10) if ctx.dtype == torch.float64 else (1e-3, 1e-5)
    if not np.allclose(grad_a, want, rtol=rtol, atol=atol) or abs(grad_b) > atol:
        raise ctx.fail(
            f"d penalty/d a = {np.round(grad_a, 6).tolist()}, d penalty/d b = {grad_b:.3g}",
            f"{np.round(want, 6).tolist()} and 0",
        )
    return Outcome(f"d/da matches the closed form to rtol {rtol:g}")


@_register(
    "grad.zero-gradient-finite",
    "where the input gradient is exactly zero the norm is 0 (up to sqrt(1e-12), a tiny eps "
    "inside the sqrt), the value weight x term(0) and the parameter gradients finite (sqrt "
    "of 0 without care gives NaN; sqrt(sum + 1e-2) gives a norm of 0.1)",
    "SPEC §3 (gradient_norms)",
    _norm_based,
)
def _zero_gradient(ctx: CheckContext) -> Outcome:
    real, fake = _batch(ctx, 8, (3,), "z")
    critic = Linear(torch.zeros(3, dtype=ctx.dtype, device=ctx.device)).to(ctx.device)
    out = ctx.call(critic, real, fake)
    got = float(out.detach().double().cpu())
    # The norm of a zero gradient may read up to _EPS_NORM: sqrt(sum + eps) with eps <= 1e-12
    # is a common and harmless guard; every term is monotone on [0, _EPS_NORM].
    ends = (_norm_value(ctx, 0.0), _norm_value(ctx, _EPS_NORM))
    lo, hi = min(ends), max(ends)
    if not (ctx.close(got, lo) or ctx.close(got, hi) or lo <= got <= hi):
        raise ctx.fail(
            f"penalty={got:.6g} for a constant critic (grad f = 0 everywhere)",
            f"{ends[0]:.6g} = weight x term(0) (norms up to {_EPS_NORM:g} accepted)",
            "an eps added inside the sqrt of the norm shifts it where grad f = 0 "
            "(sqrt(1e-2) = 0.1): keep eps <= 1e-12 or use torch.linalg.vector_norm",
        )
    if out.requires_grad:
        torch.autograd.backward(out)
        for name, p in critic.named_parameters():
            if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
                raise ctx.fail(
                    f"d penalty/d {name} = {p.grad.tolist()} where grad f = 0",
                    "finite", "use a norm whose derivative at 0 is defined (e.g. "
                    "torch.linalg.vector_norm, or sqrt(sum + eps) with a tiny eps)",
                )
    return Outcome(f"penalty {got:.6g}, finite parameter gradients")


# -- the penalty measure ----------------------------------------------------------------------

def _coordinate_batch(ctx: CheckContext, n: int, salt: str) -> tuple[Tensor, Tensor]:
    """Real with first coordinate 1, fake with first coordinate 0 (others random).

    Then ``<e_1, x_hat> = alpha`` for mu_GP, ``alpha * A_1`` for the anchor measure, 1 on
    real, 0 on fake and 1/2 on the midpoint, whatever pairing the implementation uses.
    """
    real, fake = _batch(ctx, n, (3,), salt)
    real[:, 0] = 1.0
    fake[:, 0] = 0.0
    return real, fake


def _anchor_first(ctx: CheckContext) -> float:
    meas = ctx.spec.measure
    if isinstance(meas, measures.Anchor) and meas.point is not None:
        return float(meas.point.flatten()[0])
    return 2.0  # default_anchor: 2, -1, 2, ...


def _recorded(ctx: CheckContext, critic: Recorder) -> Tensor:
    pts = critic.points()
    if pts is None:
        raise CheckSkipped(
            "the critic's inputs are not observable (torch.func transform); the measure is "
            "checked from the penalty values by measure.value-distribution"
        )
    return pts


def _cdist(a: Tensor, b: Tensor) -> Tensor:
    """Exact pairwise distances: the matmul shortcut of ``torch.cdist`` (used past 25 rows)
    reads a distance of 0 as ~1e-8, which would hide exact hits such as recorded endpoints."""
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _segment_residuals(z: Tensor, starts: Tensor, ends: Tensor) -> tuple[Tensor, Tensor]:
    """Distance of each row of z to the nearest segment [starts_j, ends_i], and its alpha."""
    d = ends[:, None, :] - starts[None, :, :]  # (I, J, D): end_i - start_j
    rel = z[:, None, None, :] - starts[None, None, :, :]  # (M, 1, J, D)
    alpha = (rel * d[None]).sum(-1) / d.square().sum(-1).clamp_min(1e-300)[None]
    alpha = alpha.clamp(0, 1)
    resid = (rel - alpha[..., None] * d[None]).norm(dim=-1)  # (M, I, J)
    best = resid.flatten(1).min(1)
    return best.values, alpha.flatten(1).gather(1, best.indices[:, None])[:, 0]


def _support(ctx: CheckContext, z: Tensor, real: Tensor, fake: Tensor) -> tuple[Tensor, str]:
    """Per-point distance to the measure's support, and a description of the support."""
    x, y = real.double().cpu().flatten(1), fake.double().cpu().flatten(1)
    meas = ctx.spec.measure
    if isinstance(meas, measures.Real):
        return _cdist(z, x).min(1).values, "a real sample"
    if isinstance(meas, measures.Fake):
        return _cdist(z, y).min(1).values, "a fake sample"
    if isinstance(meas, measures.Midpoint):
        mids = ((x[:, None] + y[None]) / 2).reshape(-1, x.shape[1])
        return _cdist(z, mids).min(1).values, "a midpoint (x_i + y_j) / 2"
    if isinstance(meas, measures.Anchor):
        a = measures.default_anchor((x.shape[1],), x) if meas.point is None else meas.point
        starts = y
        ends = a.double().reshape(1, -1)
        return _segment_residuals(z, starts, ends)[0], "on a segment [A, y_j]"
    if isinstance(meas, measures.Dragan):
        box = meas.c * float(x.std(unbiased=False))
        off = z[:, None, :] - x[None]  # (M, N, D): must lie in [0, box]^D for some i
        excess = (off.clamp(max=0).abs() + (off - box).clamp(min=0)).norm(dim=-1)
        return excess.min(1).values, f"x_i + alpha c std(x) u with u in [0,1]^d (box {box:.3g})"
    return _segment_residuals(z, y, x)[0], "on a segment [y_j, x_i] between a fake and a real"


@_register(
    "measure.support",
    "every point where the critic is evaluated lies where the spec's measure puts it "
    "(segments between real and fake, any pairing; exactly the real points for R1; ...); "
    "catches alpha per element, wrong samples, wrong anchor",
    "SPEC §2; 000 Table 1; 003 Eq. 6",
    _gradient,
)
def _measure_support(ctx: CheckContext) -> Outcome:
    n = 16
    real, fake = _batch(ctx, n, (3,), "s")
    critic = Recorder(Linear(_direction(ctx, (3,), 1.5, "a"))).to(ctx.device)
    ctx.call(critic, real, fake)
    z = _recorded(ctx, critic)
    dist, where = _support(ctx, z, real, fake)
    tol = 1e-6 * (1 + float(z.abs().max()))
    bad = int((dist > tol).sum())
    if bad:
        k = int(dist.argmax())
        raise ctx.fail(
            f"{bad} of {len(z)} evaluation points are off the support (worst: point {k}, "
            f"distance {float(dist[k]):.3g})", f"each point {where}",
            "interpolation weights must be one per sample, shared by every event dim",
        )
    if len(z) < n:
        raise ctx.fail(f"the critic saw {len(z)} points", f"at least N = {n} penalty points")
    return Outcome(f"{len(z)} points, all {where}")


def _alphas(ctx: CheckContext, n: int, calls: int) -> Tensor:
    """Interpolation weights recovered from recorded points (coordinate batch), per call."""
    scale = _anchor_first(ctx) if isinstance(ctx.spec.measure, measures.Anchor) else 1.0
    out = []
    for k in range(calls):
        real, fake = _coordinate_batch(ctx, n, f"alpha{k}")
        critic = Recorder(Linear(_direction(ctx, (3,), 1.5, "a"))).to(ctx.device)
        ctx.call(critic, real, fake)
        z = _recorded(ctx, critic)
        x, y = real.double().cpu(), fake.double().cpu()
        endpoint = _endpoints(z, torch.cat([x, y]))
        out.append(z[~endpoint, 0] / scale)  # endpoints are not penalty points (alpha 0 or 1)
    return torch.cat(out)


def _endpoints(z: Tensor, ends: Tensor, tol: float = 1e-9) -> Tensor:
    """Rows of ``z`` within ``tol`` of a row of ``ends`` (the coordinate batch's real and
    fake rows, first coordinate exactly 1 or 0), without an all-pairs distance matrix.

    Exact copies (a fused critic call on cat(real, fake, x_hat)) are found by hashing; only
    rows whose first coordinate is within ``tol`` of 0 or 1 can be near an endpoint, and only
    those get distances. Same result as ``cdist(z, ends).min(1) < tol``, which at 4 x 1024
    weights took most of the check's time.
    """
    rows = set(map(tuple, ends.tolist()))
    hit = torch.tensor([tuple(r) in rows for r in z.tolist()], dtype=torch.bool)
    z0 = z[:, 0]
    cand = ~hit & ((z0.abs() < tol) | ((z0 - 1).abs() < tol))
    if bool(cand.any()):
        hit[cand] = _cdist(z[cand], ends).min(1).values < tol
    return hit


@_register(
    "measure.alpha-per-sample",
    "one interpolation weight per sample, not one per batch (fails when at most half of "
    "32 weights are distinct: chance ties, e.g. of float32 draws, are allowed)",
    "003 Eq. 6; SPEC §2 (mu_GP)",
    _measure_is(measures.Interpolate, measures.Anchor),
)
def _alpha_per_sample(ctx: CheckContext) -> Outcome:
    n = 32
    alphas = _alphas(ctx, n, 1)
    distinct = int(torch.unique(torch.round(alphas * 1e9)).numel())
    # Chance ties are not a bug: alphas drawn as float32 (torch.rand(N, 1) in the default
    # dtype, on float64 inputs) take 2^24 values, so two of 32 agree with probability
    # 496 / 2^24 = 3e-5 (seed 99 does it), and float64 draws share a 1e-9 bin with
    # probability 5e-7. One alpha per batch gives 1 distinct weight; at most n/2 distinct
    # ones needs >= n/2 draws each equal to an earlier one: P <= C(32, 16) (31 / 2^24)^16
    # < 1e-82 at float32 resolution, so the check stays exact in practice.
    if len(alphas) >= 2 and 2 * distinct <= len(alphas):
        raise ctx.fail(
            f"{distinct} distinct interpolation weights among {len(alphas)} points",
            f"{len(alphas)} (one alpha ~ U(0,1) per sample)",
            "draw alpha with shape (N, 1, ..., 1), not (1,)",
        )
    return Outcome(f"{distinct} distinct weights for {len(alphas)} points")


@_register(
    "measure.alpha-uniform",
    "interpolation weights follow U(0, 1) (Kolmogorov-Smirnov on 4096 weights, "
    "Bonferroni-adjusted rate)",
    "003 Eq. 6; 004 Eq. 6",
    _measure_is(measures.Interpolate, measures.Anchor),
    statistical=True,
)
def _alpha_uniform(ctx: CheckContext) -> Outcome:
    # 4096 weights: Beta(0.5, 0.5) and N(0.5, 0.25^2) clipped to [0, 1] (KS distance 0.105
    # and 0.108 from U(0, 1)) escaped the 5e-7 rejection at 1024 weights in ~4e-5 and ~1e-5
    # of seeds (simulated); at 4096 their typical p is ~1e-40 and an escape needs the KS
    # distance ~8 standard deviations low.
    n, calls = 1024, 4
    alphas = _alphas(ctx, n, calls).numpy()
    if len(alphas) < n:
        raise ctx.fail(f"{len(alphas)} interior points in {calls} calls of N = {n}", f">= {n}")
    res = stats.kstest(alphas, "uniform")
    rate = statistical_rate(ctx.spec)
    p = float(res.pvalue)
    if p < rate:
        raise CheckFailed(
            f"{ctx.label}: {len(alphas)} interpolation weights with KS D={res.statistic:.4f} "
            f"(min {alphas.min():.3g}, max {alphas.max():.3g}, mean {alphas.mean():.3g}), "
            f"p={p:.3g}, but should be U(0, 1) (reject at p < {rate:.1e}) "
            f"[{ctx.spec.citation}]",
            p_value=p,
        )
    return Outcome(f"KS D={res.statistic:.4f}, p={p:.3g} >= {rate:.1e}", p_value=p)


def _projection_law(ctx: CheckContext) -> tuple[Callable[[float], float] | None, float]:
    """``<e_1, x_hat>`` under the spec's measure for the coordinate batch.

    Returns (alpha -> projection, None) for random measures, or (None, constant).
    """
    meas = ctx.spec.measure
    if isinstance(meas, measures.Interpolate):
        return (lambda a: a), 0.0
    if isinstance(meas, measures.Anchor):
        s = _anchor_first(ctx)
        return (lambda a: s * a), 0.0
    if isinstance(meas, measures.Real):
        return None, 1.0
    if isinstance(meas, measures.Fake):
        return None, 0.0
    return None, 0.5  # midpoint


_C, _S = 3.0, 0.1  # f(x) = c/2 (x_1 - s)^2: ||grad f|| = c |x_1 - s|


class _SumSquare(torch.nn.Module):
    """``f(x) = k0/2 (sum_e (x_e - r_e))^2``: ``||grad f|| = k0 sqrt(D) |sum_e (x_e - r_e)|``."""

    def __init__(self, k0: float, r: Tensor) -> None:
        super().__init__()
        self.k0 = torch.nn.Parameter(torch.tensor(k0, dtype=r.dtype, device=r.device))
        self.r = r

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = 0.5 * self.k0 * (x - self.r).flatten(1).sum(1).square()
        return out


def _hoeffding_p(mean: float, expected: float, n: int, bound: float, calls: int) -> float:
    """Bonferroni over ``calls`` of P(|mean_n - E| >= t) <= 2 exp(-2 n t^2 / B^2)."""
    return min(1.0, calls * 2 * math.exp(-2 * n * (mean - expected) ** 2 / bound**2))


def _dragan_value_distribution(ctx: CheckContext) -> Outcome:
    """DRAGAN's law through the values: one alpha per sample, u ~ U(0,1)^D per element.

    Every real row equals r, so std(x) = std(r) and x_hat - r = alpha c std(r) u. Under
    ``_SumSquare`` with ``k0 = k / (sqrt(D) c std(r))`` the norm is ``k alpha T``,
    ``T = sum_e u_e`` (Irwin-Hall): ``E[T] = D/2``, ``E[T^2] = D/12 + D^2/4``, ``E[alpha] =
    1/2``, ``E[alpha^2] = 1/3``. With k = 2/D the norm lies in [0, 2]. An alpha per element
    (torchgan 0.1.0's ``(1 - alpha) beta``) has the same marginals but E[term] 0.274 instead
    of 0.347 for the two-sided term at D = 8; centred noise (u - 1/2) gives 1.014.
    """
    meas = ctx.spec.measure
    if not isinstance(meas, measures.Dragan):
        raise CheckSkipped("not a DRAGAN measure")
    name = str(ctx.spec.term_name)
    d, n, calls = 8, 4096, 1
    k = 2.0 / d
    m1 = k * 0.5 * d / 2  # E[norm]
    m2 = k**2 * (1 / 3) * (d / 12 + d**2 / 4)  # E[norm^2]
    expected = {"two_sided": m2 - 2 * m1 + 1, "zero_centred": m2}.get(name)
    if expected is None:
        raise CheckSkipped(f"no closed form for the {name} term on the DRAGAN measure")
    bound = 1.0 if name == "two_sided" else (k * d) ** 2
    scale = ctx.weight * _mass(ctx.spec)
    worst_p, worst = 1.0, expected
    for c in range(calls):
        r = ctx.randn(d, salt=f"dr{c}")
        real = r.expand(n, d).clone()
        std = float(real.std(unbiased=False))
        critic = _SumSquare(k / (math.sqrt(d) * meas.c * std), r).to(ctx.device)
        got = ctx.value(critic, real, real + 1.0) / scale
        p = _hoeffding_p(got, expected, n, bound, calls)
        if p < worst_p:
            worst_p, worst = p, got
    rate = statistical_rate(ctx.spec)
    if worst_p < rate:
        raise CheckFailed(
            f"{ctx.label}: mean term {worst:.5g} in a call of N={n}, D={d} under "
            f"f(x) = k0/2 (sum_e (x_e - r_e))^2 (norm = {k:g} alpha sum_e u_e), but should be "
            f"{expected:.5g} +- Hoeffding (p={worst_p:.2g} < {rate:.1e}); one alpha per "
            f"sample times u ~ U(0,1) per element? [{ctx.spec.citation}]",
            p_value=worst_p,
        )
    return Outcome(f"{calls} calls within the Hoeffding band, min p={worst_p:.3g}", worst_p)


@_register(
    "measure.value-distribution",
    "the penalty under a critic whose gradient norm reveals the measure (f(x) = c/2 "
    "(x_1 - s)^2; for DRAGAN k0/2 (sum_e (x_e - r_e))^2) has the law the measure implies: "
    "exact for deterministic measures, a Hoeffding bound per call for random ones (works "
    "when the critic's inputs are not observable, e.g. torch.func)",
    "SPEC §2; 000 Table 1; Kodali et al. 2017",
    _measure_is(measures.Interpolate, measures.Anchor, measures.Real, measures.Fake,
                measures.Midpoint, measures.Dragan),
    statistical=True,
)
def _value_distribution(ctx: CheckContext) -> Outcome:
    if ctx.weight == 0:
        raise CheckSkipped("weight 0: the value carries no information about the measure")
    if isinstance(ctx.spec.measure, measures.Dragan):
        return _dragan_value_distribution(ctx)
    term = _TERMS[str(ctx.spec.term_name)]
    law, const = _projection_law(ctx)
    scale = ctx.weight * _mass(ctx.spec)
    if law is None:
        real, fake = _coordinate_batch(ctx, 8, "vd")
        critic = Quadratic(_C, _S, dtype=ctx.dtype, device=ctx.device)
        got = ctx.value(critic, real, fake)
        want = scale * term(_C * abs(const - _S))
        if not ctx.close(got, want):
            raise ctx.fail(
                f"penalty={got:.6g} when every point of the measure has x_1 = {const:g}",
                f"{want:.6g}", "the penalty is evaluated on the wrong samples",
            )
        return Outcome(f"penalty {got:.6g} == {want:.6g}")

    def h(a: float) -> float:
        return term(_C * abs(law(a) - _S))

    mean = integrate.quad(h, 0, 1, points=[_S / max(law(1.0), 1e-12)], limit=200)[0]
    bound = max(h(0.0), h(1.0), h(_S / law(1.0)) if 0 < _S / law(1.0) < 1 else 0.0)
    n, calls = 1024, 4
    rate = statistical_rate(ctx.spec)
    worst_p, worst = 1.0, 0.0
    for k in range(calls):
        real, fake = _coordinate_batch(ctx, n, f"vd{k}")
        critic = Quadratic(_C, _S, dtype=ctx.dtype, device=ctx.device)
        m = ctx.value(critic, real, fake) / scale
        p = _hoeffding_p(m, mean, n, bound, calls)
        if p < worst_p:
            worst_p, worst = p, m
    if worst_p < rate:
        raise CheckFailed(
            f"{ctx.label}: mean term {worst:.5g} in a call of N={n} under "
            f"f(x) = {_C:g}/2 (x_1 - {_S:g})^2, but should be {mean:.5g} +- Hoeffding "
            f"(p={worst_p:.2g} < {rate:.1e}); alpha per batch or not U(0,1)? "
            f"[{ctx.spec.citation}]",
            p_value=worst_p,
        )
    return Outcome(f"{calls} calls within the Hoeffding band, min p={worst_p:.3g}", worst_p)


@_register(
    "reduction.max-over-points",
    "the max-gradient penalty is weight * max ||grad f||^2 over its evaluation points "
    "(not a mean)",
    "002 Eq. 18, App. E",
    lambda s: s.family == "max_gradient",
)
def _max_over_points(ctx: CheckContext) -> Outcome:
    real, fake = _batch(ctx, 16, (3,), "mx")
    critic = Recorder(Quadratic(_C, _S, dtype=ctx.dtype, device=ctx.device)).to(ctx.device)
    got = ctx.value(critic, real, fake)
    z = _recorded(ctx, critic)
    norms2 = (_C * (z[:, 0] - _S)).square()
    want = ctx.weight * float(norms2.max())
    mean = ctx.weight * float(norms2.mean())
    if not ctx.close(got, want):
        hint = "that is the mean, not the max" if ctx.close(got, mean) else ""
        raise ctx.fail(f"penalty={got:.6g}", f"{want:.6g} = weight x max ||grad f||^2", hint)
    return Outcome(f"penalty {got:.6g} == weight x max over {len(z)} points")


# -- paired penalties -------------------------------------------------------------------------

@_register(
    "pairing.by-index",
    "real and fake samples are paired by index (x_i, y_i), not shuffled or all-pairs (16 "
    "near pairs along a, each with a nonzero term: any other pairing changes the value)",
    "003 Eq. 7, 9 (authors' code pairs by index)",
    _paired,
)
def _pairing(ctx: CheckContext) -> Outcome:
    # Near pairs x_i - y_i = t_i a / ||a||, t_i in [0.05, 0.1]: each index pair has a nonzero
    # term (quotient 2.5 or 2.5 / t, transport excess 1.5 t), and any other pairing swaps at
    # least two of them for far pairs (distance ~2.4) whose terms differ. Random near pairs
    # could leave every relu at 0 for both pairings (transport: 78 of 10,000 seeds), and 16
    # samples make an identity shuffle unlikely (1 / 16! = 5e-14).
    a = _direction(ctx, (3,), 2.5, "a")
    real, fake = _aligned_pairs(ctx, 16, a, "p", t_range=(0.05, 0.1), alternate=False)
    got = ctx.value(Linear(a).to(ctx.device), real, fake)
    want, _ = _paired_closed_form(ctx, _np(a), _np(real), _np(fake))
    if not ctx.close(got, want):
        raise ctx.fail(f"penalty={got:.6g} on index-paired near pairs", f"{want:.6g}")
    return Outcome(f"penalty {got:.6g} == {want:.6g}")


@_register(
    "quotient.distance-floor",
    "pairs with x_i == y_i give a finite value (distance clamped below at 1e-6)",
    "003 Eq. 7 (authors' code)",
    lambda s: s.family == "difference_quotient",
)
def _distance_floor(ctx: CheckContext) -> Outcome:
    real, fake = _batch(ctx, 6, (3,), "q")
    fake[:2] = real[:2]
    a = _direction(ctx, (3,), 2.5, "a")
    critic = Linear(a).to(ctx.device)
    out = ctx.call(critic, real, fake)
    got = float(out.detach().double().cpu())
    want, _ = _paired_closed_form(ctx, _np(a), _np(real), _np(fake))
    if not ctx.close(got, want):
        raise ctx.fail(f"penalty={got:.6g} with two identical pairs", f"{want:.6g}")
    if out.requires_grad:
        torch.autograd.backward(out)
        g = critic.a.grad
        if g is not None and not bool(torch.isfinite(g).all()):
            raise ctx.fail("non-finite parameter gradients with identical pairs", "finite")
    return Outcome(f"penalty {got:.6g}, finite")


# -- purity -----------------------------------------------------------------------------------

@_register(
    "purity.inputs-unchanged",
    "real and fake are not modified (values and requires_grad)",
    "SPEC §3 (a penalty is a pure function)",
    _any,
)
def _inputs_unchanged(ctx: CheckContext) -> Outcome:
    real, fake = _batch(ctx, 8, (3,), "u")
    fake = fake.requires_grad_(True) * 1.0  # non-leaf with a graph, like G(z)
    before = (real.clone(), fake.detach().clone(), real.requires_grad, fake.requires_grad)
    ctx.call(Linear(_direction(ctx, (3,), 2.5, "a")).to(ctx.device), real, fake)
    if not torch.equal(real, before[0]) or not torch.equal(fake.detach(), before[1]):
        raise ctx.fail("the inputs' values changed during the call", "unchanged",
                       "do not modify real/fake in place (requires_grad_ on a clone)")
    if (real.requires_grad, fake.requires_grad) != before[2:]:
        raise ctx.fail(
            f"requires_grad became (real={real.requires_grad}, fake={fake.requires_grad})",
            f"(real={before[2]}, fake={before[3]})", "call requires_grad_ on a detached copy",
        )
    return Outcome("inputs unchanged")


@_register(
    "purity.global-state",
    "global torch state (grad mode, default dtype, default device, deterministic "
    "algorithms and warn-only, anomaly mode, threads, cudnn flags, matmul precision) is "
    "left as found",
    "SPEC §3 (a penalty is a pure function)",
    _any,
)
def _global_state(ctx: CheckContext) -> Outcome:
    before = global_state()
    try:
        real, fake = _batch(ctx, 8, (3,), "gs")
        ctx.call(Linear(_direction(ctx, (3,), 2.5, "a")).to(ctx.device), real, fake)
        after = global_state()
    finally:
        restore_state(before)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if changed:
        desc = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise ctx.fail(f"global state changed ({desc})", "unchanged (restored by gp-spec)")
    return Outcome("global state unchanged")


@_register(
    "purity.no-gradient-to-inputs",
    "no gradient reaches the producers of real or fake (the generator), only the critic",
    "SPEC §3 (x_hat is detached)",
    _any,
)
def _no_gradient_to_inputs(ctx: CheckContext) -> Outcome:
    gen = torch.nn.Linear(3, 3).to(device=ctx.device, dtype=ctx.dtype)
    real = ctx.randn(8, 3, salt="nr").requires_grad_(True)
    fake = gen(ctx.randn(8, 3, salt="nz"))
    # Input-dependent gradient (not a linear critic, whose penalty never depends on the
    # points): a penalty built on points that keep the graph of real or fake would send
    # gradient to them through ||grad f(x_hat)|| = c |x_hat_1 - s|.
    critic = Quadratic(_C, _S, dtype=ctx.dtype, device=ctx.device)
    out = ctx.call(critic, real, fake)
    if out.requires_grad:
        torch.autograd.backward(out)
    leaks = []
    for name, t in (("generator weight", gen.weight.grad), ("generator bias", gen.bias.grad),
                    ("real", real.grad)):
        if t is not None and float(t.abs().max()) > 0:
            leaks.append(f"{name} (max |grad| {float(t.abs().max()):.3g})")
    if leaks:
        raise ctx.fail(f"gradient reached {', '.join(leaks)}", "no gradient outside the critic",
                       "detach real and fake before building the penalty points")
    return Outcome("no gradient outside the critic")


@_register(
    "purity.rng-not-reseeded",
    "fresh random draws on every call (the global RNG is not reseeded and no fixed "
    "private generator is used)",
    "SPEC §2 (random measures)",
    _random,
)
def _rng_not_reseeded(ctx: CheckContext) -> Outcome:
    values = []
    for seed in (11, 12):
        torch.manual_seed(seed)
        real, fake = _coordinate_batch(ctx, 16, "rng")
        critic = Quadratic(_C, _S, dtype=ctx.dtype, device=ctx.device)
        values.append(ctx.value(critic, real, fake))
    if values[0] == values[1]:
        raise ctx.fail(
            f"the same penalty {values[0]:.17g} under two different global seeds",
            "different values (fresh draws)",
            "do not call torch.manual_seed or use a fixed generator inside the penalty",
        )
    return Outcome(f"{values[0]:.6g} != {values[1]:.6g}")


# -- dtypes and devices -----------------------------------------------------------------------

def _dtype_check(ctx: CheckContext, dtype: torch.dtype, device: torch.device) -> Outcome:
    sub = CheckContext(ctx.impl, ctx.label, ctx.spec, ctx.weight, device, ctx.seed,
                       ctx.check_id, dtype)
    a = _direction(sub, (3,), 2.5, "a")
    real, fake = _value_batch(sub, 8, a, "dt")
    out = sub.call(Linear(a).to(device), real, fake)
    if out.dtype != dtype or out.device.type != device.type:
        raise sub.fail(f"result is {out.dtype} on {out.device}", f"{dtype} on {device}",
                       "compute in the inputs' dtype/device (or cast back)")
    got = float(out.detach().double().cpu())
    want, _ = _linear_closed_form(sub, a, real, fake)
    if not sub.close(got, want, dtype):
        raise sub.fail(f"penalty={got:.8g} in {dtype}", f"{want:.8g}")
    return Outcome(f"{dtype} on {device}: {got:.6g}")


@_register("dtype.float32", "works in float32 and returns float32", "SPEC conventions", _any)
def _float32(ctx: CheckContext) -> Outcome:
    return _dtype_check(ctx, torch.float32, ctx.device)


@_register("dtype.float64", "works in float64 and returns float64", "SPEC conventions", _any)
def _float64(ctx: CheckContext) -> Outcome:
    return _dtype_check(ctx, torch.float64, ctx.device)


@_register("device.cuda", "works on CUDA tensors (skipped without a GPU)", "SPEC conventions",
           _any)
def _cuda(ctx: CheckContext) -> Outcome:
    if not torch.cuda.is_available():
        raise CheckSkipped("CUDA is not available on this machine")
    return _dtype_check(ctx, torch.float32, torch.device("cuda"))
