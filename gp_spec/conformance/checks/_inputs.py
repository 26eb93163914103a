"""Input builders: batches, directions and probe families inside the check's domain.

Every builder takes the event shape explicitly (the domain's primary shape or another shape
of the probe family), so every check works in every domain: vectors ``(N, d)``, sequences
``(N, C, L)``, images ``(N, C, H, W)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from gp_spec.conformance._context import CheckContext
from gp_spec.specs import Spec

__all__ = [
    "FAMILY_SIZES",
    "aligned_pairs",
    "batch",
    "coordinate_batch",
    "direction",
    "is_norm_based",
    "is_paired",
    "mass",
    "np64",
    "probes",
    "projection_batch",
    "spread_unit",
    "term_key",
]

FAMILY_SIZES = (1, 7, 65, 130)
"""Batch sizes of the probe family: one, an odd size, and sizes above 64 (issue 14)."""


def is_norm_based(spec: Spec) -> bool:
    return spec.family in ("gradient", "max_gradient")


def is_paired(spec: Spec) -> bool:
    return spec.family in ("difference_quotient", "transport")


def term_key(spec: Spec) -> str:
    return "max" if spec.family == "max_gradient" else str(spec.term_name)


def mass(spec: Spec) -> float:
    return 1.0 if spec.measure is None or spec.family != "gradient" else float(spec.measure.mass)


def np64(t: Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def probes(ctx: CheckContext, salt: str, *, per_shape: int = 2,
           sizes: tuple[int, ...] = FAMILY_SIZES, min_n: int = 1
           ) -> list[tuple[tuple[int, ...], int]]:
    """The probe family of one check: the domain's primary event shape at one small size
    drawn by the seed (1 or 7 of the default sizes) and, when ``per_shape`` > 1, at every size
    above 64 (65 and 130: odd and even), every other event shape of the domain at one size
    drawn from all of ``sizes``; or the domain's fixed batch size."""
    allowed = [n for n in sizes if n >= min_n] or [max(sizes)]
    out: list[tuple[tuple[int, ...], int]] = []
    for k, shape in enumerate(ctx.shapes):
        if ctx.domain.batch_size is not None:
            out.append((shape, ctx.domain.batch_size))
            continue
        small = [n for n in allowed if n <= 64] or allowed
        large = [n for n in allowed if n > 64] or allowed
        if k > 0:  # the other ranks: one size each
            chosen = [ctx.pick(allowed, f"{salt}{k}")]
        else:
            chosen = [ctx.pick(small, f"{salt}{k}s")]
            if per_shape > 1:
                chosen += large
        out += [(shape, n) for n in dict.fromkeys(chosen)]
    return out


def batch(ctx: CheckContext, n: int, event: tuple[int, ...], salt: str) -> tuple[Tensor, Tensor]:
    """Real ``N(0, 1)`` and fake ``N(0.5, 1)`` samples, ``(n, *event)`` each."""
    return ctx.randn(n, *event, salt=salt + "r"), ctx.randn(n, *event, salt=salt + "f") + 0.5


def direction(ctx: CheckContext, event: tuple[int, ...], norm: float, salt: str) -> Tensor:
    """A random tensor of the event's shape with Euclidean norm ``norm``."""
    a = ctx.randn(*event, salt=salt)
    scaled: Tensor = a * (norm / float(a.square().sum().sqrt()))
    return scaled


def spread_unit(ctx: CheckContext, event: tuple[int, ...], salt: str,
                signs: Tensor | None = None) -> Tensor:
    """A unit vector with every entry ``+-1/sqrt(D)``: a difference along it moves every
    event coordinate, so an interpolation weight per element (not per sample) shows."""
    d = math.prod(event)
    if signs is None:
        signs = torch.where(ctx.rand(d, salt=salt) < 0.5, -1.0, 1.0).to(torch.float64)
    u = signs.reshape(event).to(torch.float64).sign()
    u = torch.where(u == 0, torch.ones_like(u), u) / math.sqrt(d)
    return u.to(device=ctx.device, dtype=ctx.dtype)


def projection_batch(ctx: CheckContext, n: int, event: tuple[int, ...], u: Tensor, salt: str
                     ) -> tuple[Tensor, Tensor]:
    """Fake ``y_i`` with ``<u, y_i> = 0`` and real ``x_i = y_i + u`` (so ``<u, x_i> = 1``)."""
    z = ctx.randn(n, *event, salt=salt)
    proj = (z * u).flatten(1).sum(1)
    fake = z - proj.reshape((n,) + (1,) * len(event)) * u
    return fake + u, fake


def coordinate_batch(ctx: CheckContext, n: int, event: tuple[int, ...], salt: str
                     ) -> tuple[Tensor, Tensor]:
    """Real with first event coordinate 1, fake with first coordinate 0 (others random):
    ``<e_1, x_hat> = alpha`` on mu_GP whatever pairing the implementation uses."""
    real, fake = batch(ctx, n, event, salt)
    real.view(n, -1)[:, 0] = 1.0
    fake.view(n, -1)[:, 0] = 0.0
    return real, fake


def aligned_pairs(ctx: CheckContext, n: int, a: Tensor, salt: str, *,
                  t_range: tuple[float, float], alternate: bool) -> tuple[Tensor, Tensor]:
    """``n`` pairs with ``x_i - y_i = s_i t_i a / ||a||``, ``t_i ~ U(t_range)``, ``s_i = +1``
    (or alternately +1, -1), in the event shape of ``a``.

    Under ``f(x) = <a, x> + b`` with ``||a|| = 2.5`` such a pair has ``f(x) - f(y) = 2.5 s t``:
    the Eq. 7 quotient is 2.5 (excess 1.5), the Eq. 11 quotient 2.5 / t, and the transport
    excess ``2.5 s t - t`` is ``1.5 t > 0`` for s = +1 and ``-3.5 t < 0`` for s = -1.
    """
    lo, hi = t_range
    t = lo + (hi - lo) * ctx.rand(n, salt=salt + "t")
    if alternate:
        t = t * torch.tensor([1.0, -1.0], dtype=torch.float64).repeat((n + 1) // 2)[:n]
    u = a.detach().double().cpu()
    d = t.reshape((n,) + (1,) * u.ndim) * (u / u.norm())[None]
    real = ctx.randn(n, *a.shape, salt=salt + "b")
    return real, real - d.to(real)
