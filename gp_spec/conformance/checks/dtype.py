"""dtype and device checks: the penalty works in float32 and float64 and on CUDA, and
returns its value in the inputs' dtype and device."""

from __future__ import annotations

import torch

from gp_spec.conformance._context import CheckContext, CheckSkipped, Outcome
from gp_spec.conformance.checks._critics import Linear
from gp_spec.conformance.checks._inputs import direction
from gp_spec.conformance.checks._numbers import close, digits
from gp_spec.conformance.checks._registry import register
from gp_spec.conformance.checks.value import linear_closed_form, value_batch

__all__: list[str] = []


def _dtype_check(ctx: CheckContext, dtype: torch.dtype, device: torch.device) -> Outcome:
    sub = ctx.with_dtype(dtype, device)
    a = direction(sub, sub.event, 2.5, "a")
    real, fake = value_batch(sub, sub.n(8), a, "dt")
    out = sub.call(Linear(a).to(device), real, fake).out
    if out.dtype != dtype or out.device.type != device.type:
        raise sub.fail(f"result is {out.dtype} on {out.device}", f"{dtype} on {device}",
                       "compute in the inputs' dtype/device (or cast back)", cause="dtype")
    got = float(out.detach().double().cpu())
    want, _ = linear_closed_form(sub, a, real, fake)
    if not close(got, want, sub.weight):
        g, w = digits(got, want)
        raise sub.fail(f"penalty={g} in {dtype}", w, cause="dtype")
    return Outcome(f"{dtype} on {device}: {got:.6g}")


@register("dtype.float32", "works in float32 and returns float32", "SPEC conventions",
          lambda s: True, establishes=("dtype",))
def _float32(ctx: CheckContext) -> Outcome:
    return _dtype_check(ctx, torch.float32, ctx.device)


@register("dtype.float64", "works in float64 and returns float64", "SPEC conventions",
          lambda s: True, establishes=("dtype",))
def _float64(ctx: CheckContext) -> Outcome:
    return _dtype_check(ctx, torch.float64, ctx.device)


@register("device.cuda", "works on CUDA tensors (skipped without a GPU)", "SPEC conventions",
          lambda s: True)
def _cuda(ctx: CheckContext) -> Outcome:
    if not torch.cuda.is_available():
        raise CheckSkipped("CUDA is not available on this machine")
    return _dtype_check(ctx, torch.float32, torch.device("cuda"))
