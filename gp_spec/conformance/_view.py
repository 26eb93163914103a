"""The check's critic as the implementation sees it: :class:`CriticView` wraps a check's
critic in the user's output convention and records how it is used (input shapes, modes,
concrete inputs)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

__all__ = ["Container", "CriticView"]

Container = tuple[Literal["dict", "tuple"], Any] | None
"""How the critic's scores are wrapped: None (a tensor), ``("dict", key)`` (a dict; key None:
any key reads the scores) or ``("tuple", length)`` (the scores in every slot, so that
``out[0]``, ``out[-1]`` and ``score, *_ = out`` all read them)."""



class _AnyKey(dict):  # type: ignore[type-arg]
    """A dict of critic outputs in which every key reads the scores (StudioGAN's
    ``out["adv_output"]``, ``out["logits"]``, ...)."""

    def __init__(self, scores: Tensor) -> None:
        super().__init__(adv_output=scores)
        self.scores = scores

    def __getitem__(self, key: Any) -> Tensor:
        return self.scores

    def get(self, key: Any, default: Any = None) -> Tensor:
        return self.scores

    def __contains__(self, key: object) -> bool:
        return True


class CriticView(nn.Module):
    """The check's critic in the user's conventions, recording how it is used.

    Forwards ``x`` (and labels, ignored by the check's critics) to ``inner`` and formats the
    ``(N,)`` scores as ``(N,)`` / ``(N, 1)``, inside a dict or tuple if the adapter says so.
    Records every input's shape, whether ``inner`` was in training mode at each call (a call
    under ``no_grad`` counts as training: it cannot change what training differentiates), and
    a detached copy of every concrete input made with grad enabled (inside ``torch.func``
    transforms inputs are not concrete: then ``opaque`` is set).
    """

    def __init__(self, inner: nn.Module, output: Literal["n", "n1"] = "n",
                 container: Container = None) -> None:
        super().__init__()
        self.inner = inner
        self.output = output
        self.container = container
        self.inputs: list[Tensor] = []
        self.shapes: list[tuple[int, ...]] = []
        self.modes: list[bool] = []
        self.opaque = False
        self.calls = 0
        self.training = inner.training  # the flag alone: code reads critic.training

    def forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if isinstance(x, Tensor):
            self.shapes.append(tuple(x.shape))
            # a call under no_grad (logging, a shape probe) cannot be a point of the penalty's
            # gradient, and its mode cannot change what training differentiates
            graded = torch.is_grad_enabled()
            self.modes.append(self.inner.training or not graded)
            if torch._C._functorch.is_functorch_wrapped_tensor(x):
                self.opaque = True
            elif graded:
                self.inputs.append(x.detach().clone())
        out: Tensor = self.inner(x)
        if self.output == "n1":
            out = out[:, None]
        if self.container is None:
            return out
        kind, key = self.container
        if kind == "dict":
            return _AnyKey(out) if key is None else {key: out}
        return tuple([out] * max(int(key), 1))  # the scores in every slot: [0] or [-1]

    @property
    def device(self) -> torch.device:
        """The device of the critic's parameters (code written for ``self.device``)."""
        for p in self.inner.parameters():
            return p.device
        return torch.device("cpu")

    def points(self) -> Tensor | None:
        """All recorded rows, flattened to ``(M, D)`` in float64; None if nothing concrete
        or if some calls were inside ``torch.func`` transforms (the concrete rows are then
        not all the points)."""
        if not self.inputs or self.opaque:
            return None
        return torch.cat([t.reshape(t.shape[0], -1) for t in self.inputs]).double().cpu()
