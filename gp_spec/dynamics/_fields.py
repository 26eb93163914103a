"""What every dynamics module shares: the state and field types, the penalty law type, and the
autograd helpers that keep a field differentiable in its state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
Field = Callable[[Tensor], Tensor]
"""A vector field: state ``(S,) -> `` derivative ``(S,)``."""
MassFn = Callable[[Tensor, Tensor], Tensor]
"""``M(psi, theta)``: the mass of a finite penalty measure, 0-dim tensors in and out."""
SecondMoment = Callable[[Tensor], Tensor]
"""``theta -> E_{mu_theta}[x^2]`` (0-dim tensors), for the ``D = psi x^2`` toys."""
Discriminator = Callable[[Tensor, Tensor], Tensor]
"""``D(x; psi)``: ``(x: (N, d), psi: (P,)) -> (N,)``."""
Generator = Callable[[Tensor, Tensor], Tensor]
"""``G(z; theta)``: ``(z: (K, k), theta: (T,)) -> (K, d)``."""
PenaltyLaw = Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]
"""The exact law of a penalty measure as a weighted point set, differentiable in theta:
``(real (N, d), real_w (N,), fake (K, d), fake_w (K,)) -> (points (L, d), masses (L,))``;
the masses sum to the measure's mass ``M`` and ``E_mu[h] = sum_l masses_l h(points_l)``
(000 §2.1, footnote 1). Not a sampler: see the :mod:`gp_spec.dynamics` docstring."""

MeasureName = Literal["real", "fake", "interpolate", "midpoint", "anchor"]
"""The ``name`` of a core measure of 000 Table 1 (``gp_spec.measures.real()`` ... ``anchor()``,
default parameters) whose law the ``psi x^2`` toys know in closed form."""


def check_state(state: object, size: int, name: str = "state") -> Tensor:
    """A floating ``(size,)`` tensor, else InvalidInputError naming what was wrong."""
    if not isinstance(state, Tensor):
        raise InvalidInputError(f"{name}: got {type(state).__name__}, but should be a torch.Tensor")
    if state.shape != (size,) or not state.is_floating_point():
        raise InvalidInputError(
            f"{name}.shape={tuple(state.shape)} dtype={state.dtype}, but should be ({size},) "
            "floating"
        )
    return state


def check_vector(state: object, name: str = "state") -> Tensor:
    """A finite floating ``(S,)`` tensor."""
    if not isinstance(state, Tensor) or state.ndim != 1:
        raise InvalidInputError(f"{name}: got {type(state).__name__} {getattr(state, 'shape', '')}"
                                ", but should be a (S,) tensor")
    return v.batch(state[None], name)[0]


def with_graph(state: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``fn(state)`` on a state that requires grad, so ``fn`` may differentiate internally;
    the result keeps its graph only if the caller's state required grad."""
    keep = state.requires_grad
    with torch.enable_grad():
        s = state if keep else state.detach().requires_grad_(True)
        out = fn(s)
    return out if keep else out.detach()


def autograd_jacobian(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``torch.autograd.functional.jacobian`` for one tensor in, one tensor out (typed)."""
    j = torch.autograd.functional.jacobian(fn, x)  # type: ignore[no-untyped-call]
    if not isinstance(j, Tensor):
        raise InvalidInputError("the function returned a tuple, but should return one tensor")
    return j


def grad(output: Tensor, wrt: Tensor) -> Tensor:
    """``d output / d wrt`` with a graph (so it can be differentiated again); 0 if unused."""
    (g,) = torch.autograd.grad(output, wrt, create_graph=True, materialize_grads=True)
    return g
