"""Measure checks: where the penalty is evaluated (SPEC §2), observed directly (the points the
critic saw) and through values (a critic whose gradient norm reveals the measure's law, which
also works when the critic's inputs are not observable, e.g. under ``torch.func``)."""
# Over 500 lines: the measure clause of every measure family (interpolation, anchor,
# deterministic, DRAGAN) with its closed forms, which share the probe batches and the tests.

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from gp_spec import measures
from gp_spec.conformance._context import (
    CheckContext,
    CheckFailed,
    CheckSkipped,
    ImplementationError,
    Outcome,
)
from gp_spec.conformance.checks._critics import Linear, Projected, SumSquare, flat_dot
from gp_spec.conformance.checks._inputs import (
    batch,
    coordinate_batch,
    direction,
    mass,
    projection_batch,
    spread_unit,
    term_key,
)
from gp_spec.conformance.checks._laws import (
    Law,
    anchor_point,
    law_for,
    nearest_rows,
)
from gp_spec.conformance.checks._numbers import TERMS, digits, mean_interval, within
from gp_spec.conformance.checks._registry import register, statistical_rate
from gp_spec.conformance.checks._stats import bernstein_p, hoeffding_p, scipy_stats
from gp_spec.specs import Spec

__all__: list[str] = []


def _with_law(spec: Spec) -> bool:
    return spec.family == "gradient"


def _law_or_skip(ctx: CheckContext) -> Law:
    law = law_for(ctx.spec.measure)
    if law is None:
        name = getattr(ctx.spec.measure, "name", type(ctx.spec.measure).__name__)
        raise CheckSkipped(f"the checker has no law for the measure {name!r}: not judged "
                           "against another measure's law (the differential check compares "
                           "it with the reference)")
    return law


def _interpolating(spec: Spec) -> bool:
    return spec.family == "gradient" and isinstance(
        spec.measure, (measures.Interpolate, measures.Anchor))


def _random(spec: Spec) -> bool:
    return spec.family == "gradient" and isinstance(
        spec.measure, (measures.Interpolate, measures.Anchor, measures.Dragan))


def _opaque() -> CheckSkipped:
    return CheckSkipped(
        "the critic's inputs are not observable (torch.func transform); the measure is "
        "checked through values by measure.value-distribution and differential.values"
    )


# -- observed directly -------------------------------------------------------------------------

@register(
    "measure.support",
    "every point where the critic is evaluated lies where the spec's measure puts it "
    "(segments between real and fake, any pairing; the real points for R1; ...) or is a real "
    "or fake sample (a critic pass over cat(real, fake) is allowed); in every event shape of "
    "the domain; and the points are built from at least half of the batch's real and fake "
    "samples (any pairing uses each once); catches alpha per element or per pixel, wrong "
    "samples, wrong anchor, a batch paired with one broadcast sample (fake[-1])",
    "SPEC §2; 000 Table 1; 003 Eq. 6",
    _with_law, establishes=("measure",), observes="direct",
)
def _measure_support(ctx: CheckContext) -> Outcome:
    law = _law_or_skip(ctx)
    meas = ctx.spec.measure
    assert meas is not None
    seen = 0
    for event in ctx.shapes:
        n = ctx.n(16)
        real, fake = batch(ctx, n, event, f"s{event}")
        call = ctx.call(Linear(direction(ctx, event, 1.5, f"a{event}")).to(ctx.device),
                        real, fake)
        z = call.view.points()
        if z is None:
            raise _opaque()
        x, y = real.double().cpu().flatten(1), fake.double().cpu().flatten(1)
        dist, where = law.support(meas, z, x, y)
        dist = torch.minimum(dist, nearest_rows(z, torch.cat([x, y])))
        tol = 1e-6 * (1 + float(z.abs().max()))
        bad = int((dist > tol).sum())
        if bad:
            k = int(dist.argmax())
            raise ctx.fail(
                f"{bad} of {len(z)} evaluation points are off the support on inputs of shape "
                f"{event} (worst: point {k}, distance {float(dist[k]):.3g})",
                f"each point {where}",
                "interpolation weights must be one per sample, shared by every event dim "
                "(shape (N, 1, ..., 1))" if law.interpolates else "evaluate the penalty on "
                "the measure's samples", cause="measure",
            )
        if len(z) < n:
            raise ctx.fail(f"the critic saw {len(z)} points", f"at least N = {n} penalty points")
        _check_coverage(ctx, law, z, x, y, event)
        seen += len(z)
    return Outcome(f"{seen} points, all on the support, built from most of the batch")


