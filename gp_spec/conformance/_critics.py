"""Critics whose penalties are known in closed form, and a recording wrapper.

- :class:`Linear`: ``f(x) = <a, x> + b``; ``grad f = a`` everywhere, so every gradient
  penalty equals ``weight * mass * term(||a||)`` whatever the measure draws.
- :class:`Quadratic`: ``f(x) = c/2 (<u, x> - s)^2``; ``||grad f(x)|| = |c| |<u, x> - s|``, so
  the penalty reveals the law of ``<u, x_hat>`` under the measure.
- :class:`Recorder`: wraps a critic and keeps a copy of every input it sees (when the inputs
  are concrete tensors; inside ``torch.func`` transforms they are not, and it says so).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Linear", "Quadratic", "Recorder"]


class Linear(nn.Module):
    """``f(x) = <a, x> + b`` over all event dims; output ``(N,)`` or ``(N, 1)``."""

    def __init__(self, a: Tensor, b: float = 0.25, *, column: bool = False) -> None:
        super().__init__()
        self.a = nn.Parameter(a.clone())
        self.b = nn.Parameter(torch.tensor(b, dtype=a.dtype, device=a.device))
        self.column = column

    def forward(self, x: Tensor) -> Tensor:
        out = (x * self.a).flatten(1).sum(1) + self.b
        return out[:, None] if self.column else out


class Quadratic(nn.Module):
    """``f(x) = c/2 (<u, x> - s)^2`` with ``u = e_1`` (the first event coordinate)."""

    def __init__(self, c: float, s: float, *, dtype: torch.dtype, device: torch.device) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c, dtype=dtype, device=device))
        self.s = s

    def forward(self, x: Tensor) -> Tensor:
        proj = x.flatten(1)[:, 0]
        return 0.5 * self.c * (proj - self.s).square()


class Recorder(nn.Module):
    """Forwards to ``inner`` and records a detached copy of each concrete input batch."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.inputs: list[Tensor] = []
        self.opaque = False

    def forward(self, x: Tensor) -> Tensor:
        if torch._C._functorch.is_functorch_wrapped_tensor(x):
            self.opaque = True
        else:
            self.inputs.append(x.detach().clone())
        out: Tensor = self.inner(x)
        return out

    def points(self) -> Tensor | None:
        """All recorded rows, flattened to ``(M, D)`` in float64; None if nothing concrete."""
        if not self.inputs:
            return None
        return torch.cat([t.reshape(t.shape[0], -1) for t in self.inputs]).double().cpu()
