"""The checks' critics: each makes one property of a penalty visible in its value.

- :class:`Linear`: ``f(x) = <a, x> + b`` over all event dims; ``grad f = a`` everywhere, so
  every gradient penalty equals ``weight * mass * term(||a||)`` whatever the measure draws.
- :class:`Projected`: ``f(x) = c/2 (<u, x> - s)^2``; ``||grad f(x)|| = |c| |<u, x> - s|``
  (``||u|| = 1``), so the penalty reveals the law of ``<u, x_hat>`` under the measure.
- :class:`SumSquare`: ``f(x) = k0/2 (sum_e (x_e - r_e))^2`` (DRAGAN's law through values).
- :class:`Bump`: ``grad f`` is ``c sin(pi t) u`` for ``t = (<u, x> - lo) / (hi - lo)`` in
  [0, 1] and 0 elsewhere: zero at both ends of a segment, nonzero inside it.
- :class:`RandomNet`: a nonlinear critic with random weights (an MLP on vectors, a small
  convnet on images and sequences; optionally Dropout or BatchNorm in training mode) plus a
  quadratic ``k/2 <u, x>^2`` that spreads the input-gradient norms from about 0 to ~50.

Every critic maps ``(N, *event) -> (N,)``; the implementation sees it through
:class:`gp_spec.conformance._context.CriticView` in its own output convention.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["Bump", "Linear", "Projected", "RandomNet", "SumSquare", "flat_dot"]


def flat_dot(x: Tensor, u: Tensor) -> Tensor:
    """``<u, x_i>`` over all event dims: ``(N, *event), event -> (N,)``."""
    return (x * u).flatten(1).sum(1)


class Linear(nn.Module):
    """``f(x) = <a, x> + b`` over all event dims."""

    def __init__(self, a: Tensor, b: float = 0.25) -> None:
        super().__init__()
        self.a = nn.Parameter(a.clone())
        self.b = nn.Parameter(torch.tensor(b, dtype=a.dtype, device=a.device))

    def forward(self, x: Tensor) -> Tensor:
        return flat_dot(x, self.a) + self.b


class Projected(nn.Module):
    """``f(x) = c/2 (<u, x> - s)^2`` with a unit direction ``u`` of the event's shape."""

    def __init__(self, u: Tensor, c: float, s: float) -> None:
        super().__init__()
        self.u = u
        self.c = nn.Parameter(torch.tensor(c, dtype=u.dtype, device=u.device))
        self.s = s

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * self.c * (flat_dot(x, self.u) - self.s).square()


class SumSquare(nn.Module):
    """``f(x) = k0/2 (sum_e (x_e - r_e))^2``: ``||grad f|| = k0 sqrt(D) |sum_e (x_e - r_e)|``."""

    def __init__(self, k0: float, r: Tensor) -> None:
        super().__init__()
        self.k0 = nn.Parameter(torch.tensor(k0, dtype=r.dtype, device=r.device))
        self.r = r

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = 0.5 * self.k0 * (x - self.r).flatten(1).sum(1).square()
        return out


class Bump(nn.Module):
    """``f = -c w/(k pi) cos(k pi t)`` for ``t = (<u, x> - lo) / w`` in [0, 1], ``w = hi - lo``,
    and constant outside: ``||grad f|| = c |sin(k pi t)|`` inside, 0 outside and at both ends.
    ``k = half_periods``: 1 is a bump (largest at the middle), 2 a wave (zero at the middle,
    largest at t = 1/4 and 3/4)."""

    def __init__(self, u: Tensor, lo: float, hi: float, c: float, half_periods: int = 1
                 ) -> None:
        super().__init__()
        self.u = u
        self.lo, self.width = lo, hi - lo
        self.k = math.pi * half_periods
        self.c = nn.Parameter(torch.tensor(c, dtype=u.dtype, device=u.device))

    def forward(self, x: Tensor) -> Tensor:
        t = ((flat_dot(x, self.u) - self.lo) / self.width).clamp(0.0, 1.0)
        return -self.c * self.width / self.k * torch.cos(self.k * t)


class RandomNet(nn.Module):
    """A random nonlinear critic on ``(N, *event)`` with a quadratic ``k/2 <u, x>^2`` on top.

    Vectors: ``Linear -> tanh -> [Dropout | BatchNorm1d] -> Linear -> LeakyReLU -> Linear``.
    Images ``(C, H, W)`` and sequences ``(C, L)``: an average pool down to at most 8 x 8
    pixels (16 positions), one 3-wide convolution, tanh,
    [Dropout | BatchNorm], a mean over positions, then a linear layer. ``k`` spreads the
    per-sample input-gradient norms over ``[~0, ~k * 3]`` for standard-normal inputs.

    Args:
      event: the event shape.
      generator: the weights' random source (the check's seed).
      dtype, device: of the parameters.
      dropout: Dropout probability after the first nonlinearity (0: none).
      batchnorm: BatchNorm after the first nonlinearity (training mode).
      k: the quadratic's curvature.
    """

    def __init__(self, event: tuple[int, ...], generator: torch.Generator, *,
                 dtype: torch.dtype, device: torch.device, dropout: float = 0.0,
                 batchnorm: bool = False, k: float = 15.0, width: int = 8) -> None:
        super().__init__()
        d = math.prod(event)
        self.event = event
        rank = len(event)
        norm: nn.Module
        if rank in (2, 3):
            conv = nn.Conv1d if rank == 2 else nn.Conv2d
            self.body: nn.Module = conv(event[0], width, 3, padding=1)
            norm = (nn.BatchNorm1d if rank == 2 else nn.BatchNorm2d)(width) if batchnorm \
                else nn.Dropout(dropout)
            self.pool = True
        else:
            self.body = nn.Linear(d, width)
            norm = nn.BatchNorm1d(width) if batchnorm else nn.Dropout(dropout)
            self.pool = False
        self.norm = norm
        self.head = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(0.2),
                                  nn.Linear(width, 1))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64)
                        * (1.0 / math.sqrt(max(p.shape[-1] if p.ndim > 1 else 4, 1))))
        u = torch.randn(event, generator=generator, dtype=torch.float64)
        self.register_buffer("u", u / u.norm(), persistent=False)
        self.k = k
        self.to(dtype=dtype, device=device)

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.pool else x.flatten(1)
        if self.pool and h.ndim == 4 and max(h.shape[2:]) > 8:  # keep large images cheap
            h = torch.nn.functional.adaptive_avg_pool2d(h, (min(h.shape[2], 8),
                                                            min(h.shape[3], 8)))
        elif self.pool and h.ndim == 3 and h.shape[2] > 16:
            h = torch.nn.functional.adaptive_avg_pool1d(h, 16)
        h = self.norm(torch.tanh(self.body(h)))
        if self.pool:
            h = h.flatten(2).mean(2)
        out: Tensor = self.head(h)[:, 0]
        u: Tensor = self.u  # type: ignore[assignment]
        return out + 0.5 * self.k * flat_dot(x, u).square()
