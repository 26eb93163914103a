"""The differential check: the implementation against the spec's reference on random
nonlinear critics, across the probe family, with no recording of the critic's inputs.

It sees what the other checks cannot observe directly: penalties written with
``torch.func`` (whose critic inputs are not concrete), an eval-mode switch (a Dropout critic
makes the values random only in training mode), and term, norm, reduction or measure bugs that
show only at some shape, batch size or gradient magnitude.

Probes, for every event shape of the domain and a small and a large batch size:

- **exact**: a random MLP / convnet whose input-gradient norms spread from ~0 to ~50, on a
  batch that makes the measure deterministic whatever pairing the implementation uses
  (random samples for the real and fake measures and for paired penalties; every row at one
  point for interpolation, midpoint, anchor and DRAGAN). The value must equal the reference's
  under the tolerance policy, and so must the gradient w.r.t. the critic's parameters
  (relative error <= 1e-3).
- **random** (primary shape): the same net with Dropout in training mode, on a batch where
  the measure is deterministic or, for random measures, every real row at one point and
  every fake row at another (the value's law is then the same for every pairing): 32 values
  of the implementation
  against 512 of the reference by a two-sample Kolmogorov-Smirnov test (exact
  distribution-free false-positive rate for continuous laws, conservative with ties), each
  test at the suite's Bonferroni rate divided by the number of tests.

``differential.batch-statistics`` does the exact probe with BatchNorm in training mode: a
value that differs from the reference there means the critic is evaluated on another batch
composition (e.g. one pass over ``cat(real, fake)``): equal for critics without batch
statistics, so it is a warning, not a failure.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from gp_spec import measures, penalties
from gp_spec.conformance._context import (
    CheckContext,
    CheckFailed,
    CheckSkipped,
    ImplementationError,
    Outcome,
)
from gp_spec.conformance.checks._critics import RandomNet
from gp_spec.conformance.checks._inputs import batch, mass, probes, term_key
from gp_spec.conformance.checks._laws import anchor_point, law_for
from gp_spec.conformance.checks._numbers import close, digits, mean_interval, within
from gp_spec.conformance.checks._registry import register, statistical_rate
from gp_spec.conformance.checks._stats import scipy_stats
from gp_spec.specs import BoundPenalty, Spec

__all__: list[str] = []

_IMPL_DRAWS, _REF_DRAWS = 32, 512


def _applies(spec: Spec) -> bool:
    return spec.family != "max_gradient"  # its S_max state makes a fresh reference differ


def _net(ctx: CheckContext, event: tuple[int, ...], salt: str, **kw: object) -> RandomNet:
    return RandomNet(event, ctx.generator(f"net{salt}{event}"), dtype=ctx.dtype,
                     device=ctx.device, **kw)  # type: ignore[arg-type]


def _single_point(ctx: CheckContext, n: int, event: tuple[int, ...], salt: str,
                  scale: float) -> tuple[Tensor, Tensor]:
    """Every real row equal and every fake row equal to the same point ``p``: every measure
    of SPEC §2 then puts all its points at ``p``, whatever pairing the implementation uses
    (the anchor measure: fake rows at the anchor; DRAGAN: a constant tensor has std 0)."""
    meas = ctx.spec.measure
    if isinstance(meas, measures.Anchor):
        p = anchor_point(meas, event, torch.zeros(1, dtype=ctx.dtype, device=ctx.device))
    elif isinstance(meas, measures.Dragan):
        p = torch.full(event, scale, dtype=ctx.dtype, device=ctx.device)
    else:
        p = scale * ctx.randn(*event, salt=salt)
    rows = p.expand(n, *event).clone()
    return rows, rows.clone()


def _exact_batch(ctx: CheckContext, n: int, event: tuple[int, ...], salt: str,
                 scale: float = 1.0) -> tuple[Tensor, Tensor] | None:
    """A batch on which the spec's penalty is deterministic, or None if there is none:
    random pairs for paired penalties and the real or fake measure; one point for the
    measures that mix samples (interpolation, midpoint, anchor, DRAGAN)."""
    if ctx.spec.family != "gradient":
        return batch(ctx, n, event, salt)
    meas = ctx.spec.measure
    if isinstance(meas, (measures.Real, measures.Fake)):
        return batch(ctx, n, event, salt)
    if law_for(meas) is not None:
        return _single_point(ctx, n, event, salt, scale)
    return None


def _two_points(ctx: CheckContext, n: int, event: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Real rows all ``X``, fake rows all ``Y``: the law of the value is the same for every
    pairing of real and fake samples (each segment is [Y, X])."""
    x = ctx.randn(*event, salt="tpx")
    y = ctx.randn(*event, salt="tpy") + 0.5
    return x.expand(n, *event).clone(), y.expand(n, *event).clone()


