"""Gradient checks: one input-gradient norm per sample over all event dims, and the
gradient of the penalty w.r.t. the critic's parameters."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from gp_spec.conformance._context import CheckContext, CheckSkipped, Outcome
from gp_spec.conformance.checks._critics import Linear
from gp_spec.conformance.checks._inputs import (
    batch,
    direction,
    is_norm_based,
    np64,
)
from gp_spec.conformance.checks._numbers import digits, within
from gp_spec.conformance.checks._registry import register
from gp_spec.conformance.checks.value import (
    exact_norm_value,
    linear_closed_form,
    norm_interval,
    value_batch,
)

__all__: list[str] = []


def _channel_norms(c: int) -> list[float]:
    """Per-channel norms with full norm 2: (1.2, 1.6, 0, ...) (2 for one channel)."""
    return [2.0] if c == 1 else ([1.2, 1.6] + [0.0] * (c - 2))


def _uneven(ctx: CheckContext, event: tuple[int, ...]) -> Tensor:
    """A tensor of the event's shape with full norm 2 whose norm over any proper part of the
    event (a channel, a pixel, a row) differs: positive random magnitudes, channels scaled to
    the norms (1.2, 1.6, 0, ...)."""
    a = ctx.randn(*event, salt=f"img{event}").abs() + 0.1
    per = a.flatten(1).norm(dim=1)
    target = ctx.tensor(_channel_norms(event[0]))
    out: Tensor = a / per.reshape((-1,) + (1,) * (len(event) - 1)) \
        * target.reshape((-1,) + (1,) * (len(event) - 1))
    return out


@register(
    "norm.all-event-dims",
    "the gradient norm is taken over ALL non-batch dims of (N, C, H, W) and (N, C, L) inputs, "
    "not per channel, per pixel or per row (every event shape of rank >= 2 the domain allows)",
    "SPEC conventions; 003 Eq. 6",
    is_norm_based, establishes=("norm",),
)
def _all_event_dims(ctx: CheckContext) -> Outcome:
    shapes = [s for s in ctx.shapes if len(s) >= 2]
    if not shapes:
        raise CheckSkipped("the domain has only vector events (N, d): there is no partial "
                           "norm to take (grad.per-sample checks the norm per sample)")
    for event in shapes:
        a = _uneven(ctx, event)
        real, fake = batch(ctx, ctx.n(6), event, f"img{event}")
        got = ctx.value(Linear(a).to(ctx.device), real, fake)
        lo, hi = norm_interval(ctx, 2.0)
        if not within(got, lo, hi, ctx.weight):
            g, w = digits(got, exact_norm_value(ctx, 2.0))
            norms = ", ".join(f"{x:g}" for x in _channel_norms(event[0]))
            raise ctx.fail(
                f"penalty={g} on inputs of shape {event} with per-channel gradient norms "
                f"({norms}) and full norm 2", f"{w} = weight x term(2)",
                "take the norm over grad.flatten(1) (all event dims), not over dim=1, "
                "per channel or per row", cause="norm.all-event-dims",
            )
    return Outcome("norm over all event dims at " + ", ".join(str(s) for s in shapes))


@register(
    "grad.per-sample",
    "one gradient norm per sample, of that sample's own score: with ||grad f|| = 2.5 at "
    "every point the value is weight x term(2.5) at N = 7 and above 64 (not one norm over the "
    "whole batch tensor, as torchgan 0.1.0's gradients.norm(2); not the gradient of "
    "critic(x).mean(), which is grad f / N)",
    "SPEC conventions (grad f(x_hat) per sample); 003 Eq. 6",
    is_norm_based, establishes=("norm",),
)
def _grad_per_sample(ctx: CheckContext) -> Outcome:
    sizes = ctx.sizes(7, ctx.pick((65, 130), "n"))
    if sizes == (1,):
        raise CheckSkipped("the domain's batch size is 1: one norm per sample and one per "
                           "batch coincide")
    a = direction(ctx, ctx.event, 2.5, "a")
    lo, hi = norm_interval(ctx, 2.5)
    want = exact_norm_value(ctx, 2.5)
    for n in sizes:
        real, fake = batch(ctx, n, ctx.event, f"ps{n}")
        got = ctx.value(Linear(a).to(ctx.device), real, fake)
        if within(got, lo, hi, ctx.weight):
            continue
        hints = (
            (2.5 * math.sqrt(n), f"that is term(2.5 sqrt({n})): one norm over the whole batch; "
             "take grad.flatten(1).norm(dim=1)"),
            (2.5 / n, f"that is term(2.5 / {n}): the gradient of critic(x).mean(); "
             "differentiate the sum of the scores (or pass grad_outputs=ones)"),
        )
        hint = next((h for norm, h in hints
                     if within(got, *norm_interval(ctx, norm), ctx.weight)), "")
        if not hint and math.isclose(got, n * want, rel_tol=1e-4):
            hint = f"that is {n} x the expected: summed over the batch?"
        g, w = digits(got, want)
        raise ctx.fail(
            f"penalty={g} at N = {n} with ||grad f|| = 2.5 at every point",
            f"{w} = weight x term(2.5) at every N", hint, ratio=got / want if want else None,
        )
    return Outcome("weight x term(2.5) at N = " + ", ".join(map(str, sizes)))


@register(
    "grad.parameters",
    "d penalty / d critic parameters equals the closed form (catches a missing "
    "create_graph, a detached value, a wrong chain rule), over the probe family's shapes",
    "SPEC conventions (create_graph=True)",
    lambda s: True, establishes=("parameters",),
)
def _grad_parameters(ctx: CheckContext) -> Outcome:
    for event in ctx.shapes:
        a = direction(ctx, event, 2.5, f"a{event}")
        real, fake = value_batch(ctx, ctx.n(8), a, f"g{event}")
        critic = Linear(a).to(ctx.device)
        out = ctx.call(critic, real, fake).out
        if not out.requires_grad:
            raise ctx.fail(
                "the penalty does not depend on the critic's parameters (no grad_fn)",
                "differentiable w.r.t. them", "build the input gradient with "
                "create_graph=True and do not detach the penalty", cause="no-graph",
            )
        torch.autograd.backward(out)
        grad_a = np.zeros(tuple(a.shape)) if critic.a.grad is None else np64(critic.a.grad)
        grad_b = 0.0 if critic.b.grad is None else float(critic.b.grad.double().cpu())
        _, want = linear_closed_form(ctx, a, real, fake)
        atol = 1e-6 * max(ctx.weight, 1.0) * max(1.0, float(np.abs(want).max()))
        if not np.allclose(grad_a, want, rtol=1e-4, atol=atol) or abs(grad_b) > atol:
            k = int(np.abs(grad_a - want).argmax())
            g, w = digits(float(grad_a.reshape(-1)[k]), float(want.reshape(-1)[k]))
            raise ctx.fail(
                f"d penalty/d a[{k}] = {g} (shape {event}), d penalty/d b = {grad_b:.3g}",
                f"{w} and 0 (the closed form)",
            )
    return Outcome("d/da matches the closed form (rtol 1e-4)")


@register(
    "grad.zero-gradient-finite",
    "where the input gradient is exactly zero the value is weight x term(0) (a norm up to "
    "1e-3, i.e. an eps <= 1e-6 inside the sqrt, is accepted) and the parameter gradients are "
    "finite (sqrt of 0 without care gives NaN; sqrt(sum + 1e-2) gives a norm of 0.1)",
    "SPEC §3 (gradient_norms); SPEC §6 (tolerance)",
    is_norm_based, establishes=("parameters",),
)
def _zero_gradient(ctx: CheckContext) -> Outcome:
    real, fake = batch(ctx, ctx.n(8), ctx.event, "z")
    critic = Linear(torch.zeros(ctx.event, dtype=ctx.dtype, device=ctx.device)).to(ctx.device)
    out = ctx.call(critic, real, fake).out
    got = float(out.detach().double().cpu())
    lo, hi = norm_interval(ctx, 0.0)
    if not within(got, lo, hi, ctx.weight):
        g, w = digits(got, exact_norm_value(ctx, 0.0))
        raise ctx.fail(
            f"penalty={g} for a constant critic (grad f = 0 everywhere)",
            f"{w} = weight x term(0) (norms up to 1e-3 accepted)",
            "an eps added inside the sqrt of the norm shifts it where grad f = 0 "
            "(sqrt(1e-2) = 0.1): keep eps <= 1e-6 or use torch.linalg.vector_norm",
        )
    if out.requires_grad:
        torch.autograd.backward(out)
        for name, p in critic.named_parameters():
            if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
                raise ctx.fail(
                    f"d penalty/d {name} is not finite where grad f = 0",
                    "finite", "use a norm whose derivative at 0 is defined (e.g. "
                    "torch.linalg.vector_norm, or sqrt(sum + eps) with a small eps)",
                )
    return Outcome(f"penalty {got:.6g}, finite parameter gradients")