def _check_coverage(ctx: CheckContext, law: Law, z: Tensor, x: Tensor, y: Tensor,
                    event: tuple[int, ...]) -> None:
    """At least half of the batch's real and fake samples build the penalty points (any
    permutation pairing uses each once; drawn with replacement, ~10 of 16); points that are
    samples themselves (a critic pass over ``cat(real, fake)``) are left out."""
    n = len(x)
    if n < 4:
        return
    if law.samples is None:
        return
    inner = z
    if not law.at_samples:
        inner = z[nearest_rows(z, torch.cat([x, y])) > 1e-6 * (1 + float(z.abs().max()))]
    if len(inner) < n // 2:
        return  # too few to tell (len(z) >= n was checked)
    meas = ctx.spec.measure
    assert meas is not None
    for side, idx in law.samples(meas, inner, x, y).items():
        used = len(set(idx.tolist()))
        if used < (n + 1) // 2:
            raise ctx.fail(
                f"the {len(inner)} penalty points on inputs of shape {event} are built from "
                f"only {used} of the {n} {side} samples",
                f"built from the whole batch (each {side} sample once, in any pairing)",
                f"pair real[i] with fake[i] (or a permutation); broadcasting one sample "
                f"(e.g. {side}[-1] or {side}[:1]) against the batch is another measure",
                cause="measure",
            )


def _alphas(ctx: CheckContext, n: int, calls: int, event: tuple[int, ...] | None = None
            ) -> Tensor:
    """Interpolation weights read off recorded points (coordinate batch of ``event``, by
    default the primary shape), per call."""
    meas = ctx.spec.measure
    event = ctx.event if event is None else event
    scale = 1.0
    if isinstance(meas, measures.Anchor):
        scale = float(anchor_point(meas, event, torch.zeros(1, dtype=torch.float64)
                                   ).flatten()[0])
    out = []
    for k in range(calls):
        real, fake = coordinate_batch(ctx, n, event, f"alpha{k}{event}")
        call = ctx.call(Linear(direction(ctx, event, 1.5, f"a{event}")).to(ctx.device), real,
                        fake)
        z = call.view.points()
        if z is None:
            raise _opaque()
        endpoint = _endpoints(z)
        out.append(z[~endpoint, 0] / scale)  # endpoints are not penalty points (alpha 0 or 1)
    return torch.cat(out)


def _endpoints(z: Tensor, tol: float = 1e-9) -> Tensor:
    """Rows of ``z`` that are real or fake samples of a coordinate batch: first coordinate
    within ``tol`` of 1 or 0 (an interior point has alpha in (0, 1); one within 1e-9 of an
    end is dropped with it, which changes nothing measurable)."""
    z0 = z[:, 0]
    return (z0.abs() < tol) | ((z0 - 1).abs() < tol)


@register(
    "measure.alpha-per-sample",
    "one interpolation weight per sample, not one per batch or per pair of samples (fails "
    "when at most half of 32 weights are distinct: chance ties, e.g. of float32 draws, are "
    "allowed)",
    "003 Eq. 6; SPEC §2 (mu_GP)",
    _interpolating, establishes=("measure",), observes="direct",
)
def _alpha_per_sample(ctx: CheckContext) -> Outcome:
    # Chance ties are not a bug: alphas drawn as float32 take 2^24 values, so two of 32 agree
    # with probability 496 / 2^24 = 3e-5; at most n/2 distinct needs >= n/2 draws each equal
    # to an earlier one: P <= C(32, 16) (31 / 2^24)^16 < 1e-82.
    seen = []
    for event in ctx.shapes:
        alphas = _alphas(ctx, ctx.n(32), 1, event)
        distinct = int(torch.unique(torch.round(alphas * 1e9)).numel())
        if len(alphas) >= 2 and 2 * distinct <= len(alphas):
            raise ctx.fail(
                f"{distinct} distinct interpolation weights among {len(alphas)} points of "
                f"shape {event}", f"{len(alphas)} (one alpha ~ U(0,1) per sample)",
                "draw alpha with shape (N, 1, ..., 1), not (1,) or one per group of samples",
                cause="measure",
            )
        seen.append(f"{distinct} of {len(alphas)} at {event}")
    return Outcome("distinct weights: " + ", ".join(seen))