def _reference(ctx: CheckContext) -> BoundPenalty:
    return ctx.spec.bind(ctx.weight)


def _params(net: nn.Module) -> list[Tensor]:
    return [p for p in net.parameters() if p.requires_grad]


def _grads(out: Tensor, net: nn.Module) -> Tensor:
    ps = _params(net)
    if not out.requires_grad:
        return torch.zeros(sum(p.numel() for p in ps), dtype=torch.float64)
    gs = torch.autograd.grad(out, ps, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1).double().cpu()
                      for p, g in zip(ps, gs, strict=True)])


def _exact(ctx: CheckContext, event: tuple[int, ...], n: int, scale: float) -> str | None:
    pair = _exact_batch(ctx, n, event, f"x{n}{event}{scale}", scale)
    if pair is None:
        return None
    real, fake = pair
    net = _net(ctx, event, f"e{n}")
    call = ctx.call(net, real, fake)
    got, g_impl = call.value, _grads(call.out, net)
    ref = _reference(ctx)
    with torch.enable_grad():
        want_t = ref(net, real, fake)
    want, g_ref = float(want_t.detach().double().cpu()), _grads(want_t, net)
    if ctx.spec.family == "gradient":
        assert ctx.spec.measure is not None
        pts = ctx.spec.measure.sample(real, fake).points
        norms = penalties.gradient_norms(net, pts).detach().double().cpu().numpy()
        lo, hi = mean_interval(term_key(ctx.spec), norms)
        scale = ctx.weight * mass(ctx.spec)
        ok = within(got, scale * lo, scale * hi, ctx.weight)
        spread = f"norms {norms.min():.3g} to {norms.max():.3g}"
    else:
        ok, spread = close(got, want, ctx.weight), "paired"
    if not ok:
        g, w = digits(got, want)
        raise ctx.fail(
            f"penalty={g} on a random nonlinear critic, {n} samples of shape {event} "
            f"({spread})", f"{w} (the reference)",
            "the term, the norm or the reduction differs at this batch size, shape or "
            "gradient magnitude", cause="differential", ratio=got / want if want else None,
        )
    err = float((g_impl - g_ref).norm())
    size = float(g_ref.norm())
    if err > 1e-3 * size + 1e-9 * max(ctx.weight, 1.0):
        raise ctx.fail(
            f"d penalty / d critic parameters differs from the reference's by {err:.3g} "
            f"(relative {err / max(size, 1e-300):.3g}) on {n} samples of shape {event}",
            "the reference's gradient (relative error <= 1e-3)",
            "build the input gradient with create_graph=True and keep the whole penalty "
            "in the graph", cause="differential",
        )
    return f"N={n} {event}"


