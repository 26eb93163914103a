"""Checks of the paired penalties (003 Eq. 7, 9, 11): pairing by index and the distance
floor of the difference quotient."""

from __future__ import annotations

import torch

from gp_spec.conformance._context import CheckContext, Outcome
from gp_spec.conformance.checks._critics import Linear
from gp_spec.conformance.checks._inputs import aligned_pairs, batch, direction, is_paired
from gp_spec.conformance.checks._numbers import digits
from gp_spec.conformance.checks._registry import register
from gp_spec.conformance.checks.value import paired_matches

__all__: list[str] = []


@register(
    "pairing.by-index",
    "real and fake samples are paired by index (x_i, y_i), not shuffled or all-pairs (16 "
    "near pairs along a, each with a nonzero term: any other pairing changes the value)",
    "003 Eq. 7, 9 (authors' code pairs by index)",
    is_paired, establishes=("pairing",),
)
def _pairing(ctx: CheckContext) -> Outcome:
    # Near pairs x_i - y_i = t_i a / ||a||, t_i in [0.05, 0.1]: each index pair has a nonzero
    # term, and any other pairing swaps at least two of them for far pairs (distance ~2.4)
    # whose terms differ; 16 samples make an identity shuffle unlikely (1 / 16! = 5e-14).
    for event in ctx.shapes:
        a = direction(ctx, event, 2.5, f"a{event}")
        real, fake = aligned_pairs(ctx, ctx.n(16), a, f"p{event}", t_range=(0.05, 0.1),
                                   alternate=False)
        got = ctx.value(Linear(a).to(ctx.device), real, fake)
        ok, want = paired_matches(ctx, got, a, real, fake)
        if not ok:
            g, w = digits(got, want)
            raise ctx.fail(f"penalty={g} on index-paired near pairs of shape {event}", w,
                           "pair real[i] with fake[i]", cause="pairing")
    return Outcome("index pairing exact")


@register(
    "quotient.distance-floor",
    "the cost is clamped below at 1e-6, not higher or lower, and on the cost (not the "
    "distance): pairs 1e-4 and 3e-6 apart (squared cost: 2e-3 and 5e-4, below the floor) "
    "give the spec's quotient (a floor of 1e-2 or 1e-5 shows, and so does a floor on the "
    "distance before squaring), and identical pairs give a finite value and finite "
    "parameter gradients",
    "003 Eq. 7, 11 (authors' code clamps at 1e-6)",
    lambda s: s.family == "difference_quotient", establishes=("floor",),
)
def _distance_floor(ctx: CheckContext) -> Outcome:
    event = ctx.event
    a = direction(ctx, event, 2.5, "a")
    n = ctx.n(8)
    tiers = (1e-4, 3e-6) if ctx.spec.cost == "euclidean" else (2e-3, 5e-4)
    for tiny in tiers:
        real, fake = aligned_pairs(ctx, n, a, f"q{tiny:g}", t_range=(tiny, 1.5 * tiny),
                                   alternate=True)
        got = ctx.value(Linear(a).to(ctx.device), real, fake)
        ok, want = paired_matches(ctx, got, a, real, fake)
        if not ok:
            g, w = digits(got, want)
            raise ctx.fail(f"penalty={g} on pairs {tiny:g} apart", w,
                           "clamp the cost (distance, or squared distance for W2) below at "
                           "1e-6, as the authors' code does", cause="floor")
    real, fake = batch(ctx, n, event, "q0")
    k = max(n // 3, 1)
    fake[:k] = real[:k]
    critic = Linear(a).to(ctx.device)
    out = ctx.call(critic, real, fake).out
    got = float(out.detach().double().cpu())
    ok, want = paired_matches(ctx, got, a, real, fake)
    if not ok:
        g, w = digits(got, want)
        raise ctx.fail(f"penalty={g} with {k} identical pairs", w, cause="floor")
    if out.requires_grad:
        torch.autograd.backward(out)
        g_a = critic.a.grad
        if g_a is not None and not bool(torch.isfinite(g_a).all()):
            raise ctx.fail("non-finite parameter gradients with identical pairs", "finite",
                           cause="floor")
    return Outcome(f"floor 1e-6: exact at distances {', '.join(map(str, tiers))} and with "
                   "identical pairs")