@register(
    "measure.alpha-uniform",
    "interpolation weights follow U(0, 1) (Kolmogorov-Smirnov on 4096 weights read off the "
    "recorded points, Bonferroni-adjusted rate)",
    "003 Eq. 6; 004 Eq. 6",
    _interpolating, statistical=True, establishes=("measure",), observes="direct",
)
def _alpha_uniform(ctx: CheckContext) -> Outcome:
    n = ctx.n(1024)
    calls = max(1, math.ceil(4096 / n))
    alphas = _alphas(ctx, n, calls).numpy()
    if len(alphas) < min(n, 1024):
        raise ctx.fail(f"{len(alphas)} interior points in {calls} calls of N = {n}",
                       f">= {min(n, 1024)}", cause="measure")
    res = scipy_stats().kstest(alphas, "uniform")
    rate = statistical_rate(ctx.spec)
    p = float(res.pvalue)
    if p < rate:
        raise CheckFailed(
            f"{ctx.label}: {len(alphas)} interpolation weights with KS D={res.statistic:.4f} "
            f"(min {alphas.min():.3g}, max {alphas.max():.3g}, mean {alphas.mean():.3g}), "
            f"p={p:.3g}, but should be U(0, 1) (reject at p < {rate:.1e}) "
            f"[{ctx.spec.citation}]", p_value=p, cause="measure",
        )
    return Outcome(f"KS D={res.statistic:.4f}, p={p:.3g} >= {rate:.1e}", p_value=p)


# -- through values ----------------------------------------------------------------------------

def _mean_term_test(ctx: CheckContext, total: float, calls: int, n: int, expected: float,
                    tests: int = 1) -> tuple[float, int, float, float]:
    """The mean term over ``calls`` batches of ``n`` points (``total``: the sum of the
    batches' means, each term in [0, 1]) and its Hoeffding p-value against ``expected``:
    ``(mean, points, p, rate)`` with the spec's per-check rate split over the check's
    ``tests`` (Bonferroni); the check fails when ``p < rate``."""
    got, pts = total / calls, n * calls
    return got, pts, hoeffding_p(got, expected, pts), statistical_rate(ctx.spec) / tests


# The interpolation law through values: with a projection batch (<u, x_i> = 1, <u, y_i> = 0)
# and f(x) = c/2 (<u, x> - s)^2 the norm at x_hat = y + alpha (x - y) is c |alpha p - s| for
# p = <u, x> (1; the anchor's <u, A>). Choosing c = 1/p and s = -p/2 (two-/one-sided) or
# s = p/2 (zero-centred) makes the per-point term g(alpha) = (alpha - 1/2)^2 (one-sided:
# relu(alpha - 1/2)^2), whose mean over U(0, 1) is 1/12 (1/24) with variance 1/180
# (1/160 - 1/576) and |g - E g| <= 1/6 (5/24). An alpha per element makes <u, x_hat - y>
# the mean of D weights (variance 1/(12 D)); Beta(2, 2), U(0.1, 0.9) and clipped normals
# have variance 0.05-0.053: every one moves the mean of g by >= 0.03, far outside the
# Bernstein band of 4096 weights (about 0.007 at 1e-7).
_G = {
    "two_sided": (1 / 12, 1 / 180, 1 / 6, -0.5),
    "one_sided": (1 / 24, 1 / 160 - 1 / 576, 5 / 24, -0.5),
    "zero_centred": (1 / 12, 1 / 180, 1 / 6, 0.5),
}


def _det_value(ctx: CheckContext, const: float, salt: str) -> Outcome:
    """A deterministic measure: every point has <u, x_hat> = const; f = 3/2 (<u, x> - 0.1)^2
    has norm 3 |const - 0.1| there (real 2.7, fake 0.3, midpoint 1.2: every term tells them
    apart)."""
    key = term_key(ctx.spec)
    norm = 3.0 * abs(const - 0.1)
    for event in ctx.shapes:
        u = spread_unit(ctx, event, f"u{event}")
        n = ctx.n(ctx.pick((7, 65), f"{salt}{event}"))
        real, fake = projection_batch(ctx, n, event, u, f"{salt}{event}")
        got = ctx.value(Projected(u, 3.0, 0.1).to(ctx.device), real, fake)
        lo, hi = mean_interval(key, [norm])
        scale = ctx.weight * mass(ctx.spec)
        if not within(got, scale * lo, scale * hi, ctx.weight):
            g, w = digits(got, scale * TERMS[key](norm))
            raise ctx.fail(
                f"penalty={g} when every point of the measure has <u, x> = {const:g} "
                f"(inputs of shape {event})", w,
                "the penalty is evaluated on the wrong samples (real vs fake vs midpoint)",
                cause="measure",
            )
    return Outcome(f"exact on the measure's points ({norm:g} = ||grad f|| there)")