def _reference_draws(ctx: CheckContext, net: nn.Module, real: Tensor, fake: Tensor,
                     draws: int) -> np.ndarray:
    """``draws`` independent reference values on (real, fake): one pass over ``draws``
    copies of the batch, grouped, when the measure's points are one per row (per-sample
    critics: Dropout masks and alphas are drawn per row); else ``draws`` calls."""
    spec = ctx.spec
    n = real.shape[0]
    draws = max(64, min(draws, (1 << 18) // max(real.numel(), 1)))  # bound the memory
    law = law_for(spec.measure)
    if spec.family == "gradient" and law is not None and spec.term is not None:
        rep = (draws,) + (1,) * (real.ndim - 1)
        assert spec.measure is not None
        pts = spec.measure.sample(real.repeat(rep), fake.repeat(rep)).points
        with torch.enable_grad():
            terms = spec.term(penalties.gradient_norms(net, pts))
        v = ctx.weight * spec.measure.mass * terms.detach().double().cpu().reshape(draws, n)
        return v.mean(1).numpy()
    ref = _reference(ctx)
    with torch.enable_grad():  # no per-row structure to batch: call it (fewer draws)
        return np.array([float(ref(net, real, fake).detach().double().cpu())
                         for _ in range(min(draws, 128))])


def _ks(ctx: CheckContext, what: str, net: nn.Module, real: Tensor, fake: Tensor,
        tests: int) -> tuple[float, str]:
    impl = np.array([ctx.value(net, real, fake) for _ in range(_IMPL_DRAWS)])
    ref = _reference_draws(ctx, net, real, fake, _REF_DRAWS)
    spread = float(np.ptp(ref))
    if spread <= 1e-5 * float(np.abs(ref).max()) + 1e-12:  # the reference is deterministic
        if all(close(float(v), float(ref[0]), ctx.weight) for v in impl):
            return 1.0, f"{what}: deterministic, equal"
    res = scipy_stats().ks_2samp(impl, ref)
    p = min(1.0, float(res.pvalue) * tests)
    if p < statistical_rate(ctx.spec):
        raise CheckFailed(
            f"{ctx.label}: {_IMPL_DRAWS} penalty values on {what} with mean "
            f"{impl.mean():.5g} (sd {impl.std():.3g}), but should follow the reference's law "
            f"(mean {ref.mean():.5g}, sd {ref.std():.3g} over {_REF_DRAWS} draws): KS "
            f"D={res.statistic:.3f}, p={p:.2g} < {statistical_rate(ctx.spec):.1e} "
            f"(Bonferroni over {tests} tests) [{ctx.spec.citation}]. The measure's law or "
            "the critic's mode (Dropout in training mode) differs",
            p_value=p, cause="differential",
        )
    return p, f"{what}: KS p={p:.2g}"


@register(
    "differential.values",
    "the implementation against the reference on random nonlinear critics (MLP / convnet, "
    "input-gradient norms ~0 to ~50) over the probe family: exact values and parameter "
    "gradients where the measure is deterministic whatever the pairing (random samples for "
    "real/fake measures and paired penalties, every row at one point for interpolation, "
    "midpoint, anchor, DRAGAN), a two-sample KS test of 32 vs 512 values with Dropout in "
    "training mode (on two points for random measures); sees through torch.func, eval-mode "
    "switches and bugs that show only at some shape, batch size or magnitude",
    "SPEC §3, §6 (the reference is the spec)",
    _applies, statistical=True, establishes=("term", "norm", "reduction", "parameters",
                                             "measure", "value"),
)
def _differential(ctx: CheckContext) -> Outcome:
    done: list[str] = []
    family = [(e, n) for e, n in probes(ctx, "dx") if e == ctx.event or n <= 64]
    for k, (event, n) in enumerate(family):
        note = _exact(ctx, event, n, scale=(0.5, 3.0)[k % 2])
        if note:
            done.append("exact " + note)
    event = ctx.event
    n = ctx.n(7)
    # One two-sample probe: a Dropout critic in training mode on a batch whose measure is
    # deterministic (every value of the reference is then random through the Dropout masks
    # alone), or, for random measures, on two points (each segment [Y, X] whatever the
    # pairing): the values' law mixes the masks and the measure's draws.
    pair = _exact_batch(ctx, n, event, "dd") or _two_points(ctx, n, event)
    ctx.value(_net(ctx, event, "drop-plain"), *pair)  # an error here is the implementation's
    p_min = 1.0
    warn = ""
    try:
        net = _net(ctx, event, "drop", dropout=0.3)
        p, note = _ks(ctx, "a Dropout critic in training mode", net, *pair, 1)
        p_min, done = min(p_min, p), [*done, note]
    except ImplementationError as exc:
        warn = f"it raised with a Dropout critic in training mode ({exc})"
    if not done:
        raise CheckSkipped("no probe applies")
    if warn:
        return Outcome(f"{'; '.join(done)}; but {warn}: not checked with such critics",
                       p_min, status="warn")
    return Outcome("; ".join(done), p_min)


@register(
    "differential.batch-statistics",
    "with BatchNorm in training mode the value equals the reference's (the critic is "
    "evaluated on the same batch composition); a difference (e.g. one pass over "
    "cat(real, fake)) changes training only for critics with batch statistics: a warning",
    "Gulrajani et al. 2017 §4 (no critic batch normalisation with a gradient penalty)",
    _applies,
)
def _batch_statistics(ctx: CheckContext) -> Outcome:
    n = max(ctx.n(8), 2)
    pair = _exact_batch(ctx, n, ctx.event, "bn")
    if pair is None:
        raise CheckSkipped("the measure is random on every batch: no exact comparison")
    if ctx.domain.batch_size == 1:
        raise CheckSkipped("batch statistics need a batch of at least 2")
    ctx.value(_net(ctx, ctx.event, "bn-plain"), *pair)  # an error here is the implementation's
    net = _net(ctx, ctx.event, "bn", batchnorm=True)
    try:
        got = ctx.value(net, *pair)
    except ImplementationError as exc:
        return Outcome(f"it raised with a BatchNorm critic in training mode ({exc}): not "
                       "usable with critics that have batch statistics", status="warn")
    with torch.enable_grad():
        want = float(_reference(ctx)(net, *pair).detach().double().cpu())
    if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-7 * max(ctx.weight, 1.0)):
        g, w = digits(got, want)
        return Outcome(
            f"penalty={g} with a BatchNorm critic in training mode, but the reference gives "
            f"{w}: the critic is evaluated on another batch composition (e.g. one pass over "
            "cat(real, fake)); equal for critics without batch statistics, which a gradient "
            "penalty assumes", status="warn")
    return Outcome("equal to the reference with BatchNorm in training mode")


def _penalty_points(ctx: CheckContext, z: Tensor, real: Tensor, fake: Tensor) -> Tensor:
    """The recorded rows that are the measure's points (distinct rows only): the real rows
    for the real measure, the fake rows for the fake measure, and otherwise every row that is
    neither a real nor a fake sample (a pass over ``cat(real, fake, x_hat)`` is allowed)."""
    x = {tuple(r) for r in real.double().cpu().flatten(1).tolist()}
    y = {tuple(r) for r in fake.double().cpu().flatten(1).tolist()}
    meas = ctx.spec.measure
    keep: dict[tuple[float, ...], None] = {}
    for row in z.tolist():
        t = tuple(row)
        if isinstance(meas, measures.Real):
            ok = t in x
        elif isinstance(meas, measures.Fake):
            ok = t in y
        else:
            ok = t not in x and t not in y
        if ok:
            keep[t] = None
    return torch.tensor(list(keep), dtype=torch.float64).reshape(-1, z.shape[1])


LARGE_PRIME_N = 1031
"""A batch size above every size public code special-cases (64, 256, 512, 1024) and prime, so
no chunk size below it divides it: a mean of per-chunk means then differs from the mean."""


@register(
    "differential.recorded-points",
    "the value equals weight x mean of the term over exactly the points where the critic "
    "was evaluated (a random nonlinear critic, norms ~0 to ~50, any measure and pairing): "
    "catches a mean over part of the batch, bugs at odd or large batch sizes (every shape "
    "also at the prime N = 1031: a mean of per-chunk means), a clamped "
    "norm, a norm over part of the event at some shape (skipped when the critic's inputs "
    "are not observable: the exact probes of differential.values then cover it)",
    "SPEC §3 (weight * E_mu[term(||grad f||)])",
    lambda s: s.family == "gradient" and law_for(s.measure) is not None,
    establishes=("term", "norm", "reduction"), observes="direct",
)
def _recorded_points(ctx: CheckContext) -> Outcome:
    key = term_key(ctx.spec)
    scale = ctx.weight * mass(ctx.spec)
    done = []
    family = [(e, m) for e, m in probes(ctx, "rp") if e == ctx.event or m <= 64]
    if ctx.domain.batch_size is None:  # and a large prime N at every shape: code that chunks
        family += [(e, LARGE_PRIME_N) for e in ctx.shapes]  # the batch
    for event, n in family:
        real, fake = batch(ctx, n, event, f"rp{n}{event}")
        net = _net(ctx, event, f"rp{n}")
        call = ctx.call(net, real, fake)
        z = call.view.points()
        if z is None:
            raise CheckSkipped("the critic's inputs are not observable (torch.func): "
                               "differential.values checks the same through values")
        pts = _penalty_points(ctx, z, real, fake)
        if len(pts) == 0:
            raise ctx.fail(f"the critic saw no point of the measure among {len(z)} inputs",
                           "the measure's points", cause="measure")
        points = pts.to(ctx.dtype).to(ctx.device).reshape(len(pts), *event)
        norms = penalties.gradient_norms(net, points).detach().double().cpu().numpy()
        lo, hi = mean_interval(key, norms)
        if not within(call.value, scale * lo, scale * hi, ctx.weight):
            want = scale * 0.5 * (lo + hi)
            g, w = digits(call.value, want)
            raise ctx.fail(
                f"penalty={g} on {n} samples of shape {event} (norms {norms.min():.3g} to "
                f"{norms.max():.3g} at the {len(pts)} points the critic saw)",
                f"{w} = weight x mean of the term over those points",
                "a mean over part of the batch, a clamped norm, or a norm over part of the "
                "event at this shape?", cause="differential",
                ratio=call.value / want if want else None,
            )
        done.append(f"N={n} {event} ({len(pts)} points)")
    return Outcome("exact at the recorded points: " + ", ".join(done))
