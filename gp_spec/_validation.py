"""Input validation shared by measures and penalties (clear messages, never ``assert``)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gp_spec.errors import InvalidCriticError, InvalidInputError, InvalidWeightError

__all__ = ["batch", "check_weight", "pair", "scores_of"]


def _all_finite(x: Tensor) -> bool:
    """True iff no NaN or inf.

    A finite sum proves every element finite (a NaN or an inf makes the sum NaN or inf), so
    one reduction and one host read settle the common case; only a non-finite sum (a NaN or
    inf, or finite values whose sum overflows) pays for the exact ``aminmax`` test, which
    propagates NaN and +-inf.
    """
    xd = x.detach()
    if math.isfinite(float(xd.sum())):
        return True
    lo, hi = torch.aminmax(xd)
    return math.isfinite(float(lo)) and math.isfinite(float(hi))


def batch(x: object, name: str, *, finite: bool = True) -> Tensor:
    """Return ``x`` if it is a non-empty dense floating tensor ``(N, *event)`` with finite values.

    Finiteness is checked only for CPU tensors, and only with ``finite=True``: on an
    accelerator the check would force a device synchronisation on every call (a NaN there
    propagates into the penalty value). ``finite=False`` is for tensors computed here from
    inputs that were already checked (structure only).
    """
    if not isinstance(x, Tensor):
        raise InvalidInputError(f"{name}: got {type(x).__name__}, but should be a torch.Tensor")
    if x.ndim < 2:
        raise InvalidInputError(
            f"{name}.shape={tuple(x.shape)}, but should be (N, *event) with at least one "
            "event dimension (use x[:, None] for scalar samples)"
        )
    if x.layout != torch.strided:
        raise InvalidInputError(
            f"{name}.layout={x.layout}, but should be torch.strided (dense; use .to_dense())"
        )
    if x.shape[0] == 0:
        raise InvalidInputError(f"{name}.shape={tuple(x.shape)}: empty batch, but N should be >= 1")
    if x.numel() == 0:
        raise InvalidInputError(
            f"{name}.shape={tuple(x.shape)}: an event dimension of size 0, but every event "
            "dimension should be >= 1"
        )
    if not x.is_floating_point():
        raise InvalidInputError(f"{name}.dtype={x.dtype}, but should be a floating dtype")
    if finite and x.device.type == "cpu" and not _all_finite(x):
        raise InvalidInputError(f"{name} contains NaN or inf values")
    return x


def pair(real: object, fake: object) -> tuple[Tensor, Tensor]:
    """Validate a real/fake pair that is used index-by-index (same shape, dtype, device)."""
    r, f = batch(real, "real"), batch(fake, "fake")
    if r.shape != f.shape:
        raise InvalidInputError(
            f"real.shape={tuple(r.shape)} and fake.shape={tuple(f.shape)}, but they should be equal"
        )
    if r.dtype != f.dtype or r.device != f.device:
        raise InvalidInputError(
            f"real is {r.dtype} on {r.device} and fake is {f.dtype} on {f.device}, "
            "but they should match"
        )
    return r, f


def scores_of(out: object, n: int) -> Tensor:
    """Critic output ``(N,)`` or ``(N, 1)`` as ``(N,)``; anything else raises."""
    if not isinstance(out, Tensor):
        raise InvalidCriticError(
            f"critic returned {type(out).__name__}, but should return a tensor of shape ({n},)"
        )
    if out.shape == (n, 1):
        return out[:, 0]
    if out.shape != (n,):
        raise InvalidCriticError(
            f"critic output shape={tuple(out.shape)}, but should be ({n},) or ({n}, 1)"
        )
    return out


def check_weight(weight: float) -> float:
    """A penalty weight must be a finite number >= 0."""
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise InvalidWeightError(
            f"weight={weight!r}, but should be a finite number >= 0"
        ) from None
    if math.isnan(w) or math.isinf(w) or w < 0:
        raise InvalidWeightError(f"weight={weight!r}, but should be a finite number >= 0")
    return w
