"""Shared types: the critic and measure protocols and the ``Points`` a measure returns."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Points:
    """Evaluation points drawn from a penalty measure.

    Attributes:
      points: ``(N, *event)`` tensor, detached from whatever produced the inputs.
      weights: ``(N,)`` per-point masses. A Monte Carlo estimate of ``E_mu[h]`` is
        ``mean_i(weights_i * h(points_i))``; ones for a probability measure, and
        ``mean(weights)`` estimates the measure's mass ``M`` (000 §2.1, footnote 1).
      unit_weights: True when ``weights`` is known to be all ones (a probability measure
        sampled with equal masses), so an expectation can skip the multiplication.
    """

    points: Tensor
    weights: Tensor
    unit_weights: bool = False

    def __post_init__(self) -> None:
        if self.weights.ndim != 1 or self.weights.shape[0] != self.points.shape[0]:
            raise ValueError(
                f"Points: weights.shape={tuple(self.weights.shape)}, but should be "
                f"({self.points.shape[0]},) to match points.shape={tuple(self.points.shape)}"
            )


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