def _at_every_shape(ctx: CheckContext,
                    law: Callable[[CheckContext, tuple[int, ...], int], Outcome]) -> Outcome:
    """``law(ctx, event, tests)`` at every shape of the probe family, each at the check's
    rate split over the shapes (``tests``, Bonferroni); the smallest p-value is reported."""
    outs = [law(ctx, event, len(ctx.shapes)) for event in ctx.shapes]
    return Outcome("; ".join(o.message for o in outs), min(o.p_value or 1.0 for o in outs))


def _interpolation_at(ctx: CheckContext, event: tuple[int, ...], tests: int) -> Outcome:
    meas = ctx.spec.measure
    key = term_key(ctx.spec)
    mean_g, var_g, bound_g, s_sign = _G[key]
    if isinstance(meas, measures.Anchor):
        a = anchor_point(meas, event, torch.zeros(1, dtype=torch.float64)).to(ctx.dtype)
        u = spread_unit(ctx, event, "u", signs=a.flatten())
        p = float((u.cpu().double() * a.double()).sum())
    else:
        u = spread_unit(ctx, event, f"u{event}")
        p = 1.0
    if abs(p) < 1e-6:
        raise CheckSkipped("the anchor is orthogonal to every spread direction")
    n = ctx.n(1024)
    calls = max(1, math.ceil(4096 / n))
    scale = ctx.weight * mass(ctx.spec)
    total = 0.0
    for k in range(calls):
        real, fake = projection_batch(ctx, n, event, u, f"vd{k}{event}")
        total += ctx.value(Projected(u, 1.0 / p, s_sign * p).to(ctx.device), real, fake) / scale
    got = total / calls
    pts = n * calls
    pval = bernstein_p(got, mean_g, pts, var_g, bound_g)
    rate = statistical_rate(ctx.spec) / tests
    if pval < rate:
        raise CheckFailed(
            f"{ctx.label}: mean term {got:.5g} over {pts} points of shape {event} under "
            f"f(x) = c/2 "
            f"(<u, x> - s)^2 with per-point term (alpha - 1/2)^2, but should be "
            f"{mean_g:.5g} (alpha ~ U(0, 1) per sample) +- Bernstein (p={pval:.2g} < "
            f"{rate:.1e}); an alpha per element or per pixel, or not U(0, 1)? "
            f"[{ctx.spec.citation}]", p_value=pval, cause="measure",
        )
    return Outcome(f"{event}: mean term {got:.5g} vs {mean_g:.5g}, p={pval:.3g}", pval)


def _dragan_law_at(ctx: CheckContext, event: tuple[int, ...], tests: int) -> Outcome:
    """DRAGAN's law through values: one alpha per sample, u ~ U(0,1)^D per element.

    Every real row equals r, so std(x) = std(r) and x_hat - r = alpha c std(r) U. Under
    ``SumSquare`` with ``k0 = k / (sqrt(D) c std(r))`` the norm is ``k alpha T``, ``T = sum_e
    U_e`` (Irwin-Hall): ``E[T] = D/2``, ``E[T^2] = D/12 + D^2/4``, ``E[alpha] = 1/2``,
    ``E[alpha^2] = 1/3``. With k = 2/D the norm lies in [0, 2] and the two-sided term in
    [0, 1] (Hoeffding). An alpha per element has the same marginals but ``E[norm^2] =
    7/(36 D) + 1/4`` instead of ``1/(9 D) + 1/3``; centred noise (u - 1/2) gives E[term] ~ 1.
    The fake batch has a different std, so std(fake) in place of std(real) shows too.
    """
    meas = ctx.spec.measure
    assert isinstance(meas, measures.Dragan)
    d = math.prod(event)
    if term_key(ctx.spec) != "two_sided":
        raise CheckSkipped(f"no closed form for the {term_key(ctx.spec)} term on DRAGAN")
    k = 2.0 / d
    m1 = k * 0.5 * d / 2
    m2 = k**2 * (1 / 3) * (d / 12 + d**2 / 4)
    expected = m2 - 2 * m1 + 1
    n = ctx.n(1024)
    calls = max(1, math.ceil(8192 / n))
    scale = ctx.weight * mass(ctx.spec)
    total = 0.0
    for c in range(calls):
        r = ctx.randn(*event, salt=f"dr{c}{event}")
        real = r.expand(n, *event).clone()
        std = float(real.std(unbiased=False))
        critic = SumSquare(k / (math.sqrt(d) * meas.c * std), r).to(ctx.device)
        total += ctx.value(critic, real, 3.0 * real + 1.0) / scale
    got, pts, pval, rate = _mean_term_test(ctx, total, calls, n, expected, tests)
    if pval < rate:
        raise CheckFailed(
            f"{ctx.label}: mean term {got:.5g} over {pts} points of shape {event} under "
            f"f(x) = k0/2 "
            f"(sum_e (x_e - r_e))^2 (norm = {k:g} alpha sum_e u_e), but should be "
            f"{expected:.5g} +- Hoeffding (p={pval:.2g} < {rate:.1e}); one alpha per sample "
            f"times u ~ U(0,1) per element, scaled by c std(real)? [{ctx.spec.citation}]",
            p_value=pval, cause="measure",
        )
    return Outcome(f"{event}: mean term {got:.5g} vs {expected:.5g}, p={pval:.3g}", pval)


