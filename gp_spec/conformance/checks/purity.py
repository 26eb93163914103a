"""Purity checks: a penalty is a pure function of the critic (SPEC §3, §6).

``real`` is data: in a training loop it has no producer, so gradient reaching it, or an R1
that sets ``requires_grad`` on it, changes nothing training computes: a warning. Gradient
reaching a producer's parameters (the generator, through ``fake``), modified inputs, changed
global state or a reseeded RNG change what training computes: failures.
"""

from __future__ import annotations

import torch

from gp_spec import measures
from gp_spec.conformance._context import CheckContext, Outcome
from gp_spec.conformance._sandbox import global_state, restore_state
from gp_spec.conformance.checks._critics import Linear, Projected
from gp_spec.conformance.checks._inputs import batch, coordinate_batch, direction, spread_unit
from gp_spec.conformance.checks._registry import register
from gp_spec.specs import Spec

__all__: list[str] = []


def _any(spec: Spec) -> bool:
    return True


def _random(spec: Spec) -> bool:
    return spec.family == "gradient" and isinstance(
        spec.measure, (measures.Interpolate, measures.Anchor, measures.Dragan))


def _generated(ctx: CheckContext, n: int, event: tuple[int, ...], salt: str
               ) -> tuple[torch.nn.Linear, torch.Tensor]:
    """``fake = G(z)`` from a small linear generator, a non-leaf with a graph like G(z)."""
    d = 1
    for s in event:
        d *= s
    gen = torch.nn.Linear(d, d).to(device=ctx.device, dtype=ctx.dtype)
    z = ctx.randn(n, d, salt=salt)
    return gen, gen(z).reshape((n, *event))


@register(
    "purity.inputs-unchanged",
    "real and fake keep their values; requires_grad set on the real data batch is a warning "
    "(SPEC §6: real is data), on anything else a failure",
    "SPEC §3, §6 (a penalty is a pure function; real is data)",
    _any, establishes=("purity",), observes="direct",
)
def _inputs_unchanged(ctx: CheckContext) -> Outcome:
    n = ctx.n(8)
    real, _ = batch(ctx, n, ctx.event, "u")
    _, fake = _generated(ctx, n, ctx.event, "uz")
    before = (real.clone(), fake.detach().clone())
    ctx.call(Linear(direction(ctx, ctx.event, 2.5, "a")).to(ctx.device), real, fake)
    if not torch.equal(real, before[0]) or not torch.equal(fake.detach(), before[1]):
        which = "real" if not torch.equal(real, before[0]) else "fake"
        raise ctx.fail(f"the values of {which} changed during the call", "unchanged",
                       "do not modify real/fake in place (work on a detached copy)",
                       cause="purity")
    if real.requires_grad:
        return Outcome(
            "the call set requires_grad on the real data batch: harmless for data, which "
            "has no producer (SPEC §6), but set it on real.detach() instead", status="warn")
    return Outcome("inputs unchanged")


@register(
    "purity.critic-state-kept",
    "the critic's accumulated parameter gradients (.grad), frozen parameters and mode stay as "
    "the caller left them: a critic handed over in eval mode, with a frozen bias and "
    "gradients already accumulated (a loop that back-propagated the Wasserstein loss first), "
    "keeps all three; catches critic.zero_grad(), critic.train(), requires_grad_(True) on "
    "the critic, and a backward() inside the penalty",
    "SPEC §3, §6 (state that outlives the call)",
    _any, establishes=("purity",), observes="direct",
)
def _critic_state_kept(ctx: CheckContext) -> Outcome:
    n = ctx.n(8)
    real, fake = batch(ctx, n, ctx.event, "k")
    critic = Linear(direction(ctx, ctx.event, 2.5, "a")).to(ctx.device).eval()
    critic.b.requires_grad_(False)
    critic.a.grad = ctx.randn(*critic.a.shape, salt="kgrad")
    ctx.call(critic, real, fake)  # every call compares the critic's state before and after
    return Outcome("eval mode, frozen bias and accumulated .grad kept")


@register(
    "purity.global-state",
    "global torch state (grad mode, default dtype, default device, deterministic "
    "algorithms and warn-only, anomaly mode, threads, cudnn flags, matmul precision) is "
    "left as found",
    "SPEC §3 (a penalty is a pure function)",
    _any, establishes=("purity",), observes="direct",
)
def _global_state(ctx: CheckContext) -> Outcome:
    before = global_state()
    try:
        real, fake = batch(ctx, ctx.n(8), ctx.event, "gs")
        ctx.call(Linear(direction(ctx, ctx.event, 2.5, "a")).to(ctx.device), real, fake)
        after = global_state()
    finally:
        restore_state(before)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if changed:
        desc = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise ctx.fail(f"global state changed ({desc})", "unchanged (restored by gp-spec)",
                       cause="purity")
    return Outcome("global state unchanged")


@register(
    "purity.no-gradient-to-inputs",
    "no gradient reaches the producer of fake (the generator's parameters): a failure; "
    "gradient reaching the real data batch (an R1 that sets requires_grad on it) is a "
    "warning",
    "SPEC §3, §6 (x_hat is detached; real is data)",
    _any, establishes=("purity",), observes="direct",
)
def _no_gradient_to_inputs(ctx: CheckContext) -> Outcome:
    n = ctx.n(8)
    real = ctx.randn(n, *ctx.event, salt="nr")
    gen, fake = _generated(ctx, n, ctx.event, "nz")
    # An input-dependent gradient (not a linear critic, whose penalty never depends on the
    # points): a penalty built on points that keep the graph of fake would send gradient to
    # the generator through ||grad f(x_hat)|| = c |<u, x_hat> - s|.
    u = spread_unit(ctx, ctx.event, "u")
    out = ctx.call(Projected(u, 3.0, 0.1).to(ctx.device), real, fake).out
    if out.requires_grad:
        torch.autograd.backward(out)
    leaks = [f"{name} (max |grad| {float(t.abs().max()):.3g})"
             for name, t in (("generator weight", gen.weight.grad),
                             ("generator bias", gen.bias.grad))
             if t is not None and float(t.abs().max()) > 0]
    if leaks:
        raise ctx.fail(f"gradient reached {', '.join(leaks)}", "no gradient outside the critic",
                       "detach fake before building the penalty points", cause="purity")
    if real.grad is not None and float(real.grad.abs().max()) > 0:
        return Outcome(
            "gradient reached the real data batch (requires_grad set on it): harmless for "
            "data (SPEC §6); use real.detach().requires_grad_() to keep it clean",
            status="warn")
    return Outcome("no gradient outside the critic")


@register(
    "purity.rng-not-reseeded",
    "fresh random draws on every call (the global RNG is not reseeded and no fixed "
    "private generator is used)",
    "SPEC §2 (random measures)",
    _random, establishes=("purity",),
)
def _rng_not_reseeded(ctx: CheckContext) -> Outcome:
    values = []
    u = spread_unit(ctx, ctx.event, "u")
    for seed in (11, 12):
        torch.manual_seed(seed)
        real, fake = coordinate_batch(ctx, ctx.n(16), ctx.event, "rng")
        values.append(ctx.value(Projected(u, 3.0, 0.1).to(ctx.device), real, fake))
    if values[0] == values[1]:
        raise ctx.fail(
            f"the same penalty {values[0]:.17g} under two different global seeds",
            "different values (fresh draws)",
            "do not call torch.manual_seed or use a fixed generator inside the penalty",
            cause="purity",
        )
    return Outcome(f"{values[0]:.6g} != {values[1]:.6g}")
