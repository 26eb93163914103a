"""Before a variant is timed: does it compute the reference's penalty and parameter gradients?

Both run from identical critic copies and generators in the same seeded state (so they draw
the same interpolation weights); the variant agrees when its penalty value and the gradient
of ``critic loss + penalty`` w.r.t. every critic parameter match the reference's within a
:class:`Tolerance`. A variant that raises (a compile failure, say) does not agree either.

Under bfloat16 autocast two correct computations round differently, and by much more than
float32 does, so there the tolerance is widened to twice the reference's own error against
its float32 result (:func:`widened`): a variant must be about as accurate as the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gp_spec.benchmark.variants import LossFn
from gp_spec.errors import first_line

__all__ = [
    "Agreement",
    "Outcome",
    "Tolerance",
    "agreement_of",
    "check_agreement",
    "errors",
    "outcome_of",
    "tolerance",
    "widened",
]

CriticFactory = Callable[[], nn.Module]
"""Makes a fresh critic with the same parameters on every call."""


@dataclass(frozen=True)
class Outcome:
    """One loss evaluation: the penalty value and the flattened parameter gradients."""

    penalty: float
    grads: Tensor


@dataclass(frozen=True)
class Tolerance:
    """Bounds on :func:`errors`: penalty value and parameter gradients (relative)."""

    penalty: float
    grads: float


@dataclass(frozen=True)
class Agreement:
    """Result of :func:`check_agreement`.

    Attributes:
      ok: the variant may be timed.
      penalty_error: ``|p - p_ref| / max(|p_ref|, 1)``.
      grad_error: ``||g - g_ref|| / ||g_ref||`` over all parameters concatenated.
      tolerance: the bounds the errors are held to.
      error: ``"TypeName: message"`` if the variant raised, else None.
    """

    ok: bool
    penalty_error: float
    grad_error: float
    tolerance: Tolerance
    error: str | None = None

    @property
    def message(self) -> str:
        """``"agrees"`` or why not, in the ``observed, but should be expected`` form."""
        if self.error is not None:
            return f"raised {self.error}"
        if self.ok:
            return "agrees"
        return (
            f"penalty error {self.penalty_error:.2e} and gradient error {self.grad_error:.2e}, "
            f"but should be <= {self.tolerance.penalty:.1e} and {self.tolerance.grads:.1e} "
            "[reference]"
        )


def tolerance(dtype: torch.dtype, device: torch.device) -> Tolerance:
    """Base relative tolerance of a variant against the reference (both on the same dtype).

    float32 on the CPU: 1e-3 (summation order and kernel choice only; a wrong penalty is off
    by O(1)). float32 on CUDA: 5e-3, since cuDNN convolutions use TF32 by default and a fused
    batch may select other algorithms. bfloat16 autocast: 5e-2, before :func:`widened`.
    """
    if dtype in (torch.bfloat16, torch.float16):
        return Tolerance(5e-2, 5e-2)
    bound = 5e-3 if device.type == "cuda" else 1e-3
    return Tolerance(bound, bound)


def errors(got: Outcome, expected: Outcome) -> tuple[float, float]:
    """``(penalty error, gradient error)`` of ``got`` relative to ``expected``."""
    penalty = abs(got.penalty - expected.penalty) / max(abs(expected.penalty), 1.0)
    scale = float(torch.linalg.vector_norm(expected.grads))
    grads = float(torch.linalg.vector_norm(got.grads - expected.grads)) / max(scale, 1e-30)
    return penalty, grads


def widened(base: Tolerance, reference: Outcome, truth: Outcome) -> Tolerance:
    """``base`` widened to twice the low-precision ``reference``'s error against ``truth``."""
    penalty, grads = errors(reference, truth)
    return Tolerance(max(base.penalty, 2 * penalty), max(base.grads, 2 * grads))


def outcome_of(
    loss: LossFn, make_critic: CriticFactory, real: Tensor, fake: Tensor, *, seed: int
) -> Outcome:
    """Evaluate ``loss`` once on a fresh critic and return its penalty and parameter grads."""
    critic = make_critic()
    generator = torch.Generator(device=real.device).manual_seed(seed)
    losses = loss(critic, real, fake, generator)
    params = list(critic.parameters())
    grads = torch.autograd.grad(losses.total, params, allow_unused=True, materialize_grads=True)
    flat = torch.cat([g.detach().float().flatten() for g in grads])
    return Outcome(float(losses.penalty.detach()), flat)


def agreement_of(outcome: Callable[[], Outcome], reference: Outcome, *, tol: Tolerance
                 ) -> Agreement:
    """Compare the :class:`Outcome` that ``outcome()`` returns with the reference's."""
    try:
        got = outcome()
    except Exception as exc:  # reported, never raised: a broken variant is not timed
        nan = float("nan")
        return Agreement(False, nan, nan, tol, f"{type(exc).__name__}: {first_line(exc, 200)}")
    penalty_error, grad_error = errors(got, reference)
    ok = penalty_error <= tol.penalty and grad_error <= tol.grads
    return Agreement(ok, penalty_error, grad_error, tol)


def check_agreement(
    loss: LossFn,
    reference: Outcome,
    make_critic: CriticFactory,
    real: Tensor,
    fake: Tensor,
    *,
    seed: int,
    tol: Tolerance,
) -> Agreement:
    """Compare ``loss`` with the reference's :class:`Outcome` (same ``seed``)."""
    return agreement_of(lambda: outcome_of(loss, make_critic, real, fake, seed=seed),
                        reference, tol=tol)
