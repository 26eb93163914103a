"""Inputs of the transport solvers: validated point clouds and weights, and the exact cost."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from gp_spec import _validation as v
from gp_spec.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]


def probability_weights(w: object, n: int, name: str) -> FloatArray:
    """Non-negative finite weights ``(n,)`` with a positive sum, normalised to sum to 1."""
    if w is None:
        return np.full(n, 1.0 / n)
    arr = w.detach().cpu().double().numpy() if isinstance(w, Tensor) else np.asarray(w, float)
    if arr.shape != (n,):
        raise InvalidInputError(f"{name}.shape={arr.shape}, but should be ({n},)")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InvalidInputError(f"{name} has negative or non-finite entries, but should be >= 0")
    total = float(arr.sum())
    if total <= 0:
        raise InvalidInputError(f"{name} sums to {total}, but should have a positive sum")
    return np.asarray(arr / total, dtype=np.float64)


def clouds(source: object, target: object) -> tuple[Tensor, Tensor]:
    """Validate two point clouds ``(N, *event)``, ``(M, *event)``; return them flattened."""
    x, y = v.batch(source, "source"), v.batch(target, "target")
    if x.shape[1:] != y.shape[1:]:
        raise InvalidInputError(
            f"source.shape={tuple(x.shape)} and target.shape={tuple(y.shape)}, but their event "
            "shapes (all dims after the first) should be equal"
        )
    return x.detach().flatten(1), y.detach().flatten(1)


def as_float64(x: Tensor) -> FloatArray:
    """A C-contiguous float64 numpy copy of ``x`` (on the CPU)."""
    return np.ascontiguousarray(x.detach().cpu().double().numpy())


def euclidean_cost(x: FloatArray, y: FloatArray) -> FloatArray:
    """``C_ij = ||x_i - y_j||_2``: ``(n, D), (m, D) -> (n, m)`` float64, in O(n m) memory.

    Each entry is ``sqrt(sum_k (x_ik - y_jk)^2)`` by direct differences (scipy's ``cdist``),
    never the Gram expansion ``|x|^2 + |y|^2 - 2 x.y``, which cancels catastrophically for
    near points and reads a zero distance as ~1e-8. No ``(n, m, D)`` intermediate is made.
    """
    from scipy.spatial.distance import cdist  # scipy only where it is used

    return np.asarray(cdist(x, y, "euclidean"), dtype=np.float64)


def euclidean_distances(z: Tensor, y: Tensor) -> Tensor:
    """``||z_i - y_j||_2``: ``(M, D), (m, D) -> (M, m)`` in ``z``'s dtype, differentiable in z.

    ``torch.cdist`` with ``compute_mode="donot_use_mm_for_euclid_dist"``: direct differences
    (exact zeros, no Gram cancellation), O(M m) memory, no ``(M, m, D)`` intermediate; its
    gradient at a zero distance is 0, like ``vector_norm``'s.
    """
    return torch.cdist(z, y, compute_mode="donot_use_mm_for_euclid_dist")
