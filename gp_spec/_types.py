"""Shared types: the critic and measure protocols and the ``Points`` a measure returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

__all__ = ["Critic", "Measure", "PenaltyFn", "Points"]


class Critic(Protocol):
    """A critic ``f: R^event -> R`` applied batch-wise: ``(N, *event) -> (N,)`` or ``(N, 1)``."""

    def __call__(self, x: Tensor, /) -> Tensor: ...


class PenaltyFn(Protocol):
    """The canonical conformance signature: ``fn(critic, real, fake) -> 0-dim tensor``."""

    def __call__(self, critic: Critic, real: Tensor, fake: Tensor, /) -> Tensor: ...


@dataclass(frozen=True, init=False)
class Points:
    """Evaluation points drawn from a penalty measure.

    ``Points(points)`` is a sample of a probability measure with equal masses;
    ``Points(points, weights)`` carries per-point masses (a finite measure, 000 §2.1).

    Attributes:
      points: ``(N, *event)`` tensor, detached from whatever produced the inputs.
      weights: ``(N,)`` per-point masses. A Monte Carlo estimate of ``E_mu[h]`` is
        ``mean_i(weights_i * h(points_i))``; ones for a probability measure, and
        ``mean(weights)`` estimates the measure's mass ``M`` (000 §2.1, footnote 1).
        Without explicit weights the ones are made on first access only, so the penalties,
        which skip the multiplication, never allocate them.
      unit_weights: True when ``weights`` is known to be all ones (no weights given, or
        ``unit_weights=True`` passed with ones), so an expectation can skip the multiplication.
    """

    points: Tensor
    unit_weights: bool
    _weights: Tensor | None = field(repr=False, compare=False)

    def __init__(
        self, points: Tensor, weights: Tensor | None = None, unit_weights: bool = False
    ) -> None:
        if weights is not None and (weights.ndim != 1 or weights.shape[0] != points.shape[0]):
            raise ValueError(
                f"Points: weights.shape={tuple(weights.shape)}, but should be "
                f"({points.shape[0]},) to match points.shape={tuple(points.shape)}"
            )
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "unit_weights", bool(unit_weights) or weights is None)
        object.__setattr__(self, "_weights", weights)

    @property
    def weights(self) -> Tensor:
        """``(N,)`` per-point masses (ones, made on first access, when none were given)."""
        w = self._weights
        if w is None:
            p = self.points
            w = torch.ones(p.shape[0], device=p.device, dtype=p.dtype)
            object.__setattr__(self, "_weights", w)
        return w


@runtime_checkable
class Measure(Protocol):
    """A penalty measure (SPEC §2): where a penalty's term is evaluated.

    ``sample(real, fake, *, generator=None)`` returns ``Points``; ``mass`` is the total mass
    (1 for a probability measure); ``name`` identifies it in messages.
    """

    @property
    def name(self) -> str: ...

    @property
    def mass(self) -> float: ...

    def sample(
        self,
        real: Tensor | None,
        fake: Tensor | None,
        *,
        generator: torch.Generator | None = None,
    ) -> Points: ...