@register(
    "measure.value-distribution",
    "the penalty under a critic whose gradient norm reveals the measure has the law the "
    "measure implies: exact for deterministic measures (real, fake, midpoint), a Bernstein "
    "bound on 4096 points for interpolation (an alpha per element or per pixel, Beta(2, 2) "
    "or U(0.1, 0.9) show), Hoeffding for DRAGAN; works when the critic's inputs are not "
    "observable (torch.func)",
    "SPEC §2; 000 Table 1; Kodali et al. 2017",
    _with_law, statistical=True, establishes=("measure",),
)
def _value_distribution(ctx: CheckContext) -> Outcome:
    if ctx.weight == 0:
        raise CheckSkipped("weight 0: the value carries no information about the measure")
    _law_or_skip(ctx)
    meas = ctx.spec.measure
    if isinstance(meas, measures.Dragan):
        return _at_every_shape(ctx, _dragan_law_at)
    if isinstance(meas, (measures.Interpolate, measures.Anchor)):
        return _at_every_shape(ctx, _interpolation_at)
    const = {measures.Real: 1.0, measures.Fake: 0.0, measures.Midpoint: 0.5}[type(meas)]
    return _det_value(ctx, const, "det")


# -- DRAGAN's perturbation scale -----------------------------------------------------------------

@register(
    "measure.dragan-scale",
    "DRAGAN perturbs by c std(x) u with std the population std of the whole real batch "
    "(not per sample, not of the fake batch, not unbiased) and c = 0.5: rows with their own "
    "offsets (per-sample std 4x smaller than the batch's), a fake batch 10x wider, a "
    "zero-sum direction blind to the offsets; and one sample of one element (population std "
    "0, unbiased std NaN)",
    "Kodali et al. 2017 (reference code X.std()); SPEC §2",
    lambda s: s.family == "gradient" and isinstance(s.measure, measures.Dragan),
    statistical=True, establishes=("measure",),
)
def _dragan_scale(ctx: CheckContext) -> Outcome:
    meas = ctx.spec.measure
    assert isinstance(meas, measures.Dragan)
    if term_key(ctx.spec) != "two_sided" or ctx.weight == 0:
        raise CheckSkipped("the scale is read off the two-sided term at a nonzero weight")
    event = ctx.event
    wide = [e for e in ctx.shapes if math.prod(e) >= 2]
    notes = [_dragan_offsets(ctx, meas, e, len(wide)) for e in wide]
    if ctx.domain.batch_size in (None, 1) and len(event) == 1 and (1,) in _runs_on(ctx):
        notes.append(_dragan_single(ctx))
    if not notes:
        raise CheckSkipped("the domain has a single event element and a fixed batch size")
    p_values = [p for _, p in notes if p is not None]
    return Outcome("; ".join(t for t, _ in notes), min(p_values) if p_values else None)


def _runs_on(ctx: CheckContext) -> tuple[tuple[int, ...], ...]:
    return (*ctx.domain.shapes, (1,)) if ctx.domain.kind == "vectors" else ctx.domain.shapes


def _dragan_offsets(ctx: CheckContext, meas: measures.Dragan, event: tuple[int, ...],
                    tests: int = 1) -> tuple[str, float | None]:
    """Rows ``x_i = r + m_i`` (offsets m_i ~ U(-2, 2) broadcast over the event): the batch's
    population std S is about 4x each row's. ``w`` has +-1/sqrt(2) at the first two event
    coordinates (zero sum: the offsets vanish in <w, x - r>); under
    ``f(x) = kappa/2 <w, x - r>^2`` with ``kappa = nu / (c S)`` the norm at a DRAGAN point is
    ``nu alpha |U_1 - U_2| / sqrt(2)``: ``E[norm] = nu / (6 sqrt 2)``, ``E[norm^2] = nu^2 /
    36``. With nu = 2 the two-sided term lies in [0, 1] with mean ``1/9 - 2/(3 sqrt 2) + 1``;
    a per-sample std (S/4) or the fake batch's std (10x) move it by > 0.2."""
    n = ctx.n(512)
    calls = max(1, math.ceil(4096 / n))
    nu = 2.0
    m1, m2 = nu / (6 * math.sqrt(2)), nu**2 / 36
    expected = m2 - 2 * m1 + 1
    w = torch.zeros(event, dtype=ctx.dtype, device=ctx.device).flatten()
    w[0], w[1] = 2**-0.5, -(2**-0.5)
    w = w.reshape(event)
    total = 0.0
    scale = ctx.weight * mass(ctx.spec)
    for c in range(calls):
        r = 0.3 * ctx.randn(*event, salt=f"do{c}r{event}")
        offsets = 4.0 * ctx.rand(n, salt=f"do{c}m{event}").to(ctx.dtype).to(ctx.device) - 2.0
        real = r[None] + offsets.reshape((n,) + (1,) * len(event))
        fake = 10.0 * ctx.randn(n, *event, salt=f"do{c}f{event}")
        big_s = float(real.std(unbiased=False))
        kappa = nu / (meas.c * big_s)
        critic = _Centred(w, r, kappa).to(ctx.device)
        total += ctx.value(critic, real, fake) / scale
    got, pts, pval, rate = _mean_term_test(ctx, total, calls, n, expected, tests)
    if pval < rate:
        raise CheckFailed(
            f"{ctx.label}: mean term {got:.5g} over {pts} points of shape {event}, rows with "
            f"their own offsets (batch std {big_s:.3g}, per-row std "
            f"{float(r.std(unbiased=False)):.3g}, "
            f"fake std ~10), but should be {expected:.5g} +- Hoeffding (p={pval:.2g} < "
            f"{rate:.1e}): perturb by c = {meas.c:g} times the population std of the whole "
            f"real batch (NumPy's X.std()), not per sample nor of the fake batch "
            f"[{ctx.spec.citation}]", p_value=pval, cause="measure",
        )
    return f"batch-std scale: mean term {got:.4g} vs {expected:.4g} (p={pval:.2g})", pval


def _dragan_single(ctx: CheckContext) -> tuple[str, float | None]:
    """One sample of one element: the population std is 0, so x_hat = x and the value is
    weight x term(||grad f(x)||) exactly; ``x.std()`` (unbiased) is NaN there."""
    event = (1,)
    real = ctx.randn(1, 1, salt="d1r")
    fake = ctx.randn(1, 1, salt="d1f")
    u = torch.ones(event, dtype=ctx.dtype, device=ctx.device)
    critic = Projected(u, 2.0, -0.5).to(ctx.device)
    try:
        got = ctx.value(critic, real, fake)
    except ImplementationError:
        return "one-element events are outside the implementation's domain (it raised)", None
    except CheckFailed as exc:
        if "penalty=nan" in str(exc):
            raise ctx.fail(
                "penalty=nan for one sample of one element",
                "finite: the population std of one element is 0, so x_hat = x",
                "use the population std x.std(unbiased=False) (NumPy's X.std()); "
                "torch's x.std() is unbiased", cause="measure",
            ) from None
        raise
    norm = 2.0 * abs(float(flat_dot(real, u)) + 0.5)
    lo, hi = mean_interval("two_sided", [norm])
    scale = ctx.weight * mass(ctx.spec)
    if not within(got, scale * lo, scale * hi, ctx.weight):
        g, w = digits(got, scale * TERMS["two_sided"](norm))
        raise ctx.fail("penalty=" + g + " for one sample of one element",
                       f"{w} (std 0: x_hat = x)", cause="measure")
    return "one element: std 0 gives x_hat = x exactly", None


class _Centred(torch.nn.Module):
    """``f(x) = kappa/2 <w, x - r>^2``."""

    def __init__(self, w: Tensor, r: Tensor, kappa: float) -> None:
        super().__init__()
        self.w, self.r = w, r
        self.kappa = torch.nn.Parameter(torch.tensor(kappa, dtype=w.dtype, device=w.device))

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * self.kappa * flat_dot(x - self.r, self.w).square()
